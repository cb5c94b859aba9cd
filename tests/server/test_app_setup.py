"""The application factory, configuration and database connection settings."""

from sqlalchemy import text

from server.app import create_app
from server.config import load_secret_key
from server.db import database, make_engine, normalise_url


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
