"""Signing in and out, and the account page (password change)."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from server.auth import views  # noqa: E402,F401  (registers the routes on bp)
