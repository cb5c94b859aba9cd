"""The signed-in account's messages in the app: list, open (marks read), mark all read."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from server.db import db_session
from server.navigation import Page
from server.notifications.blueprint import bp
from server.services import notifications

PER_PAGE = 50


class MarkReadForm(FlaskForm):
    """Empty: carries the CSRF token of the read buttons."""


@bp.get("/")
@login_required
def index():
    user = current_user._get_current_object()
    session = db_session()
    page = Page.from_request(notifications.count(session, user), PER_PAGE)
    return render_template("notifications/index.html", page=page, form=MarkReadForm(),
                           items=notifications.latest(session, user, offset=page.offset,
                                                      limit=PER_PAGE))


@bp.post("/<int:notification_id>/open")
@login_required
def open_one(notification_id: int):
    """Mark the message read and go to the report it is about."""
    user = current_user._get_current_object()
    item = notifications.get_for_user(db_session(), user, notification_id)
    if item is None:
        abort(404)
    if not MarkReadForm().validate_on_submit():
        flash(_("The form has expired. Please try again."), "error")
        return redirect(url_for("notifications.index"))
    notifications.mark_read(db_session(), user, notification_id)
    # Links are paths of this server, written by the server: never another site.
    return redirect(item.link if item.link.startswith("/") else url_for("notifications.index"))


@bp.post("/read")
@login_required
def read_all():
    if MarkReadForm().validate_on_submit():
        changed = notifications.mark_read(db_session(), current_user._get_current_object())
        flash(ngettext("%(num)s message marked as read.", "%(num)s messages marked as read.",
                       changed), "success")
    else:
        flash(_("The form has expired. Please try again."), "error")
    return redirect(url_for("notifications.index"))
