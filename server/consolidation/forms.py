"""Forms of the consolidation pages: closing and reopening a period."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from server.services.closing import REASON_MAX


class CloseForm(FlaskForm):
    """Closing needs nothing but the CSRF token: the page says what is closed."""


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("Why the period is reopened"),
                           validators=[Length(max=REASON_MAX)],
                           description=_l("Recorded with your name and the time."))
