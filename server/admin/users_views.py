"""Account administration pages."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from server.admin.blueprint import bp
from server.admin.forms import ActionForm, PasswordResetForm, UserCreateForm
from server.admin.imports import import_page
from server.auth.access import roles_required
from server.db import db_session
from server.models import Role, User
from server.pagination import paginate
from server.refusals import on_refusal
from server.services import accounts
from server.services import units as unit_service


@bp.get("/users")
@roles_required(Role.ADMIN)
def users():
    search = request.args.get("q", "").strip()
    found, page = paginate(db_session(), accounts.users_query(search))
    return render_template("admin/users.html", users=found, page=page, search=search,
                           action_form=ActionForm())


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users_new():
    form = UserCreateForm()

    def page(_refusal=None):
        return render_template("admin/user_new.html", form=form), 400 if form.errors else 200

    if form.validate_on_submit():
        session = db_session()
        on_refusal(page, form=form, fields={"unit": "unit_code"})
        unit = unit_service.resolve_unit(session, current_user._get_current_object(),
                                         form.unit_code.data, field="unit")
        user = accounts.create_user(session, form.username.data, form.password.data,
                                    form.role.data, unit)
        flash(_("The account %(username)s has been created.", username=user.username),
              "success")
        return redirect(url_for("admin.users"))
    return page()


def _user_or_404(user_id: int) -> User:
    user = db_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/disable")
@roles_required(Role.ADMIN)
def users_disable(user_id: int):
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/enable")
@roles_required(Role.ADMIN)
def users_enable(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    back = url_for("admin.users", q=request.args.get("q", ""))
    on_refusal(lambda _refusal: redirect(back))
    accounts.set_active(db_session(), user, active, acting=current_user._get_current_object())
    message = (_("The account %(username)s is enabled.", username=user.username) if active
               else _("The account %(username)s is disabled.", username=user.username))
    flash(message, "success")
    return redirect(back)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users_password(user_id: int):
    user = _user_or_404(user_id)
    form = PasswordResetForm()

    def page(_refusal=None):
        return (render_template("admin/user_password.html", form=form, user=user),
                400 if form.errors else 200)

    if form.validate_on_submit():
        on_refusal(page, form=form)
        accounts.reset_password(db_session(), user, form.password.data)
        flash(_("The password of %(username)s has been reset.", username=user.username),
              "success")
        return redirect(url_for("admin.users"))
    return page()


@bp.route("/users/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users_import():
    return import_page(
        "users", accounts.import_users,
        lambda created, updated: _(
            "Import finished: %(created)s accounts created, %(updated)s updated.",
            created=created, updated=updated,
        ),
        "admin.users",
    )
