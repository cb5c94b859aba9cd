"""Forms of the review pages: the matrix filters and the review decisions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, HiddenField, SelectField, TextAreaField
from wtforms.validators import Length

from server.choices import options
from server.labels import period_label, unit_kind_label
from server.models import Status
from server.services.review import MatrixFilters

MAX_COMMENT = 2000

STATUS_FILTERS = (
    (Status.NOT_STARTED.value, _l("Not started")),
    (Status.DRAFT.value, _l("Draft")),
    (Status.SUBMITTED.value, _l("Submitted")),
    (Status.RETURNED.value, _l("Returned")),
    (Status.APPROVED.value, _l("Approved")),
)


class MatrixFilterForm(Form):
    """Read from the query string (GET): no CSRF, and unknown values fall back to "any"."""

    assignment = SelectField(_l("Assignment"), validate_choice=False)
    unit = SelectField(_l("Units below"), validate_choice=False)
    status = SelectField(_l("Status"), validate_choice=False)
    kind = SelectField(_l("Unit kind"), validate_choice=False)
    late = BooleanField(_l("Late only"))
    direct = BooleanField(_l("Direct children only"))
    all_periods = BooleanField(_l("All periods"))

    def set_choices(self, assignments, units, kinds) -> None:
        self.assignment.choices = options((a.key, label) for a, label in assignments)
        self.unit.choices = options((u.code, "\u3000" * (u.depth - units[0].depth) + u.name)
                                    for u in units) if units else []
        self.status.choices = options([("", _l("Any status")), *STATUS_FILTERS])
        self.kind.choices = options([("", _l("Any kind")),
                                     *((k, unit_kind_label(k)) for k in kinds)])

    def filters(self) -> MatrixFilters:
        statuses = {value for value, _label in STATUS_FILTERS}
        kinds = {choice.value for choice in self.kind.choices if choice.value}
        return MatrixFilters(
            status=self.status.data if self.status.data in statuses else "",
            late_only=bool(self.late.data),
            kind=self.kind.data if self.kind.data in kinds else "",
            direct_only=bool(self.direct.data),
            all_periods=bool(self.all_periods.data),
        )


class DecisionForm(FlaskForm):
    """One review decision; ``revision`` is the revision the reviewer looked at."""

    revision = HiddenField()
    comment = TextAreaField(validators=[Length(max=MAX_COMMENT)])

    def expected_revision(self) -> int | None:
        try:
            return int(self.revision.data)
        except (TypeError, ValueError):
            return None


class ReturnForm(DecisionForm):
    comment = TextAreaField(
        _l("What needs to be corrected"), validators=[Length(max=MAX_COMMENT)],
        description=_l("The unit sees this comment at the top of its form."))


class ApproveForm(DecisionForm):
    comment = HiddenField()
    acknowledge = BooleanField(
        _l("I have read the unit's explanations of the marked figures"),
        description=_l("Corrected or unusual figures stand only with your acknowledgement."))


class UnapproveForm(DecisionForm):
    comment = TextAreaField(
        _l("Reason for withdrawing the approval"), validators=[Length(max=MAX_COMMENT)],
        description=_l("Kept in the audit trail of the report."))


class DashboardForm(Form):
    """The dashboard's filters, read from the query string (GET): unknown values fall back."""

    assignment = SelectField(_l("Assignment"), validate_choice=False)
    unit = SelectField(_l("Units below"), validate_choice=False)
    kind = SelectField(_l("Level"), validate_choice=False)
    first = SelectField(_l("From period"), validate_choice=False)
    last = SelectField(_l("To period"), validate_choice=False)

    def set_choices(self, assignments, units, kinds, periods) -> None:
        self.assignment.choices = options((a.key, label) for a, label in assignments)
        self.unit.choices = options((u.code, "\u3000" * (u.depth - units[0].depth) + u.name)
                                    for u in units) if units else []
        self.kind.choices = options([("", _l("Every level")),
                                     *((k, unit_kind_label(k)) for k in kinds)])
        self.first.choices = options([("", _l("Earliest shown")),
                                      *((p, period_label(p)) for p in periods)])
        self.last.choices = options([("", _l("Latest")),
                                     *((p, period_label(p)) for p in periods)])

    def chosen_kind(self) -> str:
        kinds = {choice.value for choice in self.kind.choices if choice.value}
        return self.kind.data if self.kind.data in kinds else ""


class BatchApproveForm(FlaskForm):
    """The matrix's batch approval: its checkboxes are read from the request as they are
    (``report`` values ``<unit code>|<period>``); this form carries the CSRF token."""
