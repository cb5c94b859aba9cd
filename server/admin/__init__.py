"""Administration: accounts, the organisation tree and bulk imports.

The units pages are also open to consolidators, read-only and limited to their
subtree; everything that changes data is for administrators only.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from server.admin import templates_views, units_views, users_views  # noqa: E402,F401  (registers routes)
from server.admin import assignments_views  # noqa: E402,F401  (registers routes)
