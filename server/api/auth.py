"""Bearer-token authentication of the API and role checks.

Every request to the blueprint must carry ``Authorization: Bearer <token>``
unless its view is marked :func:`public`. The token's account becomes the
request's user for Flask-Login's ``current_user`` (so the services and
``server.scope`` see it) without ``login_user``: no session cookie is read or
written, and a browser's signed-in session does not count here. When the token
was last used is recorded by the authentication itself, committed on its own
before the view runs (at most once a minute), so it is kept whatever the request;
otherwise the lookup's transaction is the view's (no commit, no second connection
check-out).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin

from server.api.blueprint import bp
from server.api.problems import WWW_AUTHENTICATE, ApiError
from server.db import db_session
from server.models import User
from server.services import tokens

View = TypeVar("View", bound=Callable)

MISSING_TOKEN = _l("Send a personal API token: Authorization: Bearer <token>.")
INVALID_TOKEN = _l("The API token is not valid: it is unknown, expired or revoked, or its "
                   "account is disabled.")


def public(view: View) -> View:
    """Mark a view of the blueprint as needing no token (e.g. the OpenAPI document).

    Put it below the route decorator, so the function registered is the marked one.
    """
    view.api_public = True  # type: ignore[attr-defined]
    return view


def bearer_secret() -> str | None:
    """The token of the request's ``Authorization: Bearer`` header, if it has one."""
    scheme, _, secret = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


@bp.before_request
def authenticate_request() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "api_public", False):
        _set_request_user(None)
        return
    secret = bearer_secret()
    if secret is None:
        raise ApiError(401, "unauthorized", MISSING_TOKEN)
    session = db_session()
    try:
        user = tokens.authenticate(session, secret)
        if session.info.pop(tokens.TOUCHED, False):
            session.commit()  # the record of use, kept whatever the request does
    except BaseException:
        session.rollback()
        raise
    if user is None:
        raise ApiError(401, "unauthorized", INVALID_TOKEN,
                       headers={"WWW-Authenticate": WWW_AUTHENTICATE + ', error="invalid_token"'})
    _set_request_user(user)


def _set_request_user(user: User | None) -> None:
    # Flask-Login's current_user reads the request's user from g._login_user and only
    # falls back to the session cookie when it is absent; setting it here is what its
    # login manager does after loading a user, minus the session.
    g._login_user = user if user is not None else AnonymousUserMixin()


def api_user() -> User:
    """The token's account; 401 on a public view called without a token."""
    # What Flask-Login's current_user reads once authenticate_request set it, without its
    # proxy (a view asks two or three times a request).
    user = g.get("_login_user")
    if user is None or not user.is_authenticated:
        raise ApiError(401, "unauthorized", MISSING_TOKEN)
    return user


def require_role(*roles: str) -> Callable[[View], View]:
    """Allow a view only to accounts with one of *roles*; others get 403 ``forbidden``."""
    allowed = {str(role) for role in roles}

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args, **kwargs):
            check_role(*allowed)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def check_role(*roles: str) -> User:
    """The request's user if their role is one of *roles*; else 403 ``forbidden``."""
    user = api_user()
    if user.role not in {str(role) for role in roles}:
        raise ApiError(403, "forbidden")
    return user
