"""Helpers for API tests: a token for an account, requests with it, problem checks.

    from api_helpers import api_get, api_put, problem, token_for

    token = token_for(session, user)
    response = api_get(client, "/me", token, headers={"Accept-Language": "en"})
    body = problem(api_get(client, "/units/XX", token), 404, "not_found")

Paths may be given with or without the ``/api/v1`` prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from server.db import unit_of_work
from server.models import User
from server.services import tokens

PREFIX = "/api/v1"
PROBLEM_TYPE = "application/problem+json"


def token_for(session: Session, user: User, name: str = "tests") -> str:
    """A new personal API token of *user* (its secret)."""
    with unit_of_work(session):
        _token, secret = tokens.create(session, user, name)
    return secret


@pytest.fixture
def make_token(session: Session) -> Callable[..., str]:
    """``make_token(user)``: the secret of a new token of *user* (import into a test module)."""

    def make(user: User, name: str = "tests") -> str:
        return token_for(session, user, name)

    return make


def api_path(path: str) -> str:
    return path if path.startswith(PREFIX) else PREFIX + path


def auth_headers(token: str | None, headers: dict[str, str] | None = None) -> dict[str, str]:
    """*headers* plus the Authorization header of *token* (none for None)."""
    merged = dict(headers or {})
    if token is not None:
        merged["Authorization"] = f"Bearer {token}"
    return merged


def api_request(client, method: str, path: str, token: str | None, **kwargs: Any):
    kwargs["headers"] = auth_headers(token, kwargs.get("headers"))
    return client.open(api_path(path), method=method, **kwargs)


def api_get(client, path: str, token: str | None, **kwargs: Any):
    return api_request(client, "GET", path, token, **kwargs)


def api_put(client, path: str, token: str | None, **kwargs: Any):
    return api_request(client, "PUT", path, token, **kwargs)


def api_post(client, path: str, token: str | None, **kwargs: Any):
    return api_request(client, "POST", path, token, **kwargs)


def api_delete(client, path: str, token: str | None, **kwargs: Any):
    return api_request(client, "DELETE", path, token, **kwargs)


def problem(response, status: int, code: str) -> dict[str, Any]:
    """The body of *response*, asserted to be a problem document with *status* and *code*."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_TYPE, response.mimetype
    body = response.get_json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] and body["detail"]
    return body
