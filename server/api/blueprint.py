"""The API's blueprint: no session cookie, so CSRF protection does not apply to it."""

from flask import Blueprint

from server.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
