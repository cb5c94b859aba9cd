"""Database engine, sessions and the declarative base.

Plain SQLAlchemy 2 rather than Flask-SQLAlchemy: services, the CLI and the
tests use the same :class:`~sqlalchemy.orm.Session` API with or without a
Flask application, and the engine set-up (SQLite pragmas, URL rewriting) stays
visible in one place. Each application owns one engine and one scoped session
that is removed when the application context ends.

Services add and flush; they never commit. A piece of work is committed, or
rolled back, in one place, :func:`unit_of_work`, at its boundary: each request
of the web pages and the API (:func:`request_work`), each CLI command, the demo
loader and the tests' factories. Models never commit, and a GET never writes.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

from server.sqlite_writes import queue_writers

# Seconds a SQLite writer waits for the write lock before "database is locked".
SQLITE_TIMEOUT = 30

# Constraint names are stable across databases, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EXTENSION_KEY = "tianbao.db"
# Requests that only read: their work is never committed.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalise_url(url: str) -> str:
    """Route PostgreSQL URLs to psycopg 3, whatever driver (if any) they name."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine for *url*; SQLite connections get WAL mode and enforced foreign keys."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # A generous timeout lets concurrent writers (several workers) wait instead of failing.
        engine = create_engine(url, connect_args={"timeout": SQLITE_TIMEOUT})
        event.listen(engine, "connect", _sqlite_pragmas)
        queue_writers(engine, SQLITE_TIMEOUT)
        return engine
    engine = create_engine(url)
    check_on_checkout(engine)
    return engine


# Set on a pool's record of a connection opened just now, until its first checkout.
_FRESH = "tianbao.fresh"


def check_on_checkout(target) -> None:
    """Replace a pooled PostgreSQL connection that the server ended while it sat idle
    (PostgreSQL restarted, the backend was terminated, an idle time-out) when it is next
    checked out of *target*'s pool (an engine or a pool), before anything runs on it.

    What ``pool_pre_ping`` protects, without its round trip (a ``SELECT 1`` at every
    checkout, each request's first): a server that ends a connection says why and
    closes it, so an idle connection with anything to read, or already closed or
    broken, is replaced by the pool (which tries a new connection at once). The
    check reads nothing and waits for nothing: one ``poll`` of the socket. A
    connection opened just now is not checked.
    """
    event.listen(target, "connect", _opened)
    event.listen(target, "checkout", _still_connected)


def _opened(_dbapi_connection, record) -> None:
    record.info[_FRESH] = True


def _still_connected(dbapi_connection, record, _proxy) -> None:
    if record.info.pop(_FRESH, False):
        return
    if dbapi_connection.closed or dbapi_connection.broken \
            or _sent_while_idle(dbapi_connection.fileno()):
        raise DisconnectionError("the database server ended the connection while it was idle")


def _sent_while_idle(fd: int) -> bool:
    """Whether the socket *fd* has something to read, or was closed or failed: nothing
    is sent to an idle connection of this application (it never LISTENs) but a
    server's last words."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@dataclass
class Database:
    engine: Engine
    session: scoped_session[Session]


def init_db(app: Flask) -> Database:
    """Create the application's engine and scoped session and remove it after each context."""
    engine = make_engine(app.config["DATABASE_URL"])
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    database = Database(engine=engine, session=scoped_session(factory))
    app.extensions[EXTENSION_KEY] = database

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        database.session.remove()

    return database


def database(app: Flask | None = None) -> Database:
    """The database of *app* (default: the current application)."""
    return (app or current_app).extensions[EXTENSION_KEY]


def db_session() -> Session:
    """The current application's session for this thread."""
    return database().session()


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit *session* when the block ends normally; roll it back when it raises.

    The one place where work is committed or undone: the request boundary of the
    web pages and the API, each CLI command, the demo loader and the tests'
    factories. Services only add and flush. A commit that fails is rolled back
    too, so the session stays usable (e.g. to show the error page).
    """
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise


def request_work(view: Callable[[], T]) -> T:
    """Run a request's *view* as one unit of work of the request's session.

    The work is committed once the view has returned and before its response is
    sent, so a commit that fails becomes an error answer, never a success; an
    exception from the view rolls everything back (a refusal included: the
    channel's handler then answers with nothing changed). GET, HEAD and OPTIONS
    never commit: what they might have written ends with the session.
    """
    if request.method in SAFE_METHODS:
        return view()
    session = db_session()
    with unit_of_work(session):
        result = view()
        g.commit_attempted = True  # from here on, the outcome of a failure is unknown
    return result


def commit_attempted() -> bool:
    """Whether the current request's work reached its commit.

    Until then a failure rolls everything back and nothing of the request is
    saved; from then on (a commit that fails, or a failure after it) the work may
    have been saved, and an error answer must not claim otherwise.
    """
    return bool(g.get("commit_attempted"))


def insert_or_ignore(session: Session, table, conflict_columns):
    """An INSERT into *table* that skips a row whose *conflict_columns* (a unique key)
    already exist, on SQLite and PostgreSQL alike: what two concurrent first writes
    need so that the second goes on instead of failing on the key."""
    dialect = session.get_bind().dialect.name
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert_(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def upsert(session: Session, table, conflict_columns, update_columns):
    """An INSERT into *table* that replaces *update_columns* of a row whose
    *conflict_columns* (a unique key) already exist, on SQLite and PostgreSQL alike
    (built once per dialect, table and columns: every save writes one)."""
    return _upsert(session.get_bind().dialect.name, table, tuple(conflict_columns),
                   tuple(update_columns))


@lru_cache(maxsize=64)
def _upsert(dialect: str, table, conflict_columns: tuple, update_columns: tuple):
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_(table)
    return statement.on_conflict_do_update(
        index_elements=list(conflict_columns),
        set_={name: statement.excluded[name] for name in update_columns})
