"""The reporting workflow: what a unit owes, saving, submitting and reviewing.

One service for the web pages, the API and the CLI. Every function takes the
acting account and refuses, with a translated :class:`Refusal` of the class that
says why, what the account may not do: :class:`NotAllowed` when it is not theirs
to do, :class:`ReportLocked` for an approved report, :class:`InvalidState` when
the report's status does not allow it, :class:`StaleRevision` for a change made
from an older revision and :class:`InvalidInput` (:class:`InvalidReport` with the
issues) for what cannot be read. Lookups outside the account's scope raise
:class:`NotVisible`, which every channel answers like an unknown address. The
workflow functions add and flush; their caller commits (``server.db.unit_of_work``).

Status machine::

    (not started) → draft → submitted → approved
                              ↓   ↑         │ unapprove (reason)
                           returned ←───────┘ (back to submitted)

Every save appends a revision; a save or submit that names a revision other
than the latest is refused as stale, so two people editing one report never
overwrite each other silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from forms.applicability import Applicability, applicability
from forms.consolidation import ChildReport
from forms.definition import Definition
from forms.events import AT, EventInfo
from forms.issues import Issue, error, flagged_figures, has_errors, unexplained
from forms.periods import SHANGHAI, Period, days_until, is_late
from forms.targets import baseline_changes
from forms.validation import increments, validate
from forms.values import coerce_values, jsonable, loads_values
from server.db import insert_or_ignore
from server.models import Role, Unit, UnitPlacement, User
from server.models.accounts import utcnow
from server.models.reporting import (
    Assignment,
    FieldComment,
    Report,
    ReportEvent,
    ReportValue,
    Revision,
    Source,
    Status,
    StoredFile,
    is_overdue,
    late_or_overdue,
)
from server.models.templates import TemplateVersion
from server.scope import can_see, scope_on, scope_on_parameters, unit_scope
from server.services import assignments as assignment_service
from server.services import closing, notifications, plans, report_values
from server.services.assignments import (
    Due,
    assignment_periods,
    due_date,
    is_event,
    open_periods,
    version_for,
)
from server.services.carried import counted_child_reports
from server.services.errors import (
    InvalidInput,
    InvalidReport,
    InvalidState,
    NotAllowed,
    NotVisible,
    Refusal,
    ReportLocked,
    StaleRevision,
)
from server.services.owing import (
    owed_periods_query,
    owes,
    owing_parameters,
    owing_statement,
    placed_below,
)
from server.services.plans import AssignmentPlan, PlanTemplate

NOT_SAVED = _l("The report was not saved: correct the marked fields.")
REVIEWERS_ONLY = _l("Only a consolidator above this unit can review its report.")


# -- what a unit owes --------------------------------------------------------------------


@dataclass
class Task:
    """One (assignment, period) a unit owes, with its state."""

    assignment: Assignment
    unit: Unit
    period: str
    due: date
    report: Report | None
    days_left: int  # negative when overdue
    moved: Due | None = None  # set when the due date moved to a working day

    @property
    def status(self) -> Status:
        return Status.of(self.report)

    @property
    def overdue(self) -> bool:
        return is_overdue(self.status, self.days_left)

    @property
    def late(self) -> bool:
        return late_or_overdue(self.status, bool(self.report and self.report.late),
                               self.days_left)

    @property
    def open(self) -> bool:
        return self.status.is_open

    @property
    def is_event(self) -> bool:
        """An event report: never due, so never late nor overdue."""
        return Period.parse(self.period).is_event


def tasks_for_unit(session: Session, unit: Unit, now: datetime | None = None) -> list[Task]:
    """Every report *unit* owes, most urgent first (open ones by due date, then the rest)."""
    now = now or utcnow()
    today = now.astimezone(SHANGHAI).date()
    candidates = session.scalars(
        select(Assignment).where(Assignment.active.is_(True))
        .options(joinedload(Assignment.root_unit))
    ).unique().all()
    # The periods each assignment asks of the unit, with the tree and its reporting
    # dates as they stood in each period: one query per assignment.
    owed: dict[int, list[str]] = {}
    for assignment in candidates:
        query = owed_periods_query(assignment, unit.id, open_periods(assignment, today))
        if query is not None:
            periods = set(session.scalars(query))
            if periods:
                owed[assignment.id] = [p for p in open_periods(assignment, today)
                                       if p in periods]
    # Event assignments owe nothing, but the events the unit filed are listed too.
    filing = {a.id for a in candidates if is_event(a) and files_events(session, a, unit)}
    assignments = [a for a in candidates if a.id in owed or a.id in filing]
    if not assignments:
        return []
    reports = {
        (r.assignment_id, r.period): r
        for r in session.scalars(select(Report).where(
            Report.unit_id == unit.id, Report.assignment_id.in_([a.id for a in assignments])))
    }
    tasks = []
    for assignment in assignments:
        for period in owed.get(assignment.id, ()):
            found = assignment_service.due(assignment, period)
            tasks.append(Task(assignment, unit, period, found.date,
                              reports.get((assignment.id, period)),
                              days_until(found.date, now), found if found.shift else None))
    # The events the unit has filed (none is ever owed: see event_assignments).
    for (assignment_id, period), report in reports.items():
        if Period.parse(period).is_event:
            assignment = next(a for a in assignments if a.id == assignment_id)
            due = due_date(assignment, period)
            tasks.append(Task(assignment, unit, period, due, report, days_until(due, now)))
    # Open work first, soonest deadline first; finished work after, newest first.
    tasks.sort(key=lambda t: (0, t.due.toordinal()) if t.open else (1, -t.due.toordinal()))
    return tasks


def event_assignments(session: Session, unit: Unit) -> list[Assignment]:
    """The active event assignments *unit* files events under ("报告新事件")."""
    return [a for a in session.scalars(
        select(Assignment).where(Assignment.active.is_(True)).order_by(Assignment.key)
        .options(joinedload(Assignment.root_unit))
    ).unique() if is_event(a) and files_events(session, a, unit)]


def files_events(session: Session, assignment: Assignment, unit: Unit) -> bool:
    """Whether *unit* files events under the event assignment, with today's tree."""
    return owes(session, assignment, unit, Period.event().key)


def next_event_key(session: Session, assignment: Assignment, unit: Unit) -> str:
    """The key of the unit's next event under *assignment*: ``event-<highest + 1>``."""
    numbers = [Period.parse(p).index for p in session.scalars(
        select(Report.period).where(Report.assignment_id == assignment.id,
                                    Report.unit_id == unit.id))]
    return Period.event(max(numbers, default=0) + 1).key


def _event_key(period: str) -> bool:
    """Whether *period* is written as an event's key (``event-3``, not ``event`` or
    ``event-03``)."""
    try:
        parsed = Period.parse(period)
    except ValueError:
        return False
    return parsed.is_event and bool(parsed.index) and parsed.key == period


def _event_period_open(session: Session, assignment: Assignment, unit: Unit,
                       period: str) -> bool:
    """An event key names an event of the unit, or the next one (a new event)."""
    if not _event_key(period):
        return False
    return period == next_event_key(session, assignment, unit) or session.scalar(
        select(Report.id).where(Report.assignment_id == assignment.id,
                                Report.unit_id == unit.id, Report.period == period)) is not None


# -- reading one report ------------------------------------------------------------------


@dataclass
class ReportView:
    """Everything a page needs to show one (assignment, unit, period).

    ``plan`` is what the view reads of the assignment: the shared plan a report request
    reads (server.services.plans), or the ORM row a caller already had; ``assignment``
    is always the ORM row, loaded when first asked for.
    """

    plan: Assignment | AssignmentPlan
    unit: Unit
    period: str
    template: TemplateVersion | PlanTemplate
    report: Report | None
    values: dict[str, Any]
    due: date
    previous: Report | None = None
    previous_values: dict[str, Any] = field(default_factory=dict)
    following: Report | None = None  # the unit's next later submitted/approved report
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier sent, oldest first
    # Keys of fields the last save was given but left out because they do not apply.
    skipped: list[str] = field(default_factory=list)
    # The unit's submitted and approved reports of the assignment by period, as read.
    sent: dict[str, Report] | None = None
    # Why the period is closed over this report (server.services.closing), or None.
    closed: Refusal | None = None
    # Whether any unit was placed below the unit in the period's tree, as the view's
    # query read it; None when not read (the children's query then tells).
    placed_below: bool | None = None
    # How a report read with the view is decoded, and what was decoded, by report: each
    # once per view (the history, the previous report and the targets read the same ones).
    decode: Callable[[Report | None], dict[str, Any]] | None = field(default=None, repr=False)
    _decoded: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)
    _assignment: Assignment | None = field(default=None, repr=False)

    @property
    def assignment(self) -> Assignment:
        """The assignment's ORM row (read when first asked for if the view has a plan)."""
        if isinstance(self.plan, Assignment):
            return self.plan
        if self._assignment is None:
            self._assignment = Session.object_session(self.unit).get(Assignment, self.plan.id)
        return self._assignment

    @property
    def definition(self) -> Definition:
        return self.template.definition

    def applicability(self, values: Mapping[str, Any] | None = None) -> Applicability:
        """What the report asks of this unit, given *values* (default: the stored ones)."""
        return applicability(self.definition, self.unit.tags,
                             self.values if values is None else values)

    @property
    def status(self) -> Status:
        return Status.of(self.report)

    @property
    def revision(self) -> int:
        return self.report.revision if self.report else 0

    def typed_values(self, report: Report | None) -> dict[str, Any]:
        """The typed values of *report*, one of the reports read with the view (decoded
        once per view: the caller only reads them)."""
        if report is None:
            return {}
        found = self._decoded.get(id(report))
        if found is None:
            found = self._decoded[id(report)] = (self.decode or stored_values)(report)
        return found

    def sent_values(self) -> dict[str, dict[str, Any]] | None:
        """The typed values of the unit's submitted and approved reports by period, as
        read with the view (None when they were not read)."""
        if self.sent is None:
            return None
        return {period: self.typed_values(report) for period, report in self.sent.items()}

    @property
    def increments(self) -> dict[str, Any]:
        previous = self.previous.period if self.previous else None
        return increments(self.definition, self.values, self.previous_values or None,
                          period=self.period, previous_period=previous)


# The statement of a report's view, built once per process (see owing_statement): the
# unit, visible, owing the period, with its tags, its place then, whether the period is
# closed anywhere, whether any unit is placed below it then, the fingerprint of the
# assignment's plan, and its reports.
@lru_cache(maxsize=8)
def _unit_of_view(scope: str) -> Callable[[Select], Select]:
    """Extends the owing units to the view's unit and its reports, for a kind of scope."""

    def extend(owing: Select) -> Select:
        day = bindparam("owing_day", type_=Date)
        assignment_id = bindparam("view_assignment", type_=Integer)
        return (
            owing.where(Unit.code == bindparam("view_unit"),
                        scope_on(scope, bindparam("scope_unit", type_=Integer), day))
            .add_columns(UnitPlacement.path,
                         closing.any_closed_of(assignment_id, bindparam("view_period")),
                         placed_below(UnitPlacement.path, day),
                         plans.fingerprint(assignment_id).label("plan_fingerprint"),
                         Report)
            .outerjoin(Report, and_(Report.unit_id == Unit.id,
                                    Report.assignment_id == assignment_id))
            .options(joinedload(Unit.tag_rows))
        )

    return extend


def load(session: Session, user: User, assignment_key: str, unit_code: str,
         period: str) -> ReportView:
    """The report view if *user* may see it (NotVisible otherwise, also for bad keys)."""
    # One statement, whose text is built once: the unit (visible, owing the period, with
    # its tags, its place then, whether the period is closed anywhere and whether any unit
    # is placed below it then) with all its reports of the assignment, and what the
    # assignment's plan now is. The plan is the one this process read before; when the
    # rows say it changed since (or find nothing: it may be why), it is read again and
    # the statement run again with it.
    plan = plans.PLANS.get(assignment_key)
    known = plan is not None
    if not known:
        plan = plans.read_plan(session, assignment_key)
    rows = _view_rows(session, user, plan, unit_code, period)
    if known and (not rows or rows[0].plan_fingerprint != plan.fingerprint):
        plan = plans.read_plan(session, assignment_key)
        rows = _view_rows(session, user, plan, unit_code, period)
    if plan is None:
        raise NotVisible(what=assignment_key)
    if not rows:  # which of the two the caller is told, as before: the unit first
        visible = session.scalar(select(Unit.id).where(Unit.code == unit_code,
                                                       unit_scope(user)))
        raise NotVisible(what=assignment_key if visible is None else period)
    unit, path, closed_somewhere, below, _fingerprint, _report = rows[0]
    if is_event(plan) and not _event_period_open(session, plan, unit, period):
        raise NotVisible(what=period)  # only the unit's events and its next one
    reports = {r.period: r for *_unit, r in rows if r is not None}
    view = build_view(plan, unit, period, reports, plan.typed_values)
    view.placed_below = bool(below)
    # Only when some closure of the period is in force does it matter where.
    closure = closing.closure_of(session, view.assignment, unit, period, path=path) \
        if closed_somewhere else None
    view.closed = closing.refusal(closure) if closure is not None else None
    return view


def _view_rows(session: Session, user: User, plan: AssignmentPlan | None, unit_code: str,
               period: str) -> list:
    """The rows of the view's statement (none without a plan or when *period* is not one
    of the plan's)."""
    if plan is None:
        return []
    if not (_event_key(period) if is_event(plan) else period in assignment_periods(plan)):
        return []
    # Read with the tree as it stood for the period (who may change it: can_review).
    shape, values = owing_parameters(plan, period, session=session)
    scope, scope_unit = scope_on_parameters(user)
    values.update(view_unit=unit_code, view_assignment=plan.id, view_period=period,
                  scope_unit=scope_unit)
    return session.execute(owing_statement(shape, _unit_of_view(scope)), values).unique().all()


def stored_values(report: Report | None) -> dict[str, Any]:
    """The typed values of a report's latest revision (empty when there is none)."""
    return loads_values(report.template_version.definition, report.values) if report else {}


def build_view(
    assignment: Assignment | AssignmentPlan, unit: Unit, period: str,
    reports: Mapping[str, Report],
    values_of: Callable[[Report | None], dict[str, Any]] = stored_values,
) -> ReportView:
    """The view of *period* from the unit's reports of the assignment, by period.

    The previous and the following report are the nearest submitted or approved
    ones: a draft is no baseline for cumulative figures. *values_of* gives a
    report's typed values (a caller that already holds them can skip decoding).
    """
    report = reports.get(period)
    template = _template_of(assignment, report) if report else version_for(assignment, period)
    sent = sorted(p for p, r in reports.items() if not Status.of(r).is_open)
    earlier = [p for p in sent if p < period]
    later = [p for p in sent if p > period]
    previous = reports[earlier[-1]] if earlier else None
    following = reports[later[0]] if later else None
    due = due_date(assignment, period, session=Session.object_session(unit))
    view = ReportView(assignment, unit, period, template, report, values_of(report), due,
                      previous, following=following, sent={p: reports[p] for p in sent},
                      decode=values_of)
    view.previous_values = view.typed_values(previous)
    view.history = [view.typed_values(reports[p]) for p in earlier]
    return view


def _template_of(assignment: Assignment | AssignmentPlan | None,
                 report: Report) -> TemplateVersion | PlanTemplate:
    """The template version *report* was saved with: its plan's, when it has one."""
    if isinstance(assignment, AssignmentPlan):
        return assignment.template_of(report)
    return report.template_version


def issues_for(view: ReportView, values: Mapping[str, Any] | None = None, *,
               check_required: bool = True) -> list[Issue]:
    """Validation issues of *values* (default: the stored ones) in their context.

    A unit that consolidates is also checked against its children's approved
    reports (``differs_from_children``), so its own form, the review page above
    and the submission all show where a figure differs from what they add up to.
    """
    previous, following = view.previous, view.following
    issues = validate(
        view.definition, view.values if values is None else values,
        previous=view.previous_values if previous else None,
        children=_children_reports(view),
        period=view.period, previous_period=previous.period if previous else None,
        following=following.values if following else None,
        following_period=following.period if following else None,
        check_required=check_required,
        history=view.history,
        tags=view.unit.tags,
        # A plan's targets are the jurisdiction's: a village rolling up its companies
        # is not expected to reach the whole town's target on its own.
        check_targets=view.unit.id == view.plan.consolidating_unit_id,
    )
    if previous is None:  # the unit's first report: it fixes the starting figure of stocks
        original = _first_handed_in(view)
        if original is not None:
            issues += baseline_changes(view.definition, view.values if values is None else values,
                                       original)
    return issues


def _first_handed_in(view: ReportView) -> dict[str, Any] | None:
    """The values of the report as first submitted (None if never submitted)."""
    session = Session.object_session(view.unit)
    if session is None or view.report is None or not view.definition.target_fields():
        return None
    if view.report.submitted_at is None:  # only submitting sets it: never handed in
        return None
    number = session.scalar(
        select(ReportEvent.revision).where(ReportEvent.report_id == view.report.id,
                                           ReportEvent.action == "submitted")
        .order_by(ReportEvent.id).limit(1))
    if number is None:
        return None
    found = session.execute(
        select(Revision.values, Revision.template_version_id)
        .where(Revision.report_id == view.report.id, Revision.number == number)).first()
    if found is None:
        return None
    template = session.get(TemplateVersion, found.template_version_id)
    return loads_values(template.definition, found.values or {})


def _children_reports(view: ReportView) -> list[ChildReport] | None:
    """The approved reports of the units just below (None when nothing reports below)."""
    session = Session.object_session(view.unit)
    if session is None:  # a view built in memory: nothing to compare with
        return None
    return children_of_view(session, view)


def children_of_view(session: Session, view: ReportView) -> list[ChildReport] | None:
    """The children's reports that a consolidation of the view's period counts (None
    when the unit consolidates nothing): approved ones, and for a child without one its
    latest approved earlier report, carried forward (cumulative figures only, as the
    consolidation does). For checking a consolidated report against its children.
    Events stand alone: an office's event is never compared with its children's.
    """
    if view.definition.is_event or view.placed_below is False:
        return None  # nothing below to consolidate: no statement needed to say so
    reports = counted_child_reports(session, view.plan, view.unit, view.period)
    if reports is None:
        return None
    values = ReportValues(view.plan)
    return [values.child(r) if r.period == view.period
            else replace(values.child(r), carried_from=r.period) for r in reports]


class ReportValues:
    """Typed values of reports, decoded once each (with the template versions of *plan*,
    an assignment's plan, when one of its versions is the report's: nothing to read)."""

    def __init__(self, plan: Assignment | AssignmentPlan | None = None) -> None:
        self._cache: dict[int, dict[str, Any]] = {}
        self._plan = plan if isinstance(plan, AssignmentPlan) else None

    def __call__(self, report: Report | None) -> dict[str, Any]:
        if report is None:
            return {}
        if report.id not in self._cache:
            self._cache[report.id] = (self._plan.typed_values(report) if self._plan
                                      else stored_values(report))
        return self._cache[report.id]

    def child(self, report: Report) -> ChildReport:
        """The report as one child's part of a consolidation."""
        return ChildReport(report.unit.code, report.unit.name, self(report),
                           revision=report.revision,
                           version=_template_of(self._plan, report).version,
                           tags=report.unit.tags)


# -- permissions -------------------------------------------------------------------------


def fills_in(user: User, view: ReportView) -> bool:
    """Whether the account fills in the unit's reports (whatever their state)."""
    return user.is_admin or (user.unit_id == view.unit.id and user.active)


def can_edit(user: User, view: ReportView) -> bool:
    """Reporting is done by the unit's own accounts (a consolidator for their office)."""
    if not view.status.is_open or view.closed is not None:
        return False
    return fills_in(user, view)


def can_file_for(user: User, view: ReportView) -> bool:
    """A consolidator above the unit may save a draft the unit sent in (never submit it)."""
    if not view.status.is_open or view.closed is not None:
        return False
    return can_review(user, view)


def can_review(user: User, view: ReportView) -> bool:
    """Review is done from above: administrators, or consolidators of an ancestor unit."""
    if user.is_admin:
        return True
    if user.role != Role.CONSOLIDATOR or user.unit_id is None or user.unit_id == view.unit.id:
        return False
    return can_see(user, view.unit)


def reads_from_above(user: User, view: ReportView) -> bool:
    """Whether a consolidator reads the report from above: *view* was loaded in the
    account's scope (as the tree stood in its period), and the unit is not its own.
    Deciding on it is :func:`can_review` (today's tree)."""
    return user.role == Role.CONSOLIDATOR and user.unit_id != view.unit.id


def edit_refusal(user: User, view: ReportView, *, on_behalf: bool = False) -> Refusal | None:
    """Why *user* may not change the report now; None when they may.

    First who the account is (NotAllowed), then the report's state: approved
    (ReportLocked) or submitted and waiting for review (InvalidState).
    *on_behalf* counts a consolidator above the unit in (see :func:`save`). A
    closed period refuses everyone (PeriodClosed) until it is reopened.
    """
    if view.closed is not None:
        return view.closed
    if can_edit(user, view) or (on_behalf and can_file_for(user, view)):
        return None
    if not (fills_in(user, view) or (on_behalf and can_review(user, view))):
        return NotAllowed(_l("Only the unit's own accounts can fill in this report."))
    if view.status == Status.APPROVED:
        return ReportLocked()
    return InvalidState(_l("This report is submitted and waits for review; it can change again "
                           "if the consolidator returns it."), state=str(view.status))


def _check_editable(user: User, view: ReportView, *, on_behalf: bool = False) -> None:
    refusal = edit_refusal(user, view, on_behalf=on_behalf)
    if refusal is not None:
        raise refusal


def check_revision(view: ReportView, expected: int | None) -> None:
    """Refuse (StaleRevision) a change that starts from another revision than the latest."""
    if expected is not None and expected != view.revision:
        raise StaleRevision(
            _l("This report was changed by %(author)s while you were editing (now revision "
               "%(current)s, you started from %(expected)s). Your changes were not saved: "
               "reload the report, then enter them again."),
            current=view.revision, author=_last_author(view), expected=expected)


def _last_author(view: ReportView) -> str:
    if view.report is None:
        return "—"
    session = Session.object_session(view.report)
    revision = session.scalar(select(Revision).where(
        Revision.report_id == view.report.id, Revision.number == view.report.revision))
    return revision.author.username if revision and revision.author else "—"


# -- actions -----------------------------------------------------------------------------


def _event(session: Session, report: Report, action: str, user: User | None,
           comment: str = "", field_comments: Mapping[str, str] | None = None) -> ReportEvent:
    event = ReportEvent(report_id=report.id, action=action, revision=report.revision,
                        comment=comment, actor_id=user.id if user else None)
    for key, text in (field_comments or {}).items():
        event.field_comments.append(FieldComment(report_id=report.id, field_key=key,
                                                 comment=text))
    session.add(event)
    notifications.report_event(session, report, event, user)
    return event



def save(
    session: Session,
    user: User,
    view: ReportView,
    raw_values: Mapping[str, Any],
    *,
    remarks: str | None = None,
    explanations: Mapping[str, str] | None = None,
    expected_revision: int | None = None,
    source: str = Source.WEB,
    file: StoredFile | None = None,
    on_behalf: bool = False,
    check_required: bool = False,
    event: EventInfo | None = None,
    now: datetime | None = None,
    before_writes: Callable[[ReportView, list[Issue], list[Issue]], None] | None = None,
) -> tuple[Report, list[Issue]]:
    """Append a revision with *raw_values*; returns the report and the draft's issues.

    *now* is when the revision and its history entry are recorded (the present unless a
    caller replays the past, as the demo does).

    The view is updated to the saved revision, so the caller answers from it
    without reading the report again; *check_required* returns the issues a
    submission would check instead of the draft's (what the API answers).

    Values that cannot be read at all (text in a number field, a number out of
    bounds, an unknown choice) refuse the save and change nothing; missing
    required values and failed rules are allowed in a draft and block only
    the submission. *on_behalf* lets a consolidator above the unit save a draft
    the unit sent in (workbooks collected and uploaded in bulk). *explanations*
    (说明 beside flagged figures, by field key) replace the stored ones when given.
    An event report's time, place and attachments are *event*; left out, the
    stored ones stay (an event's first save needs them).

    *before_writes* is called with the view as it will stand after the save, the issues
    and the warnings of reading the values (what was typed, kept with a warning), before
    the compare and set (the API builds its answer there; a report's
    first save inserts its row before it): on SQLite the writes hold the database's only
    write lock until the commit, so nothing slower than the writes comes after them. A
    save that then loses the race leaves the view as read.
    """
    _check_editable(user, view, on_behalf=on_behalf)
    check_revision(view, expected_revision)
    if view.definition.is_event and event is None and (
            view.report is None or view.report.event is None):
        raise InvalidReport(NOT_SAVED, [error(AT, "event_time_required")])
    # What does not apply to the unit is not stored (nor counted, ever), whatever was
    # typed into it; the caller tells the user what was left out.
    scope = view.applicability(raw_values)
    skipped = scope.dropped(raw_values)
    values, coercion = coerce_values(view.definition, scope.prune(raw_values))
    if has_errors(coercion):
        raise InvalidReport(NOT_SAVED, refusal_issues(view, raw_values))
    # The issues of the new values, before anything is written: they do not depend on the
    # revision, and on SQLite the writes below hold the database's only write lock until
    # the commit, so nothing slower than the writes themselves comes after them.
    issues = issues_for(view, values, check_required=check_required)
    report = read_before = view.report
    if report is None:
        report = _insert_report(session, view)
        if report.revision:  # another request saved it first, since this one read it
            view.report = report
            _check_editable(user, view, on_behalf=on_behalf)
            check_revision(view, expected_revision)
    changes: dict[str, Any] = {"values": jsonable(values), "updated_at": utcnow()}
    if remarks is not None:
        changes["remarks"] = remarks.strip()
    if explanations is not None:
        changes["explanations"] = clean_explanations(view.definition, explanations)
    if event is not None:
        changes["event"], changes["event_at"] = event.to_json(), event.at
    # The figures' rows and vector of an existing revision are in step with its values: only
    # the rows of fields whose value or applicability changed are written again, and the
    # vector (the roll-up's) only when one did.
    before = (view.values, view.applicability()) if read_before is not None else None
    moved = report_values.changed(view.definition, values, scope, before)
    if before is None or moved:
        changes["figures"] = report_values.pack(view.definition, values, scope)
    read, previous = report.revision, (view.report, view.values, view.skipped)
    _advance(report, read + 1, changes)
    view.report, view.values, view.skipped = report, values, skipped
    if before_writes is not None:
        before_writes(view, issues, coercion)  # no errors among them: those refuse the save
    # Named apart from the report's columns: an UPDATE sets every column its parameters
    # name (a "created_at" would move the report's).
    recorded = {"recorded_source": str(source), "recorded_file_id": file.id if file else None,
                "recorded_author_id": user.id, "recorded_created_at": now or utcnow()}
    try:
        _claim_next_revision(session, view, report, read, changes, recorded)
    except StaleRevision:
        view.report, view.values, view.skipped = previous
        raise
    report_values.write_fields(session, report, moved, values, scope)
    return report, issues


@dataclass
class Autosaved:
    """What an autosave did: the report, and whether anything was written."""

    report: Report
    changed: bool
    at: datetime


def autosave(session: Session, user: User, view: ReportView, raw_values: Mapping[str, Any], *,
             remarks: str | None = None, explanations: Mapping[str, str] | None = None,
             expected_revision: int | None = None) -> Autosaved:
    """Keep a draft the unit is typing, a few seconds after each change (the web form).

    Nothing is written when the values, remarks and notes are those of the latest
    revision. Otherwise, while the latest revision is itself this person's autosave,
    it is brought up to date in place (same number, compare and set on it), so typing
    for a minute does not leave thirty revisions; after any other save (an explicit
    save, an upload, another person) the autosave appends a revision of its own,
    marked ``autosave`` in the history. Values that cannot be read are refused like
    any save (InvalidReport), and nothing is kept.
    """
    _check_editable(user, view)
    check_revision(view, expected_revision)
    scope = view.applicability(raw_values)
    values, coercion = coerce_values(view.definition, scope.prune(raw_values))
    if has_errors(coercion):
        raise InvalidReport(NOT_SAVED, coercion)
    report = view.report
    changes: dict[str, Any] = {"values": jsonable(values)}
    if remarks is not None:
        changes["remarks"] = remarks.strip()
    if explanations is not None:
        changes["explanations"] = clean_explanations(view.definition, explanations)
    now = utcnow()
    if report is not None and all(getattr(report, k) == v for k, v in changes.items()):
        return Autosaved(report, False, report.updated_at or now)
    changes["figures"] = report_values.pack(view.definition, values, scope)  # the roll-up's
    latest = None
    if report is not None and report.revision:
        latest = session.scalar(select(Revision).where(Revision.report_id == report.id,
                                                       Revision.number == report.revision))
    if latest is None or latest.source != Source.AUTOSAVE or latest.author_id != user.id:
        report, _issues = save(session, user, view, raw_values, remarks=remarks,
                               explanations=explanations, expected_revision=expected_revision,
                               source=Source.AUTOSAVE)
        return Autosaved(report, True, report.updated_at or now)
    claimed = session.execute(
        update(Report).where(Report.id == report.id, Report.revision == report.revision)
        .values(updated_at=now, **changes).execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        session.refresh(report)
        check_revision(view, latest.number)
    for name, value in {**changes, "updated_at": now}.items():
        set_committed_value(report, name, value)
    report_values.save(session, report, view.definition, values, scope)  # the stored figures
    latest.values, latest.remarks = report.values, report.remarks
    latest.explanations = dict(report.explanations or {})
    latest.created_at = now
    view.values = values
    return Autosaved(report, True, now)


def refusal_issues(view: ReportView, raw_values: Mapping[str, Any]) -> list[Issue]:
    """Every problem of values a save refuses, in one round: what cannot be read, and
    with it the missing values, the rules (a rule that needs an
    unreadable figure says it was not checked) and the cumulative figures, so the
    person corrects everything at once instead of finding the next problems only
    after the first are fixed. Web form, workbook upload and API share it."""
    pruned = view.applicability(raw_values).prune(raw_values)
    return issues_for(view, pruned)


def _insert_report(session: Session, view: ReportView) -> Report:
    """The report row of *view*, inserted now unless a concurrent first save inserted it.

    Both requests read "no report yet"; an insert that ignores the conflict on
    (assignment, unit, period) lets the second one go on with the row the first
    one wrote (PostgreSQL waits for that transaction, SQLite's write lock
    serialises them) instead of failing on the unique key with a server error.
    """
    session.execute(
        insert_or_ignore(session, Report, ["assignment_id", "unit_id", "period"])
        .values(assignment_id=view.plan.id, unit_id=view.unit.id, period=view.period,
                template_version_id=view.template.id, status=Status.DRAFT, revision=0,
                values={}, remarks="")
    )
    return session.scalars(
        select(Report).where(Report.assignment_id == view.plan.id,
                             Report.unit_id == view.unit.id, Report.period == view.period)
        .execution_options(populate_existing=True)
    ).one()


def _claim_statement(columns: tuple[str, ...]):
    """The compare and set of a save changing *columns*. On the table, not the entity: the
    ORM's bulk update would only find that it has nothing to synchronise (the report's
    attributes are set by :func:`_advance`)."""
    reports = Report.__table__
    return (update(reports)
            .where(reports.c.id == bindparam("claim_id"),
                   reports.c.revision == bindparam("claim_read"))
            .values(revision=bindparam("claim_next"),
                    **{name: bindparam(name) for name in columns}))


# What a revision copies of the report's row as saved.
_RECORDED_COLUMNS = ("id", "revision", "template_version_id", "values", "remarks",
                     "explanations", "event")


def _recorded(saved) -> tuple:
    """The revision and the history entry (``saved``) of a save, as inserts from *saved*:
    the report's row as the compare and set left it, so the revision holds exactly what
    the report does. Plain inserts, no ORM objects: nothing of the request reads them
    back, and a save is the most frequent write of all. Saving notifies nobody
    (notifications.NOTIFIED_ACTIONS), so no :func:`_event` either."""
    revisions, events = Revision.__table__, ReportEvent.__table__

    def recorded(name: str, column):
        return bindparam(f"recorded_{name}", type_=column.type)

    revision = insert(revisions).from_select(
        ["report_id", "number", "template_version_id", "values", "remarks", "explanations",
         "event", "source", "file_id", "author_id", "created_at"],
        select(saved.c.id, saved.c.revision, saved.c.template_version_id, saved.c["values"],
               saved.c.remarks, saved.c.explanations, saved.c.event,
               recorded("source", revisions.c.source),
               recorded("file_id", revisions.c.file_id),
               recorded("author_id", revisions.c.author_id),
               recorded("created_at", revisions.c.created_at)))
    event = insert(events).from_select(
        ["report_id", "action", "revision", "comment", "actor_id", "created_at"],
        select(saved.c.id, literal("saved", events.c.action.type), saved.c.revision,
               literal("", events.c.comment.type),
               recorded("author_id", events.c.actor_id),
               recorded("created_at", events.c.created_at)))
    return revision, event


@lru_cache(maxsize=32)
def _save_statements(columns: tuple[str, ...], dialect: str) -> tuple:
    """The statements of a save changing *columns*, built once per set of columns and
    dialect (building them cost more than running them). On PostgreSQL one statement:
    the compare and set returns the row it wrote, and the revision and the history entry
    are inserted from it (none when it wrote nothing), one round trip instead of three.
    SQLite has no writes in a WITH: the compare and set, then the inserts from the row."""
    reports, events = Report.__table__, ReportEvent.__table__
    kept = [reports.c[name] for name in _RECORDED_COLUMNS]
    claim = _claim_statement(columns)
    if dialect == "postgresql":
        saved = claim.returning(*kept).cte("saved")
        revision, event = _recorded(saved)
        # The revision it recorded, if any (its rowcount is not reported through the WITH).
        return (event.add_cte(revision.cte("revision")).returning(events.c.revision),)
    saved = select(*kept).where(reports.c.id == bindparam("claim_id")).subquery("saved")
    return (claim, *_recorded(saved))


def _advance(report: Report, revision: int, changes: Mapping[str, Any]) -> None:
    """*report* as it stands once *changes* are saved as *revision* (nothing to flush: the
    compare and set writes them)."""
    set_committed_value(report, "revision", revision)
    for name, value in changes.items():
        set_committed_value(report, name, value)


def _claim_next_revision(session: Session, view: ReportView, report: Report, read: int,
                         changes: Mapping[str, Any], recorded: Mapping[str, Any]) -> None:
    """Move *report* from revision *read*, the one this request read, to the next one with
    *changes* (already set on *report*, see :func:`_advance`) and record it (the revision
    and its history entry, by *recorded*'s source, file, author and time), or refuse as
    stale and record nothing.

    The report was read before this request wrote anything, so another request
    may have saved since. A conditional update (compare and set) makes the check,
    the increment and the new values one statement on both databases: the loser
    of a race is told the report changed, with the report as it now stands (a
    retry of a save that did commit recognises its values), instead of failing
    on the revision's unique key.
    """
    claim, *records = _save_statements(tuple(changes), session.get_bind().dialect.name)
    parameters = {**changes, "claim_id": report.id, "claim_read": read,
                  "claim_next": read + 1}
    # Plain statements on the table, run on the session's connection: the session's own
    # execution would only find that they are not the ORM's.
    connection = session.connection()
    if records:
        claimed = connection.execute(claim, parameters).rowcount
    else:
        claimed = connection.execute(claim, {**parameters, **recorded}).first() is not None
    if not claimed:  # only an existing report, read from view.report, can lose the race
        session.refresh(report)  # the row as it now stands, not as this request set it
        check_revision(view, read)
        # Not stale after all cannot happen: the row moved on, so its revision differs.
        raise StaleRevision(current=report.revision)
    for record in records:
        connection.execute(record, {**recorded, "claim_id": report.id})


def submit(session: Session, user: User, view: ReportView, *,
           expected_revision: int | None = None, now: datetime | None = None) -> list[Issue]:
    """Submit the latest revision; refused while errors remain or warnings are unexplained."""
    _check_editable(user, view)
    if view.report is None:
        raise InvalidState(_l("Nothing is saved in this report yet: save its values first."),
                           state=str(view.status))
    check_revision(view, expected_revision)
    issues = issues_for(view)
    if has_errors(issues):
        raise InvalidReport(_l("The report cannot be submitted until the errors are "
                               "corrected."), issues)
    figures, general = unexplained(issues, view.report.explanations or {},
                                   view.report.remarks)
    if figures:
        raise InvalidReport(_l("Explain each marked figure in the note beside it before "
                               "submitting."), figures, field="explanations")
    if general:
        raise InvalidReport(_l("Explain the warnings in the remarks before submitting."),
                            issues, field="remarks")
    now = now or utcnow()
    report = view.report
    if report.submitted_at is None:
        report.late = is_late(view.due, now)
    report.status, report.submitted_at = Status.SUBMITTED, now
    _event(session, report, "submitted", user)
    return issues


def withdraw_refusal(user: User, view: ReportView) -> Refusal | None:
    """Why *user* may not withdraw (撤回) the submitted report now; None when they may."""
    if not fills_in(user, view):
        return NotAllowed(_l("Only the unit's own accounts can withdraw its report."))
    if view.closed is not None:
        return view.closed
    if view.report is None or view.report.status != Status.SUBMITTED:
        if view.status == Status.APPROVED:
            return ReportLocked()
        return InvalidState(_l("Only a submitted report that is not reviewed yet can be "
                               "withdrawn (it is %(status)s)."),
                            state=str(view.status), status=status_label(view.status))
    return None


def withdraw(session: Session, user: User, view: ReportView, *,
             expected_revision: int | None = None) -> None:
    """Take a submitted report back into a draft before a reviewer acts on it.

    Refused once it is approved or returned (the reviewer acted), when the period is
    closed, or for anyone but the unit's own accounts. The history records who withdrew
    it and when (a ``withdrawn`` event); the reviewers who were notified of the
    submission are told it no longer waits for them.
    """
    refusal = withdraw_refusal(user, view)
    if refusal is not None:
        raise refusal
    check_revision(view, expected_revision)
    # Compare and set on the status: a reviewer approving or returning it at the same
    # moment wins, and the withdrawal is refused instead of undoing their decision.
    moved = session.execute(
        update(Report).where(Report.id == view.report.id, Report.status == Status.SUBMITTED)
        .values(status=Status.DRAFT, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if not moved:
        session.refresh(view.report)
        raise InvalidState(_l("Only a submitted report that is not reviewed yet can be "
                              "withdrawn (it is %(status)s)."),
                           state=str(view.status), status=status_label(view.status))
    set_committed_value(view.report, "status", Status.DRAFT)
    # The stored figures carry the status (a roll-up counts sent reports): the listener
    # that follows ORM changes does not see this conditional UPDATE.
    session.execute(update(ReportValue).where(ReportValue.report_id == view.report.id)
                    .values(status=str(Status.DRAFT))
                    .execution_options(synchronize_session=False))
    _event(session, view.report, "withdrawn", user)


def return_report(session: Session, user: User, view: ReportView, comment: str,
                  field_comments: Mapping[str, str] | None = None) -> None:
    """Send a submitted report back to the unit with a comment saying what to fix, and
    *field_comments* on single fields (by field key; blank ones are left out). One of
    them is needed."""
    report = _reviewable(user, view, Status.SUBMITTED)
    on_fields = clean_field_comments(view.definition, field_comments or {})
    if not (comment or "").strip() and not on_fields:
        raise InvalidInput(_l("Say what needs to be corrected: a comment is required."),
                           field="comment", issue="required")
    report.status = Status.RETURNED
    _event(session, report, "returned", user, (comment or "").strip(), on_fields)


FIELD_COMMENT_MAX = 1000


def clean_field_comments(definition: Definition,
                         comments: Mapping[str, Any]) -> dict[str, str]:
    """The non-blank comments of *comments* on fields of *definition*, in the form's order;
    a comment on a field the form does not have is refused."""
    unknown = [k for k, v in comments.items()
               if definition.field(k) is None and v is not None and str(v).strip()]
    if unknown:
        raise InvalidInput(_l("There is no field %(key)s in this form."),
                           field="field_comments", key=unknown[0][:100])
    order = {f.key: n for n, f in enumerate(definition.fields())}
    kept = {k: str(v).strip()[:FIELD_COMMENT_MAX] for k, v in comments.items()
            if v is not None and str(v).strip()}
    return dict(sorted(kept.items(), key=lambda pair: order[pair[0]]))


def returned_comments(session: Session, report: Report | None) -> ReportEvent | None:
    """The return the report is in (its latest event is a return), with its field comments;
    None when the report is not returned."""
    if report is None or report.status != Status.RETURNED:
        return None
    return session.scalar(select(ReportEvent).where(
        ReportEvent.report_id == report.id, ReportEvent.action == "returned")
        .order_by(ReportEvent.id.desc()).limit(1))


def approve(session: Session, user: User, view: ReportView, *,
            acknowledged: bool = False) -> None:
    """Approve a submitted report, which locks it.

    Figures the unit explained (corrections, outliers) are approved only when the
    reviewer *acknowledged* having read their explanations; the approval event
    names the figures acknowledged, for the record.
    """
    report = _reviewable(user, view, Status.SUBMITTED)
    flagged = flagged_figures(issues_for(view))
    if flagged and not acknowledged:
        raise InvalidInput(_l("Acknowledge the explained figures before approving: read the "
                              "unit's notes beside the marked figures."),
                           field="acknowledge", issue="required")
    report.status, report.approved_at, report.approved_by_id = (
        Status.APPROVED, utcnow(), user.id)
    comment = ""
    if flagged:
        labels = {f.key: f.label for f in view.definition.fields()}
        comment = str(_l("Explained figures acknowledged: %(fields)s",
                         fields="、".join(labels.get(k, k) for k in flagged)))
    _event(session, report, "approved", user, comment)


def clean_explanations(definition: Definition, explanations: Mapping[str, Any]) -> dict[str, str]:
    """The non-blank notes of *explanations* for fields of *definition*, stripped."""
    known = {f.key for f in definition.fields()}
    return {k: str(v).strip()[:EXPLANATION_MAX] for k, v in explanations.items()
            if k in known and v is not None and str(v).strip()}


EXPLANATION_MAX = 500


def unapprove(session: Session, user: User, view: ReportView, reason: str) -> None:
    """Unlock an approved report (back to submitted), with a reason for the record."""
    report = _reviewable(user, view, Status.APPROVED)
    if not (reason or "").strip():
        raise InvalidInput(_l("A reason is required to withdraw an approval."), field="reason",
                           issue="required")
    report.status, report.approved_at, report.approved_by_id = Status.SUBMITTED, None, None
    _event(session, report, "unapproved", user, reason.strip())


def _reviewable(user: User, view: ReportView, expected: Status) -> Report:
    if not can_review(user, view):
        raise NotAllowed(REVIEWERS_ONLY)
    if view.closed is not None:
        raise view.closed
    if view.report is None or view.report.status != expected:
        raise InvalidState(_l("This action is not possible while the report is %(status)s."),
                           state=str(view.status), status=status_label(view.status))
    return view.report


STATUS_LABELS = {
    Status.NOT_STARTED: _l("not started"),
    Status.DRAFT: _l("draft"),
    Status.SUBMITTED: _l("submitted"),
    Status.RETURNED: _l("returned"),
    Status.APPROVED: _l("approved"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(Status(status), status))


# -- history -----------------------------------------------------------------------------


def revisions(session: Session, report: Report) -> Sequence[Revision]:
    return session.scalars(
        select(Revision).where(Revision.report_id == report.id)
        .options(joinedload(Revision.author)).order_by(Revision.number.desc())
    ).all()


def events(session: Session, report: Report) -> Sequence[ReportEvent]:
    return session.scalars(
        select(ReportEvent).where(ReportEvent.report_id == report.id)
        .options(joinedload(ReportEvent.actor)).order_by(ReportEvent.id.desc())
    ).all()
