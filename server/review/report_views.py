"""The review page of one report: the figures beside the previous period, the issues,
the decisions (return, approve, unapprove) and the audit trail.

Out of scope answers 404 like everywhere else. A report in scope that the
account may not review (a submitter, or a consolidator looking at their own
unit) answers 403: it exists for them, but reviewing is not theirs to do.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from forms.issues import flagged_figures
from forms.periods import days_until
from server.auth.access import roles_required
from server.db import db_session
from server.locale import current_locale_code
from server.models import Role, Status
from server.models.accounts import utcnow
from server.models.reporting import late_or_overdue
from server.refusals import on_refusal
from server.reporting import event_form
from server.review.blueprint import bp
from server.review.comparison import compare
from server.review.forms import ApproveForm, ReturnForm, UnapproveForm
from server.services import consolidation, reporting, targets
from server.services import review as review_service
from server.services.reporting import ReportView

EVENT_LABELS = {
    "saved": _l("Saved"),
    "submitted": _l("Submitted"),
    "returned": _l("Returned"),
    "approved": _l("Approved"),
    "unapproved": _l("Approval withdrawn"),
    "withdrawn": _l("Withdrawn by the unit"),
}

DECISION_FORMS = {"return": ReturnForm, "approve": ApproveForm, "unapprove": UnapproveForm}
DONE_MESSAGES = {
    "return": _l("The report is returned to %(unit)s with your comment."),
    "approve": _l("The report of %(unit)s is approved and locked."),
    "unapprove": _l("The approval is withdrawn: the report of %(unit)s is open to review again."),
}


def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


def _view_or_abort(assignment: str, unit: str, period: str, *,
                   reading: bool = False) -> ReportView:
    """The report if the account reviews it: 404 out of scope (NotVisible), else 403.

    *reading*: the page itself, which a consolidator above the unit as the tree stood
    in that period may read (a village moved away since); deciding follows today's tree.
    """
    user = current_user._get_current_object()
    view = reporting.load(db_session(), user, assignment, unit, period)
    if not (reporting.can_review(user, view)
            or (reading and reporting.reads_from_above(user, view))):
        abort(403)
    return view


def _page(view: ReportView, forms: dict | None = None, status: int = 200):
    session = db_session()
    forms = forms or {}
    for name, form_class in DECISION_FORMS.items():
        forms.setdefault(name, form_class(formdata=None, revision=view.revision))
    issues = reporting.issues_for(view) if view.report is not None else []
    returned = None
    history = []
    if view.report is not None:
        history = reporting.events(session, view.report)
        returned = next((e for e in history if e.action == "returned"), None)
    # An office's figures come from the units below it: who is in each one, as on the
    # consolidation page (approved reports, cumulative figures carried forward).
    below = consolidation.figures_for_view(session, view)
    locale = current_locale_code()
    return render_template(
        "review/report.html", view=view, comparison=compare(view, issues), forms=forms,
        coverage=({key: below.coverage_sentence(key, ngettext, locale)
                   for key in below.result.provenance if key not in below.result.tallies}
                  if below is not None else {}),
        overall=(below.overall.sentence(ngettext, carrying=below.carry_forward, locale=locale)
                 if below is not None else ""),
        flagged=flagged_figures(issues),
        explanations=(view.report.explanations or {}) if view.report is not None else {},
        events=history, last_returned=returned, event_label=event_label, Status=Status,
        status_label=reporting.status_label, off=view.applicability().fields,
        decides=reporting.can_review(current_user._get_current_object(), view),
        late=late_or_overdue(view.status, bool(view.report and view.report.late),
                             days_until(view.due, utcnow())),
        targets=targets.shown(view.definition, targets.for_report(session, view),
                              current_locale_code()),
        phase=targets.phase_now(view.definition, assignment=view.assignment),
        phases=targets.phases(view.definition, view.assignment),
        event=event_form.shown_event(view, None, [], current_locale_code())
        if view.definition.is_event else None,
        posted_comments=posted_field_comments() if request.method == "POST" else {},
        returned_on=field_comments_of(reporting.returned_comments(session, view.report)),
    ), status


def field_comments_of(event) -> dict[str, str]:
    """A return's comments on single fields, by field key ({} without one)."""
    return {c.field_key: c.comment for c in event.field_comments} if event is not None else {}


FIELD_COMMENT_PREFIX = "field_comment-"


def posted_field_comments() -> dict[str, str]:
    """The return form's comments on single fields (``field_comment-<field key>``)."""
    return {name.removeprefix(FIELD_COMMENT_PREFIX): value
            for name, value in request.form.items() if name.startswith(FIELD_COMMENT_PREFIX)}


@bp.get("/<assignment>/<unit>/<period>")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def matrix_report(assignment: str, unit: str, period: str):
    return _page(_view_or_abort(assignment, unit, period, reading=True))


@bp.post("/<assignment>/<unit>/<period>/<any(return, approve, unapprove):decision>")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def matrix_decide(assignment: str, unit: str, period: str, decision: str):
    """Apply one decision; on any refusal nothing changes and the page says why."""
    view = _view_or_abort(assignment, unit, period)
    form = DECISION_FORMS[decision]()
    if not form.validate_on_submit():  # too long a comment (CSRF is checked app-wide)
        return _page(view, {decision: form}, 400)
    on_refusal(lambda _refusal: _page(view, {decision: form}, 400), form=form,
               fields={"reason": "comment"})
    acknowledged = bool(getattr(form, "acknowledge", None) and form.acknowledge.data)
    review_service.decide(db_session(), current_user._get_current_object(), view, decision,
                          form.comment.data or "", expected_revision=form.expected_revision(),
                          acknowledged=acknowledged,
                          field_comments=posted_field_comments() if decision == "return" else None)
    flash(str(DONE_MESSAGES[decision]) % {"unit": view.unit.name}, "success")
    return redirect(url_for("review.matrix_report", assignment=assignment, unit=unit,
                            period=period))
