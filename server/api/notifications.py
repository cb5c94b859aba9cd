"""The account's messages in the app over the API: list, unread count, mark read.

The same messages as the bell of the web pages (``services.notifications``); a
message of another account answers 404.
"""

from __future__ import annotations

from server.api import schemas
from server.api.auth import api_user
from server.api.blueprint import bp
from server.api.pagination import paginated
from server.api.problems import ApiError
from server.db import db_session
from server.models.notifications import Notification
from server.services import notifications


def notification_item(row: Notification) -> schemas.NotificationItem:
    return schemas.NotificationItem(id=row.id, kind=row.kind, subject=row.subject,
                                    text=row.text, link=row.link, created_at=row.created_at,
                                    read_at=row.read_at)


@bp.get("/notifications")
def list_notifications():
    user, session = api_user(), db_session()
    return paginated(schemas.NotificationPage,
                     lambda offset, limit: (notifications.latest(session, user, offset=offset,
                                                                 limit=limit),
                                            notifications.count(session, user)),
                     notification_item)


@bp.get("/notifications/unread-count")
def unread_notifications():
    return schemas.answer(schemas.UnreadCount(
        unread=notifications.unread_count(db_session(), api_user())))


@bp.post("/notifications/<int(max=2147483647):notification_id>/read")
def read_notification(notification_id: int):
    user, session = api_user(), db_session()
    if notifications.get_for_user(session, user, notification_id) is None:
        raise ApiError(404, "not_found")
    notifications.mark_read(session, user, notification_id)
    session.flush()
    session.expire_all()
    return schemas.answer(notification_item(
        notifications.get_for_user(session, user, notification_id)))


@bp.post("/notifications/read")
def read_all_notifications():
    return schemas.answer(schemas.MarkedRead(
        changed=notifications.mark_read(db_session(), api_user())))
