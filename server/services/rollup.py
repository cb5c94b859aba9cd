"""The consolidated numeric figures of a subtree, added up by the database.

The same rules as :mod:`forms.consolidation` (one definition: the property tests
compare both), computed with set-based SQL over ``report_values`` so that a
province's figures never bring its reports into Python:

* the children of the unit are the nearest reporting units below it (one query of
  ids and paths; the ids go back to the database in one parameter on SQLite, written
  into the statement as one array constant on PostgreSQL);
* a total aggregates the children's counted reports (approved, or submitted too
  with the switch) by each field's rule; a field that did not apply to a child is
  never counted, not even as zero;
* a cumulative figure of a child whose report does not count is carried forward
  from its latest approved report within the field's span (like for like);
* 本期新增 compares the same units in both periods; the units whose own figure fell
  are fetched on demand (:func:`unit_falls`);
* calculated fields are recomputed from the consolidated inputs.

The number of statements depends on the template, never on the subtree. Yes/no
and choice tallies and text lists are not numbers: they stay with
:mod:`forms.consolidation`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from forms.calculated import calculate
from forms.consolidation import MEAN_PLACES, Counts
from forms.definition import Aggregation, CumulativeSpan, Definition, FieldDef, same_span
from forms.periods import Period
from forms.validation import increments as increments_of
from server.models import Unit, UnitPlacement, UnitTag
from server.models.reporting import Assignment, Report, ReportValue, Status
from server.services.assignments import assignment_periods, version_for
from server.services.owing import owing_units
from server.services.report_values import SCALE, from_micros, stored_fields

AGGREGATED = (Aggregation.SUM, Aggregation.MIN, Aggregation.MAX, Aggregation.MEAN,
              Aggregation.LAST)


@dataclass(frozen=True)
class UnitFall:
    """A child's own cumulative figure lower than its latest approved one before."""

    unit_id: int
    field_key: str
    value: Any
    previous: Any
    previous_period: str


@dataclass
class Rollup:
    """The numeric figures of one unit's subtree for one period."""

    period: str
    previous_period: str | None
    children: int  # the nearest reporting units below
    counted: int  # of which counted with a report of the period
    carried_units: int  # of which not counted but carrying cumulative figures forward
    values: dict[str, Any] = field(default_factory=dict)  # totals and calculated fields
    counts: dict[str, Counts] = field(default_factory=dict)  # who is in each total
    previous_values: dict[str, Any] = field(default_factory=dict)
    increments: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Sums:
    """Per field: the aggregates of one query's rows, in millionths."""

    total: int = 0
    least: int | None = None
    most: int | None = None
    parts: int = 0
    blank: int = 0
    off: int = 0
    last: tuple[int, int] | None = None  # (position in tree order, micros)

    def merge(self, other: _Sums) -> _Sums:
        least = [v for v in (self.least, other.least) if v is not None]
        most = [v for v in (self.most, other.most) if v is not None]
        lasts = [v for v in (self.last, other.last) if v is not None]
        return _Sums(self.total + other.total, min(least) if least else None,
                     max(most) if most else None, self.parts + other.parts,
                     self.blank + other.blank, self.off + other.off,
                     max(lasts) if lasts else None)


def _pg_array(ids: Sequence[int]) -> Any:
    """*ids* as one PostgreSQL integer array constant, written into the statement when it
    runs (a literal-execute parameter: the compiled statement stays cached without it).

    A constant, unlike a bound parameter cast to ``integer[]``, is known to the planner:
    it counts the elements of an ``unnest`` and turns ``column = ANY(array)`` into one
    hash table probed per row (PostgreSQL 14+) instead of a scan of the array per row.
    (psycopg's per-element adaptation of a list would cost about a second for 100,000 ids.)
    """
    text = "{" + ",".join(map(str, map(int, ids))) + "}"  # int: digits only, nothing else
    return cast(literal(text, type_=String, literal_execute=True), ARRAY(Integer))


def ids_in(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """*column* IN *ids*, whatever their number, in one statement: on PostgreSQL a test
    against a hashed array constant, on SQLite a JSON array (one bound parameter) read by
    ``json_each``."""
    if session.get_bind().dialect.name == "postgresql":
        return column == func.any(_pg_array(ids))
    listed = func.json_each(json.dumps(list(ids))).table_valued("value")
    return column.in_(select(listed.c.value))


def id_rows(session: Session, ids: Sequence[int], flagged: Sequence[int] = ()) -> Any:
    """A derived table of *ids* (column ``id``) and *flagged* (column ``flag`` 1, the
    others 0), each list one parameter: what a query joins its rows to, unit by unit,
    through an index (instead of testing each of its rows against a list)."""
    def listed(values: Sequence[int], flag: int):
        if session.get_bind().dialect.name == "postgresql":
            table = func.unnest(_pg_array(values)).table_valued("id").render_derived()
            return select(table.c.id.label("id"), literal(flag).label("flag"))
        table = func.json_each(json.dumps(list(values))).table_valued("value")
        return select(table.c.value.label("id"), literal(flag).label("flag"))
    return listed(ids, 0).union_all(listed(flagged, 1)).subquery("kids")


class _Listed:
    """The rows of a query restricted to units of a list (and some of them flagged), in
    the form each database runs best over a province's 100,000 units.

    SQLite joins the list (a derived table, :func:`id_rows`) unit by unit to the index of
    the rows; PostgreSQL tests each row against the list as a hashed array constant
    (``unit_id = ANY('{…}')``): the plan is then the floor's own (a parallel scan of the
    period's rows, aggregated as they come), where a join let the planner hash millions
    of rows and probe them with the list."""

    def __init__(self, session: Session, ids: Sequence[int], flagged: Sequence[int] = ()):
        self.ids, self.flagged = list(ids), list(flagged)
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self.rows = None if self.postgresql else id_rows(session, self.ids, self.flagged)

    def restrict(self, query: Any, entity: Any, column: Any) -> Any:
        """*query* over *entity*, limited to the rows whose *column* is listed."""
        if self.postgresql:
            return query.where(column == func.any(_pg_array([*self.ids, *self.flagged])))
        return query.join_from(self.rows, entity, column == self.rows.c.id)

    def flag(self, column: Any) -> ColumnElement[bool]:
        """Whether the row's unit (*column*) is one of the flagged."""
        if self.postgresql:
            return column == func.any(_pg_array(self.flagged))
        return self.rows.c.flag == 1


def child_ids(session: Session, assignment: Assignment, unit: Unit, period: str) -> list[int]:
    """The ids of the nearest reporting units below *unit* owing *period*, in tree order
    (one query of ids and paths with the subtree's bounds read first, no objects).

    In path order a unit's subtree follows it: a unit is a child unless it lies below
    the last child found, one string comparison each."""
    rows = session.execute(owing_units(assignment, period, unit, session=session)
                           .with_only_columns(Unit.id, UnitPlacement.path))
    found: list[int] = []
    last: str | None = None
    for unit_id, path in rows:
        if unit_id == unit.id or (last is not None and path.startswith(last)):
            continue
        found.append(unit_id)
        last = path
    return found


def _counted_statuses(include_submitted: bool) -> list[str]:
    return [Status.APPROVED, Status.SUBMITTED] if include_submitted else [Status.APPROVED]


def _in_span(fields: Iterable[FieldDef], period: str, column: Any, key_column: Any
             ) -> ColumnElement[bool]:
    """SQL: the row's period (*column*) is within its field's span as seen from *period*
    (a year-span field: the same calendar year; period keys start with the year)."""
    yearly = [f.key for f in fields if f.cumulative_span is CumulativeSpan.YEAR]
    if not yearly:
        return literal(True)
    year = f"{Period.parse(period).year:04d}"
    return or_(key_column.not_in(yearly),
               and_(column >= year, column < f"{int(year) + 1:04d}"))


def _sums_query(rv: Any, where: Sequence[ColumnElement[bool]], value: Any = None,
                extremes: bool = True):
    """Per field key, the six aggregates of :class:`_Sums` (without *extremes*, no least
    and most: no field is added up by min or max, and each row costs less)."""
    micros = value if value is not None else rv.micros
    counted = case((rv.applies, micros))
    least, most = ((func.min(counted), func.max(counted)) if extremes
                   else (literal(None), literal(None)))
    return (select(rv.field_key, func.sum(counted), least, most,
                   func.count(counted),
                   func.sum(case((and_(rv.applies, micros.is_(None)), 1), else_=0)),
                   func.sum(case((rv.applies, 0), else_=1)))
            .where(*where).group_by(rv.field_key))


def _read_sums(session: Session, query: Any) -> dict[str, _Sums]:
    return {key: _Sums(int(total or 0), None if least is None else int(least),
                       None if most is None else int(most), int(parts or 0), int(blank or 0),
                       int(off or 0))
            for key, total, least, most, parts, blank, off in session.execute(query)}


def _value(fld: FieldDef, sums: _Sums | None) -> Any:
    """The figure of *fld* from its aggregates (None when nothing was counted)."""
    if sums is None or not sums.parts:
        return None
    rule = fld.effective_aggregation
    if rule is Aggregation.SUM:
        micros: Any = sums.total
    elif rule is Aggregation.MIN:
        micros = sums.least
    elif rule is Aggregation.MAX:
        micros = sums.most
    elif rule is Aggregation.LAST:
        micros = sums.last[1] if sums.last else None
    else:  # the mean, rounded as forms.consolidation.aggregate rounds it
        mean = Decimal(sums.total) / SCALE / sums.parts
        return mean.quantize(MEAN_PLACES, rounding=ROUND_HALF_UP)
    return from_micros(fld, micros)


def rollup(session: Session, assignment: Assignment, unit: Unit, period: str, *,
           include_submitted: bool = False, carry_forward: bool = True,
           children: Sequence[int] | None = None, previous: bool = True,
           keys: Collection[str] | None = None) -> Rollup:
    """The numeric figures of *unit*'s subtree for *period* (the caller checked scope).

    Without *previous*, only the period's own figures (totals, coverage, calculated
    fields): no pass over the period before, no previous values or 本期新增. With *keys*,
    only those fields' figures (and the calculated ones that can be computed from them),
    their rows alone read.

    One statement reads the bulk of the rows (:func:`_passes`): the children's rows of
    this period and the period before, grouped by field, whether it applied, the
    report's status and whether the unit's latest approved report is the period
    before's: this period's totals and coverage, the period before's totals and the
    like-for-like figures before of those counted children. The children are joined
    unit by unit to ``ix_report_values_rollup`` on SQLite and tested as a hashed array
    constant on PostgreSQL (:class:`_Listed`). The rest read only the units that need
    them: the counted children and each child's latest approved period (from
    ``ix_reports_rollup`` alone), the figures carried forward by the children not
    counted, the like-for-like figures of the few counted children whose latest
    approved report is older, and the blank or non-applying figures of this period
    (``ix_report_values_gaps``), whose earlier figure is taken back out of the
    like-for-like sums.
    """
    periods = assignment_periods(assignment)
    at = periods.index(period)
    previous_period = periods[at - 1] if at > 0 else None
    definition = version_for(assignment, period).definition
    if children is None:
        children = child_ids(session, assignment, unit, period)
    fields = [f for f in stored_fields(definition) if f.effective_aggregation in AGGREGATED
              and (keys is None or f.key in keys)]
    cumulative = [f for f in fields if f.cumulative]
    statuses = _counted_statuses(include_submitted)
    rv = ReportValue
    kids = _Listed(session, children)
    only = [] if keys is None else [rv.field_key.in_(sorted(keys))]

    counted_ids = set(session.scalars(kids.restrict(
        select(Report.unit_id).where(Report.assignment_id == assignment.id,
                                     Report.period == period, Report.status.in_(statuses)),
        Report, Report.unit_id)))
    uncounted = [c for c in children if c not in counted_ids]
    counted = [c for c in children if c in counted_ids]  # tree order
    # Each child's latest approved report before the period (one row per child): what a
    # cumulative figure of a child not counted carries forward, and the like-for-like
    # figure before of one counted.
    latest_of: dict[int, str] = dict(session.execute(kids.restrict(
        select(Report.unit_id, func.max(Report.period))
        .where(Report.assignment_id == assignment.id, Report.status == Status.APPROVED,
               Report.period < period), Report, Report.unit_id)
        .group_by(Report.unit_id)).all())
    # No test of the field key in the passes over the rows: SQLite would probe the index
    # once per unit and key; the groups of other keys are left out when read.
    base = [rv.assignment_id == assignment.id]
    now_ids = _Listed(session, counted)
    extremes = any(f.effective_aggregation in (Aggregation.MIN, Aggregation.MAX)
                   for f in fields)
    # The counted children whose latest approved report is the period before's: their
    # figures then are like for like with theirs now.
    before_period = previous_period if previous else None
    just_before = ([c for c in counted if latest_of.get(c) == before_period]
                   if before_period is not None else [])
    current, before, same = _passes(session, rv, assignment, children, counted, just_before,
                                    period, before_period, statuses, extremes, only)
    order = {unit_id: position for position, unit_id in enumerate(children)}
    lasts = [f.key for f in fields if f.effective_aggregation is Aggregation.LAST]

    carried: dict[str, _Sums] = {}
    carried_units = 0
    carrying = [c for c in uncounted if c in latest_of]
    if carry_forward and cumulative:  # even with none uncounted: as many statements
        carried_where = [_in_span(cumulative, period, rv.period, rv.field_key), *only]
        latest_rows = _latest_rows(session, rv, assignment, period, carrying, latest_of)
        carried = {key: sums for key, sums in _read_sums(session, latest_rows(_sums_query(
            rv, carried_where, extremes=extremes))).items()
            if key in {f.key for f in cumulative}}  # no key test in SQL: see *base*
        carried_units = len(carrying)
        if lasts:
            _lasts(session, carried, latest_rows(
                select(rv.unit_id, rv.field_key, rv.micros)
                .where(*carried_where, rv.field_key.in_(lasts))), order)
    if lasts:
        _lasts(session, current, now_ids.restrict(
            select(rv.unit_id, rv.field_key, rv.micros)
            .where(*base, rv.period == period, rv.status.in_(statuses),
                   rv.field_key.in_(lasts)), rv, rv.unit_id), order)

    result = Rollup(period, previous_period, len(children), len(counted_ids), 0)
    off_by_tags = _off_by_tags(session, definition, fields, uncounted)
    for fld in fields:
        now, kept = current.get(fld.key, _Sums()), carried.get(fld.key, _Sums())
        merged = now.merge(kept) if fld.cumulative else now
        result.values[fld.key] = _value(fld, merged)  # None: nothing counted
        off = now.off + off_by_tags.get(fld.key, 0)
        result.counts[fld.key] = Counts(len(children) - off, now.parts, kept.parts,
                                        now.blank, off)
    result.carried_units = carried_units if carried else 0
    result.values.update({k: v for k, v in _calculated(definition, result.values).items()})

    # The period before: the counted children's reports, and like for like for cumulative
    # figures (each unit in this period's figure with its own latest figure before).
    if previous_period is not None and previous:
        like = [f for f in cumulative if same_span(f, period, previous_period)]
        # Min and max cannot be taken back out: those fields are joined figure by figure.
        # So are all when the period before was asked on another template version (a
        # report of it may lack a field this period's has).
        same_version = version_for(assignment, previous_period).id == \
            version_for(assignment, period).id
        exact = [f.key for f in like if not same_version or f.effective_aggregation
                 in (Aggregation.MIN, Aggregation.MAX)]
        summed = [f.key for f in like if f.key not in exact]
        older = [c for c in counted if c in latest_of and latest_of[c] != previous_period]
        previous = {f.key: _value(f, before.get(f.key)) for f in fields
                    if not f.cumulative}
        if like:
            prior = aliased(ReportValue)
            # Counted now with a blank or non-applying figure: its figure before is not
            # like for like; taken back out of the sums (few rows, a partial index).
            gaps = _read_sums(session, select(
                prior.field_key, func.sum(prior.micros), literal(None), literal(None),
                func.count(prior.micros), literal(0), literal(0))
                .select_from(rv)
                .join(prior, and_(prior.assignment_id == rv.assignment_id,
                                  prior.period == previous_period,
                                  prior.unit_id == rv.unit_id,
                                  prior.field_key == rv.field_key))
                .where(rv.assignment_id == assignment.id, rv.period == period,
                       or_(rv.micros.is_(None), ~rv.applies),
                       rv.status.in_(statuses), rv.field_key.in_(summed),
                       ids_in(session, rv.unit_id, just_before), prior.micros.is_not(None))
                .group_by(prior.field_key))
            # Figure by figure: the counted children whose latest approved report is
            # older than the period before, and the fields whose rule is min or max.
            latest = _latest(session, assignment, period, older if not exact else
                             [*older, *just_before])
            joined = _read_sums(session, select(
                prior.field_key, func.sum(prior.micros), func.min(prior.micros),
                func.max(prior.micros), func.count(prior.micros), literal(0), literal(0))
                .select_from(latest)
                .join(rv, and_(rv.assignment_id == assignment.id, rv.period == period,
                               rv.unit_id == latest.c.unit_id))
                .join(prior, and_(prior.unit_id == rv.unit_id, prior.period == latest.c.period,
                                  prior.assignment_id == rv.assignment_id,
                                  prior.field_key == rv.field_key))
                .where(rv.status.in_(statuses), rv.applies, rv.micros.is_not(None),
                       rv.field_key.in_([f.key for f in like]), prior.micros.is_not(None),
                       or_(prior.field_key.in_(exact), latest.c.period != previous_period),
                       _in_span(like, period, prior.period, prior.field_key))
                .group_by(prior.field_key))
            for fld in like:
                sums = same.get(fld.key, _Sums()) if fld.key in summed else _Sums()
                taken = gaps.get(fld.key, _Sums())
                sums = _Sums(sums.total - taken.total, sums.least, sums.most,
                             sums.parts - taken.parts)
                sums = sums.merge(joined.get(fld.key, _Sums()))
                sums = sums.merge(carried.get(fld.key, _Sums()))
                previous[fld.key] = _value(fld, sums) if fld.effective_aggregation \
                    is not Aggregation.LAST else None
        result.previous_values = {k: v for k, v in
                                  _calculated(definition, previous).items() if v is not None}
    result.increments = increments_of(definition, result.values,
                                      result.previous_values or None, period=period,
                                      previous_period=previous_period)
    return result


def _latest(session: Session, assignment: Assignment, period: str, ids: Sequence[int]):
    """A derived table: each of *ids*' latest approved period before *period*."""
    return (_Listed(session, ids).restrict(
        select(Report.unit_id, func.max(Report.period).label("period"))
        .where(Report.assignment_id == assignment.id, Report.status == Status.APPROVED,
               Report.period < period), Report, Report.unit_id)
        .group_by(Report.unit_id).subquery())


def _latest_rows(session: Session, rv: Any, assignment: Assignment, period: str,
                 ids: Sequence[int], latest_of: dict[int, str]) -> Any:
    """A function limiting a query over *rv* to the rows of each of *ids*' latest approved
    report before *period* (*latest_of*: each unit's latest approved period).

    PostgreSQL: per such period, its units as a hashed array constant (as many tests as
    distinct periods, not units), which the planner estimates and aggregates by hashing;
    a join to each unit's latest period (:func:`_latest`) was estimated at a thirtieth of
    its rows and sorted them on disk. SQLite: that join, unit by unit, through the index."""
    if session.get_bind().dialect.name == "postgresql":
        by_period: dict[str, list[int]] = {}
        for unit_id in ids:
            by_period.setdefault(latest_of[unit_id], []).append(unit_id)
        which = or_(false(), *(and_(rv.period == at, rv.unit_id == func.any(_pg_array(units)))
                               for at, units in sorted(by_period.items())))
        return lambda query: query.where(rv.assignment_id == assignment.id, which)
    latest = _latest(session, assignment, period, ids)
    on_latest = and_(rv.assignment_id == assignment.id, rv.unit_id == latest.c.unit_id,
                     rv.period == latest.c.period)
    return lambda query: query.select_from(latest).join(rv, on_latest)


def _passes(session: Session, rv: Any, assignment: Assignment, children: Sequence[int],
            counted: Sequence[int], just_before: Sequence[int], period: str,
            previous_period: str | None, statuses: Sequence[str], extremes: bool,
            only: Sequence[ColumnElement[bool]] = ()
            ) -> tuple[dict[str, _Sums], dict[str, _Sums], dict[str, _Sums]]:
    """One pass over the children's rows of *period* and the period before. Per field
    key: this period's counted rows (the six aggregates of :class:`_Sums`), the period
    before's counted rows (sum, least, most and count), and the plain sum and count of
    *just_before*'s rows then (every figure, applying or not: the like-for-like figure
    before of the fields added up by sum or mean; only the keys compared that way are
    read from it).

    The rows are grouped by period, field key, whether the field applied, the report's
    status (copied onto its rows: a child is counted when it is one of *statuses*, so no
    list of the counted is needed) and, in the period before, whether the unit is one
    of *just_before* (each row tested against that list once); each group is added up
    plainly (no condition evaluated per row and aggregate), then read into the three.
    That is PostgreSQL's way (one parallel scan, hashed groups). SQLite sorts every row
    it groups, and sorts the larger records of that grouping slower than it reads the
    rows twice: there, two statements, each grouped by field key (and, the period
    before, the flag) with the conditions in the aggregates (:func:`_two_passes`)."""
    flagged = set(just_before)
    listed = _Listed(session, [c for c in children if c not in flagged], just_before)
    if not listed.postgresql:
        return _two_passes(session, rv, assignment, listed, counted, period,
                           previous_period, statuses, extremes, only)
    if previous_period is not None:
        periods = [period, previous_period]
        liked: Any = case((rv.period == previous_period, listed.flag(rv.unit_id)),
                          else_=false())
        by_flag = [liked]
    else:  # no period before: nothing flagged (and PostgreSQL groups by no constant)
        periods, liked, by_flag = [period], false(), []
    extreme = ([func.min(rv.micros), func.max(rv.micros)] if extremes
               else [literal(None), literal(None)])
    query = listed.restrict(select(
        rv.period, rv.field_key, rv.applies, rv.status, liked, func.sum(rv.micros),
        *extreme, func.count(rv.micros), func.count())
        .where(rv.assignment_id == assignment.id, rv.period.in_(periods), *only),
        rv, rv.unit_id
    ).group_by(rv.period, rv.field_key, rv.applies, rv.status, *by_flag)
    now: dict[str, _Sums] = {}
    before: dict[str, _Sums] = {}
    same: dict[str, _Sums] = {}
    counted = set(statuses)
    for row_period, key, applies, status, flag, total, least, most, parts, rows in \
            session.execute(query):
        total, parts = int(total or 0), int(parts or 0)
        least = None if least is None else int(least)
        most = None if most is None else int(most)
        if row_period != period:  # the period before
            if flag:
                plain = _Sums(total, parts=parts)
                same[key] = same[key].merge(plain) if key in same else plain
            if status not in counted:
                continue
            part = _Sums(total, least, most, parts) if applies else _Sums()
            before[key] = before[key].merge(part) if key in before else part
        elif status in counted:
            part = (_Sums(total, least, most, parts, blank=rows - parts) if applies
                    else _Sums(off=rows))
            now[key] = now[key].merge(part) if key in now else part
    return now, before, same


def _two_passes(session: Session, rv: Any, assignment: Assignment, listed: _Listed,
                counted: Sequence[int], period: str, previous_period: str | None,
                statuses: Sequence[str], extremes: bool,
                only: Sequence[ColumnElement[bool]] = ()
                ) -> tuple[dict[str, _Sums], dict[str, _Sums], dict[str, _Sums]]:
    """:func:`_passes` in two statements: this period's counted rows, then the period
    before's rows of every child (*listed*, the flagged ones those of *just_before*)."""
    current = _read_sums(session, _Listed(session, counted).restrict(_sums_query(
        rv, [rv.assignment_id == assignment.id, rv.period == period,
             rv.status.in_(statuses), *only], extremes=extremes), rv, rv.unit_id))
    if previous_period is None:
        return current, {}, {}
    # Grouped by the flag too: each row is tested against the flagged list once, and
    # the like-for-like figures are the flagged groups' plain sums.
    liked = listed.flag(rv.unit_id)
    before, same = _read_pair(session, listed.restrict(select(
        rv.field_key, liked,
        *_aggregates(rv, rv.micros, rv.status.in_(statuses), extremes=extremes),
        func.sum(rv.micros), func.count(rv.micros))
        .where(rv.assignment_id == assignment.id, rv.period == previous_period, *only),
        rv, rv.unit_id).group_by(rv.field_key, liked))
    return current, before, same


def _aggregates(rv: Any, micros: Any, when: ColumnElement[bool],
                extremes: bool = False) -> list[Any]:
    """The six aggregates of :class:`_Sums` over the applying rows *when* holds, as the
    period before needs them: no blank or off counts, least and most only with
    *extremes*."""
    nothing = [literal(None), literal(None)]
    counted = case((and_(when, rv.applies), micros))
    return [func.sum(counted),
            *([func.min(counted), func.max(counted)] if extremes else nothing),
            func.count(counted), literal(0), literal(0)]


def _read_pair(session: Session, query: Any) -> tuple[dict[str, _Sums], dict[str, _Sums]]:
    """Per field key, the six aggregates of the counted rows, and the plain sum and count
    (every row's figure, applying or not: the like-for-like figure before of the fields
    added up by sum or mean) of the flagged rows, from one query grouped by key and flag."""
    first: dict[str, _Sums] = {}
    second: dict[str, _Sums] = {}
    for key, flagged, total, least, most, parts, _blank, _off, plain, plain_parts in \
            session.execute(query):
        part = _Sums(int(total or 0), None if least is None else int(least),
                     None if most is None else int(most), int(parts or 0))
        first[key] = first[key].merge(part) if key in first else part
        if flagged:
            second[key] = _Sums(int(plain or 0), parts=int(plain_parts or 0))
    return first, second


def _lasts(session: Session, into: dict[str, _Sums], query: Any, order: dict[int, int]) -> None:
    for unit_id, key, micros in session.execute(query):
        if micros is None:
            continue
        sums = into.setdefault(key, _Sums())
        here = (order.get(unit_id, -1), int(micros))
        if sums.last is None or here > sums.last:
            sums.last = here


def _calculated(definition: Definition, values: dict[str, Any]) -> dict[str, Any]:
    """*values* with each calculated field recomputed from them (dropped when it has none)."""
    out = dict(values)
    computed = calculate(definition, {**out, **{f.key: None
                                               for f in definition.calculated_fields()}})
    for fld in definition.calculated_fields():
        if computed.get(fld.key) is not None:
            out[fld.key] = computed[fld.key]
    return out


def _off_by_tags(session: Session, definition: Definition, fields: Sequence[FieldDef],
                 uncounted: Sequence[int]) -> dict[str, int]:
    """Per field, how many children not counted its tag conditions rule out: the tagged
    ones are read (one query) and grouped by their set of tags."""
    from forms.applicability import applies_by_tags

    tags: dict[int, set[str]] = {}
    for unit_id, tag in session.execute(select(UnitTag.unit_id, UnitTag.tag).where(
            ids_in(session, UnitTag.unit_id, uncounted))):
        tags.setdefault(unit_id, set()).add(tag)
    by_set: dict[frozenset[str], int] = {frozenset(): len(uncounted) - len(tags)}
    for found in tags.values():
        by_set[frozenset(found)] = by_set.get(frozenset(found), 0) + 1
    off: dict[str, int] = {}
    for tag_set, count in by_set.items():
        if not count:
            continue
        scope = applies_by_tags(definition, tag_set)
        for fld in fields:
            if not scope.applies(fld.key):
                off[fld.key] = off.get(fld.key, 0) + count
    return off


def unit_falls(session: Session, assignment: Assignment, unit: Unit, period: str, *,
               include_submitted: bool = False, children: Sequence[int] | None = None
               ) -> list[UnitFall]:
    """The counted children whose own cumulative figure is lower than their latest approved
    one before *period* (within its span): fetched when asked for, not with the totals."""
    definition = version_for(assignment, period).definition
    like = [f for f in stored_fields(definition)
            if f.cumulative and f.effective_aggregation in AGGREGATED]
    if children is None:
        children = child_ids(session, assignment, unit, period)
    statuses = _counted_statuses(include_submitted)
    rv, prior = ReportValue, aliased(ReportValue)
    mine = ids_in(session, rv.unit_id, children)
    latest = (select(Report.unit_id, func.max(Report.period).label("period"))
              .where(Report.assignment_id == assignment.id, Report.status == Status.APPROVED,
                     Report.period < period, ids_in(session, Report.unit_id, children))
              .group_by(Report.unit_id).subquery())
    query = (select(rv.unit_id, rv.field_key, rv.micros, prior.micros, prior.period)
             .join(latest, latest.c.unit_id == rv.unit_id)
             .join(prior, and_(prior.unit_id == rv.unit_id, prior.period == latest.c.period,
                               prior.assignment_id == rv.assignment_id,
                               prior.field_key == rv.field_key))
             .where(rv.assignment_id == assignment.id, rv.period == period,
                    rv.status.in_(statuses), mine, rv.applies,
                    rv.field_key.in_([f.key for f in like]),
                    rv.micros < prior.micros,
                    _in_span(like, period, prior.period, prior.field_key)))
    by_key = {f.key: f for f in like}
    return [UnitFall(unit_id, key, from_micros(by_key[key], now), from_micros(by_key[key], then),
                     then_period)
            for unit_id, key, now, then, then_period in session.execute(query)]
