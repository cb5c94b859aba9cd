"""Closing a period: a consolidator seals its subtree's reports of one period.

Once every unit below that owes the period (and the unit itself, when it
reports) has its report approved, a consolidator of the unit (or an
administrator) may close the period for it. Until it is reopened, with a
reason, no report of that period in the subtree as it stood then may change:
the workflow refuses every save, submission, review action and upload with
:class:`PeriodClosed` (423 on the API). Each closing is a row, and reopening
fills in who, when and why: the rows are the state the workflow checks. Closing
and reopening are also events of the one audit log (:mod:`server.services.audit`),
where they are listed with every other administrative event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from forms.periods import SHANGHAI
from server.labels import period_label
from server.models import Report, Role, Unit, User
from server.models.accounts import utcnow
from server.models.reporting import Assignment, PeriodClosure, Status
from server.scope import can_see
from server.services import audit
from server.services.errors import InvalidInput, InvalidState, NotAllowed, PeriodClosed
from server.services.owing import owing_units, path_then, period_day
from server.services.subtree import path_ids

REASON_MAX = 1000


def closures_over(session: Session, assignment: Assignment, unit: Unit,
                  period: str, *, path: str | None = None) -> list[PeriodClosure]:
    """The closures in force over *unit*'s report of *period*: on the unit or any unit above
    it, as the tree stood in that period. Highest first. *path* is the unit's path in that
    period when the caller has read it already."""
    if path is None:
        path = session.scalar(select(path_then(unit.id, period_day(assignment, period))))
    ids = path_ids(path) if path else [unit.id]
    found = session.scalars(
        select(PeriodClosure).where(
            PeriodClosure.assignment_id == assignment.id, PeriodClosure.period == period,
            PeriodClosure.unit_id.in_(ids), PeriodClosure.reopened_at.is_(None))
        .options(joinedload(PeriodClosure.unit), joinedload(PeriodClosure.closed_by))).all()
    return sorted(found, key=lambda c: ids.index(c.unit_id))


def closure_of(session: Session, assignment: Assignment, unit: Unit,
               period: str, *, path: str | None = None) -> PeriodClosure | None:
    """The closure in force over *unit*'s figures of *period* (its own or one above), if any."""
    found = closures_over(session, assignment, unit, period, path=path)
    return found[0] if found else None


def any_closed(assignment: Assignment, period: str):
    """SQL: whether any closure of *period* is in force anywhere under *assignment*.

    Cheap to add to another query: when it is false no report of the period can be
    closed, and :func:`closure_of` need not be asked.
    """
    return (select(PeriodClosure.id)
            .where(PeriodClosure.assignment_id == assignment.id, PeriodClosure.period == period,
                   PeriodClosure.reopened_at.is_(None))
            .exists())


def history(session: Session, assignment: Assignment, unit: Unit,
            period: str) -> list[PeriodClosure]:
    """Every closing of *period* for *unit*, reopened ones included, oldest first."""
    return list(session.scalars(
        select(PeriodClosure).where(
            PeriodClosure.assignment_id == assignment.id, PeriodClosure.period == period,
            PeriodClosure.unit_id == unit.id)
        .options(joinedload(PeriodClosure.closed_by), joinedload(PeriodClosure.reopened_by))
        .order_by(PeriodClosure.closed_at, PeriodClosure.id)))


def local_time(moment: datetime) -> str:
    """*moment* as shown to people: Asia/Shanghai, to the minute."""
    if moment.tzinfo is None:  # SQLite gives naive UTC back
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def refusal(closure: PeriodClosure) -> PeriodClosed:
    """The refusal of a change under *closure*, naming who closed what and when."""
    return PeriodClosed(period=period_label(closure.period), unit=closure.unit.name,
                        closed_at=local_time(closure.closed_at),
                        closed_by=closure.closed_by.username if closure.closed_by else "—")


def may_close(user: User, unit: Unit) -> bool:
    """Administrators, and consolidators of the unit or a unit above it."""
    if user.is_admin:
        return True
    return user.role == Role.CONSOLIDATOR and user.unit is not None and can_see(user, unit)


@dataclass(frozen=True)
class Readiness:
    """Whether a period can be closed for a unit: how many reports are owed, and approved."""

    owed: int
    approved: int

    @property
    def ready(self) -> bool:
        return self.owed > 0 and self.approved == self.owed


def readiness(session: Session, assignment: Assignment, unit: Unit, period: str) -> Readiness:
    """The reports of *period* owed in *unit*'s subtree (itself included) and approved."""
    owing = owing_units(assignment, period, unit).with_only_columns(Unit.id).order_by(None)
    owed = session.scalar(select(func.count()).select_from(owing.subquery())) or 0
    approved = session.scalar(select(func.count(Report.id)).where(
        Report.assignment_id == assignment.id, Report.period == period,
        Report.status == Status.APPROVED, Report.unit_id.in_(owing))) or 0
    return Readiness(owed, approved)


def close(session: Session, user: User, assignment: Assignment, unit: Unit,
          period: str) -> PeriodClosure:
    """Close *period* for *unit*'s subtree; refused unless every report owed is approved."""
    if not may_close(user, unit):
        raise NotAllowed(_l("Only a consolidator of this unit or an administrator can close "
                            "or reopen its periods."))
    if closure_of(session, assignment, unit, period) is not None:
        raise InvalidState(_l("%(period)s is already closed for %(unit)s."),
                           period=period_label(period), unit=unit.name)
    state = readiness(session, assignment, unit, period)
    if not state.ready:
        raise InvalidState(_l("%(period)s cannot be closed for %(unit)s yet: %(approved)s of "
                              "%(owed)s reports owed are approved. Close it once all are."),
                           period=period_label(period), unit=unit.name,
                           approved=state.approved, owed=state.owed)
    closure = PeriodClosure(assignment_id=assignment.id, unit_id=unit.id, period=period,
                            closed_at=utcnow(), closed_by_id=user.id, reopen_reason="")
    session.add(closure)
    session.flush()
    audit.record(session, audit.Kind.PERIOD_CLOSED, actor=user, unit=unit,
                 target=f"{assignment.key} {period_label(period)} {unit.name}",
                 details={"assignment": assignment.key, "period": period, "unit": unit.code})
    return closure


def reopen(session: Session, user: User, assignment: Assignment, unit: Unit, period: str,
           reason: str) -> PeriodClosure:
    """Reopen *period* for *unit*, recording who, when and why."""
    if not may_close(user, unit):
        raise NotAllowed(_l("Only a consolidator of this unit or an administrator can close "
                            "or reopen its periods."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_l("Say why the period is reopened: a reason is required."),
                           field="reason", issue="required")
    closure = session.scalar(select(PeriodClosure).where(
        PeriodClosure.assignment_id == assignment.id, PeriodClosure.period == period,
        PeriodClosure.unit_id == unit.id, PeriodClosure.reopened_at.is_(None)))
    if closure is None:
        raise InvalidState(_l("%(period)s is not closed for %(unit)s."),
                           period=period_label(period), unit=unit.name)
    closure.reopened_at, closure.reopened_by_id = utcnow(), user.id
    closure.reopen_reason = reason[:REASON_MAX]
    session.flush()
    audit.record(session, audit.Kind.PERIOD_REOPENED, actor=user, unit=unit,
                 target=f"{assignment.key} {period_label(period)} {unit.name}",
                 details={"assignment": assignment.key, "period": period, "unit": unit.code,
                          "reason": closure.reopen_reason})
    return closure
