"""Shared fixtures: an application on a migrated database, a client, factories.

The database is SQLite in a temporary file, or PostgreSQL when ``DATABASE_URL``
is set; there each run works in a schema of its own, so runs can share one
database. The schema is built once per session by the Alembic migrations.
After each test every table is emptied: unlike a rolled-back transaction, this
also isolates tests whose requests run in other threads or processes (CLI,
live server) and behaves the same on both databases.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from database_reset import empty_all_tables
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import server.models  # noqa: F401  (every table on the metadata)
from server import migrate
from server.app import create_app
from server.db import database, make_engine, normalise_url, unit_of_work
from server.i18n import compile_translations
from server.models import Role, Unit, User
from server.models.reporting import Assignment
from server.models.templates import TemplateVersion
from server.services import accounts, passwords
from server.services import assignments as assignment_service
from server.services import units as unit_service

# Hypothesis's per-example deadline measures the machine, not the code: parallel test
# workers on a loaded CI machine pass it now and then. Examples are still bounded by
# max_examples, and the suite's own time by CI.
settings.register_profile("tianbao", deadline=None)
settings.load_profile("tianbao")

PASSWORD = "correct-horse-7"
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- database ------------------------------------------------------------------------------


@contextmanager
def own_database(sqlite_file: Path) -> Iterator[str]:
    """The URL of an empty database of the caller's own, removed afterwards.

    A SQLite file at *sqlite_file*, or with ``DATABASE_URL`` set, a new schema
    in that PostgreSQL database (so runs and tests can share one database).
    """
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield f"sqlite:///{sqlite_file}"
        return
    url = normalise_url(url.replace("postgres://", "postgresql://", 1))
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    with own_database(tmp_path_factory.mktemp("db") / "tianbao-test.db") as url:
        yield url


@pytest.fixture
def empty_engine(tmp_path) -> Iterator[Engine]:
    """An engine on an empty database of the test's own, for migrating step by step."""
    with own_database(tmp_path / "empty.db") as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return database_url


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """scrypt takes 0.1 s by design; tests hash many passwords, the method is not under test."""
    original = passwords.HASH_METHOD
    passwords.HASH_METHOD = "pbkdf2:sha256:1000"
    yield
    passwords.HASH_METHOD = original


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogues() -> None:
    """Pages and messages are checked in Chinese and English: the .mo files must be current."""
    compile_translations()


@pytest.fixture
def app(migrated: str, tmp_path) -> Iterator[Flask]:
    application = create_app({
        "DATABASE_URL": migrated,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key",
        "TESTING": True,
    })
    yield application
    empty_all_tables(application)
    database(application).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session of the test's own, like another process would have: requests do not share it.

    Services do not commit: a test that changes something through them commits it
    like a request would, with ``server.db.unit_of_work`` (see the factories below).
    """
    with Session(database(app).engine, expire_on_commit=False) as own:
        yield own


# --- factories -----------------------------------------------------------------------------


@pytest.fixture
def password() -> str:
    """The password :func:`make_user` gives accounts unless told otherwise."""
    return PASSWORD


@pytest.fixture
def make_unit(session: Session) -> Callable[..., Unit]:
    def make(code: str, parent: Unit | None = None, kind: str = "village", **extra) -> Unit:
        with unit_of_work(session):
            return unit_service.create_unit(session, code, extra.pop("name", f"Unit {code}"),
                                            kind, parent, **extra)

    return make


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    def make(username: str, role: str = Role.SUBMITTER, unit: Unit | None = None,
             password: str = PASSWORD) -> User:
        with unit_of_work(session):
            return accounts.create_user(session, username, password, role, unit)

    return make


@pytest.fixture
def make_assignment(session: Session) -> Callable[..., Assignment]:
    """Assign *template* to the subtree below *root*, committed (options as the service's)."""
    def make(key: str, template: TemplateVersion, root: Unit, **options) -> Assignment:
        with unit_of_work(session):
            return assignment_service.create_assignment(session, key=key, template=template,
                                                        root=root, **options)

    return make


@pytest.fixture
def tree(make_unit) -> dict[str, Unit]:
    """County CY with towns TA (villages VA1, VA2) and TB (village VB1)."""
    county = make_unit("CY", kind="county")
    town_a = make_unit("TA", county, kind="town")
    town_b = make_unit("TB", county, kind="town")
    return {
        "CY": county, "TA": town_a, "TB": town_b,
        "VA1": make_unit("VA1", town_a), "VA2": make_unit("VA2", town_a),
        "VB1": make_unit("VB1", town_b),
    }


# --- requests ------------------------------------------------------------------------------


class Browser:
    """A test client used like a person with a browser: forms carry their CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def csrf_token(self, path: str = "/auth/login") -> str:
        """The session's CSRF token, read from the form on *path*."""
        page = self.client.get(path)
        match = CSRF_PATTERN.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {path} (status {page.status_code})"
        return match.group(1)

    def post(self, path: str, data: dict | None = None, *, token_from: str | None = None,
             **kwargs):
        """Submit *data* to *path* as the form on *token_from* (default: *path*) would."""
        fields = dict(data or {})
        fields["csrf_token"] = self.csrf_token(token_from or path)
        return self.client.post(path, data=fields, **kwargs)

    def login(self, user: User | str, password: str = PASSWORD):
        username = user if isinstance(user, str) else user.username
        return self.post("/auth/login", {"username": username, "password": password})

    def login_ok(self, user: User | str, password: str = PASSWORD) -> Browser:
        response = self.login(user, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return self


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


@pytest.fixture
def browser_of() -> Callable[[Flask], Browser]:
    """A new Browser (cookies of its own) on any application, e.g. a test's own."""
    return lambda application: Browser(application.test_client())


@pytest.fixture
def other_browser(app: Flask) -> Browser:
    """A second person with a separate cookie jar."""
    return Browser(app.test_client())
