"""Password hashing and the password policy.

Werkzeug's scrypt (its default method) is memory-hard, needs no extra native
dependency, and its hashes name their parameters, so they can be strengthened
later without invalidating existing ones.
"""

from __future__ import annotations

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from server.services.errors import InvalidInput, Refusal

HASH_METHOD = "scrypt"  # werkzeug's default: n=2**15, r=8, p=1 (about 0.1 s per hash)
DEFAULT_MIN_LENGTH = 8
MAX_LENGTH = 200  # bounds the hashing work one request can cause

# Checked when the username is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("tianbao-timing-equaliser")


def min_length() -> int:
    if has_app_context():
        return int(current_app.config.get("PASSWORD_MIN_LENGTH", DEFAULT_MIN_LENGTH))
    return DEFAULT_MIN_LENGTH


def password_problem(password: str) -> Refusal | None:
    """Why *password* is not acceptable, or None."""
    minimum = min_length()
    if len(password) < minimum:
        return InvalidInput(_l("The password must have at least %(min)s characters."),
                         field="password", min=minimum)
    if len(password) > MAX_LENGTH:
        return InvalidInput(_l("The password must have at most %(max)s characters."),
                         field="password", max=MAX_LENGTH)
    if password.strip() == "":
        return InvalidInput(_l("The password cannot be only spaces."), field="password")
    return None


def check_policy(password: str) -> None:
    problem = password_problem(password)
    if problem is not None:
        raise problem


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


def verify_password(password_hash: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    if password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)
