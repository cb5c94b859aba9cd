"""Administration: accounts, the organisation tree and bulk imports.

The units pages are also open to consolidators, read-only and limited to their
subtree; everything that changes data is for administrators only.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Importing the view modules registers their routes.
from server.admin import (  # noqa: E402,F401
    assignments_views,
    templates_views,
    units_views,
    users_views,
)
