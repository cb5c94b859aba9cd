"""The notifications blueprint and the bell's count for the layout."""

from flask import Blueprint
from flask_login import current_user

from server.db import db_session
from server.services import notifications

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.app_context_processor
def _bell() -> dict:
    def unread_notifications() -> int:
        # Called by the layout only for a signed-in account, so a page without one
        # (or the minimal error page) makes no query.
        return notifications.unread_count(db_session(), current_user._get_current_object())
    return {"unread_notifications": unread_notifications}
