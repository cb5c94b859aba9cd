"""The application factory, configuration and database connection settings."""

import os
import socket
import time

import pytest
from api_helpers import api_get, token_for
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from server.app import create_app
from server.config import load_secret_key
from server.db import check_on_checkout, database, make_engine, normalise_url

POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith(("postgresql", "postgres:"))
# Where a pooled connection's server end is: a socket pair standing in for a database
# server (always), and the PostgreSQL server the suite runs on (when it does).
SERVERS = ["stand-in"] + (["postgresql"] if POSTGRESQL else [])


def test_secret_key_is_generated_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(tmp_path)
    second = load_secret_key(tmp_path)
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("TIANBAO_INSTANCE_PATH", str(tmp_path / "inst"))
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'inst' / 'tianbao.db'}"
    assert (tmp_path / "inst" / "secret_key").exists()
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh_CN"
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai"
    database(app).engine.dispose()


def test_cookie_and_upload_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("TIANBAO_SECURE_COOKIES", "1")
    monkeypatch.setenv("TIANBAO_MAX_UPLOAD_MB", "3")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["MAX_CONTENT_LENGTH"] == 3 * 1024 * 1024
    database(app).engine.dispose()


def test_postgresql_urls_use_psycopg3():
    assert normalise_url("postgresql://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert normalise_url("postgresql+psycopg2://h/d") == "postgresql+psycopg://h/d"
    assert make_engine("postgres://h/d").url.drivername == "postgresql+psycopg"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_upload_over_the_limit_is_refused(app, browser, make_user):
    make_user("boss", "admin")
    browser.login_ok("boss")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = browser.post("/admin/units-import", {"file": (__import__("io").BytesIO(
        b"x" * 4096), "big.csv")}, content_type="multipart/form-data",
        token_from="/admin/units-import")
    assert response.status_code == 413


# -- pooled connections the server ended ------------------------------------------------------


class StandInConnection:
    """A DBAPI connection whose server end is the other half of a socket pair."""

    def __init__(self) -> None:
        self.socket, self.server = socket.socketpair()
        self.closed = self.broken = False

    def fileno(self) -> int:
        return self.socket.fileno()

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        self.socket.close()


class StandInServer:
    """A pool of stand-in connections, checked as the application's PostgreSQL pool is."""

    def __init__(self) -> None:
        self.opened: list[StandInConnection] = []
        self.pool = QueuePool(self._open, pool_size=1)
        check_on_checkout(self.pool)

    def _open(self) -> StandInConnection:
        self.opened.append(StandInConnection())
        return self.opened[-1]

    def current(self) -> int:
        """Which connection a checkout hands out, used and given back."""
        with self.pool.connect() as connection:
            return self.opened.index(connection.dbapi_connection)

    def end(self, which: int, how: str) -> None:
        ended = self.opened[which]
        if how == "closes":
            ended.server.close()
        elif how == "says why":
            ended.server.sendall(b"E FATAL terminating connection")
        else:
            ended.broken = True

    def answers(self) -> bool:
        with self.pool.connect() as connection:
            return not connection.dbapi_connection.closed

    def close(self) -> None:
        self.pool.dispose()
        for opened in self.opened:
            opened.socket.close()
            opened.server.close()


class PostgresqlServer:
    """The application on the suite's PostgreSQL database, through its API."""

    def __init__(self, app, token: str, url: str) -> None:
        self.app, self.token, self.url = app, token, url

    def current(self) -> int:
        assert self.answers()
        assert database(self.app).engine.pool.checkedin() == 1  # the one the next request takes
        with database(self.app).engine.connect() as connection:
            return connection.execute(text("SELECT pg_backend_pid()")).scalar()

    def end(self, which: int, how: str) -> None:
        admin = make_engine(self.url)
        try:
            with admin.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": which})
                deadline = time.monotonic() + 10
                while True:
                    # pg_stat_activity is read once per transaction and kept: cleared before
                    # every look, or a first look that still saw the backend is all it sees.
                    connection.execute(text("SELECT pg_stat_clear_snapshot()"))
                    if not connection.execute(text("SELECT count(*) FROM pg_stat_activity "
                                                   "WHERE pid = :pid"), {"pid": which}).scalar():
                        break
                    assert time.monotonic() < deadline, "the backend did not end"
                    time.sleep(0.02)
        finally:
            admin.dispose()

    def answers(self) -> bool:
        with self.app.test_client() as client:
            return api_get(client, "/me", self.token).status_code == 200

    def close(self) -> None:
        pass


def test_an_idle_connection_is_checked_out_again_without_a_round_trip():
    server = StandInServer()
    try:
        first = server.current()
        assert server.current() == first
        server.opened[first].server.setblocking(False)
        with pytest.raises(BlockingIOError):  # the check sent nothing
            server.opened[first].server.recv(1)
    finally:
        server.close()


@pytest.mark.parametrize("server_kind", SERVERS)
def test_a_connection_the_server_ended_while_idle_is_replaced_when_checked_out(
        server_kind, request):
    """PostgreSQL restarted, the backend terminated, an idle time-out: the next request
    gets a new connection and is answered, instead of failing on the ended one."""
    if server_kind == "stand-in":
        server, ends = StandInServer(), ("closes", "says why", "is broken")
    else:
        app = request.getfixturevalue("app")
        user = request.getfixturevalue("make_user")("pooled", "admin")
        server = PostgresqlServer(app, token_for(request.getfixturevalue("session"), user),
                                  request.getfixturevalue("migrated"))
        ends = ("terminates the backend",)
    try:
        for how in ends:
            ended = server.current()
            assert server.current() == ended  # idle and not ended: handed out again
            server.end(ended, how)
            assert server.answers(), how
            assert server.current() != ended, how
    finally:
        server.close()
