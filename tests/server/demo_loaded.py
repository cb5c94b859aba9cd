"""The whole demo on the migrated test database, loaded as of one fixed moment (for the
tests of the demo's workflow, of its printed summary and of the PDF exports of its
reports, and for loading it on other dates).

NOW is 20 February 2025, 11:00 in Shanghai: then 2024Q4 of the quarterly plans is the
latest period past its deadline and 2025Q1 is running. Every demo account has PASSWORD.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from database_reset import empty_all_tables
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import migrate
from server.app import create_app
from server.db import database, make_engine
from server.demo import DemoSummary, load_demo, workflow
from server.services.templates import load_files

NOW = datetime(2025, 2, 20, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
PASSWORD = "demo-pass-1"


@contextmanager
def demo_app(database_url: str, instance: Path) -> Iterator[Flask]:
    """An app on *database_url*; every table is emptied afterwards for the next tests."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
                      "INSTANCE_PATH": str(instance), "TESTING": True})
    engine = database(app).engine
    try:
        yield app
    finally:
        empty_all_tables(engine)
        engine.dispose()


@contextmanager
def loading_demo(app: Flask, locale: str,
                 now: datetime = NOW) -> Iterator[tuple[Session, DemoSummary]]:
    """Load the built-in templates and the demo as of *now*, in a request in *locale*; the
    session (not committed) and the demo's summary stay usable until the block ends."""
    with (app.test_request_context(headers={"Accept-Language": locale}),
          Session(database(app).engine, expire_on_commit=False) as session,
          pytest.MonkeyPatch.context() as patch):
        patch.setattr(workflow, "utcnow", lambda: now)
        load_files(session)
        yield session, load_demo(session, PASSWORD)


@contextmanager
def prepared_demo(migrated: str, tmp_path_factory: pytest.TempPathFactory,
                  locale: str) -> Iterator[tuple[Flask, DemoSummary]]:
    """An app on the demo loaded as of NOW in *locale* and committed, and the demo's summary.

    On SQLite the demo is built once per run, by whichever worker asks first, into a file
    the others wait for; each caller works on a copy of its own. On PostgreSQL it is loaded
    into the session's schema, emptied afterwards.
    """
    instance = tmp_path_factory.mktemp("instance")
    if not migrated.startswith("sqlite"):
        with demo_app(migrated, instance) as app:
            with loading_demo(app, locale) as (session, summary):
                session.commit()
            yield app, summary
        return
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    prepared = shared / f"demo-{locale}.db"
    summary_file = prepared.with_suffix(".summary")
    with (shared / f"demo-{locale}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not prepared.exists():
                building = prepared.with_suffix(".building")
                building.unlink(missing_ok=True)
                url = f"sqlite:///{building}"
                engine = make_engine(url)
                try:
                    migrate.upgrade(engine)
                finally:
                    engine.dispose()
                app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret-key",
                                  "INSTANCE_PATH": str(instance), "TESTING": True})
                with loading_demo(app, locale) as (session, summary):
                    session.commit()
                database(app).engine.dispose()
                summary_file.write_bytes(pickle.dumps(summary))
                os.replace(building, prepared)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    own = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copyfile(prepared, own)
    app = create_app({"DATABASE_URL": f"sqlite:///{own}", "SECRET_KEY": "test-secret-key",
                      "INSTANCE_PATH": str(instance), "TESTING": True})
    try:
        yield app, pickle.loads(summary_file.read_bytes())
    finally:
        database(app).engine.dispose()


TOWN_KEY, TOWN = "chidian-progress", "CHIDIAN"


def town_figures(session: Session):
    """The demo town's consolidated figures of the latest period begun at NOW, as the admin."""
    from server.models import User
    from server.services import assignments as assignment_service
    from server.services import consolidation

    admin = session.scalar(select(User).where(User.username == "admin"))
    assignment = assignment_service.get_assignment(session, TOWN_KEY)
    latest = assignment_service.open_periods(assignment, NOW.date())[-1]
    return consolidation.figures(session, admin, TOWN_KEY, TOWN, latest, now=NOW)
