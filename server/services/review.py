"""Completeness, chasing and review decisions for consolidators.

Which assignments an account reviews, which units below a unit owe reports,
what state each (unit, period) is in, who is still to be chased. Queries are
set-based whatever the size of the subtree: the page of units (tree order,
filtered in SQL), one query for the state of their reports in the shown
periods (status and lateness only, never the values), one GROUP BY for the
counts of every period over all matching units.

A cell is *late* when the report was submitted after its deadline, or when
the deadline has passed and it is still open (not started, draft, returned):
lateness is computed in Asia/Shanghai time, never typed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from exports.chase_list import ChaseRow, write_chase_list
from forms.issues import flagged_figures
from forms.periods import SHANGHAI, Period, days_until
from server.labels import period_label
from server.models import Assignment, Report, Status, Unit, UnitPlacement, User
from server.models.accounts import utcnow
from server.models.reporting import is_overdue, late_or_overdue, open_in_sql, sent_in_sql
from server.models.units import subtree_bounds
from server.navigation import Page
from server.scope import unit_scope
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.errors import NotAllowed, NotVisible, Refusal, StaleRevision
from server.services.owing import owing_today, owing_units
from server.services.reporting import ReportView

PERIODS_SHOWN = 6  # newest open periods in the matrix unless all are asked for
ROWS_PER_PAGE = 100
COUNTED = (Status.APPROVED, Status.SUBMITTED, Status.RETURNED, Status.DRAFT, Status.NOT_STARTED)


# -- which assignments and units an account reviews ----------------------------------------


def overlaps(user: User, assignment: Assignment) -> bool:
    """Whether the assignment's subtree and the account's scope share any unit."""
    if user.is_admin:
        return True
    if user.unit is None:
        return False
    own, root = user.unit.path, assignment.root_unit.path
    return own.startswith(root) or root.startswith(own)


def assignments_for(session: Session, user: User) -> list[Assignment]:
    """The active assignments whose subtree overlaps the account's scope."""
    candidates = session.scalars(
        select(Assignment).where(Assignment.active.is_(True))
        .options(joinedload(Assignment.root_unit), joinedload(Assignment.consolidating_unit))
        .order_by(Assignment.key)
    ).unique()
    return [a for a in candidates if overlaps(user, a)]


def assignment_for(session: Session, user: User, key: str) -> Assignment:
    """One assignment the account reviews; NotVisible otherwise (also for unknown keys)."""
    assignment = assignment_service.get_assignment(session, key)
    if not assignment.active or not overlaps(user, assignment):
        raise NotVisible(what=key)
    return assignment


def review_units(session: Session, user: User, assignment: Assignment) -> Sequence[Unit]:
    """The units whose subtree one can review under *assignment*, in tree order.

    These are the visible ancestors of the assignment's root (and the root), and
    the visible units inside its subtree that have units below them.
    """
    root = assignment.root_unit
    ancestor_ids = [int(part) for part in root.path.strip("/").split("/")]
    low, high = subtree_bounds(root.path)
    child = aliased(Unit)
    has_children = exists().where(child.parent_id == Unit.id, child.active.is_(True))
    return session.scalars(
        select(Unit).where(
            unit_scope(user), Unit.active.is_(True),
            or_(Unit.id.in_(ancestor_ids), and_(Unit.path >= low, Unit.path < high, has_children)),
        ).order_by(Unit.path)
    ).all()


def reviewed_unit(session: Session, user: User, assignment: Assignment,
                  code: str | None) -> Unit | None:
    """The unit whose subtree is shown: *code* if allowed, else the account's natural one.

    A consolidator starts at their own unit, an administrator at the consolidating
    unit of the assignment. None when the account has no unit to review from.
    A *code* outside the account's scope raises NotVisible; a visible unit that
    has nothing to review under this assignment (e.g. left over from the
    previously chosen assignment) gives the natural unit instead.
    """
    candidates = review_units(session, user, assignment)
    if code:
        chosen = next((u for u in candidates if u.code == code), None)
        if chosen is not None:
            return chosen
        if session.scalar(select(Unit.id).where(Unit.code == code, unit_scope(user))) is None:
            raise NotVisible(what=code)
    preferred = assignment.consolidating_unit if user.is_admin else user.unit
    for unit in candidates:
        if preferred is not None and unit.id == preferred.id:
            return unit
    if user.is_admin:
        return assignment.root_unit
    return candidates[0] if candidates else None


# -- the completeness matrix ---------------------------------------------------------------


@dataclass(frozen=True)
class MatrixFilters:
    status: str = ""  # a Status value; "" for any
    late_only: bool = False
    kind: str = ""
    direct_only: bool = False
    all_periods: bool = False

    @property
    def active(self) -> bool:
        return bool(self.status or self.late_only or self.kind or self.direct_only)


@dataclass(frozen=True)
class Cell:
    status: str
    late: bool
    owed: bool = True  # False: the unit did not owe this period (not yet open, closed, elsewhere)

    def matches(self, filters: MatrixFilters) -> bool:
        """Whether the cell is one the status filters look for (to highlight it)."""
        if not self.owed or (filters.status and self.status != filters.status):
            return False
        return self.late or not filters.late_only


@dataclass
class ColumnCounts:
    """How the units of one period stand, over every unit matching the unit filters."""

    period: str
    due: date
    overdue: bool
    by_status: dict[str, int]
    late: int
    total: int

    def count(self, status: str) -> int:
        return self.by_status.get(status, 0)


@dataclass
class Matrix:
    assignment: Assignment
    under: Unit
    periods: list[str]  # newest first
    hidden_periods: int  # older open periods left out (see MatrixFilters.all_periods)
    dues: dict[str, date]
    rows: list[Unit]
    cells: dict[tuple[int, str], Cell]
    counts: dict[str, ColumnCounts]
    page: Page
    total_units: int  # units matching the unit filters (kind, direct children)

    def cell(self, unit: Unit, period: str) -> Cell:
        return self.cells[(unit.id, period)]


def _today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


def owing_below(assignment: Assignment, under: Unit, period: str,
                filters: MatrixFilters | None = None) -> Select:
    """The units below *under* (not itself) that owe *period*, with the tree of then.

    *under* is visible to the account (the caller checked): the units that stood
    below it in that period are its to follow for that period, wherever they stand now.
    """
    query = owing_units(assignment, period, under).where(Unit.id != under.id)
    if filters is not None and filters.kind:
        query = query.where(Unit.kind == filters.kind)
    if filters is not None and filters.direct_only:
        query = query.where(UnitPlacement.parent_id == under.id)
    return query


def completeness_kinds(session: Session, user: User, assignment: Assignment,
                       under: Unit) -> list[str]:
    """The unit kinds among the reporting units below *under* (the choices of the kind filter)."""
    query = owing_today(assignment, under).where(unit_scope(user), Unit.id != under.id)
    return sorted(session.scalars(query.with_only_columns(Unit.kind).distinct().order_by(None)))


def _report_of_unit(assignment: Assignment, periods: Sequence[str]) -> list[ColumnElement]:
    return [Report.unit_id == Unit.id, Report.assignment_id == assignment.id,
            Report.period.in_(list(periods))]


def _reports_counted(assignment: Assignment, periods: Sequence[str], *conditions):
    return (select(func.count(Report.id))
            .where(*_report_of_unit(assignment, periods), *conditions).scalar_subquery())


def _row_filter(assignment: Assignment, periods: Sequence[str], overdue: Sequence[str],
                filters: MatrixFilters) -> list[ColumnElement]:
    """SQL conditions on ``Unit``: some shown cell of the row has the wanted state."""
    conditions: list[ColumnElement] = []
    if filters.status == Status.NOT_STARTED:
        conditions.append(_reports_counted(assignment, periods) < len(periods))
    elif filters.status:
        conditions.append(exists().where(*_report_of_unit(assignment, periods),
                                         Report.status == filters.status))
    if filters.late_only:
        late = [exists().where(*_report_of_unit(assignment, periods), Report.late.is_(True))]
        if overdue:
            done = _reports_counted(assignment, overdue, sent_in_sql(Report.status))
            late.append(done < len(overdue))
        conditions.append(or_(*late))
    return conditions


def completeness(
    session: Session,
    user: User,
    assignment: Assignment,
    under: Unit,
    filters: MatrixFilters = MatrixFilters(),
    *,
    page: int = 1,
    per_page: int = ROWS_PER_PAGE,
    now: datetime | None = None,
) -> Matrix:
    """The matrix of the units below *under* × the open periods of *assignment*."""
    now = now or utcnow()
    all_periods = list(reversed(assignment_service.open_periods(assignment, _today(now))))
    periods = all_periods if filters.all_periods else all_periods[:PERIODS_SHOWN]
    dues = {p: assignment_service.due_date(assignment, p) for p in periods}
    days_left = {p: days_until(dues[p], now) for p in periods}
    # The periods in which a unit that has not handed its report in is overdue.
    overdue = [p for p in periods if is_overdue(Status.NOT_STARTED, days_left[p])]

    # Each period has its own population: the units that owed it, as the tree stood then.
    owing = {p: owing_below(assignment, under, p, filters).with_only_columns(Unit.id)
             .order_by(None) for p in periods}
    if periods:
        population_ids = owing[periods[0]].union(*(owing[p] for p in periods[1:]))
    else:
        population_ids = owing_today(assignment, under).where(Unit.id != under.id)
        if filters.kind:
            population_ids = population_ids.where(Unit.kind == filters.kind)
        if filters.direct_only:
            population_ids = population_ids.where(UnitPlacement.parent_id == under.id)
        population_ids = population_ids.with_only_columns(Unit.id).order_by(None)
    population_ids = select(population_ids.subquery().c[0])
    total_units = session.scalar(select(func.count()).select_from(population_ids.subquery()))
    population = select(Unit).where(Unit.id.in_(population_ids)).order_by(Unit.path)

    shown = population
    if periods:
        shown = shown.where(*_row_filter(assignment, periods, overdue, filters))
    total_rows = session.scalar(
        select(func.count()).select_from(shown.with_only_columns(Unit.id).order_by(None)
                                          .subquery()))
    pages = max(1, -(-total_rows // per_page))
    current = Page(number=min(max(page, 1), pages), per_page=per_page, total=total_rows)
    rows = list(session.scalars(shown.offset(current.offset).limit(per_page)).all())
    row_ids = [u.id for u in rows]

    owed = {p: set(session.scalars(owing[p].where(Unit.id.in_(row_ids)))) if row_ids else set()
            for p in periods}
    cells: dict[tuple[int, str], Cell] = {
        (unit.id, p): Cell(Status.NOT_STARTED, p in overdue) if unit.id in owed[p]
        else Cell(Status.NOT_STARTED, False, owed=False)
        for unit in rows for p in periods
    }
    totals = {p: session.scalar(select(func.count()).select_from(owing[p].subquery())) or 0
              for p in periods}
    counts = {p: ColumnCounts(p, dues[p], p in overdue, {}, 0, totals[p]) for p in periods}
    if periods and rows:
        found = session.execute(select(Report.unit_id, Report.period, Report.status, Report.late)
                                .where(Report.assignment_id == assignment.id,
                                       Report.period.in_(periods),
                                       Report.unit_id.in_(row_ids)))
        for unit_id, period, status, late in found:
            if unit_id in owed[period]:
                cells[(unit_id, period)] = Cell(
                    status, late_or_overdue(status, late, days_left[period]))
    for period in periods:
        if not totals[period]:
            continue
        grouped = session.execute(
            select(Report.status, Report.late, func.count())
            .where(Report.assignment_id == assignment.id, Report.period == period,
                   Report.unit_id.in_(owing[period]))
            .group_by(Report.status, Report.late))
        column = counts[period]
        for status, late, number in grouped:
            column.by_status[status] = column.by_status.get(status, 0) + number
            if late_or_overdue(status, late, days_left[period]):
                column.late += number
        started = sum(column.by_status.values())
        column.by_status[Status.NOT_STARTED] = column.total - started
        if column.overdue:
            column.late += column.total - started
    return Matrix(assignment, under, periods, len(all_periods) - len(periods), dues, rows,
                  cells, counts, current, total_units or 0)


# -- the 催报 list --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChaseEntry:
    unit: Unit
    status: str
    due: date
    days_overdue: int  # 0 while the deadline has not passed

    @property
    def parent_name(self) -> str:
        return self.unit.parent.name if self.unit.parent else ""


def chase_list(session: Session, user: User, assignment: Assignment, under: Unit,
               period: str, *, now: datetime | None = None) -> list[ChaseEntry]:
    """The units below *under* whose report of *period* is not in: not started, draft, returned.

    Submitted reports (late or not) are in and need no chasing. In tree order.
    """
    if period not in assignment_service.assignment_periods(assignment):
        raise NotVisible(what=period)
    now = now or utcnow()
    due = assignment_service.due_date(assignment, period)
    days_overdue = max(0, -days_until(due, now))
    query = (
        owing_below(assignment, under, period)
        .outerjoin(Report, and_(Report.unit_id == Unit.id, Report.assignment_id == assignment.id,
                                Report.period == period))
        .where(open_in_sql(Report.id, Report.status))
        .add_columns(Report.status)
        .options(joinedload(Unit.parent))
    )
    return [ChaseEntry(unit, status or Status.NOT_STARTED, due, days_overdue)
            for unit, status in session.execute(query)]


def chase_title(assignment: Assignment, under: Unit, period: str, locale: str) -> str:
    template = assignment_service.version_for(assignment, period).definition
    return gettext("Chase list of %(unit)s: %(template)s, %(period)s",
                   unit=under.name, template=template.text("title", locale),
                   period=period_label(period))


def chase_workbook(entries: Sequence[ChaseEntry], title: str,
                   translate: Callable[[str], str] = gettext) -> bytes:
    """The 催报 list as .xlsx bytes, labelled in the current language."""
    rows = [
        ChaseRow(code=e.unit.code, name=e.unit.name, parent=e.parent_name,
                 status=reporting.status_label(e.status), due=e.due,
                 days_overdue=e.days_overdue, contact=e.unit.contact_name or "",
                 phone=e.unit.contact_phone or "")
        for e in entries
    ]
    return write_chase_list(rows, title=title, translate=translate)


def chase_filename(assignment: Assignment, period: str) -> str:
    return gettext("chase-list-%(assignment)s-%(period)s.xlsx",
                   assignment=assignment.key, period=Period.parse(period).key)


# -- review decisions ----------------------------------------------------------------------


def decide(session: Session, user: User, view: ReportView, decision: str, text: str = "", *,
           expected_revision: int | None = None, acknowledged: bool = False,
           field_comments: Mapping[str, str] | None = None) -> None:
    """Return (*text*: the comment), approve or unapprove (*text*: the reason) the report,
    as long as it is the revision reviewed.

    A reviewer decides on what they saw: if the report was resubmitted with
    other values since the page was loaded, the decision is refused. An approval
    of explained figures needs *acknowledged* (see ``reporting.approve``); a return may
    carry *field_comments*, comments on single fields by field key.
    """
    if not reporting.can_review(user, view):
        raise NotAllowed(reporting.REVIEWERS_ONLY)
    if expected_revision is not None and expected_revision != view.revision:
        raise StaleRevision(
            _l("This report changed since you opened it (now revision %(current)s). Look at "
               "it again before deciding."), current=view.revision)
    if decision == "return":
        reporting.return_report(session, user, view, text, field_comments)
    elif decision == "approve":
        reporting.approve(session, user, view, acknowledged=acknowledged)
    elif decision == "unapprove":
        reporting.unapprove(session, user, view, text)
    else:
        raise ValueError(decision)


# -- approving many reports at once ---------------------------------------------------------


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one report of a batch approval: approved, or why not."""

    unit: str
    period: str
    unit_name: str
    approved: bool
    reason: str = ""


def batch_refusal(view: ReportView) -> str | None:
    """Why the report cannot be approved with others, unseen (None: it can): it must be
    submitted, in an open period, without errors, and without figures whose 说明 the
    reviewer has to acknowledge on the report's own page."""
    if view.report is None or view.status != Status.SUBMITTED:
        return gettext("It is %(status)s, not submitted.",
                       status=reporting.status_label(view.status))
    if view.closed is not None:
        return str(view.closed)
    issues = reporting.issues_for(view)
    errors = sum(1 for issue in issues if issue.is_error)
    if errors:
        return gettext("Validation finds %(count)s errors: return it or look at it first.",
                       count=errors)
    if flagged_figures(issues):
        return gettext("The unit explained some figures: approve it on its own page, after "
                       "reading the notes.")
    return None


def approvable(session: Session, user: User, assignment: Assignment,
               cells: Sequence[tuple[Unit, str]]) -> set[tuple[str, str]]:
    """The (unit code, period) of *cells* whose reports a batch approval would approve."""
    found = set()
    for unit, period in cells:
        try:
            view = reporting.load(session, user, assignment.key, unit.code, period)
        except NotVisible:
            continue
        if reporting.can_review(user, view) and batch_refusal(view) is None:
            found.add((unit.code, period))
    return found


def batch_approve(session: Session, user: User, assignment_key: str,
                  chosen: Sequence[tuple[str, str]]) -> list[BatchOutcome]:
    """Approve each chosen (unit code, period) report that qualifies (``batch_refusal``),
    each checked in scope and audited like a single approval; the others are left as they
    are, with the reason. A report out of *user*'s scope is named as not found."""
    outcomes = []
    for unit_code, period in dict.fromkeys(chosen):
        try:
            view = reporting.load(session, user, assignment_key, unit_code, period)
        except NotVisible:
            outcomes.append(BatchOutcome(unit_code, period, unit_code, False,
                                         gettext("No such report within your reach.")))
            continue
        if not reporting.can_review(user, view):
            reason = str(reporting.REVIEWERS_ONLY)
        else:
            reason = batch_refusal(view)
        if reason is None:
            try:
                reporting.approve(session, user, view)
            except Refusal as refusal:  # a state changed since: said, and left as it is
                reason = str(refusal)
        outcomes.append(BatchOutcome(unit_code, period, view.unit.name, reason is None,
                                     reason or ""))
    return outcomes
