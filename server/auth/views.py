"""Views of the auth blueprint."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from server.auth import bp
from server.auth.forms import LoginForm, LogoutForm, PasswordChangeForm
from server.db import db_session
from server.i18n import safe_next
from server.services import accounts
from server.services.accounts import LoginStatus
from server.services.errors import UserError


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm(next=request.args.get("next", ""))
    error, status = None, 200
    if form.validate_on_submit():
        outcome = accounts.authenticate(
            db_session(), form.username.data, form.password.data, request.remote_addr or "",
            max_failures=current_app.config["LOGIN_THROTTLE_MAX_FAILURES"],
            window=current_app.config["LOGIN_THROTTLE_WINDOW"],
        )
        if outcome.status is LoginStatus.OK:
            login_user(outcome.user)
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
            return redirect(safe_next(form.next.data))
        if outcome.status is LoginStatus.THROTTLED:
            error, status = _("Too many failed sign-in attempts. Try again in %(minutes)s "
                              "minutes.", minutes=outcome.retry_minutes), 429
        elif outcome.status is LoginStatus.DISABLED:
            error = _("This account is disabled. Contact your administrator.")
        else:
            error = _("Wrong username or password.")
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    if LogoutForm().validate_on_submit():
        logout_user()
        flash(_("You are signed out."), "info")
        return redirect(url_for("auth.login"))
    flash(_("The form has expired. Please try again."), "error")
    return redirect(url_for("index"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.change_password(db_session(), current_user._get_current_object(),
                                     form.current_password.data, form.new_password.data)
        except UserError as error:
            field = form.current_password if error.field == "current_password" \
                else form.new_password
            field.errors = [*field.errors, str(error)]
            status = 400
        else:
            # The new session token signed out every session, this one included: renew it.
            login_user(current_user._get_current_object())
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.account"))
    elif form.is_submitted():
        status = 400
    return render_template("auth/account.html", form=form), status

