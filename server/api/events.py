"""Event reports over the API: file a new event, list those that arrived, attachments.

An event is a report (``/reports/{assignment}/{unit}/event-N``): it is read, saved
(``PUT`` with an ``event`` member for its time and place), submitted and reviewed
by the report routes. Here: ``POST /events/{assignment}`` files the next event of
the caller's unit, ``GET /events`` lists the events handed in within the caller's
scope, and an event's photos and documents are added and read one by one.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, request
from flask_babel import gettext as _

from server import event_downloads
from server.api import schemas, serializers
from server.api.auth import api_user
from server.api.blueprint import bp
from server.api.event_input import save_event
from server.api.problems import ApiError
from server.api.reports import REPORT, _answer, _if_match, _reload, _view, body_object
from server.db import db_session
from server.downloads import content_disposition
from server.locale import current_locale_code
from server.models.reporting import Source
from server.services import assignments as assignment_service
from server.services import events as event_service
from server.services import files, reporting
from server.services.errors import NotVisible


@bp.post("/events/<assignment>")
def create_event(assignment: str):
    """File the next event of the caller's own unit."""
    session, user = db_session(), api_user()
    if user.unit is None:
        raise NotVisible(what=assignment)
    found = assignment_service.get_assignment(session, assignment)
    if not assignment_service.is_event(found):
        raise NotVisible(what=assignment)
    key = reporting.next_event_key(session, found, user.unit)
    view = _view(assignment, user.unit.code, key)
    save_event(view, body_object(), expected=0)
    return _answer(_reload(view), status=201)


@bp.get("/events")
def list_events():
    since, until = _day("since"), _day("until")
    rows = event_service.arrived(db_session(), api_user(),
                                 assignment=request.args.get("assignment") or None,
                                 since=since, until=until, locale=current_locale_code())
    return schemas.answer(schemas.EventList(events=[schemas.ArrivedEvent(
        assignment=row.report.assignment.key, unit=serializers.unit_ref(row.report.unit),
        period=row.report.period, title=row.title, status=row.report.status,
        revision=row.report.revision, received_at=row.report.submitted_at,
        event=serializers.event_details(row.report.event)) for row in rows]))


def _day(name: str) -> date | None:
    text = request.args.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "bad_request", _("“%(value)s” is not a date such as 2024-06-30.",
                                              value=text)) from None


def _export(assignment: str) -> event_service.EventExport:
    return event_service.export(db_session(), api_user(), assignment, since=_day("since"),
                                until=_day("until"), locale=current_locale_code())


@bp.get("/events/<assignment>/events.xlsx")
def events_workbook(assignment: str):
    return event_downloads.workbook_response(_export(assignment))


@bp.get("/events/<assignment>/events.csv")
def events_csv(assignment: str):
    return event_downloads.csv_response(_export(assignment))


@bp.post(REPORT + "/attachments")
def add_attachment(assignment: str, unit: str, period: str):
    """Add one photo or document (multipart field "file") to an event: a new revision."""
    view = _view(assignment, unit, period)
    if not view.definition.is_event:
        raise NotVisible(what=period)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "bad_request", _("Send the file as the multipart field “file”."))
    event_service.save_event(
        db_session(), api_user(), view, dict(view.values), None,
        uploads=[event_service.Upload(upload.stream, upload.filename)],
        app_limit=current_app.config.get("MAX_CONTENT_LENGTH"),
        expected_revision=_if_match(required=True), source=Source.API)
    return _answer(_reload(view))


@bp.get(REPORT + "/attachments/<token>")
def read_attachment(assignment: str, unit: str, period: str, token: str):
    view = _view(assignment, unit, period)
    stored = files.report_file(db_session(), view.report, view.definition, token)
    if stored is None:
        raise NotVisible(what=token)
    response = current_app.response_class(stored.data, mimetype=stored.content_type)
    # Chinese names need RFC 6266's filename*: a raw one cannot be sent as a header.
    response.headers["Content-Disposition"] = content_disposition(stored.filename)
    return response
