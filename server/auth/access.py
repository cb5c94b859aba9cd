"""Role checks for views. Data scope is checked by :mod:`server.scope`, not here."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def roles_required(*roles: str) -> Callable:
    """Only signed-in accounts with one of *roles* may use the view (others get 403)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
