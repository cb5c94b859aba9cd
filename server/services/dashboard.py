"""The dashboard of an assignment below a unit, and the figures of its 晾晒通报.

Who owes a period is :mod:`server.services.owing`'s answer, never worked out here.
The periods shown are cut into segments over which nobody moved, started or
stopped reporting (usually one); per segment, the owing units are read once, each
tagged with the child of *under* it stood below (a substring of its materialised
path), and joined to their reports in the segment's periods. One grouped query
(a UNION ALL over the segments) gives every figure of the timeliness chart *and*
of the ranking of the children: owed units per child, and reports per period,
child, status and lateness, with how many are approved and were returned; owed
unit-periods without a report row are not started. The units that never
reported are a second query, the list of units behind any number a third (paged).

Every unit-period owed is in exactly one of four states:

* ``on_time``: handed in (submitted or approved) by its due date;
* ``late``: handed in after it;
* ``missing``: still owed (not started, draft, returned) after the due date;
* ``pending``: still owed, the due date not yet passed.

``approved`` and ``returned`` count the owed reports that stand approved, or
that were returned at least once, across those states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from forms.definition import TargetScope
from forms.periods import SHANGHAI, days_until
from forms.targets import TargetStatus
from server.models import Assignment, Report, Status, Unit, UnitPlacement, User
from server.models.accounts import utcnow
from server.models.reporting import ReportEvent, is_overdue, sent_in_sql
from server.models.units import PATH_SEPARATOR
from server.services import assignments as assignment_service
from server.services import review as review_service
from server.services import targets as targets_service
from server.services.consolidation import NotConsolidating
from server.services.errors import NotVisible
from server.services.owing import (
    owing_on,
    owing_units,
    path_then,
    paths_on,
    period_day,
)

ON_TIME, LATE, MISSING, PENDING = "on_time", "late", "missing", "pending"
APPROVED, RETURNED = "approved", "returned"
STATES = (ON_TIME, LATE, MISSING, PENDING)
MEASURES = (*STATES, APPROVED, RETURNED)
DEFAULT_PERIODS = 12  # newest begun periods shown unless a range is asked for
TARGET_CHILDREN = 50  # children (in ranked order) whose targets are judged on one page
TARGET_ORDER = tuple(str(s) for s in (TargetStatus.MISSED, TargetStatus.AT_RISK,
                                      TargetStatus.NO_DATA, TargetStatus.ON_TRACK,
                                      TargetStatus.MET))  # worst first


def state_of(status: str | None, late: bool | None, overdue: bool) -> str:
    """The state of one owed unit-period: its report's *status* (None: no report),
    whether it was handed in late, and whether the due date has passed."""
    if status is not None and Status(status) not in (Status.DRAFT, Status.RETURNED):
        return LATE if late else ON_TIME
    return MISSING if overdue else PENDING


@dataclass
class Tally:
    """How many owed unit-periods are in each state (and approved, returned)."""

    owed: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))

    def add(self, state: str, number: int, *, approved: int = 0, returned: int = 0) -> None:
        self.owed += number
        self.counts[state] += number
        self.counts[APPROVED] += approved
        self.counts[RETURNED] += returned

    def merge(self, other: Tally) -> None:
        self.owed += other.owed
        for key, value in other.counts.items():
            self.counts[key] += value

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    @property
    def handed_in(self) -> int:
        return self.counts[ON_TIME] + self.counts[LATE]

    def share(self, numerator: int) -> float | None:
        return numerator / self.owed if self.owed else None

    @property
    def completion(self) -> float | None:
        """Handed in, of those owed."""
        return self.share(self.handed_in)

    @property
    def timeliness(self) -> float | None:
        """Handed in on time, of those owed."""
        return self.share(self.counts[ON_TIME])


@dataclass
class ChildRow:
    """A child of the dashboard's unit over the period range, for the ranking."""

    unit: Unit
    total: Tally
    rank: int = 0
    targets: TargetTally | None = None  # None: not judged (no targets, or past the page)
    target_rank: int = 0


@dataclass
class TargetTally:
    """How a child's targets stand: counts by status (met, on track, at risk, missed,
    no data), judged on its consolidated figures (its own reports for a reporting leaf)."""

    counts: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def judged(self) -> int:
        return sum(self.counts.values())

    @property
    def worst(self) -> str | None:
        for status in TARGET_ORDER:
            if self[status]:
                return status
        return None

    def key(self) -> tuple[int, ...]:
        """Sort key, best first: fewest missed, then fewest at risk, then most met or on
        track, then fewest without data."""
        good = self[str(TargetStatus.MET)] + self[str(TargetStatus.ON_TRACK)]
        return (self[str(TargetStatus.MISSED)], self[str(TargetStatus.AT_RISK)], -good,
                self[str(TargetStatus.NO_DATA)])


@dataclass
class Dashboard:
    assignment: Assignment
    under: Unit
    kind: str  # "" for every kind (level) of unit
    periods: list[str]  # oldest first
    dues: dict[str, date]
    overdue: dict[str, bool]
    by_period: dict[str, Tally]
    children: list[ChildRow]  # ranked: completion, then timeliness, fewer returns, name
    never_reported: int
    total: Tally
    cells: dict[tuple[str, int], Tally] = field(default_factory=dict)  # (period, child id)

    @property
    def latest(self) -> str | None:
        return self.periods[-1] if self.periods else None

    @property
    def lagging(self) -> list[ChildRow]:
        """Children with reports missing in the range, most missing first (to 点名)."""
        rows = [row for row in self.children if row.total[MISSING]]
        return sorted(rows, key=lambda r: (-r.total[MISSING], r.unit.path))


def today() -> date:
    """Today in Asia/Shanghai by the clock of this module (tests set it)."""
    return utcnow().astimezone(SHANGHAI).date()


# -- which periods -------------------------------------------------------------------------


def begun_periods(assignment: Assignment, today: date) -> list[str]:
    """The periods of the assignment that have begun by *today*, oldest first."""
    return assignment_service.open_periods(assignment, today)


def choose_periods(assignment: Assignment, today: date, first: str | None = None,
                   last: str | None = None) -> list[str]:
    """The begun periods between *first* and *last* (both optional, inclusive); by
    default the newest :data:`DEFAULT_PERIODS`. Unknown keys are ignored."""
    begun = begun_periods(assignment, today)
    if first not in begun:
        first = None
    if last not in begun:
        last = None
    if first is None and last is None:
        return begun[-DEFAULT_PERIODS:]
    low = begun.index(first) if first else 0
    high = begun.index(last) + 1 if last else len(begun)
    return begun[low:high]


# -- the grouped query ---------------------------------------------------------------------


class position(FunctionElement):
    """SQL: the 1-based position of the second argument in the first (0: absent)."""

    type = Integer()
    inherit_cache = True


@compiles(position)
def _position_sqlite(element, compiler, **kw):
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(position, "postgresql")
def _position_postgresql(element, compiler, **kw):
    return f"strpos({compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True)
class Segment:
    """Periods over which who owes what, and where each unit stands, does not change:
    no placement, reporting start or stop is dated after the first one's day and on or
    before the last one's. Owing is read once per segment, on *day*; *paths* are the
    paths of the assignment's root and the dashboard's unit on that day, read once
    (:func:`with_paths`) so that the queries carry plain bounds."""

    day: date
    periods: tuple[str, ...]
    paths: tuple[tuple[int, str], ...] = ()


def with_paths(session: Session, assignment: Assignment, under: Unit,
               parts: Sequence[Segment]) -> list[Segment]:
    """*parts* with the paths of the root and *under* on each segment's day."""
    ids = {assignment.root_unit_id, under.id}
    return [Segment(s.day, s.periods, tuple(sorted(paths_on(session, ids, s.day).items())))
            for s in parts]


def segments(session: Session, assignment: Assignment, periods: Sequence[str]) -> list[Segment]:
    """The periods cut where the tree or a unit's reporting dates changed (one query)."""
    days = sorted((period_day(assignment, p), p) for p in periods)
    if not days:
        return []
    low, high = days[0][0], days[-1][0]
    columns = (UnitPlacement.valid_from, UnitPlacement.valid_to, Unit.reports_from,
               Unit.stops_on)
    parts = [select(column.label("day")).where(column > low, column <= high)
             for column in columns]
    changes = sorted(set(session.scalars(parts[0].union(*parts[1:]))))
    out: list[Segment] = []
    current_day, current = days[0][0], [days[0][1]]
    for day, period in days[1:]:
        if day == current_day or not any(current_day < c <= day for c in changes):
            current.append(period)
            continue
        out.append(Segment(current_day, tuple(current)))
        current_day, current = day, [period]
    out.append(Segment(current_day, tuple(current)))
    return out


def _owed_units(assignment: Assignment, under: Unit, segment: Segment, kind: str,
                cte: str = ""):
    """A subquery of (unit_id, child_id): the units below *under* owing the segment's
    periods, with the id (as text) of the child of *under* each stood below, read from
    its materialised path: the segment after *under*'s path of that day."""
    paths = dict(segment.paths)
    length = (len(paths[under.id]) if under.id in paths
              else func.length(path_then(under.id, segment.day)))
    rest = func.substr(UnitPlacement.path, length + 1, type_=String)
    child = func.substr(rest, 1, position(rest, PATH_SEPARATOR) - 1, type_=String)
    query = owing_on(assignment, segment.day, under, paths=paths).where(Unit.id != under.id)
    if kind:
        query = query.where(Unit.kind == kind)
    query = query.with_only_columns(Unit.id.label("unit_id"), child.label("child_id")
                                    ).order_by(None)
    return query.cte(cte).prefix_with("MATERIALIZED") if cte else query.subquery()


def _returns(assignment: Assignment):
    """A subquery: how many times each report of *assignment* was returned."""
    return (select(ReportEvent.report_id, func.count().label("times"))
            .join(Report, Report.id == ReportEvent.report_id)
            .where(Report.assignment_id == assignment.id, ReportEvent.action == "returned")
            .group_by(ReportEvent.report_id).subquery())


def grouped_query(assignment: Assignment, under: Unit, parts: Sequence[Segment],
                  kind: str = ""):
    """Per segment: (segment, NULL, child, owed units, 0, 0, 0, 0), and per period and
    child of the segment (segment, period, child, reports, handed in on time, late,
    approved, returned at least once). Owed unit-periods not handed in (no report row,
    a draft, a returned report) are the owed less those on time and late."""
    selects = []
    returns = _returns(assignment)
    sent = sent_in_sql(Report.status)

    def counted(condition):
        return func.sum(case((condition, 1), else_=0))

    for index, segment in enumerate(parts):
        owed = _owed_units(assignment, under, segment, kind)
        zero = literal(0)
        selects.append(select(
            literal(index).label("segment"), literal(None, String).label("period"),
            owed.c.child_id, func.count().label("units"), zero.label("on_time"),
            zero.label("late"), zero.label("approved"), zero.label("returned"))
            .group_by(owed.c.child_id))
        # The child of each owed unit is worked out once per unit, not once per report:
        # a materialised CTE keeps the planner from folding it into the join.
        owed = _owed_units(assignment, under, segment, kind, cte=f"owed_{index}")
        selects.append(
            select(literal(index), Report.period, owed.c.child_id, func.count(),
                   counted(and_(sent, Report.late.is_(False))),
                   counted(and_(sent, Report.late.is_(True))),
                   counted(Report.status == Status.APPROVED), counted(returns.c.times > 0))
            .select_from(owed)
            .join(Report, and_(Report.assignment_id == assignment.id,
                               Report.unit_id == owed.c.unit_id,
                               Report.period.in_(segment.periods)))
            .outerjoin(returns, returns.c.report_id == Report.id)
            .group_by(Report.period, owed.c.child_id))
    return selects[0].union_all(*selects[1:])


def never_reported_query(assignment: Assignment, under: Unit, parts: Sequence[Segment],
                         kind: str = "") -> Select:
    """The units below *under* that owed some period of *parts* and never handed in any
    report of the assignment, in tree order."""
    by_day = {segment.day: dict(segment.paths) for segment in parts}
    ids = [owing_on(assignment, day, under, paths=paths).with_only_columns(Unit.id)
           .order_by(None) for day, paths in sorted(by_day.items())]
    if not ids:
        return select(Unit).where(literal(False))
    owed_ids = (ids[0].union(*ids[1:]) if len(ids) > 1 else ids[0]).subquery()
    query = select(Unit).where(
        Unit.id.in_(select(owed_ids.c[0])), Unit.id != under.id,
        ~exists().where(Report.unit_id == Unit.id, Report.assignment_id == assignment.id,
                        sent_in_sql(Report.status)))
    if kind:
        query = query.where(Unit.kind == kind)
    return query.order_by(Unit.path)


def build(session: Session, assignment: Assignment, under: Unit, periods: Sequence[str], *,
          kind: str = "", now: datetime | None = None) -> Dashboard:
    """The dashboard of *assignment* below *under* (the caller checked the scope)."""
    now = now or utcnow()
    periods = list(periods)
    dues = {p: assignment_service.due_date(assignment, p) for p in periods}
    overdue = {p: is_overdue(Status.NOT_STARTED, days_until(dues[p], now)) for p in periods}
    by_period = {p: Tally() for p in periods}
    by_child: dict[int, Tally] = {}
    cells: dict[tuple[str, int], Tally] = {}
    never = 0
    if periods:
        parts = with_paths(session, assignment, under, segments(session, assignment, periods))
        owed: dict[tuple[str, int], int] = {}  # (period, child) → owed units
        sums: dict[tuple[str, int], tuple[int, ...]] = {}
        for index, period, child_id, units, on_time, late, approved, returned in (
                session.execute(grouped_query(assignment, under, parts, kind))):
            if period is None:  # the owed units of a segment, in each of its periods
                for owed_period in parts[index].periods:
                    owed[(owed_period, int(child_id))] = units
            else:
                sums[(period, int(child_id))] = (on_time, late, approved, returned)
        for (period, child), units in owed.items():
            on_time, late, approved, returned = (int(n or 0) for n in
                                                 sums.get((period, child), (0, 0, 0, 0)))
            tally = by_child.setdefault(child, Tally())
            cells[(period, child)] = Tally()
            for target in (by_period[period], tally, cells[(period, child)]):
                target.add(ON_TIME, on_time, approved=approved, returned=returned)
                target.add(LATE, late)
                target.add(state_of(None, None, overdue[period]), units - on_time - late)
        counted = never_reported_query(assignment, under, parts, kind)
        never = session.scalar(select(func.count()).select_from(
            counted.with_only_columns(Unit.id).order_by(None).subquery())) or 0
    names = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(list(by_child))))}
    children = [ChildRow(names[cid], tally) for cid, tally in by_child.items()]
    rank_children(children)
    total = Tally()
    for tally in by_period.values():
        total.merge(tally)
    return Dashboard(assignment, under, kind, periods, dues, overdue, by_period, children,
                     never, total, cells)


def rank_children(children: list[ChildRow]) -> None:
    """Sort by completion, then timeliness (both descending), then fewer returns, then
    tree order; equal keys share a rank (1, 2, 2, 4)."""
    def key(row: ChildRow):
        return (-(row.total.completion or 0), -(row.total.timeliness or 0),
                row.total[RETURNED])
    children.sort(key=lambda r: (*key(r), r.unit.path))
    for index, row in enumerate(children):
        same = index and key(children[index - 1]) == key(row)
        row.rank = children[index - 1].rank if same else index + 1


# -- the children's targets ----------------------------------------------------------------


def child_targets(session: Session, user: User, board: Dashboard, *,
                  limit: int = TARGET_CHILDREN) -> bool:
    """Judge the targets of the first *limit* ranked children on their own consolidated
    figures (a reporting leaf: its own handed-in reports, on the targets set for every
    unit), and rank them by target progress (``target_rank``; equal keys share a rank).

    A consolidation per child and begun period: this is why only a page of children is
    judged. False when the template sets no target (nothing judged)."""
    if not board.periods:
        return False
    assignment = board.assignment
    definition = assignment_service.version_for(assignment, board.periods[-1]).definition
    if not definition.target_fields():
        return False
    day = targets_service.today()
    judged = []
    for row in board.children[:limit]:
        try:
            reports = targets_service.consolidated_reports(session, user, assignment,
                                                           row.unit, day)
            scopes = tuple(TargetScope)
        except NotConsolidating:
            reports = targets_service.own_reports(session, assignment, row.unit)
            scopes = (TargetScope.UNIT,)
        items = targets_service.judge(definition, reports, day, scopes, assignment=assignment)
        tally = TargetTally()
        for item in items:
            status = str(item.status)
            tally.counts[status] = tally.counts.get(status, 0) + 1
        row.targets = tally
        judged.append(row)
    ordered = sorted(judged, key=lambda r: (r.targets.key(), r.unit.path))
    for index, row in enumerate(ordered):
        same = index and ordered[index - 1].targets.key() == row.targets.key()
        row.target_rank = ordered[index - 1].target_rank if same else index + 1
    return True


# -- the units behind a number -------------------------------------------------------------


def units_behind(assignment: Assignment, under: Unit, period: str, measure: str, *,
                 child: Unit | None = None, kind: str = "",
                 now: datetime | None = None) -> Select:
    """The units behind one number of the dashboard: those below *under* (or below its
    child *child*) owing *period* whose report is in *measure*, in tree order."""
    now = now or utcnow()
    overdue = is_overdue(Status.NOT_STARTED,
                         days_until(assignment_service.due_date(assignment, period), now))
    scope = child if child is not None else under
    query = owing_units(assignment, period, scope).where(Unit.id != under.id).outerjoin(
        Report, and_(Report.assignment_id == assignment.id, Report.unit_id == Unit.id,
                     Report.period == period))
    if kind:
        query = query.where(Unit.kind == kind)
    is_open = or_(Report.id.is_(None), Report.status.in_([Status.DRAFT, Status.RETURNED]))
    if measure in (ON_TIME, LATE):
        query = query.where(~is_open, Report.late.is_(measure == LATE))
    elif measure in (MISSING, PENDING):
        if overdue != (measure == MISSING):
            return query.where(literal(False))
        query = query.where(is_open)
    elif measure == APPROVED:
        query = query.where(Report.status == Status.APPROVED)
    elif measure == RETURNED:
        query = query.where(exists().where(ReportEvent.report_id == Report.id,
                                           ReportEvent.action == "returned"))
    elif measure != "owed":
        raise NotVisible(what=measure)
    return query


def units_behind_range(assignment: Assignment, under: Unit, periods: Sequence[str],
                       measure: str, *, child: Unit | None = None, kind: str = "",
                       now: datetime | None = None) -> Select:
    """The unit-periods behind a total over *periods* (a child's row of the ranking):
    rows of (unit, period), one per owed unit-period in *measure*, in tree order."""
    parts = [units_behind(assignment, under, period, measure, child=child, kind=kind, now=now)
             .with_only_columns(Unit.id.label("unit_id"), literal(period).label("period"))
             .order_by(None) for period in periods]
    if not parts:
        return select(Unit, literal(None, String)).where(literal(False))
    found = parts[0].union_all(*parts[1:]).subquery()
    return (select(Unit, found.c.period).join(found, found.c.unit_id == Unit.id)
            .order_by(Unit.path, found.c.period))


def child_of(session: Session, under: Unit, code: str | None) -> Unit | None:
    """The child *code* of *under* (today's tree); NotVisible for any other unit."""
    if not code:
        return None
    found = session.scalar(select(Unit).where(Unit.code == code))
    if found is None or not found.path.startswith(under.path) or found.id == under.id:
        raise NotVisible(what=code)
    return found


# -- the overview across assignments -------------------------------------------------------


@dataclass
class OverviewRow:
    assignment: Assignment
    under: Unit
    period: str
    tally: Tally
    worst: list[ChildRow]  # the children with the most missing, at most three


def overview(session: Session, user: User, *, now: datetime | None = None) -> list[OverviewRow]:
    """For each reviewed assignment, its latest period whose due date has passed, below
    the account's natural unit: how it stands and which children lag most; laggards first."""
    now = now or utcnow()
    today = now.astimezone(SHANGHAI).date()
    rows = []
    for assignment in review_service.assignments_for(session, user):
        if assignment_service.is_event(assignment):
            continue
        under = review_service.reviewed_unit(session, user, assignment, None)
        begun = begun_periods(assignment, today)
        due = [p for p in begun
               if days_until(assignment_service.due_date(assignment, p), now) < 0]
        if under is None or not due:
            continue
        board = build(session, assignment, under, due[-1:], now=now)
        rows.append(OverviewRow(assignment, under, due[-1], board.total, board.lagging[:3]))
    rows.sort(key=lambda r: (r.tally.completion if r.tally.owed else 1, r.assignment.key))
    return rows



# -- key indicators against their targets --------------------------------------------------


@dataclass
class Indicator:
    """One target of the template: its sentence, and the figure over the periods shown
    (the office's consolidated figures; a share as a fraction; a recurring minimum per
    window) against the target's line."""

    shown: targets_service.Shown
    labels: list[str]  # period or window keys
    values: list[float | None]
    target: float
    deadline: date
    percent: bool = False


def _figure(values: dict | None, progress) -> float | None:
    if not values:
        return None
    value = values.get(progress.field.key)
    if value is None:
        return None
    if progress.is_share:
        denominator = values.get(progress.target.denominator)
        return float(value) / float(denominator) if denominator else None
    return float(value)


def indicators(session: Session, user: User, assignment: Assignment, under: Unit,
               periods: Sequence[str], locale: str) -> list[Indicator]:
    """The template's targets judged on *under*'s consolidated figures, each with its
    series over *periods* (consolidates every begun period: not for the fast page)."""
    if not periods:
        return []
    definition = assignment_service.version_for(assignment, periods[-1]).definition
    if not definition.target_fields():
        return []
    day = today()
    reports = targets_service.consolidated_reports(session, user, assignment, under, day)
    items = targets_service.judge(definition, reports, day, assignment=assignment)
    out = []
    for shown in targets_service.shown(definition, items, locale):
        progress = shown.progress
        if progress.windows:
            labels = [w.key for w in progress.windows]
            values = [float(w.count) for w in progress.windows]
        else:
            labels = list(periods)
            values = [_figure(reports.get(p), progress) for p in periods]
        target = float(progress.target.value) / (100 if progress.is_share else 1)
        out.append(Indicator(shown, labels, values, target, progress.deadline,
                             percent=progress.is_share))
    return out
