"""Administration: accounts, the organisation tree, bulk imports and the audit log.

The units pages are also open to consolidators, read-only and limited to their
subtree; everything that changes data is for administrators only.
"""

# Importing the view modules registers their routes.
from server.admin import (  # noqa: F401
    assignments_views,
    audit_views,
    designer_views,
    templates_views,
    units_views,
    user_contact_views,
    users_views,
)
from server.admin.blueprint import bp

__all__ = ["bp"]
