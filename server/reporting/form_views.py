"""The report form: show it, save a draft, submit, and download attachments.

GET shows the report (editable while it is a draft or returned, read-only
otherwise). POST saves a new revision ("save") or saves and submits in one
step ("submit"); "add-rows:<table>" only adds empty table rows for people
without JavaScript. Whatever the workflow refuses (``server.refusals``), nothing
is saved and the page comes back with what the person typed, the reason above
it and every problem shown at its field.

A unit with reporting units below it (an office that consolidates) starts its
new report from its children's approved reports, and can fill a saved draft
in again from them ("refill").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import HiddenField

from forms.definition import FieldKind
from forms.issues import Issue, error, has_errors, unexplained
from forms.values import coerce_values, format_number
from server.db import db_session, unit_of_work
from server.downloads import content_disposition
from server.error_pages import CSRF_TEXT
from server.locale import current_locale_code, format_date
from server.models.reporting import ReportEvent, Status
from server.refusals import on_refusal
from server.reporting import event_form
from server.reporting import report_form as rf
from server.reporting.action_forms import SubmitForm, WithdrawForm
from server.reporting.blueprint import bp
from server.reporting.display import cumulative_figures, note_ranges
from server.reporting.loading import load_or_404, report_args
from server.services import consolidation, events, files, reporting, targets
from server.services.consolidation import Prefill
from server.services.errors import InvalidReport, Refusal, StaleRevision
from server.services.reporting import ReportView
from server.services.starting_values import starting_values

MB = 1024 * 1024


@bp.route("/<assignment>/<unit>/<period>", methods=["GET", "POST"])
@login_required
def report_form(assignment: str, unit: str, period: str):
    view = load_or_404(assignment, unit, period)
    if request.method == "POST":
        return _post(view)
    start = starting_values(db_session(), current_user._get_current_object(), view)
    form = rf.build_form(view.definition, current_locale_code(), values=start.values,
                         remarks=view.report.remarks if view.report else "",
                         revision=view.revision)
    return _page(view, form, _stored_issues(view), prefilled=start.prefill)


def _stored_issues(view: ReportView) -> list[Issue]:
    """What is wrong with the saved values (rules, cumulative figures), before any submit."""
    if view.report is None:
        return []
    return reporting.issues_for(view, check_required=False)


# -- saving and submitting -------------------------------------------------------------------


def _post(view: ReportView):
    session = db_session()
    user = current_user._get_current_object()
    definition, locale = view.definition, current_locale_code()
    form = rf.build_form(definition, locale, from_request=True)
    if not form.validate_on_submit():
        return _page(view, form, alerts=[("error", str(CSRF_TEXT))], status=400)
    action = request.form.get("action", "save")
    if action.startswith("add-rows:"):
        rf.add_blank_rows(form, definition, only=action.split(":", 1)[1])
        return _page(view, form, alerts=[("info", _("Rows added. Nothing is saved until you "
                                                    "save the report."))])

    raw = rf.raw_input(form, definition)
    upload_issues, chosen = _take_attachments(view, form, raw.values)
    typed, coercion = coerce_values(definition, view.applicability(raw.values).prune(raw.values))
    if definition.is_event:
        chosen.update(event_form.chosen_files(request.files))
    on_refusal(lambda refusal: _refused(view, form, raw, typed, chosen, refusal))
    if upload_issues:  # with every other problem of the values, in one round
        raise InvalidReport(reporting.NOT_SAVED, upload_issues + reporting.refusal_issues(
            view, raw.values))
    explanations = rf.posted_explanations(
        request.form, view.report.explanations if view.report else None)
    if definition.is_event:
        report, draft_issues = events.save_event(
            session, user, view, raw.values, event_form.posted_event(request.form),
            uploads=event_form.uploads(request.files), keep=request.form.getlist("event_keep"),
            pending=request.form.getlist("event_pending"),
            app_limit=current_app.config.get("MAX_CONTENT_LENGTH"),
            remarks=form.remarks.data or "", explanations=explanations,
            expected_revision=_revision_number(form.revision.data))
    else:
        # Before a submission, every problem at once, missing values included.
        report, draft_issues = reporting.save(
            session, user, view, raw.values, remarks=form.remarks.data or "",
            explanations=explanations, expected_revision=_revision_number(form.revision.data),
            check_required=action in ("confirm", "submit"))

    form.revision.data = str(report.revision)
    warnings = [i for i in coercion if not i.is_error]
    if action == "confirm":  # the page's 提交 button: saved, then asked to confirm
        return confirm_page(view, form, raw, warnings + draft_issues)
    if action == "submit" and definition.is_event:
        # An event is sent at once, unless warnings are still open: then it is confirmed
        # like any report (errors are left to the submission, which lists them).
        still_open = warnings + reporting.issues_for(view)
        if still_open and not has_errors(still_open):
            return confirm_page(view, form, raw, still_open)
    if action == "submit":
        try:
            reporting.submit(session, user, view, expected_revision=report.revision)
        except InvalidReport as exc:  # the draft stands: it is committed with the page
            return _submit_refused(view, form, raw, warnings + exc.issues, str(exc),
                                   remarks=exc.field == "remarks")
        if view.skipped:
            flash(_("Left out because they do not apply to %(unit)s: %(fields)s.",
                    unit=view.unit.name,
                    fields=skipped_labels(definition, view.skipped, locale)), "info")
        return submitted(view)

    flash(_("Saved as a draft (revision %(number)s). It is not submitted yet.",
            number=report.revision), "success")
    if view.skipped:
        flash(_("Left out because they do not apply to %(unit)s: %(fields)s.",
                unit=view.unit.name, fields=skipped_labels(definition, view.skipped, locale)),
              "info")
    issues = warnings + draft_issues
    if issues:
        # Stay on the page: the warnings about what was typed ("12家") exist only now.
        return _page(view, form, issues, rows=raw.rows, values=typed)
    return redirect(url_for("reporting.report_form", **report_args(view)))


def submitted(view: ReportView):
    """After a submission: say where it went (and that it is late), back to the report."""
    flash(_("The report was submitted to %(unit)s.",
            unit=view.assignment.consolidating_unit.name), "success")
    if view.report.late:
        flash(_("It arrived after the due date (%(due)s) and is marked late.",
                due=format_date(view.due, "long")), "warning")
    return redirect(url_for("reporting.report_form", **report_args(view)))


def confirm_page(view: ReportView, form, raw, issues: list[Issue]):
    """The draft is saved; before it is sent, the person confirms, seeing the warnings still
    open. With errors there is nothing to confirm: the form again with every problem."""
    if has_errors(issues):
        message = _("Your changes were saved as a draft (revision %(number)s), but the report "
                    "cannot be submitted until the errors are corrected.", number=view.revision)
        return _page(view, form, issues, rows=raw.rows, status=422, values=view.values,
                     alerts=[("error", message)])
    locale = current_locale_code()
    placed = rf.place_issues(view.definition, issues, _, locale, raw.rows)
    report = view.report
    figures, general = unexplained(issues, report.explanations or {}, report.remarks)
    return render_template(
        "reporting/confirm.html", view=view, definition=view.definition, placed=placed,
        unexplained=bool(figures or general), args=report_args(view),
        submit_form=SubmitForm(formdata=None, revision=str(view.revision)))


def _refused(view, form, raw, typed, chosen, refusal: Refusal):
    """Nothing was saved: the page again with what the person typed, every problem at its
    field (the refusal's message is flashed above)."""
    pending = None
    if view.definition.is_event and isinstance(refusal, InvalidReport | StaleRevision):
        pending = _keep_pending(view)
    if isinstance(refusal, InvalidReport):
        return _page(view, form, refusal.issues, rows=raw.rows, status=422, values=typed,
                     lost_files=chosen, pending=pending)
    if isinstance(refusal, StaleRevision):
        return _page(view, form, status=409, stale=True, lost_files=chosen, values=typed,
                     pending=pending)
    return _page(view, form, status=403, lost_files=chosen)


def _keep_pending(view: ReportView) -> list[dict]:
    """The files chosen for a refused event, kept (committed on their own: the refused save
    was rolled back) so the form can show them as attached and the next save attach them."""
    session, user = db_session(), current_user._get_current_object()
    with unit_of_work(session):
        claimed = events.claim_pending(session, user, view, request.form.getlist("event_pending"))
        return events.keep_pending(session, user, view, event_form.uploads(request.files),
                                   claimed, current_app.config.get("MAX_CONTENT_LENGTH"))


def _submit_refused(view, form, raw, issues, reason, *, remarks: bool):
    """The draft was saved but not submitted: say so, and what blocks the submission."""
    message = _("Your changes were saved as a draft (revision %(number)s), but the report was "
                "not submitted: %(reason)s", number=view.revision, reason=reason)
    remarks_error = reason if remarks and not has_errors(issues) else None
    return _page(view, form, issues, rows=raw.rows, status=422, values=view.values,
                 alerts=[("error", message)], remarks_error=remarks_error)


def _revision_number(text: str | None) -> int | None:
    try:
        return int(text or "0")
    except ValueError:
        return -1  # a tampered number can only be stale


# -- filling in again from the units below ----------------------------------------------------


class RefillForm(FlaskForm):
    """The "fill in again" button: the revision it starts from, against lost updates."""

    revision = HiddenField()


@bp.post("/<assignment>/<unit>/<period>/refill")
@login_required
def refill(assignment: str, unit: str, period: str):
    """Replace the draft's numbers (and empty texts) by the children's approved figures."""
    view = load_or_404(assignment, unit, period)
    form = RefillForm()
    target = url_for("reporting.report_form", **report_args(view))
    if not form.validate_on_submit():
        flash(str(CSRF_TEXT), "error")
        return redirect(target)
    on_refusal(lambda _refusal: redirect(target))
    report, _issues, figures = consolidation.refill(
        db_session(), current_user._get_current_object(), view,
        _revision_number(form.revision.data))
    flash(ngettext("Filled in again from %(num)s approved report of the units below "
                   "(revision %(number)s). Texts you wrote were kept.",
                   "Filled in again from %(num)s approved reports of the units below "
                   "(revision %(number)s). Texts you wrote were kept.",
                   len(figures.included), number=report.revision), "success")
    return redirect(target)


# -- attachments -----------------------------------------------------------------------------


def _take_attachments(view: ReportView, form: rf.ReportForm,
                      values: dict[str, Any]) -> tuple[list[Issue], dict[str, str]]:
    """Store new uploads and set every attachment field's raw value.

    Returns the issues of refused uploads and the names of the files chosen in
    this request (shown again if the save fails, since a browser cannot refill
    a file input).
    """
    session = db_session()
    user = current_user._get_current_object()
    app_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    issues: list[Issue] = []
    chosen: dict[str, str] = {}
    for fld in view.definition.fields():
        if fld.kind is not FieldKind.ATTACHMENT:
            continue
        entry = form[rf.field_name(fld.key)]
        upload = entry["file"].data
        labels = {"label": fld.label, **({"label_en": fld.label_en} if fld.label_en else {})}
        if isinstance(upload, FileStorage) and upload.filename:
            chosen[fld.key] = files.clean_filename(upload.filename)
            limit = files.size_limit(fld.max_size_mb, app_limit)
            stored = files.store(session, upload.stream, upload.filename, upload.mimetype,
                                 unit=view.unit, user=user, limit=limit)
            if isinstance(stored, files.RefusedFile):
                if stored.code == "too_large":
                    shown = format_number((Decimal(limit) / MB).quantize(Decimal("0.1")))
                    issues.append(error(fld.key, "attachment_too_large", max=shown, **labels))
                else:
                    issues.append(error(fld.key, "bad_attachment", **labels))
                continue
            values[fld.key] = files.attachment_value(stored)
        elif entry["remove"].data:
            values[fld.key] = None
        else:
            values[fld.key] = view.values.get(fld.key)
    return issues, chosen


@bp.get("/<assignment>/<unit>/<period>/files/<token>")
@login_required
def attachment(assignment: str, unit: str, period: str, token: str):
    view = load_or_404(assignment, unit, period)
    stored = files.report_file(db_session(), view.report, view.definition, token)
    if stored is None:
        abort(404)
    response = current_app.response_class(stored.data, mimetype=stored.content_type)
    # Chinese names need RFC 6266's filename*: a raw one cannot be sent as a header.
    response.headers["Content-Disposition"] = content_disposition(stored.filename)
    return response  # nosniff and no-store come with every answer (security_headers)


# -- the page --------------------------------------------------------------------------------


def _page(view: ReportView, form: rf.ReportForm, issues: list[Issue] | None = None, *,
          rows: dict[str, list[int]] | None = None, alerts: list[tuple[str, str]] | None = None,
          status: int = 200, stale: bool = False, lost_files: dict[str, str] | None = None,
          remarks_error: str | None = None, values: dict[str, Any] | None = None,
          prefilled: Prefill | None = None, pending: list[dict] | None = None):
    user = current_user._get_current_object()
    locale = current_locale_code()
    definition = view.definition
    placed = rf.place_issues(definition, issues or [], _, locale, rows)
    rf.show_errors_on(form, definition, placed)
    if remarks_error:
        form.remarks.errors = [remarks_error]
        placed.summary.append(rf.ShownIssue(rf.REMARKS_ANCHOR, remarks_error, True,
                                            str(form.remarks.label.text)))
    shown_values = view.values if values is None else values
    returned = _latest(view, "returned") if view.status == Status.RETURNED else None
    editable = reporting.can_edit(user, view)
    # Offered only when the units below give something the draft does not have yet.
    refillable = (editable and view.report is not None
                  and consolidation.consolidates(db_session(), view.assignment, view.unit)
                  and consolidation.refill_offered(db_session(), view))
    cumulative = cumulative_figures(view, shown_values)
    withdrawable = view.report is not None and reporting.withdraw_refusal(user, view) is None
    return render_template(
        "reporting/form.html",
        view=view, definition=definition, form=form, placed=placed,
        editable=editable, reviewer=reporting.can_review(user, view),
        prefilled=prefilled,
        refill_form=RefillForm(formdata=None, revision=str(view.revision)) if refillable else None,
        stale=stale, alerts=alerts or [],
        explanations=_explanations(view),
        lost_files=lost_files or {}, cumulative=cumulative,
        note_ranges=note_ranges(view, cumulative) if editable else {},
        returned=returned,
        returned_fields=_named_fields(definition, returned.comment if returned else "", locale),
        withdraw_form=WithdrawForm(formdata=None, revision=str(view.revision))
        if withdrawable else None,
        # The reviewer's comments on single fields, shown at those fields until resubmitted.
        field_comments={c.field_key: c.comment for c in returned.field_comments}
        if returned is not None else {},
        args=report_args(view), attachment_limits=_attachment_limits(view),
        targets=targets.shown(definition, targets.for_report(db_session(), view, shown_values),
                              locale),
        event=event_form.shown_event(view, request.form if request.method == "POST" else None,
                                     issues or [], locale, pending=pending)
        if definition.is_event else None,
        phase=targets.phase_now(definition, assignment=view.assignment),
        phases=targets.phases(definition, view.assignment),
        fa=rf.form_applicability(definition, view.unit.tags, shown_values, locale),
    ), status


def _named_fields(definition, comment: str, locale: str) -> list:
    """The fields a return comment names by their label, in the form's order, to link
    them at the top of a returned report (the longest label wins: 已整改隐患数, not 隐患数)."""
    if not comment:
        return []
    found, taken = [], []
    candidates = sorted(definition.fields(), key=lambda f: -len(f.text("label", locale)))
    for fld in candidates:
        label = fld.text("label", locale)
        if len(label) < 2 or label not in comment:
            continue
        if any(label in longer for longer in taken):
            continue
        taken.append(label)
        found.append(fld)
    order = {f.key: n for n, f in enumerate(definition.fields())}
    return sorted(found, key=lambda f: order[f.key])


def _explanations(view: ReportView) -> dict[str, str]:
    """The 说明 to show in the note boxes: as sent, when the page comes back from a post."""
    stored = view.report.explanations if view.report is not None else None
    if request.method == "POST":
        return rf.posted_explanations(request.form, stored)
    return dict(stored or {})


def skipped_labels(definition, keys: list[str], locale: str) -> str:
    """The labels of fields left out, as a list people read."""
    separator = ", " if locale.startswith("en") else "、"
    labels = [fld.text("label", locale) for fld in map(definition.field, keys) if fld]
    return separator.join(labels)


def _attachment_limits(view: ReportView) -> dict[str, int | None]:
    app_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return {f.key: files.size_limit(f.max_size_mb, app_limit)
            for f in view.definition.fields() if f.kind is FieldKind.ATTACHMENT}


def _latest(view: ReportView, action: str) -> ReportEvent | None:
    if view.report is None:
        return None
    return next((e for e in reporting.events(db_session(), view.report) if e.action == action),
                None)
