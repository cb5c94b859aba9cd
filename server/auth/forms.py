"""Forms of the auth blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from server.services.tokens import DEFAULT_DAYS, MAX_DAYS, NAME_MAX


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired()],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class LogoutForm(FlaskForm):
    """Empty: carries the CSRF token so that no other site can sign a user out."""


class TokenCreateForm(FlaskForm):
    name = StringField(
        _l("Token name"), validators=[Optional(), Length(max=NAME_MAX)],
        description=_l("What the token is for, e.g. the script or platform that uses it."),
        render_kw={"autocomplete": "off", "maxlength": NAME_MAX},
    )
    days = IntegerField(
        _l("Valid for (days)"), default=DEFAULT_DAYS,
        # Left empty, the token gets the default lifetime.
        validators=[Optional(), NumberRange(min=1, max=MAX_DAYS)],
        description=_l("The token stops working after this many days (at most %(max)s).",
                       max=MAX_DAYS),
        render_kw={"min": 1, "max": MAX_DAYS, "inputmode": "numeric"},
    )


class TokenRevokeForm(FlaskForm):
    """Empty: carries the CSRF token of a revoke button."""
