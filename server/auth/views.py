"""Views of the auth blueprint."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from server.auth.blueprint import bp
from server.auth.contact_form import ContactForm
from server.auth.forms import (
    LoginForm,
    LogoutForm,
    PasswordChangeForm,
    TokenCreateForm,
    TokenRevokeForm,
)
from server.db import db_session, unit_of_work
from server.i18n import safe_next
from server.refusals import on_refusal
from server.services import accounts, contacts, tokens
from server.services.accounts import LoginStatus


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
            max_address_failures=current_app.config["LOGIN_THROTTLE_MAX_ADDRESS_FAILURES"],
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
        if current_user.is_authenticated:
            # Server-side: a copy of the session cookie (or any other session of the
            # account) stops working too, not only this browser's.
            with unit_of_work(db_session()):
                accounts.end_sessions(current_user._get_current_object())
        logout_user()
        flash(_("You are signed out."), "info")
        return redirect(url_for("auth.login"))
    flash(_("The form has expired. Please try again."), "error")
    return redirect(url_for("index"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        on_refusal(lambda _refusal: (_account_page(form=form), 400), form=form,
                   fields={"password": "new_password"})
        accounts.change_password(db_session(), current_user._get_current_object(),
                                 form.current_password.data, form.new_password.data)
        # The new session token signed out every session, this one included: renew it.
        login_user(current_user._get_current_object())
        flash(_("Your password has been changed."), "success")
        return redirect(url_for("auth.account"))
    return _account_page(form=form), 400 if form.is_submitted() else 200


@bp.post("/account/contact")
@login_required
def contact():
    """The account's own addresses for notifications and whether it hears of submissions."""
    form = ContactForm()
    if form.validate_on_submit():
        on_refusal(lambda _refusal: (_account_page(contact_form=form), 400), form=form)
        contacts.update_contact(db_session(), current_user._get_current_object(),
                                email=form.email.data, mobile=form.mobile.data,
                                wecom_userid=form.wecom_userid.data,
                                notify_on_submission=form.notify_on_submission.data,
                                reminders_opt_out=form.reminders_opt_out.data)
        flash(_("Your notification settings have been saved."), "success")
        return redirect(url_for("auth.account"))
    return _account_page(contact_form=form), 400


def _account_page(**forms):
    """The account page; *forms* replaces the blank forms (to show errors or a new secret)."""
    user = current_user._get_current_object()
    context = {
        "form": PasswordChangeForm(formdata=None),
        "contact_form": ContactForm(formdata=None, obj=user),
        "token_form": TokenCreateForm(formdata=None),
        "revoke_form": TokenRevokeForm(),
        "api_tokens": tokens.for_user(db_session(), user),
        "new_secret": None,
        **forms,
    }
    return render_template("auth/account.html", **context)


@bp.post("/account/tokens")
@login_required
def token_create():
    form = TokenCreateForm()
    if form.validate_on_submit():
        on_refusal(lambda _refusal: (_account_page(token_form=form), 400), form=form)
        _token, secret = tokens.create(db_session(), current_user._get_current_object(),
                                       form.name.data or "",
                                       days=form.days.data or tokens.DEFAULT_DAYS)
        # Shown in this answer only (not stored, not in the session; every page is no-store).
        return _account_page(new_secret=secret)
    return _account_page(token_form=form), 400


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    if not TokenRevokeForm().validate_on_submit():
        flash(_("The form has expired. Please try again."), "error")
        return redirect(url_for("auth.account"))
    token = tokens.get_for_user(db_session(), current_user._get_current_object(), token_id)
    if token is None:
        abort(404)
    tokens.revoke(db_session(), token)
    flash(_("The token %(prefix)s… is revoked: requests with it are refused from now on.",
            prefix=token.prefix), "success")
    return redirect(url_for("auth.account"))

