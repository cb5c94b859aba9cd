"""One audit log of administrative and security events.

:func:`record` is the one way to write to it: every recording site (templates,
units, accounts, sign-ins, passwords, tokens, closing periods, 一键催报) calls it
with a kind from :class:`Kind`. A report's workflow (submitted, withdrawn,
returned, approved, unapproved) is already in its history and is listed from
there (:data:`REPORT_KINDS`). The log is kept indefinitely:
nothing here, or anywhere else, updates or deletes its rows.

Who may read it: administrators everything, a consolidator the events about its
subtree (the unit's path as it stood when the event happened), nobody else
anything (:func:`audit_scope`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    false,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session, selectinload

from forms.periods import SHANGHAI
from server.labels import period_label
from server.models import AuditEvent, Report, ReportEvent, Role, Unit, User
from server.models.accounts import utcnow
from server.models.units import subtree_bounds

TARGET_MAX = 300


class Kind(enum.StrEnum):
    """The fixed vocabulary of audited events (labels in :data:`KIND_LABELS`)."""

    TEMPLATE_PUBLISHED = "template_published"
    TEMPLATE_RETIRED = "template_retired"
    TEMPLATE_RESTORED = "template_restored"
    TEMPLATE_DRAFT_CREATED = "template_draft_created"
    UNIT_CREATED = "unit_created"
    UNIT_CHANGED = "unit_changed"
    UNIT_MOVED = "unit_moved"
    UNIT_CLOSED = "unit_closed"
    UNITS_IMPORTED = "units_imported"
    USER_CREATED = "user_created"
    USER_CHANGED = "user_changed"
    USERS_IMPORTED = "users_imported"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    PERIOD_CLOSED = "period_closed"
    PERIOD_REOPENED = "period_reopened"
    UNITS_REMINDED = "units_reminded"  # 一键催报
    REMINDERS_CHANGED = "reminders_changed"  # an assignment's reminder policy
    CALENDAR_IMPORTED = "calendar_imported"  # days of the work calendar from a CSV


KIND_LABELS: dict[Kind, Any] = {
    Kind.TEMPLATE_PUBLISHED: _l("Template published"),
    Kind.TEMPLATE_RETIRED: _l("Template retired"),
    Kind.TEMPLATE_RESTORED: _l("Template restored"),
    Kind.TEMPLATE_DRAFT_CREATED: _l("Template draft created"),
    Kind.UNIT_CREATED: _l("Unit added"),
    Kind.UNIT_CHANGED: _l("Unit changed"),
    Kind.UNIT_MOVED: _l("Unit moved"),
    Kind.UNIT_CLOSED: _l("Unit closed"),
    Kind.UNITS_IMPORTED: _l("Units imported"),
    Kind.USER_CREATED: _l("Account created"),
    Kind.USER_CHANGED: _l("Account changed"),
    Kind.USERS_IMPORTED: _l("Accounts imported"),
    Kind.SIGN_IN: _l("Signed in"),
    Kind.SIGN_IN_FAILED: _l("Sign-in failed"),
    Kind.PASSWORD_CHANGED: _l("Password changed"),
    Kind.PASSWORD_RESET: _l("Password reset"),
    Kind.TOKEN_CREATED: _l("API token created"),
    Kind.TOKEN_REVOKED: _l("API token revoked"),
    Kind.PERIOD_CLOSED: _l("Period closed"),
    Kind.PERIOD_REOPENED: _l("Period reopened"),
    Kind.UNITS_REMINDED: _l("Units reminded (一键催报)"),
    Kind.REMINDERS_CHANGED: _l("Reminder settings changed"),
    Kind.CALENDAR_IMPORTED: _l("Calendar days imported"),
}

# The workflow of reports is audited in their own history (report_events); the audit page
# lists these actions from there, read through a query, not stored twice.
REPORT_KINDS: dict[str, tuple[str, Any]] = {
    "report_submitted": ("submitted", _l("Report submitted")),
    "report_returned": ("returned", _l("Report returned")),
    "report_approved": ("approved", _l("Report approved")),
    "report_unapproved": ("unapproved", _l("Approval withdrawn")),
    "report_withdrawn": ("withdrawn", _l("Report withdrawn")),
}
REPORT_ACTIONS = {action: kind for kind, (action, _label) in REPORT_KINDS.items()}

# Never stored in details, whatever a caller passes.
SECRET_KEYS = frozenset({"password", "new_password", "current_password", "secret", "token"})


def kind_label(kind: str) -> str:
    """The translated label of *kind* (an unknown one is shown as stored)."""
    if kind in REPORT_KINDS:
        return str(REPORT_KINDS[kind][1])
    try:
        return str(KIND_LABELS[Kind(kind)])
    except ValueError:
        return kind


def kind_choices() -> list[tuple[str, Any]]:
    """Every kind the audit page lists, with its label: the log's, then the reports'."""
    return [*((kind.value, label) for kind, label in KIND_LABELS.items()),
            *((kind, label) for kind, (_action, label) in REPORT_KINDS.items())]


class _Current:
    def __repr__(self) -> str:
        return "the signed-in account"


CURRENT = _Current()


def _current_actor() -> User | None:
    if not has_request_context():
        return None
    user = current_user._get_current_object() if current_user else None
    return user if getattr(user, "is_authenticated", False) else None


def _current_ip() -> str:
    return (request.remote_addr or "")[:64] if has_request_context() else ""


def record(session: Session, kind: Kind | str, *, actor: User | None | _Current = CURRENT,
           unit: Unit | None = None, target: str = "",
           details: Mapping[str, Any] | None = None, ip: str | None = None) -> AuditEvent:
    """Add one event to the log (no commit: it is part of the caller's work).

    *actor* defaults to the signed-in account of the request (None outside one, e.g.
    the command line); *ip* to the request's address. *unit* is the unit the event
    concerns: a consolidator sees the event when the unit is in its subtree.
    """
    kind = Kind(kind)
    if actor is CURRENT:
        actor = _current_actor()
    clean = {key: value for key, value in (details or {}).items() if key not in SECRET_KEYS}
    event = AuditEvent(
        at=utcnow(), kind=kind.value, actor_id=actor.id if actor is not None else None,
        unit_id=unit.id if unit is not None else None,
        unit_path=unit.path if unit is not None else None,
        target=(target or "")[:TARGET_MAX], details=clean,
        ip=(ip if ip is not None else _current_ip())[:64])
    session.add(event)
    return event


# --- reading --------------------------------------------------------------------------


def audit_scope(user: User | None) -> ColumnElement[bool]:
    """Administrators see every event; a consolidator those about its subtree."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return false()
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.CONSOLIDATOR and user.unit is not None:
        low, high = subtree_bounds(user.unit.path)
        return (AuditEvent.unit_path >= low) & (AuditEvent.unit_path < high)
    return false()


def may_read(user: User | None) -> bool:
    """Whether *user* has an audit page at all (administrators and consolidators)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.active
                and (user.role == Role.ADMIN
                     or (user.role == Role.CONSOLIDATOR and user.unit is not None)))


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page asks for; every part optional."""

    person: str = ""  # a username, case-insensitive
    unit: Unit | None = None  # this unit and its subtree
    kind: str = ""
    since: date | None = None  # local days (Asia/Shanghai), both included
    until: date | None = None


def local_start(day: date) -> datetime:
    """The first moment of *day* in Asia/Shanghai."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def events_query(user: User | None, wanted: AuditFilter) -> Select:
    """The events *user* may see that match *wanted*, newest first."""
    query = (select(AuditEvent).where(audit_scope(user))
             .options(selectinload(AuditEvent.actor), selectinload(AuditEvent.unit))
             .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    person = (wanted.person or "").strip().lower()
    if person:
        query = query.where(or_(
            AuditEvent.actor_id.in_(select(User.id).where(User.username == person)),
            # A failed sign-in has no actor: the name that was tried is its target.
            (AuditEvent.kind == Kind.SIGN_IN_FAILED.value) & (AuditEvent.target == person)))
    if wanted.unit is not None:
        low, high = subtree_bounds(wanted.unit.path)
        query = query.where(AuditEvent.unit_path >= low, AuditEvent.unit_path < high)
    if wanted.kind:
        query = query.where(AuditEvent.kind == wanted.kind)
    if wanted.since is not None:
        query = query.where(AuditEvent.at >= local_start(wanted.since))
    if wanted.until is not None:
        query = query.where(AuditEvent.at < local_start(wanted.until + timedelta(days=1)))
    return query


def local_time(moment: datetime) -> str:
    """*moment* as shown to people: Asia/Shanghai, to the second."""
    if moment.tzinfo is None:  # SQLite gives naive UTC back
        from datetime import UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def describe_details(details: Mapping[str, Any] | None) -> str:
    """The details of an event as one line: ``key: value; key: value``."""
    if not details:
        return ""
    parts = []
    for key, value in details.items():
        if value is None or value == [] or value == "":
            continue
        if isinstance(value, list | tuple) and len(value) == 2 and key not in LISTS:
            value = f"{_shown(value[0])} → {_shown(value[1])}"  # before → after
        elif isinstance(value, list | tuple):
            value = ", ".join(str(item) for item in value)
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


# Details that are lists of names, not a change from one value to another.
LISTS = frozenset({"created", "updated", "moved"})
# An import lists at most this many of the codes or names it created, updated or moved
# (with the full counts): an import of 100,000 units is one event, not a megabyte of JSON.
LISTED = 50


def import_details(**lists: list[str]) -> dict[str, Any]:
    """The details of an import: how many were created, updated, moved, and the first few."""
    details: dict[str, Any] = {}
    for key, names in lists.items():
        details[f"{key}_count"] = len(names)
        details[key] = names[:LISTED]
    return details


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "—"
    return "—" if value is None or value == "" else str(value)


# --- the log and the reports' history, as one list ------------------------------------


@dataclass(frozen=True)
class Entry:
    """One line of the audit page: an event of the log or an action on a report."""

    at: datetime
    kind: str
    actor: User | None
    unit: Unit | None
    target: str
    details: Mapping[str, Any]
    ip: str


def _report_query(user: User | None, wanted: AuditFilter) -> Select | None:
    """The ids and times of the report actions *user* may see matching *wanted*."""
    if wanted.kind and wanted.kind not in REPORT_KINDS:
        return None
    actions = ([REPORT_KINDS[wanted.kind][0]] if wanted.kind
               else [action for action, _label in REPORT_KINDS.values()])
    query = (select(literal_column("'report'", String).label("source"), ReportEvent.id.label("id"),
                    ReportEvent.created_at.label("at"))
             .join(Report, Report.id == ReportEvent.report_id)
             .join(Unit, Unit.id == Report.unit_id)
             .where(ReportEvent.action.in_(actions)))
    if not may_read(user):
        return None
    if user.role != Role.ADMIN:
        low, high = subtree_bounds(user.unit.path)
        query = query.where(Unit.path >= low, Unit.path < high)
    person = (wanted.person or "").strip().lower()
    if person:
        query = query.where(ReportEvent.actor_id.in_(
            select(User.id).where(User.username == person)))
    if wanted.unit is not None:
        low, high = subtree_bounds(wanted.unit.path)
        query = query.where(Unit.path >= low, Unit.path < high)
    if wanted.since is not None:
        query = query.where(ReportEvent.created_at >= local_start(wanted.since))
    if wanted.until is not None:
        query = query.where(ReportEvent.created_at < local_start(wanted.until
                                                                 + timedelta(days=1)))
    return query


def entries_query(user: User | None, wanted: AuditFilter) -> Select:
    """(source, id, at) of the log's events and the report actions that match, newest first."""
    parts = []
    if not wanted.kind or wanted.kind not in REPORT_KINDS:
        log = events_query(user, wanted).with_only_columns(
            literal_column("'audit'", String).label("source"), AuditEvent.id.label("id"),
            AuditEvent.at.label("at")).order_by(None)
        parts.append(log)
    reports = _report_query(user, wanted)
    if reports is not None:
        parts.append(reports)
    both = union_all(*parts).subquery()
    return select(both.c.source, both.c.id, both.c.at).order_by(both.c.at.desc(),
                                                                both.c.id.desc())


def entries(session: Session, query: Select, *, offset: int = 0,
            limit: int | None = None) -> list[Entry]:
    """The entries of one page of :func:`entries_query`, each loaded whole."""
    rows = session.execute(query.offset(offset).limit(limit)).all()
    audit_ids = [row.id for row in rows if row.source == "audit"]
    report_ids = [row.id for row in rows if row.source == "report"]
    logged = {event.id: event for event in session.scalars(
        select(AuditEvent).where(AuditEvent.id.in_(audit_ids))
        .options(selectinload(AuditEvent.actor), selectinload(AuditEvent.unit)))} \
        if audit_ids else {}
    actions = {event.id: event for event in session.scalars(
        select(ReportEvent).where(ReportEvent.id.in_(report_ids))
        .options(selectinload(ReportEvent.actor)))} if report_ids else {}
    reports = {report.id: report for report in session.scalars(
        select(Report).where(Report.id.in_({event.report_id for event in actions.values()}))
        .options(selectinload(Report.unit), selectinload(Report.assignment)))} \
        if actions else {}
    found = []
    for row in rows:
        if row.source == "audit":
            event = logged[row.id]
            found.append(Entry(event.at, event.kind, event.actor, event.unit, event.target,
                               event.details or {}, event.ip))
        else:
            action = actions[row.id]
            report = reports[action.report_id]
            found.append(Entry(
                action.created_at, REPORT_ACTIONS[action.action], action.actor, report.unit,
                f"{report.assignment.key} {period_label(report.period)}",
                {"revision": action.revision, "comment": action.comment}, ""))
    return found
