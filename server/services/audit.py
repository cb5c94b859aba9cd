"""One audit log of administrative and security events.

:func:`record` is the one way to write to it: every recording site (templates,
units, accounts, sign-ins, passwords, tokens, closing periods, withdrawing a
report) calls it with a kind from :class:`Kind`. The log is kept indefinitely:
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
from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session, selectinload

from forms.periods import SHANGHAI
from server.models import AuditEvent, Role, Unit, User
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
    REPORT_WITHDRAWN = "report_withdrawn"


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
    Kind.REPORT_WITHDRAWN: _l("Report withdrawn"),
}

# Never stored in details, whatever a caller passes.
SECRET_KEYS = frozenset({"password", "new_password", "current_password", "secret", "token"})


def kind_label(kind: str) -> str:
    """The translated label of *kind* (an unknown one is shown as stored)."""
    try:
        return str(KIND_LABELS[Kind(kind)])
    except ValueError:
        return kind


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


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "—"
    return "—" if value is None or value == "" else str(value)
