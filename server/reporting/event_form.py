"""The event part of an event report's page: time, place and attachments.

Read straight from the posted form (``event_at``, ``event_location``,
``event_latitude``, ``event_longitude``, ``event_keep`` for the attachments to
keep and ``event_files`` for new ones) and shown back, with its problems, by
``reporting/_event_panel.html``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage, MultiDict

from forms import event_files
from forms.events import EventInfo, attachment_limits, mb_text
from forms.issues import Issue
from server.services import events
from server.services.reporting import ReportView


def posted_event(form: MultiDict) -> dict[str, Any]:
    return {"at": form.get("event_at", ""), "location": form.get("event_location", ""),
            "latitude": form.get("event_latitude", ""),
            "longitude": form.get("event_longitude", "")}


def _files(files: MultiDict) -> list[FileStorage]:
    return [f for f in files.getlist("event_files") if isinstance(f, FileStorage) and f.filename]


def uploads(files: MultiDict) -> list[events.Upload]:
    return [events.Upload(f.stream, f.filename or "") for f in _files(files)]


def chosen_files(files: MultiDict) -> dict[str, str]:
    """The names of the files chosen, to say they must be chosen again after a refusal."""
    return {f"event_files_{n}": f.filename or "" for n, f in enumerate(_files(files))}


@dataclass
class ShownEvent:
    """What the event panel shows: the entries, the attachments and the problems."""

    at: str = ""
    location: str = ""
    latitude: str = ""
    longitude: str = ""
    stored: EventInfo | None = None
    keep: set[str] = field(default_factory=set)
    # Files chosen for a refused save, kept on the server until the next save attaches them.
    pending: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    ask_location: bool = True
    max_files: int = 0
    limits: str = ""
    accept: str = event_files.ACCEPT


def shown_event(view: ReportView, posted: Mapping[str, Any] | None, issues: list[Issue],
                locale: str, pending: list[dict[str, Any]] | None = None) -> ShownEvent:
    stored = events.stored_event(view)
    rules = view.definition.event_rules
    per_file, total = attachment_limits(rules, current_app.config.get("MAX_CONTENT_LENGTH"))
    shown = ShownEvent(stored=stored, ask_location=rules.location, max_files=rules.max_files,
                       pending=list(pending or ()),
                       limits=_("JPEG, PNG or PDF; at most %(count)s files, %(file)s MB each, "
                                "%(total)s MB together.", count=rules.max_files,
                                file=mb_text(per_file), total=mb_text(total)))
    if posted is not None:
        shown.at = posted.get("event_at", "")
        shown.location = posted.get("event_location", "")
        shown.latitude = posted.get("event_latitude", "")
        shown.longitude = posted.get("event_longitude", "")
        shown.keep = set(posted.getlist("event_keep")) if hasattr(posted, "getlist") else set()
    elif stored is not None:
        shown.at = stored.local_time.strftime("%Y-%m-%dT%H:%M")
        shown.location = stored.location
        shown.latitude = "" if stored.latitude is None else str(stored.latitude)
        shown.longitude = "" if stored.longitude is None else str(stored.longitude)
        shown.keep = {str(a.get("id")) for a in stored.attachments}
    for issue in issues:
        if issue.field and issue.field.startswith("event."):
            shown.errors.setdefault(issue.field, []).append(issue.render(_, locale))
    return shown
