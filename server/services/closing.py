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
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from forms.i18n import N_
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
    return any_closed_of(assignment.id, period)


def any_closed_of(assignment_id, period):
    """:func:`any_closed` by the assignment's id (either may be a bound parameter)."""
    return (select(PeriodClosure.id)
            .where(PeriodClosure.assignment_id == assignment_id, PeriodClosure.period == period,
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


# -- changes of the tree that would alter a closed period ------------------------------------

# A move or new reporting dates that would change who owes a closed period, or where.
TREE_CHANGE_REFUSED = N_(
    "%(period)s was closed for %(unit)s on %(closed_at)s by %(closed_by)s: this change to "
    "%(changed)s would alter who counted in it. Reopen the period first.")


def any_open(session: Session) -> bool:
    """Whether any closure is in force anywhere."""
    return session.scalar(select(PeriodClosure.id).where(PeriodClosure.reopened_at.is_(None))
                          .limit(1)) is not None


def _open_closures(session: Session) -> list[PeriodClosure]:
    return list(session.scalars(
        select(PeriodClosure).where(PeriodClosure.reopened_at.is_(None))
        .options(joinedload(PeriodClosure.unit), joinedload(PeriodClosure.closed_by),
                 joinedload(PeriodClosure.assignment))
        .order_by(PeriodClosure.period, PeriodClosure.id)))


def _lies_in(session: Session, unit_id: int | None, top_id: int, day: date) -> bool:
    """Whether unit *unit_id* stood in unit *top_id*'s subtree on *day*."""
    if unit_id is None:
        return False
    path, top = session.execute(select(path_then(unit_id, day), path_then(top_id, day))).one()
    return bool(path and top and path.startswith(top))


def closure_altered_by_move(session: Session, unit: Unit, new_parent: Unit | None,
                            day: date) -> PeriodClosure | None:
    """The first closure in force that placing *unit* under *new_parent* from *day* on
    would alter: a closed period read on or after *day* (see ``owing.period_day``) whose
    closed subtree held the unit, or would hold it, then."""
    for closure in _open_closures(session):
        then = period_day(closure.assignment, closure.period)
        if then < day:
            continue
        if (_lies_in(session, unit.id, closure.unit_id, then)
                or _lies_in(session, new_parent.id if new_parent else None,
                            closure.unit_id, then)):
            return closure
    return None


def _within_dates(reports_from: date | None, stops_on: date | None, day: date) -> bool:
    return (reports_from is None or reports_from <= day) and (stops_on is None or stops_on > day)


def closure_altered_by_dates(session: Session, unit: Unit, reports_from: date | None,
                             stops_on: date | None,
                             active: bool | None = None) -> PeriodClosure | None:
    """The first closure in force over a period that new reporting dates (or a new
    *active* flag; None: unchanged) of *unit* would add to or take from what it owes
    (the rule of ``owing.reporting_on``)."""
    active = unit.active if active is None else active
    for closure in _open_closures(session):
        then = period_day(closure.assignment, closure.period)
        if ((unit.active and _within_dates(unit.reports_from, unit.stops_on, then))
                == (active and _within_dates(reports_from, stops_on, then))):
            continue
        if _lies_in(session, unit.id, closure.unit_id, then):
            return closure
    return None


def tree_change_params(closure: PeriodClosure, changed: Unit) -> dict[str, str]:
    """The parameters of :data:`TREE_CHANGE_REFUSED`."""
    return {"period": str(period_label(closure.period)), "unit": closure.unit.name,
            "closed_at": local_time(closure.closed_at),
            "closed_by": closure.closed_by.username if closure.closed_by else "—",
            "changed": changed.name}


def tree_change_refusal(closure: PeriodClosure, changed: Unit, field: str) -> PeriodClosed:
    """The refusal of a move or date change of *changed* under *closure* (423 on the API)."""
    return PeriodClosed(TREE_CHANGE_REFUSED, field=field, **tree_change_params(closure, changed))
