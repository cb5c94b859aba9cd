"""Sending a report and taking it back: the confirmed submission and the withdrawal (撤回).

The form's 提交 button saves the draft and shows a confirmation page with the warnings
still open (``form_views.confirm_page``); its button posts here with the revision it
confirmed, so a change made in between is refused as stale instead of being sent
unseen. A submitted report that no reviewer has acted on yet can be withdrawn by
the unit: it becomes a draft again, and its history says who withdrew it and when.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.definition import FieldKind
from server.db import db_session
from server.error_pages import CSRF_TEXT
from server.locale import current_locale_code
from server.refusals import http_status, on_refusal
from server.reporting import form_views
from server.reporting import report_form as rf
from server.reporting.action_forms import SubmitForm, WithdrawForm
from server.reporting.blueprint import bp
from server.reporting.loading import load_or_404, report_args
from server.services import reporting
from server.services.errors import InvalidReport


def _posted(form_class, assignment: str, unit: str, period: str):
    """The report, its form's address and the posted action form (None, with the expired
    form's message flashed, when the form does not validate)."""
    view = load_or_404(assignment, unit, period)
    target = url_for("reporting.report_form", **report_args(view))
    form = form_class()
    if not form.validate_on_submit():
        flash(str(CSRF_TEXT), "error")
        return view, target, None
    return view, target, form


def _back_to(target: str):
    """A refusal's answer: its message flashed, back to *target*."""
    def refused(refusal):
        flash(str(refusal), "error")
        return redirect(target)
    return refused


@bp.post("/<assignment>/<unit>/<period>/submit")
@login_required
def submit_report(assignment: str, unit: str, period: str):
    view, target, form = _posted(SubmitForm, assignment, unit, period)
    if form is None:
        return redirect(target)
    user = current_user._get_current_object()
    back = _back_to(target)

    def refused(refusal):
        if isinstance(refusal, InvalidReport):  # errors or warnings left unexplained
            page = rf.build_form(view.definition, current_locale_code(),
                                 values=view.values,
                                 remarks=view.report.remarks if view.report else "",
                                 revision=view.revision)
            return form_views._page(view, page, refusal.issues, status=422,
                                    alerts=[("error", str(refusal))])
        return back(refusal)

    on_refusal(refused)
    reporting.submit(db_session(), user, view,
                     expected_revision=form_views._revision_number(form.revision.data))
    return form_views.submitted(view)


@bp.post("/<assignment>/<unit>/<period>/withdraw")
@login_required
def withdraw(assignment: str, unit: str, period: str):
    view, target, form = _posted(WithdrawForm, assignment, unit, period)
    if form is None:
        return redirect(target)
    on_refusal(_back_to(target))
    reporting.withdraw(db_session(), current_user._get_current_object(), view,
                       expected_revision=form_views._revision_number(form.revision.data))
    flash(_("The report was withdrawn and is a draft again: correct it and submit it again. "
            "%(unit)s no longer sees it as submitted.",
            unit=view.assignment.consolidating_unit.name), "success")
    return redirect(target)


# -- drafts that save themselves --------------------------------------------------------------


@bp.post("/<assignment>/<unit>/<period>/autosave")
@login_required
def autosave(assignment: str, unit: str, period: str):
    """Keep what the unit is typing (the form's script posts the whole form a few seconds
    after a change): JSON with the revision and the time, or the refusal's message."""
    view = load_or_404(assignment, unit, period)
    definition = view.definition
    if definition.is_event:  # an event's files and time are saved with the button only
        return jsonify(error=_("Event reports are saved with the button.")), 400
    form = rf.build_form(definition, current_locale_code(), from_request=True)
    if not form.validate_on_submit():
        return jsonify(error=str(CSRF_TEXT), code="expired"), 400
    raw = rf.raw_input(form, definition).values
    for fld in definition.fields():  # attachments are uploaded with the button only
        if fld.kind is FieldKind.ATTACHMENT:
            raw[fld.key] = view.values.get(fld.key)
    on_refusal(lambda refusal: (jsonify(error=str(refusal), code=refusal.code,
                                        revision=view.revision), http_status(refusal)))
    result = reporting.autosave(
        db_session(), current_user._get_current_object(), view, raw,
        remarks=form.remarks.data or "",
        explanations=rf.posted_explanations(request.form, view.report.explanations
                                            if view.report else None),
        expected_revision=form_views._revision_number(form.revision.data))
    time = format_time(result.at, "HH:mm")
    return jsonify(revision=result.report.revision, changed=result.changed, time=time,
                   message=_("Saved automatically %(time)s", time=time))
