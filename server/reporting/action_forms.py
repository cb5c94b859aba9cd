"""The small forms of a report's workflow buttons, shared by the form page and their views."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField


class SubmitForm(FlaskForm):
    """The confirmation of a submission: the revision the person saw."""

    revision = HiddenField()


class WithdrawForm(FlaskForm):
    """The 撤回 button of a submitted report: the revision it withdraws."""

    revision = HiddenField()
