"""An administrator edits where an account is reached by notifications."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from server.admin.blueprint import bp
from server.auth.access import roles_required
from server.auth.contact_form import ContactForm
from server.db import db_session
from server.models import Role, User
from server.refusals import on_refusal
from server.services import contacts


@bp.route("/users/<int:user_id>/contact", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users_contact(user_id: int):
    user = db_session().get(User, user_id)
    if user is None:
        abort(404)
    form = ContactForm(obj=user)

    def page(_refusal=None):
        return (render_template("admin/user_contact.html", form=form, user=user),
                400 if form.errors or _refusal else 200)

    if form.validate_on_submit():
        on_refusal(page, form=form)
        contacts.update_contact(db_session(), user, email=form.email.data,
                                mobile=form.mobile.data, wecom_userid=form.wecom_userid.data,
                                notify_on_submission=form.notify_on_submission.data,
                                reminders_opt_out=form.reminders_opt_out.data)
        flash(_("The notification settings of %(username)s have been saved.",
                username=user.username), "success")
        return redirect(url_for("admin.users"))
    return page()
