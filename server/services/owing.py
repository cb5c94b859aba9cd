"""Which units owe a period of an assignment, with the tree as it stood then.

This is the one answer to "the units of this subtree that owe period P": the
to-do lists, the report pages, completeness, chase lists, consolidation, the
merged exports and the closing of periods all ask it here. A unit owes P when

* it is active, and P begins within its reporting dates (``reports_from`` on or
  before P's first day, ``stops_on`` after it): a unit added today owes nothing
  of the past, a closed one nothing after it closed;
* its placement in force on P's first day lies in the assignment's subtree (and
  in the asked-for subtree), as that subtree stood on that day: a unit moved
  today still counts under its old parent for the periods before the move;
* it is of a kind the assignment asks (and not the root unless it reports too).

The day a period is read at is its first day (a one-off period: its due date),
so a change dated today takes effect from the next period to open. Each query
is one range over the indexed ``unit_placements.path``, whatever the size of the
tree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from forms.periods import SHANGHAI, Frequency, Period
from server.models import Unit, UnitPlacement
from server.models.reporting import Assignment, Report, open_in_sql
from server.models.units import PATH_SEPARATOR, subtree_bounds
from server.services.assignments import due_date
from server.services.plans import AssignmentPlan


def period_day(assignment: Assignment | AssignmentPlan, period: str,
               session: Session | None = None) -> date:
    """The day whose tree and reporting dates decide who owes *period*: its first day.

    A one-off period has no first day; its due date stands in (with the working days of
    *session*, which a plan needs). An event has neither: today's tree decides who files it.
    """
    parsed = Period.parse(period)
    if parsed.frequency is Frequency.ONCE:
        return due_date(assignment, period, session)
    if parsed.frequency is Frequency.EVENT:  # filed by the units that report now
        return today()
    return parsed.start


def in_force(placement, day: date) -> ColumnElement[bool]:
    """SQL: *placement* (UnitPlacement or an alias) holds on *day*."""
    return and_(or_(placement.valid_from.is_(None), placement.valid_from <= day),
                or_(placement.valid_to.is_(None), placement.valid_to > day))


def reporting_on(day: date) -> ColumnElement[bool]:
    """SQL: the unit is active and *day* lies within its reporting dates."""
    return and_(Unit.active.is_(True),
                or_(Unit.reports_from.is_(None), Unit.reports_from <= day),
                or_(Unit.stops_on.is_(None), Unit.stops_on > day))


# One alias for every path_then subquery: an alias built per call costs more than the
# rest of a query (its column proxies), and sibling subqueries never correlate.
_PLACED = aliased(UnitPlacement)


def path_then(unit_id: int, day: date):
    """A scalar subquery: the path of unit *unit_id* on *day* (NULL if it was not placed)."""
    placed = _PLACED
    return (select(placed.path).where(placed.unit_id == unit_id, in_force(placed, day))
            .limit(1).scalar_subquery())


def placed_below(path_column, day) -> ColumnElement[bool]:
    """SQL: whether any unit is placed strictly below the one whose path on *day* is
    *path_column* (a column of the enclosing query), as the tree stood on *day*.

    Every unit that could owe a period under a unit is placed below it then, so
    when nothing is, the units below need not be read at all (one probe of the
    indexed path range, empty for a unit at the bottom of the tree).
    """
    placed = _PLACED
    return (select(placed.id).where(placed.path > path_column,
                                    placed.path < _past_subtree(path_column),
                                    in_force(placed, day))
            .exists())


def paths_on(session: Session, unit_ids, day: date) -> dict[int, str]:
    """The paths of *unit_ids* on *day* (units not placed then are left out): read once,
    they let :func:`owing_on` give the planner plain bounds (see *paths* there)."""
    return dict(session.execute(select(UnitPlacement.unit_id, UnitPlacement.path).where(
        UnitPlacement.unit_id.in_(list(unit_ids)), in_force(UnitPlacement, day))).all())


def within(path_column, top_path) -> ColumnElement[bool]:
    """SQL: *path_column* lies in the subtree whose path is *top_path* (a subquery, or a
    path already read).

    The same half-open range as :func:`server.models.units.subtree_bounds`, built
    in SQL so that it stays one indexed range whatever day it is read at.
    """
    if isinstance(top_path, str):
        low, high = subtree_bounds(top_path)
        return and_(path_column >= low, path_column < high)
    return and_(path_column >= top_path, path_column < _past_subtree(top_path))


def _past_subtree(top_path):
    """SQL: the first string past every path in the subtree at *top_path*, as
    :func:`server.models.units.subtree_bounds` gives it for a path already read."""
    return func.substr(top_path, 1, func.length(top_path) - 1, type_=String).concat(
        chr(ord(PATH_SEPARATOR) + 1))


def owing_on(assignment: Assignment, day: date, under: Unit | None = None, *,
             paths: dict[int, str] | None = None, session: Session | None = None) -> Select:
    """The units that owe reports under *assignment* on *day* (optionally only those in
    *under*'s subtree as it stood then, *under* itself included when it reports), in
    tree order as of that day. ``UnitPlacement`` is joined: its ``path`` and
    ``parent_id`` are the unit's place on that day.

    *paths* (:func:`paths_on` of the root and *under* on *day*) gives the subtree's
    bounds as plain values instead of subqueries, so that PostgreSQL's planner can
    estimate the range (a subquery's bounds are guessed at 0.5 % of the rows). Given a
    *session* instead, it reads them itself (one more statement): what a caller that
    reads a large subtree wants, and a save's few-row lookups can do without.
    """
    root = assignment.root_unit_id
    if paths is None and session is not None:
        paths = paths_on(session, {root, *([under.id] if under is not None else [])}, day)
    below = under.id if under is not None and under.id != root else None
    return _owing(root, assignment.include_root, assignment.kinds, day, below, paths or {})


def _owing(root, include_root: bool, kinds, day, under_id, paths: dict[int, str]) -> Select:
    """:func:`owing_on` from its parts; *root*, *day* and *under_id* may be bound
    parameters (:func:`owing_statement`)."""

    def top(unit_id):
        return paths[unit_id] if isinstance(unit_id, int) and unit_id in paths \
            else path_then(unit_id, day)

    query = (
        select(Unit)
        .join(UnitPlacement, and_(UnitPlacement.unit_id == Unit.id, in_force(UnitPlacement, day)))
        .where(reporting_on(day), within(UnitPlacement.path, top(root)))
    )
    if not include_root:
        query = query.where(Unit.id != root)
    if kinds:
        # One parameter a kind: a list is one expanding parameter, which SQLAlchemy writes
        # into the statement's text again at every execution.
        query = query.where(Unit.kind.in_([literal(kind) for kind in kinds]))
    if under_id is not None:
        query = query.where(within(UnitPlacement.path, top(under_id)))
    return query.order_by(UnitPlacement.path)


def owing_parameters(assignment: Assignment | AssignmentPlan, period: str,
                     under: Unit | None = None,
                     session: Session | None = None) -> tuple[tuple, dict[str, Any]]:
    """The shape of :func:`owing_units` for (*assignment*, *period*, *under*), and the
    values of its parameters: what :func:`owing_statement` takes (*session*: see
    :func:`period_day`)."""
    root = assignment.root_unit_id
    below = under.id if under is not None and under.id != root else None
    shape = (bool(assignment.include_root), tuple(assignment.kinds or ()), below is not None)
    values = {"owing_root": root, "owing_day": period_day(assignment, period, session)}
    if below is not None:
        values["owing_under"] = below
    return shape, values


def owing_statement(shape: tuple, extend: Callable[[Select], Select] = lambda q: q) -> Select:
    """:func:`owing_units` with bound parameters (root, day, the unit below) for a *shape*
    of :func:`owing_parameters`, extended by *extend* and built once per process.

    For the queries of every request (a report's view, a save's children): building
    a statement of this size costs more than running it, and one built once also
    keeps its cache key. *extend* must be the same function for the same use (a
    module-level one), as it is part of the key.
    """
    return _owing_statement(shape, extend)


@lru_cache(maxsize=256)
def _owing_statement(shape: tuple, extend: Callable[[Select], Select]) -> Select:
    include_root, kinds, with_under = shape
    return extend(_owing(
        bindparam("owing_root", type_=Integer), include_root, list(kinds),
        bindparam("owing_day", type_=Date),
        bindparam("owing_under", type_=Integer) if with_under else None, {}))


def owing_today(assignment: Assignment, under: Unit | None = None) -> Select:
    """The units that owe reports under *assignment* with today's tree and dates: for
    what is not about one period (who consolidates, which accounts to create)."""
    return owing_on(assignment, today(), under)


def owing_units(assignment: Assignment, period: str, under: Unit | None = None, *,
                session: Session | None = None) -> Select:
    """The units that owe *period* of *assignment* (see :func:`owing_on`; with *session*,
    the subtree's bounds are read first and given as plain values)."""
    return owing_on(assignment, period_day(assignment, period), under, session=session)


def owes(session: Session, assignment: Assignment, unit: Unit, period: str) -> bool:
    """Whether *unit* owes *period* of *assignment*."""
    query = owing_units(assignment, period).where(Unit.id == unit.id)
    return session.scalar(query.with_only_columns(Unit.id).order_by(None)) is not None


def today() -> date:
    """Today in Asia/Shanghai, the day the tree is read at when no period is named."""
    return datetime.now(SHANGHAI).date()


def owing_any(assignment: Assignment, periods: list[str], under: Unit | None = None) -> Select:
    """The ids of the units that owe at least one of *periods* (for populations spanning
    several periods, such as the rows of the completeness matrix)."""
    days = sorted({period_day(assignment, p) for p in periods})
    parts = [owing_on(assignment, day, under).with_only_columns(Unit.id).order_by(None)
             for day in days]
    if not parts:
        return select(Unit.id).where(literal(False))
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def owed_periods_query(assignment: Assignment, unit_id: int, periods: list[str]) -> Select | None:
    """A select of the keys among *periods* that unit *unit_id* owes (one round trip)."""
    parts = [owing_units(assignment, p).with_only_columns(literal(p).label("period"))
             .where(Unit.id == unit_id).order_by(None) for p in periods]
    if not parts:
        return None
    return parts[0].union_all(*parts[1:]) if len(parts) > 1 else parts[0]


def still_owing(assignment: Assignment, period: str, under: Unit | None = None) -> Select:
    """The units that owe *period* (see :func:`owing_units`) and have not handed it in:
    no report, a draft or a returned one. ``Report`` is outer-joined (its ``status``
    is NULL where nothing was started). Submitted and approved reports are in."""
    return (owing_units(assignment, period, under)
            .outerjoin(Report, and_(Report.unit_id == Unit.id,
                                    Report.assignment_id == assignment.id,
                                    Report.period == period))
            .where(open_in_sql(Report.id, Report.status)))
