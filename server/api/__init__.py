"""The JSON API, version 1: the same services as the web pages, for scripts and platforms.

Requests authenticate with a personal token (``Authorization: Bearer …``); there is
no session cookie, so CSRF protection does not apply to this blueprint.
"""

from flask import Blueprint

from server.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

# Importing the modules registers their hooks (authentication, problem responses) and routes.
from server.api import account, auth, pagination, problems, refusals  # noqa: E402,F401,I001

from server.api import reports, tasks  # noqa: E402,F401  (registers routes)
from server.api import consolidations, openapi  # noqa: E402,F401  (registers routes)
