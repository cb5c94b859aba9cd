"""Signing in and out, and the account page (password change)."""

from server.auth import views  # noqa: F401  (registers the routes on bp)
from server.auth.blueprint import bp

__all__ = ["bp"]
