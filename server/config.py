"""Application configuration, read from the environment.

Every setting has a default that works for one person running ``make run``;
deployments override them with environment variables (see the README).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_PATH = REPO_ROOT / "instance"
SECRET_KEY_FILE = "secret_key"
SOURCE_TRANSLATIONS = REPO_ROOT / "translations"
PACKAGED_TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def translations_directory() -> Path:
    """Where the compiled message catalogues are.

    A checkout (and its editable install) reads ``translations/``, the catalogues' source,
    compiled there by ``make translations``; an installed package has no such folder and
    reads the catalogues its build compiled into ``server/translations`` (see setup.py).
    """
    if any(SOURCE_TRANSLATIONS.glob("*/LC_MESSAGES/*.po")):
        return SOURCE_TRANSLATIONS
    return PACKAGED_TRANSLATIONS


def instance_path() -> Path:
    """The folder for the SQLite database and the generated secret key."""
    return Path(os.environ.get("TIANBAO_INSTANCE_PATH") or DEFAULT_INSTANCE_PATH).resolve()


def database_url(instance: Path | None = None) -> str:
    """``DATABASE_URL`` or, by default, an SQLite file in the instance folder."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    folder = instance or instance_path()
    return f"sqlite:///{folder / 'tianbao.db'}"


def load_secret_key(instance: Path) -> str:
    """``SECRET_KEY`` or a key generated once into ``instance/secret_key`` and reused.

    The file is created exclusively so that several server processes starting at
    the same moment agree on one key instead of overwriting each other's.
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = path.read_text(encoding="ascii").strip()
        if existing:
            return existing
        # Another process created the file but has not written it yet.
        raise RuntimeError(f"{path} is empty; delete it to generate a new key") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, got {raw!r}") from None


def _flag_env(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def from_environment() -> dict:
    """The configuration for :func:`server.app.create_app`, before explicit overrides."""
    instance = instance_path()
    secure = _flag_env("TIANBAO_SECURE_COOKIES")
    return {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url(instance),
        "SECRET_KEY": None,  # resolved lazily in create_app so overrides skip the key file
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "MAX_CONTENT_LENGTH": _int_env("TIANBAO_MAX_UPLOAD_MB", 16) * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int_env("TIANBAO_SESSION_HOURS", 12)),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the signed session
        "LOGIN_THROTTLE_MAX_FAILURES": 5,  # per username and address
        # Per address across usernames: an office behind one NAT shares it, so it is higher.
        "LOGIN_THROTTLE_MAX_ADDRESS_FAILURES": 20,
        "LOGIN_THROTTLE_WINDOW": timedelta(minutes=15),
        "PASSWORD_MIN_LENGTH": 8,
        **jobs_from_environment(),
    }


def _str_env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def jobs_from_environment() -> dict:
    """The job runner's storage and the notification channels (see the README)."""
    return {
        # Empty: huey keeps its queue in an SQLite file in the instance folder.
        "REDIS_URL": _str_env("TIANBAO_REDIS_URL"),
        "JOBS_QUEUE_NAME": _str_env("TIANBAO_JOBS_QUEUE", "tianbao"),
        # Where links in e-mails, robot messages and SMS point.
        "BASE_URL": _str_env("TIANBAO_BASE_URL", "http://127.0.0.1:5000"),
        "SMTP_HOST": _str_env("TIANBAO_SMTP_HOST"),
        "SMTP_PORT": _int_env("TIANBAO_SMTP_PORT", 25),
        "SMTP_USER": _str_env("TIANBAO_SMTP_USER"),
        "SMTP_PASSWORD": os.environ.get("TIANBAO_SMTP_PASSWORD", ""),
        "SMTP_FROM": _str_env("TIANBAO_SMTP_FROM", "tianbao@localhost"),
        "SMTP_TLS": _str_env("TIANBAO_SMTP_TLS", "none"),  # none, starttls or ssl
        "WECOM_WEBHOOK": _str_env("TIANBAO_WECOM_WEBHOOK"),
        "DINGTALK_WEBHOOK": _str_env("TIANBAO_DINGTALK_WEBHOOK"),
        "DINGTALK_SECRET": _str_env("TIANBAO_DINGTALK_SECRET"),
        "SMS_URL": _str_env("TIANBAO_SMS_URL"),
        "SMS_BODY": _str_env("TIANBAO_SMS_BODY"),
        "SMS_AUTH_HEADER": _str_env("TIANBAO_SMS_AUTH_HEADER"),
        "NOTIFY_TIMEOUT": _int_env("TIANBAO_NOTIFY_TIMEOUT", 10),
        "NOTIFY_MAX_ATTEMPTS": _int_env("TIANBAO_NOTIFY_MAX_ATTEMPTS", 8),
        "NOTIFY_RETRY_SECONDS": _int_env("TIANBAO_NOTIFY_RETRY_SECONDS", 60),
        "NOTIFY_LEASE_SECONDS": _int_env("TIANBAO_NOTIFY_LEASE_SECONDS", 120),
        # 一键催报: a unit is chased at most once per period in this many hours.
        "CHASE_INTERVAL_HOURS": _int_env("TIANBAO_CHASE_INTERVAL_HOURS", 4),
        # Merged exports of more units than this run in the background, with progress.
        "BACKGROUND_UNITS": _int_env("TIANBAO_BACKGROUND_UNITS", 2000),
        # How long the file of a background job stays downloadable.
        "JOB_FILES_HOURS": _int_env("TIANBAO_JOB_FILES_HOURS", 24),
        # A job still queued after this many minutes (its enqueue failed, no worker took it)
        # is marked failed by the clean-up, so its page stops waiting.
        "JOB_QUEUED_MINUTES": _int_env("TIANBAO_JOB_QUEUED_MINUTES", 60),
        # A running job whose worker wrote no progress for this many minutes (the worker
        # died) is marked failed by the clean-up.
        "JOB_STALE_MINUTES": _int_env("TIANBAO_JOB_STALE_MINUTES", 30),
    }


def proxy_fix_from_environment() -> bool:
    """``TIANBAO_BEHIND_PROXY=1`` when a reverse proxy sets X-Forwarded-For/-Proto."""
    return _flag_env("TIANBAO_BEHIND_PROXY")
