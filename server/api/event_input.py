"""The event member of a report save over the API, read and saved (PUT and POST /events)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _

from server.api import serializers
from server.api.auth import api_user
from server.api.problems import ApiError
from server.db import db_session
from server.models.reporting import Source
from server.services import events as event_service
from server.services import reporting
from server.services.reporting import ReportView


def event_input(body: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str] | None]:
    """The body's "event" member as the service reads it, and the attachments to keep."""
    event = body.get("event")
    if event is None:
        return None, None
    if not isinstance(event, dict):
        raise ApiError(400, "bad_request", _("“event” must be an object."))
    keep = event.get("attachments")
    if keep is not None and not (isinstance(keep, list) and all(isinstance(k, str)
                                                                for k in keep)):
        raise ApiError(400, "bad_request", _("“attachments” must be a list of ids."))
    raw = {name: event.get(name) for name in ("at", "location", "latitude", "longitude")}
    for name in ("at", "location"):
        if raw[name] is not None and not isinstance(raw[name], str):
            raise ApiError(400, "bad_request", _("“%(name)s” must be a string.", name=name))
    return raw, keep


def save_event(view: ReportView, body: dict[str, Any], expected: int | None) -> None:
    """Save the body's values and event member on *view*'s event (PUT and POST /events)."""
    values = body.get("values")
    if not isinstance(values, dict):
        raise ApiError(400, "bad_request",
                       _("The body needs “values”: an object of values by field key."))
    raw, keep = event_input(body)
    known = {f.key for f in view.definition.fields()}
    unknown = [k for k in values if k not in known]
    if unknown:
        raise ApiError(422, "invalid", str(reporting.NOT_SAVED), issues=[
            serializers.message_issue(k, "unknown_field",
                                      _("%(key)s is not a field of this report.", key=k), key=k)
            for k in unknown])
    event_service.save_event(db_session(), api_user(), view, values, raw, keep=keep,
                             app_limit=current_app.config.get("MAX_CONTENT_LENGTH"),
                             remarks=_remarks(body), expected_revision=expected,
                             source=Source.API)




def _remarks(body: dict[str, Any]) -> str | None:
    value = body.get("remarks")
    if value is None or isinstance(value, str):
        return value
    raise ApiError(400, "bad_request", _("“%(name)s” must be a string.", name="remarks"))
