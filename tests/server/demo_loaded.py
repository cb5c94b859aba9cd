"""The whole demo on the migrated test database, loaded as of one fixed moment (for the
tests of the demo's workflow, of its printed summary and of the PDF exports of its
reports, and for loading it on other dates).

NOW is 20 February 2025, 11:00 in Shanghai: then 2024Q4 of the quarterly plans is the
latest period past its deadline and 2025Q1 is running. Every demo account has PASSWORD.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from server.app import create_app
from server.db import Base, database
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
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
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
