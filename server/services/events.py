"""Event reports (事故信息, 重要情况随时报告): filed whenever something happens.

An event is a report of an event assignment with its own key (``event-1``,
``event-2``… per unit), so it is saved, submitted, returned and approved like
any report, every save a new revision. Besides its fields it carries the time
and place of the event and its photos and documents (``forms.events``), kept
on the report and on each revision. Nothing is ever due: consolidators above
see the events as they arrive (:func:`arrived`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from exports.event_list import EventRow
from forms import event_files
from forms.definition import Definition
from forms.events import (
    ATTACHMENTS,
    EventInfo,
    attachment_limits,
    check_attachment_count,
    mb_text,
    read_event,
)
from forms.issues import Issue, error
from forms.periods import SHANGHAI, Period
from forms.values import loads_values
from server.models import Unit, User
from server.models.accounts import utcnow
from server.models.reporting import Assignment, Report, Revision, Source, StoredFile
from server.scope import unit_scope
from server.services import files, reporting, review
from server.services.assignments import is_event, version_for
from server.services.errors import InvalidReport, NotVisible
from server.services.reporting import ReportView

NOT_SAVED = _l("The event was not saved: correct the marked entries.")
KIND_NAMES = {event_files.JPEG: "JPEG", event_files.PNG: "PNG", event_files.PDF: "PDF"}


@dataclass(frozen=True)
class Upload:
    """A file sent with an event: its stream and the name the sender gave it."""

    stream: IO[bytes]
    filename: str


def stored_event(view: ReportView) -> EventInfo | None:
    """The event's time, place and attachments as last saved (None before the first save)."""
    if view.report is None or not view.report.event:
        return None
    return EventInfo.from_json(view.report.event)


def save_event(session: Session, user: User, view: ReportView, raw_values: Mapping[str, Any],
               raw_event: Mapping[str, Any] | None, *, uploads: Sequence[Upload] = (),
               keep: Sequence[str] | None = None, pending: Sequence[str] = (),
               app_limit: int | None = None,
               remarks: str | None = None, explanations: Mapping[str, str] | None = None,
               expected_revision: int | None = None, source: str = Source.WEB,
               now: datetime | None = None) -> tuple[Report, list[Issue]]:
    """Save an event: its fields (*raw_values*), its time and place (*raw_event*, or the
    stored ones when None) and its attachments: the stored ones named in *keep* (all
    when None) and the new *uploads*. Any refused upload or entry refuses the whole
    save (InvalidReport), so nothing changes."""
    refusal = reporting.edit_refusal(user, view)  # before any file is stored
    if refusal is not None:
        raise refusal
    reporting.check_revision(view, expected_revision)
    now = now or utcnow()
    rules = view.definition.event_rules
    current = stored_event(view)
    kept = [a for a in (current.attachments if current else ())
            if keep is None or a.get("id") in keep]
    claimed = claim_pending(session, user, view, pending, now)
    new, issues = _store_uploads(session, user, view, uploads, app_limit)
    attachments = kept + [a for a in claimed if a["id"] not in {k.get("id") for k in kept}] + new
    issues += check_attachment_count(rules, [int(a.get("size") or 0) for a in attachments],
                                     app_limit)
    if raw_event is None:
        if current is None:
            raw_event = {}
        else:
            raw_event = {"at": current.at.isoformat(), "location": current.location,
                         "latitude": current.latitude, "longitude": current.longitude}
    info, event_issues = read_event(raw_event, now, attachments)
    issues += event_issues
    if issues:
        raise InvalidReport(NOT_SAVED, issues)
    return reporting.save(session, user, view, raw_values, remarks=remarks,
                          explanations=explanations, expected_revision=expected_revision,
                          source=source, event=info, now=now)


def _store_uploads(session: Session, user: User, view: ReportView, uploads: Sequence[Upload],
                   app_limit: int | None) -> tuple[list[dict[str, Any]], list[Issue]]:
    """Keep each upload that is a whole JPEG, PNG or PDF within the size limit."""
    per_file, _total = attachment_limits(view.definition.event_rules, app_limit)
    stored, issues = [], []
    for upload in uploads:
        name = files.clean_filename(upload.filename)
        data = files.read_limited(upload.stream, per_file)
        if data is None:
            issues.append(error(ATTACHMENTS, "attachment_file_too_large", name=name,
                                max=mb_text(per_file)))
            continue
        if not data:
            issues.append(error(ATTACHMENTS, "attachment_empty", name=name))
            continue
        checked = event_files.check(data, name)
        if checked.problem is not None:
            kind = KIND_NAMES.get(_sniffed(data), "")
            issues.append(error(ATTACHMENTS, f"attachment_{checked.problem}", name=name,
                                kind=kind))
            continue
        kept = files.store_bytes(session, data, name, checked.content_type, unit=view.unit,
                                 user=user)
        stored.append(files.attachment_value(kept))
    return stored, issues


# -- files kept from a refused try -----------------------------------------------------------
# A refused event form keeps nothing of its save, but the person chose photos and documents:
# those that pass the checks are kept as *pending* files of the event, named on the form
# again by a token signed for this event (assignment, unit, key), and attached by the next
# save that sends them back. Only the account that chose a file, for the same unit and
# event, can claim it, and only within PENDING_FOR.

PENDING_FOR = timedelta(hours=24)
_PENDING_LABEL = b"tianbao event pending file"


def keep_pending(session: Session, user: User, view: ReportView, uploads: Sequence[Upload],
                 claimed: Sequence[Mapping[str, Any]], app_limit: int | None) -> list[dict]:
    """Store the acceptable *uploads* of a refused save as pending files, after the
    *claimed* ones already pending, within the template's number of files; returns them
    (attachment values with their signed ``pending`` token). The caller commits."""
    readable = []
    for upload in uploads:  # read once already by the refused save
        try:
            upload.stream.seek(0)
        except (AttributeError, OSError, ValueError):
            continue
        readable.append(upload)
    stored, _issues = _store_uploads(session, user, view, readable, app_limit)
    room = max(view.definition.event_rules.max_files - len(claimed), 0)
    kept = [*claimed, *stored[:room]]
    for attachment in stored[room:]:  # more than the event may carry: not kept
        session.execute(delete(StoredFile).where(StoredFile.token == attachment["id"]))
    return [{**a, "pending": pending_token(view, a["id"])} for a in kept]


def claim_pending(session: Session, user: User, view: ReportView, signed: Sequence[str],
                  now: datetime | None = None) -> list[dict]:
    """The pending files *signed* names that *user* chose for this very event, within
    PENDING_FOR (anything else named is ignored), as attachment values."""
    tokens = [token for token in (_verified(view, s) for s in signed) if token]
    if not tokens:
        return []
    since = (now or utcnow()) - PENDING_FOR
    found = session.scalars(select(StoredFile).where(
        StoredFile.token.in_(tokens), StoredFile.created_by_id == user.id,
        StoredFile.unit_id == view.unit.id, StoredFile.created_at >= since)).all()
    by_token = {f.token: f for f in found}
    return [files.attachment_value(by_token[t]) for t in dict.fromkeys(tokens) if t in by_token]


def clean_up_pending(session: Session, now: datetime | None = None) -> int:
    """Delete the pending files no save claimed within PENDING_FOR (rows and their bytes,
    which live in the row); the number deleted. The caller commits.

    A pending file is an event attachment (JPEG, PNG or PDF) kept for its unit that no
    revision of the unit's reports refers to: a claimed one is in the revision that
    attached it, and files are never detached from history.
    """
    since = (now or utcnow()) - PENDING_FOR
    candidates = {token: unit_id for token, unit_id in session.execute(
        select(StoredFile.token, StoredFile.unit_id).where(
            StoredFile.created_at < since, StoredFile.unit_id.is_not(None),
            StoredFile.content_type.in_(tuple(event_files.EXTENSIONS))))}
    if not candidates:
        return 0
    referenced: set[str] = set()
    rows = session.execute(
        select(Revision.values, Revision.event, StoredFile.token)
        .join(Report, Report.id == Revision.report_id)
        .outerjoin(StoredFile, StoredFile.id == Revision.file_id)
        .where(Report.unit_id.in_(set(candidates.values()))))
    for values, event, upload in rows:
        referenced |= _file_ids(values) | _file_ids(event)
        if upload:
            referenced.add(upload)
    unclaimed = [token for token in candidates if token not in referenced]
    if unclaimed:
        session.execute(delete(StoredFile).where(StoredFile.token.in_(unclaimed)))
    return len(unclaimed)


def _file_ids(value: Any) -> set[str]:
    """The ``id`` of every attachment value found in *value* (fields, tables, events)."""
    if isinstance(value, dict):
        found = {str(value["id"])} if isinstance(value.get("id"), str) else set()
        for inner in value.values():
            found |= _file_ids(inner)
        return found
    if isinstance(value, list):
        return set().union(*(_file_ids(inner) for inner in value))
    return set()


def pending_token(view: ReportView, token: str) -> str:
    """*token* signed for the event of *view*: ``<token>.<signature>``."""
    return f"{token}.{_signature(view, token)}"


def _verified(view: ReportView, signed: str) -> str | None:
    token, _dot, signature = str(signed).partition(".")
    if not token or not hmac.compare_digest(signature, _signature(view, token)):
        return None
    return token


def _signature(view: ReportView, token: str) -> str:
    secret = current_app.config["SECRET_KEY"]
    key = hmac.new(secret.encode("utf-8") if isinstance(secret, str) else secret,
                   _PENDING_LABEL, hashlib.sha256).digest()
    scope = "\x1f".join((view.assignment.key, view.unit.code, view.period, token))
    return hmac.new(key, scope.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _sniffed(data: bytes) -> str | None:
    """The format the first bytes announce, to name it when the extension disagrees."""
    for content_type, signature in ((event_files.PNG, b"\x89PNG"), (event_files.JPEG, b"\xff\xd8"),
                                    (event_files.PDF, b"%PDF-")):
        if data.startswith(signature):
            return content_type
    return None


# -- the consolidators' list ---------------------------------------------------------------


@dataclass(frozen=True)
class ArrivedEvent:
    """One event in the list of the events that arrived from below."""

    report: Report
    title: str
    info: EventInfo

    @property
    def attachments(self) -> int:
        return len(self.info.attachments)


def arrived(session: Session, user: User, *, assignment: str | None = None,
            since: date | None = None, until: date | None = None,
            locale: str = "zh_CN") -> list[ArrivedEvent]:
    """The events handed in by units *user* may see (a consolidator: their subtree, their
    own office's included), newest arrival first; *since*/*until* bound the event time
    (days in Beijing time, inclusive)."""
    query = (select(Report).join(Unit, Report.unit_id == Unit.id)
             .join(Assignment, Report.assignment_id == Assignment.id)
             .where(unit_scope(user), Report.event_at.is_not(None),
                    Report.submitted_at.is_not(None))
             .options(joinedload(Report.unit), joinedload(Report.assignment),
                      joinedload(Report.template_version))
             .order_by(Report.submitted_at.desc(), Report.id.desc()))
    if assignment:
        query = query.where(Assignment.key == assignment)
    if since is not None:
        query = query.where(Report.event_at >= _start_of(since))
    if until is not None and until < date.max:
        query = query.where(Report.event_at < _start_of(until + timedelta(days=1)))
    return [ArrivedEvent(r, r.template_version.definition.text("title", locale),
                         EventInfo.from_json(r.event))
            for r in session.scalars(query).unique() if r.event]


def _start_of(day: date) -> datetime:
    """The first moment of *day* in Beijing, in UTC: SQLite keeps the UTC clock time only."""
    try:
        return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)
    except OverflowError:  # 0001-01-01 in Beijing is before any UTC datetime
        return datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class EventExport:
    """The events of one event assignment as the exports write them."""

    definition: Definition
    title: str
    rows: list[EventRow]
    filename: str


def export(session: Session, user: User, assignment_key: str, *, since: date | None = None,
           until: date | None = None, locale: str = "zh_CN") -> EventExport:
    """The events of *assignment_key* handed in within *user*'s scope, oldest first;
    NotVisible for an assignment that is not of events."""
    assignment = session.scalar(select(Assignment).where(Assignment.key == assignment_key))
    if assignment is None or not is_event(assignment):
        raise NotVisible(what=assignment_key)
    found = arrived(session, user, assignment=assignment_key, since=since, until=until,
                    locale=locale)
    found.sort(key=lambda row: (row.info.at, row.report.id))
    rows = [EventRow(unit_code=r.report.unit.code, unit_name=r.report.unit.name,
                     key=r.report.period, status=reporting.status_label(r.report.status),
                     status_code=r.report.status, revision=r.report.revision,
                     received_at=r.report.submitted_at, info=r.info,
                     values=loads_values(r.report.template_version.definition,
                                         r.report.values or {}))
            for r in found]
    definition = version_for(assignment, assignment.first_period).definition
    return EventExport(definition, definition.text("title", locale), rows,
                       f"events-{assignment.key}")


@dataclass(frozen=True)
class EventWindow:
    """The events export that stands for a period of an event assignment: the days of the
    period (both None for the whole open-ended window of ``event`` or ``event-N``)."""

    assignment: str
    since: date | None
    until: date | None


def period_window(session: Session, user: User, assignment_key: str, unit_code: str,
                  period: str) -> EventWindow | None:
    """Where a per-period consolidation of an event assignment is found instead: its
    events, within the days of *period* (a month, quarter, year… read as Beijing days).
    None when the assignment is not of events, so the caller consolidates as usual;
    NotVisible for a unit outside *user*'s scope or a period that names no days."""
    assignment = session.scalar(select(Assignment).where(Assignment.key == assignment_key))
    if assignment is None or not is_event(assignment):
        return None
    if session.scalar(select(Unit.id).where(Unit.code == unit_code, unit_scope(user))) is None:
        raise NotVisible(what=unit_code)
    try:
        parsed = Period.parse(period)
    except ValueError:
        raise NotVisible(what=period) from None
    if parsed.start == date.min:  # event-N, event, once: no days of their own
        return EventWindow(assignment.key, None, None)
    return EventWindow(assignment.key, parsed.start, parsed.end)


def event_assignments_in_scope(session: Session, user: User) -> list[Assignment]:
    """The event assignments whose subtree *user* sees part of (for the list's filter)."""
    return [a for a in review.assignments_for(session, user) if is_event(a)]
