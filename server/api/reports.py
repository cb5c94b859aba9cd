"""Reports over the API: read, save a draft, submit, review, history and the Excel round trip.

Every route resolves ``/reports/{assignment}/{unit}/{period}`` within the
caller's scope (404 otherwise, as if it did not exist) and calls the same
workflow services as the web pages. Their refusals are answered as problem
details by ``server.api.problems``:

* 403 ``forbidden`` — the report is visible but the action is not the caller's
  (a submitter approving, a consolidator filling in a village's report);
* 409 ``locked`` — saving an approved report; 409 ``invalid_state`` — an action
  the report's status does not allow; 409 ``stale_revision`` — ``If-Match`` names
  an older revision (``current_revision`` says which is current);
* 422 ``invalid`` — values or a submission with errors, with ``issues``;
* 428 ``precondition_required`` — a save without ``If-Match``.

An event report's ``PUT`` also carries its time and place (``event``), see
``server.api.events``. ``PUT`` replaces the report's values with the body's ``values`` (a field left
out is empty), except attachments: they are uploaded on the web form, so an
attachment left out keeps its file, ``null`` removes it, and the stored object
may be sent back unchanged. A ``PUT`` whose values and remarks are already the
current revision's answers that revision even when its ``If-Match`` is older: it
is the retry of a save that was committed, so repeating a ``PUT`` is safe.
"""

from __future__ import annotations

import io
import re
from typing import Any

from flask import request, send_file
from flask_babel import gettext as _

from forms.definition import FieldKind
from forms.values import coerce_values, jsonable
from server.api import schemas, serializers
from server.api.auth import api_user
from server.api.blueprint import bp
from server.api.event_input import save_event
from server.api.problems import ApiError
from server.db import db_session
from server.locale import current_locale_code
from server.models.reporting import Source
from server.services import reporting
from server.services import review as review_service
from server.services import workbooks as workbook_service
from server.services.errors import StaleRevision
from server.services.reporting import ReportView

REPORT = "/reports/<assignment>/<unit>/<period>"
_REVISION = re.compile(r'^\s*(?:W/)?"?\s*(\d{1,9})\s*"?\s*$')


# -- helpers --------------------------------------------------------------------------------


def _view(assignment: str, unit: str, period: str) -> ReportView:
    return reporting.load(db_session(), api_user(), assignment, unit, period)


def body_object(*, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object; 400 when malformed or not an object (or absent unless
    *optional*)."""
    if optional and not request.get_data():
        return {}
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", _("The body must be a JSON object."))
    return data


def _answer(view: ReportView, extra_issues=(), status: int = 200, stored=None):
    response = schemas.answer(serializers.report(view, extra_issues, stored))
    return response, status, {"ETag": f'"{view.revision}"'}


def _reload(view: ReportView) -> ReportView:
    """The view as it stands now, after the request's changes (flushed), for the answer."""
    session = db_session()
    session.flush()
    session.expire_all()
    return reporting.load(session, api_user(), view.assignment.key, view.unit.code, view.period)


def _if_match(*, required: bool) -> int | None:
    """The revision ``If-Match`` names (``"3"``, ``3`` or ``W/"3"``); ``*`` means any."""
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        if required:
            raise ApiError(428, "precondition_required",
                           _("Send the revision you started from in the If-Match header "
                             "(the report's ETag), so a newer save is never overwritten."))
        return None
    if header.strip() == "*":
        return None
    match = _REVISION.match(header)
    if match is None:
        raise ApiError(400, "bad_request",
                       _("If-Match must be a revision number such as \"3\" (the report's ETag)."))
    return int(match.group(1))


def _text(body: dict[str, Any], name: str) -> str | None:
    """An optional string member of the body (400 when it is another type)."""
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ApiError(400, "bad_request", _("“%(name)s” must be a string.", name=name))


# -- read and save --------------------------------------------------------------------------


@bp.get(REPORT)
def get_report(assignment: str, unit: str, period: str):
    return _answer(_view(assignment, unit, period))


@bp.put(REPORT)
def put_report(assignment: str, unit: str, period: str):
    view = _view(assignment, unit, period)
    body = body_object()
    if view.definition.is_event:
        save_event(view, body, _if_match(required=True))
        return _answer(_reload(view))
    values = body.get("values")
    if not isinstance(values, dict):
        raise ApiError(400, "bad_request",
                       _("The body needs “values”: an object of values by field key."))
    remarks = _text(body, "remarks")
    explanations = _explanations(body)
    expected = _if_match(required=True)
    raw, refused = _raw_values(view, values)
    if refused:
        raise ApiError(422, "invalid", str(reporting.NOT_SAVED), issues=refused)
    answered = []

    def answer(saved: ReportView, stored: list, warnings: list) -> None:
        # The view as the save leaves it, with the issues a submission would check and the
        # warnings of reading what was sent (what does not apply to the unit is left out,
        # with no warning about it): the answer needs neither another read nor another
        # validation, and is built before the writes, so the write lock is not held while
        # it is.
        answered.append(_answer(saved, warnings, stored=stored))

    try:
        reporting.save(db_session(), api_user(), view, raw, remarks=remarks,
                       explanations=explanations, expected_revision=expected,
                       source=Source.API, check_required=True, before_writes=answer)
    except StaleRevision:
        typed, _coercion = coerce_values(view.definition, view.applicability(raw).prune(raw))
        if not _is_current(view, typed, remarks, explanations):
            raise
        # The retry of a save that was committed (its answer was lost): nothing to do again.
        return _answer(view)
    return answered[-1]


def _explanations(body: dict[str, Any]) -> dict[str, str] | None:
    """The optional "explanations" member: strings (or null) by field key."""
    value = body.get("explanations")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(v is None or isinstance(v, str)
                                              for v in value.values()):
        raise ApiError(400, "bad_request",
                       _("“explanations” must be an object of texts by field key."))
    return {k: v for k, v in value.items() if v is not None}


def _is_current(view: ReportView, typed: dict[str, Any], remarks: str | None,
                explanations: dict[str, str] | None = None) -> bool:
    """Whether *typed* values, *remarks* and *explanations* are exactly the latest revision."""
    report = view.report
    return (report is not None and jsonable(typed) == report.values
            and (remarks is None or remarks.strip() == report.remarks)
            and (explanations is None or reporting.clean_explanations(
                view.definition, explanations) == (report.explanations or {})))


def _raw_values(view: ReportView, values: dict[str, Any]) -> tuple[dict[str, Any], list]:
    """The values to save, and the issues of keys the report cannot take from the API."""
    fields = {f.key: f for f in view.definition.fields()}
    refused = [serializers.message_issue(key, "unknown_field",
                                         _("%(key)s is not a field of this report.", key=key),
                                         key=key)
               for key in values if key not in fields]
    raw = {key: value for key, value in values.items() if key in fields}
    for key, fld in fields.items():
        if fld.kind is not FieldKind.ATTACHMENT:
            continue
        current = view.values.get(key)
        if key not in values:
            raw[key] = current
            continue
        sent = values[key]
        same = (isinstance(sent, dict) and isinstance(current, dict)
                and sent.get("id") == current.get("id"))
        if sent is None or same:
            raw[key] = current if same else None
        else:
            label = fld.text("label", current_locale_code())
            refused.append(serializers.message_issue(
                key, "attachment_not_in_api",
                _("%(label)s: files are attached on the web form; send the stored attachment "
                  "unchanged or null to remove it.", label=label), label=label))
    return raw, refused


# -- workflow actions -----------------------------------------------------------------------


@bp.post(REPORT + "/submit")
def submit_report(assignment: str, unit: str, period: str):
    view = _view(assignment, unit, period)
    body = body_object(optional=True)
    remarks = _text(body, "remarks")
    expected = _if_match(required=False)
    session, user = db_session(), api_user()
    if remarks is not None and view.report is not None \
            and remarks.strip() != view.report.remarks:
        # Remarks belong to a revision: record them before submitting it.
        reporting.save(session, user, view, view.values, remarks=remarks,
                       expected_revision=expected, source=Source.API)
        expected = view.revision
    reporting.submit(session, user, view, expected_revision=expected)
    return _answer(_reload(view))


@bp.post(REPORT + "/withdraw")
def withdraw_report(assignment: str, unit: str, period: str):
    """撤回: a submitted report back to a draft, until a reviewer acts on it."""
    view = _view(assignment, unit, period)
    reporting.withdraw(db_session(), api_user(), view, expected_revision=_if_match(required=False))
    return _answer(_reload(view))


def _decide(assignment: str, unit: str, period: str, decision: str, text_member: str | None):
    view = _view(assignment, unit, period)
    body = body_object(optional=True)
    text = _text(body, text_member) if text_member else None
    acknowledged = body.get("acknowledged", False)
    if not isinstance(acknowledged, bool):
        raise ApiError(400, "bad_request", _("“acknowledged” must be true or false."))
    on_fields = body.get("field_comments") if decision == "return" else None
    if on_fields is not None and not (isinstance(on_fields, dict) and all(
            isinstance(v, str) for v in on_fields.values())):
        raise ApiError(400, "bad_request",
                       _("“%(name)s” must be an object of strings.", name="field_comments"))
    review_service.decide(db_session(), api_user(), view, decision, text or "",
                          expected_revision=_if_match(required=False),
                          acknowledged=acknowledged, field_comments=on_fields)
    return _answer(_reload(view))


@bp.post(REPORT + "/return")
def return_report(assignment: str, unit: str, period: str):
    return _decide(assignment, unit, period, "return", "comment")


@bp.post(REPORT + "/approve")
def approve_report(assignment: str, unit: str, period: str):
    return _decide(assignment, unit, period, "approve", None)


@bp.post(REPORT + "/unapprove")
def unapprove_report(assignment: str, unit: str, period: str):
    return _decide(assignment, unit, period, "unapprove", "reason")


# -- history --------------------------------------------------------------------------------


@bp.get(REPORT + "/history")
def report_history(assignment: str, unit: str, period: str):
    """Every revision and every workflow event, oldest first."""
    view = _view(assignment, unit, period)
    session = db_session()
    revisions, events = [], []
    if view.report is not None:
        revisions = [schemas.Revision(
            number=r.number,
            author=r.author.username if r.author else None,
            source=r.source,
            created_at=r.created_at,
            values=r.values,
            remarks=r.remarks,
            explanations=dict(r.explanations or {}),
        ) for r in reversed(reporting.revisions(session, view.report))]
        events = [schemas.Event(
            action=e.action,
            actor=e.actor.username if e.actor else None,
            revision=e.revision,
            comment=e.comment,
            created_at=e.created_at,
            field_comments=serializers.field_comments(view.definition, e),
        ) for e in reversed(reporting.events(session, view.report))]
    return schemas.answer(schemas.History(revisions=revisions, events=events))


# -- the Excel round trip -------------------------------------------------------------------


@bp.get(REPORT + "/workbook.xlsx")
def report_workbook(assignment: str, unit: str, period: str):
    workbook = workbook_service.template_for(db_session(), api_user(),
                                             _view(assignment, unit, period))
    return send_file(io.BytesIO(workbook.data), mimetype=workbook_service.XLSX_TYPE,
                     as_attachment=True, download_name=workbook.filename, max_age=0)


@bp.post(REPORT + "/workbook")
def upload_workbook(assignment: str, unit: str, period: str):
    """Read a filled workbook: saved as a draft when it has no errors (warnings allowed)."""
    view = _view(assignment, unit, period)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "bad_request",
                       _("Send the filled workbook as the multipart field “file”."))
    user = api_user()
    outcome = workbook_service.import_upload(db_session(), user, view, upload.read(),
                                             upload.filename)
    if isinstance(outcome.refusal, StaleRevision):
        # Another save of the report won the race since this request read it: a conflict,
        # as for a PUT, and nothing of this upload is kept.
        raise outcome.refusal
    found = serializers.issues(outcome.issues)
    if outcome.refusal is not None:
        found.insert(0, serializers.message_issue(None, "refused", str(outcome.refusal)))
    current = _reload(view)
    result = schemas.WorkbookResult(
        saved=outcome.saved, result=outcome.result, summary=workbook_service.summary(outcome),
        issues=found, report=serializers.report(current))
    if outcome.saved:
        return schemas.answer(result), 200, {"ETag": f'"{current.revision}"'}
    # Not saved: a problem whose members are the result's.
    if any(i.code == "file_too_large" for i in outcome.issues):
        raise ApiError(413, "too_large", result.summary, **dict(result))
    raise ApiError(422, "invalid", result.summary, **dict(result))
