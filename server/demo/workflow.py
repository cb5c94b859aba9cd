"""The living demo: the catalogue assigned to the plans' jurisdictions, past periods reported.

Every catalogue template is assigned to the part of the demo tree its plan
governs. Each reporting unit then works through the periods that have begun
by today (Asia/Shanghai): its own account saves and submits, the
consolidator returns or approves, all through the workflow service and at
moments in the past, so due dates, lateness and the audit trail read like real
work. The latest periods hold every state: drafts, submitted, late, returned
with a comment, approved, and a few units that have not reported yet (the
催报 list). Cumulative figures grow period after period; one deliberate
exception is left as a returned report whose comment explains the problem.

Everything follows from a seeded random generator and the current date, so
the same day gives the same demo. Assignments that exist already are left
alone: loading again adds nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO
from itertools import count
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.definition import Definition
from forms.issues import flagged_figures, unexplained
from forms.periods import SHANGHAI, Frequency, Period
from forms.values import format_number
from server.db import unit_of_work
from server.demo.events import fill_events
from server.demo.figures import Document, Series
from server.models import Role, Unit, User
from server.models.accounts import utcnow
from server.models.reporting import Assignment, Report, ReportEvent, Revision, Status, StoredFile
from server.services import assignments as assignment_service
from server.services import consolidation, files, owing, reporting, subtree
from server.services.templates import latest

SEED = 2024


@dataclass(frozen=True)
class Plan:
    """Which template goes to which part of the tree."""

    template: str
    root: str
    kinds: tuple[str, ...] = ()
    include_root: bool = False
    consolidating: str | None = None  # default: the root


PLANS = (
    # Villages, communities, departments and companies; a village with companies rolls
    # their reports up, and the town office (池店镇) rolls up everything below it.
    Plan("chidian-progress", "CHIDIAN", include_root=True),
    Plan("xuefeng-progress", "XUEFENG"),
    Plan("jicui-progress", "JICUI"),
    # The roster is filled in by the town's safety committee office (安委办) alone.
    Plan("jicui-roster", "JICUI-D01", include_root=True, consolidating="JICUI"),
    Plan("cangyuan-progress", "CANGYUAN", kinds=("company",)),
    Plan("cangyuan-plan", "CANGYUAN", kinds=("company",)),
    # The county-level bureaus report; 四平市工信局 rolls their reports up into its own.
    Plan("siping-summary", "SIPING", kinds=("bureau",), include_root=True),
    # Event reports (server.demo.events): accidents of Cangyuan's companies, important
    # situations of Siping's county bureaus.
    Plan("cangyuan-accidents", "CANGYUAN", kinds=("company",)),
    Plan("siping-important", "SIPING", kinds=("bureau",)),
)


@dataclass(frozen=True)
class Decrease:
    """The one report whose cumulative figure went down: the unit submitted the latest
    period before catching up on the one before, which then came in higher."""

    assignment: str
    unit: str
    field: str
    catch_up: int  # how much the late report of the period before added


DECREASE = Decrease("chidian-progress", "CHIDIAN-V03", "i05_trainees", 36)


@dataclass(frozen=True)
class Override:
    """The one office figure that differs from its children's sum, explained in the remarks:
    the first village that rolls up companies and had its report of the period before the
    latest approved took out trainees its companies had both counted."""

    assignment: str
    field: str
    amount: int  # taken off the children's sum


OVERRIDE = Override("chidian-progress", "i05_trainees", 2)
OVERRIDE_REMARKS = ("经核实，辖区内两家企业联合组织的培训，参训人员在两家企业的报表中重复统计，"
                    "本村汇总时核减{amount}人次，故汇总数比各企业报送之和少{amount}人次。")

RECENT = timedelta(days=180)  # reports due longer ago are settled: approved, rarely missing


@dataclass
class WorkflowSummary:
    assignments: int = 0
    statuses: Counter = field(default_factory=Counter)
    late: int = 0

    @property
    def reports(self) -> int:
        return sum(self.statuses.values())

    def describe(self) -> str:
        """One line for the terminal."""
        if not self.assignments:
            return _("Demo reports: nothing to add.")
        return _("Demo reports: %(reports)s in %(assignments)s assignments: %(draft)s drafts, "
                 "%(submitted)s submitted, %(returned)s returned, %(approved)s approved; "
                 "%(late)s submitted late.", reports=self.reports, assignments=self.assignments,
                 draft=self.statuses[Status.DRAFT], submitted=self.statuses[Status.SUBMITTED],
                 returned=self.statuses[Status.RETURNED],
                 approved=self.statuses[Status.APPROVED], late=self.late)


def load_workflow(session: Session, now: datetime | None = None) -> WorkflowSummary:
    """Assign the catalogue and fill the periods begun by *now*, as one unit of work.

    Templates that are not published and units that do not exist are skipped.
    """
    now = now or utcnow()
    summary = WorkflowSummary()
    with unit_of_work(session):
        admin = session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
        for plan in PLANS:
            assignment = _assign(session, plan, admin)
            if assignment is None:
                continue
            summary.assignments += 1
            if assignment_service.is_event(assignment):
                for report in fill_events(session, assignment, now):
                    summary.statuses[report.status] += 1
                continue
            for report in _Reports(session, assignment, admin, now).fill():
                summary.statuses[report.status] += 1
                summary.late += report.late
    return summary


def _assign(session: Session, plan: Plan, admin: User | None) -> Assignment | None:
    """A new assignment for *plan*; None when it exists or its template or root does not."""
    template = latest(session, plan.template)
    consolidating = plan.consolidating or plan.root
    units = {u.code: u for u in session.scalars(
        select(Unit).where(Unit.code.in_([plan.root, consolidating])))}
    exists = session.scalar(select(Assignment.id).where(Assignment.key == plan.template))
    if template is None or template.retired or exists or plan.root not in units:
        return None
    return assignment_service.create_assignment(
        session, key=plan.template, template=template, root=units[plan.root],
        consolidating_unit=units.get(consolidating), kinds=plan.kinds,
        include_root=plan.include_root, user=admin,
    )


def _submitters(session: Session, unit_ids: Sequence[int]) -> dict[int, User]:
    """The first active submitter account of each unit."""
    found: dict[int, User] = {}
    for user in session.scalars(
        select(User).where(User.role == Role.SUBMITTER, User.active.is_(True),
                           User.unit_id.in_(list(unit_ids))).order_by(User.username)
    ):
        found.setdefault(user.unit_id, user)
    return found


# -- who does what when ------------------------------------------------------------------

_ORDER = count()


@dataclass(order=True)
class _Action:
    moment: datetime
    order: int
    kind: str = field(compare=False)  # save, submit, return, approve
    period: str = field(compare=False)
    values: dict[str, Any] = field(compare=False, default_factory=dict)
    text: str = field(compare=False, default="")  # remarks of a save, comment of a return


class _Reports:
    """The reports of one assignment, unit by unit."""

    def __init__(self, session: Session, assignment: Assignment, admin: User | None,
                 now: datetime) -> None:
        self.session, self.assignment = session, assignment
        self.latest = now - timedelta(hours=1)  # actions end before the demo is loaded
        self.today = now.astimezone(SHANGHAI).date()
        self.units = session.scalars(owing.owing_today(assignment)).all()
        # The units each unit rolls up (none for most): their reports make its figures.
        self.below = {u.id: subtree.child_units(session, assignment, u)
                      for u in self.units}
        self.admin = admin
        # The office at the top files its own roll-up; nobody in the tree is above it.
        self.top_id = assignment.root_unit_id if assignment.include_root else None
        self.submitters = _submitters(session, [u.id for u in self.units])
        self.reviewer = session.scalar(
            select(User).where(User.role == Role.CONSOLIDATOR, User.active.is_(True),
                               User.unit_id == assignment.consolidating_unit_id)
            .order_by(User.username)) or admin
        self.periods = assignment_service.open_periods(assignment, self.today)
        self.due = {p: assignment_service.due_date(assignment, p) for p in self.periods}
        past = [p for p in self.periods if self.due[p] < self.today]
        self.past = past[::-1]  # latest past-due period first
        self.documents: dict[int, StoredFile] = {}
        self.states = self._states()
        self.override = self._override_unit()

    # -- states ---------------------------------------------------------------------------

    def _decrease_here(self) -> bool:
        return (DECREASE.assignment == self.assignment.key and len(self.past) >= 2
                and self.recent(self.past[1]) and self.reviewer is not None
                and any(u.code == DECREASE.unit and u.id in self.submitters
                        for u in self.units))

    def _states(self) -> dict[tuple[str, str], str]:
        """What each unit has done for each period, drawn so that every state shows up."""
        # The top office's state follows from those below it (see _roll_up_states).
        codes = [u.code for u in self.units if u.id in self.submitters
                 and not (u.id == self.top_id and self.below[u.id])]
        if self.reviewer is None:  # no consolidator and no administrator: leave it empty
            return {}
        scripted = self.past[:2] if self._decrease_here() else []
        states: dict[tuple[str, str], str] = {}
        for period in self.periods:
            rng = random.Random(f"{SEED}:{self.assignment.key}:{period}")
            drawn = sorted(c for c in codes if not (period in scripted and c == DECREASE.unit))
            rng.shuffle(drawn)
            for code, state in zip(drawn, self._quota(period, len(drawn), rng), strict=True):
                states[code, period] = state
            self._roll_up_states(states, period, scripted)
        return states

    def _roll_up_states(self, states: dict[tuple[str, str], str], period: str,
                        scripted: list[str]) -> None:
        """An office that rolls up the units below it files once they are all approved.

        So where a village with companies has reported a past period, its
        companies' reports are approved; while one of them is returned for
        correction, or in a running period, it has not reported yet. The office at
        the top reports once every unit below it is approved (and an administrator,
        standing for the level above, approved it for settled periods).
        """
        def approved(unit: Unit) -> bool:
            if period in scripted and unit.code == DECREASE.unit:
                return False
            return states.get((unit.code, period)) in ("approved", "cycle")

        for unit in self.units:  # tree order: an office before the units below it
            below = self.below[unit.id]
            if not below or unit.id == self.top_id:
                continue
            if period not in self.past:
                states.pop((unit.code, period), None)
            elif any(states.get((child.code, period)) == "returned"
                     or (period in scripted and child.code == DECREASE.unit)
                     for child in below):
                states.pop((unit.code, period), None)  # waiting for a corrected report
            elif states.get((unit.code, period), "none") != "none":
                for child in below:
                    states[child.code, period] = "approved"
        top = next((u for u in self.units if u.id == self.top_id), None)
        if top is None or not self.below[top.id]:
            return
        if (period in self.past and self.admin is not None
                and all(approved(child) for child in self.below[top.id])):
            states[top.code, period] = "submitted" if self.recent(period) else "approved"
        else:
            states.pop((top.code, period), None)

    def _override_unit(self) -> Unit | None:
        if OVERRIDE.assignment != self.assignment.key or len(self.past) < 2:
            return None
        return next((u for u in self.units if self.below[u.id] and u.id != self.top_id
                     and self.states.get((u.code, self.past[1])) == "approved"), None)

    def recent(self, period: str) -> bool:
        return self.today - self.due[period] <= RECENT

    def _quota(self, period: str, total: int, rng: random.Random) -> list[str]:
        """The states of *total* units for *period*."""
        def share(fraction: float, at_least: int = 0) -> int:
            return max(at_least, round(total * fraction)) if total else 0

        rank = self.past.index(period) if period in self.past else None
        if rank is None:  # still open: some have started, a few finished early
            ended = Period.parse(period).end < self.today
            quota = {"submitted": share(0.35 if ended else 0), "draft": share(0.3, 1)}
            rest = "none"
        elif rank == 0 and self.recent(period):
            quota = {"none": share(0.12, 1), "returned": share(0.08, 1),
                     "draft": share(0.06, 1 if total >= 8 else 0), "approved": share(0.3)}
            rest = "submitted"
        elif rank == 1 and self.recent(period):
            quota = {"none": share(0.04), "submitted": share(0.2), "cycle": share(0.05, 1)}
            rest = "approved"
        else:
            once = Period.parse(period).frequency is Frequency.ONCE
            quota = {"none": 1 if once and total >= 5 else 0, "cycle": share(0.06)}
            rest = "approved"
        states = [state for state, n in quota.items() for _ in range(n)][:total]
        states += [rest] * (total - len(states))
        rng.shuffle(states)
        return states

    # -- units ------------------------------------------------------------------------------

    def fill(self) -> Iterator[Report]:
        if not self.periods:
            return
        offices = [u for u in self.units if self.below[u.id]]
        for unit in self.units:
            user = self.submitters.get(unit.id)
            if user is not None and not self.below[unit.id]:
                yield from self._fill_unit(unit, user)
        for unit in reversed(offices):  # the deepest first: an office rolls up those below
            user = self.submitters.get(unit.id)
            if user is not None:
                yield from self._roll_up(unit, user)

    def _fill_unit(self, unit: Unit, user: User) -> Iterator[Report]:
        rng = random.Random(f"{SEED}:{self.assignment.key}:{unit.code}")
        tardy = rng.random() < 0.2  # this unit tends to submit after the deadline
        decrease = self._decrease_here() and unit.code == DECREASE.unit
        boost = {self.past[1]: {DECREASE.field: DECREASE.catch_up}} if decrease else {}
        definition = assignment_service.version_for(self.assignment, self.periods[0]).definition
        series = Series(definition, unit, random.Random(rng.random()), boost)
        truth = {period: series.values(Period.parse(period)) for period in self.periods}
        actions: list[_Action] = []
        for period in self.periods:
            state = self.states.get((unit.code, period), "none")
            if not (decrease and period in self.past[:2]):
                actions += self._plan(period, state, truth[period], tardy, rng)
        if decrease:
            actions += self._decrease(truth, rng)
        return self._play(unit, user, actions)

    def _roll_up(self, unit: Unit, user: User) -> Iterator[Report]:
        """The office's own reports: its children's approved figures, in its own words.

        The numbers are the consolidation's prefill; the progress texts are
        rewritten from them, as an office edits the per-unit list into its
        narrative. The office files after the last of its children was approved.
        """
        rng = random.Random(f"{SEED}:{self.assignment.key}:{unit.code}")
        definition = assignment_service.version_for(self.assignment, self.periods[0]).definition
        series = Series(definition, unit, random.Random(rng.random()), {})
        actions: list[_Action] = []
        before: dict[str, Any] = {}
        before_period: Period | None = None
        for period in self.periods:
            parsed = Period.parse(period)
            own = series.values(parsed)  # the header and the office's own texts
            state = self.states.get((unit.code, period), "none")
            if state == "none":
                continue
            found = consolidation.figures_for_view(
                self.session, self._view(unit, period, {}), now=self.latest)
            rolled = consolidation.prefill_values(found)
            values = {**own, **{key: value for key, value in rolled.items()
                                if definition.field(key).is_numeric}}
            remarks = self._overridden(unit, period, values, before)
            numbers = {key: value for key, value in values.items()
                       if definition.field(key).is_numeric}
            for key, item in series.items.items():
                if key == f"{item.key}_progress":
                    values[key] = series.progress(item, parsed, numbers, before, before_period)
            before, before_period = numbers, parsed
            planned = self._plan(period, state, values, False, rng)
            for action in planned:
                if action.kind == "save" and remarks:
                    action.text = remarks
            approvals = [_aware(c.report.approved_at) for c in found.children
                         if c.report is not None and c.report.approved_at is not None]
            if planned and approvals:
                _after(planned, max(approvals) + timedelta(hours=rng.randint(20, 60)),
                       self.latest)
            actions += planned
        return self._play(unit, user, actions)

    def _overridden(self, unit: Unit, period: str, values: dict[str, Any],
                    before: dict[str, Any]) -> str:
        """Apply :data:`OVERRIDE` when it is this office's turn; the remarks explaining it."""
        key, amount = OVERRIDE.field, OVERRIDE.amount
        if self.override is None or unit.id != self.override.id or period != self.past[1]:
            return ""
        if values.get(key, 0) - before.get(key, 0) < amount:  # it must not go down
            return ""
        values[key] -= amount
        return OVERRIDE_REMARKS.format(amount=amount)

    def _play(self, unit: Unit, user: User, actions: list[_Action]) -> Iterator[Report]:
        made: dict[str, tuple[Report, dict[str, Any]]] = {}
        for action in sorted(actions):
            view = self._run(self._view(unit, action.period, made), user, action)
            made[action.period] = (view.report, view.values)
        yield from (report for report, _values in made.values())

    def _plan(self, period: str, state: str, values: dict[str, Any], tardy: bool,
              rng: random.Random) -> list[_Action]:
        """The actions that bring the unit's report of *period* into *state*."""
        steps = _Steps(self, period, rng)
        if state == "none":
            return []
        if state == "draft":
            steps.saves(values, start=self._started(period, rng))
            return steps.actions
        comment = rng.choice(RETURN_COMMENTS)
        sent = _too_brief(values) if state == "returned" and comment == BRIEF else values
        steps.saves(sent, end=self._submission(period, tardy, rng))
        steps.later(0, "submit")
        if state == "returned":
            steps.later(rng.randint(1, 4), "return", text=comment)
        elif state == "cycle":  # returned once, corrected, then approved
            steps.later(rng.randint(1, 3), "return", text=comment)
            steps.later(rng.randint(1, 4), "save", values=values)
            steps.later(0, "submit")
            steps.later(rng.randint(1, 5), "approve")
        elif state == "approved":
            steps.later(rng.randint(1, 8), "approve")
        return steps.actions

    def _decrease(self, truth: dict[str, dict[str, Any]], rng: random.Random) -> list[_Action]:
        """The period before the latest stays a draft past its deadline; the latest is
        submitted in time without that period's additions; then the late report comes
        in higher, is approved, and the latest is returned with the reason."""
        latest, before = self.past[0], self.past[1]
        key, caught_up = DECREASE.field, truth[before][DECREASE.field]
        definition = assignment_service.version_for(self.assignment, latest).definition
        fld, item = definition.field(key), definition.item_of(key)
        low = caught_up - DECREASE.catch_up // 2
        sent = {**truth[latest], key: low,
                f"{item.key}_progress": f"本期，{fld.label}累计{low}{fld.unit or ''}。"}
        draft = _Steps(self, before, rng)
        draft.saves(truth[before], end=self._at(self.due[before] - timedelta(days=2), rng))
        current = _Steps(self, latest, rng)
        current.saves(sent, end=self._submission(latest, False, rng))
        current.later(0, "submit")
        late = _Steps(self, before, rng)
        late.add(current.actions[-1].moment + timedelta(days=2), "save",
                 values=truth[before], text=CATCH_UP_REMARKS)
        late.later(0, "submit")
        late.later(1, "approve")
        late.later(0, "return", period=latest, text=_decrease_comment(
            definition, key, low, caught_up, Period.parse(before)))
        return draft.actions + current.actions + late.actions

    # -- moments ----------------------------------------------------------------------------

    def _at(self, day: date, rng: random.Random) -> datetime:
        """A moment in office hours (Shanghai) on *day*, and before the demo is loaded."""
        minutes = rng.randint(8 * 60 + 30, 17 * 60 + 45)
        moment = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=SHANGHAI)
        return min(moment.astimezone(UTC), self.latest)

    def _submission(self, period: str, tardy: bool, rng: random.Random) -> datetime:
        """In the last days before the deadline, or some days after it for a tardy unit."""
        due = self.due[period]
        if tardy and due < self.today and rng.random() < 0.6:
            return self._at(due + timedelta(days=rng.randint(1, 12)), rng)
        end = min(Period.parse(period).end, self.today)
        opens = end + timedelta(days=1) if end < due else due - timedelta(days=10)
        first = max(opens, due - timedelta(days=6))
        return self._at(first + timedelta(days=rng.randint(0, (due - first).days)), rng)

    def _started(self, period: str, rng: random.Random) -> datetime:
        """When a draft was saved: near the end of the period, and not after today."""
        parsed = Period.parse(period)
        start = max(min(parsed.end, self.today) - timedelta(days=9), parsed.start)
        span = max((min(self.today, self.due[period]) - start).days, 0)
        return self._at(start + timedelta(days=rng.randint(0, span)), rng)

    # -- through the service ----------------------------------------------------------------

    def _view(self, unit: Unit, period: str,
              made: dict[str, tuple[Report, dict[str, Any]]]) -> reporting.ReportView:
        """What ``reporting.load`` answers, from the unit's reports made so far (the unit
        had none before), without reading them back from the database."""
        typed = {id(report): values for report, values in made.values()}
        return reporting.build_view(
            self.assignment, unit, period, {p: r for p, (r, _v) in made.items()},
            lambda report: dict(typed[id(report)]) if report is not None else {},
        )

    def _run(self, view: reporting.ReportView, user: User,
             action: _Action) -> reporting.ReportView:
        session, unit = self.session, view.unit
        # Nobody in the tree is above the consolidating office: an administrator reviews it.
        top = unit.id == self.assignment.consolidating_unit_id
        reviewer = self.admin if top else self.reviewer
        actor = reviewer if action.kind in ("return", "approve") else user
        with session.no_autoflush:  # the moments below are set before anything is written
            self._act(view, user, actor, action)
        for pending in session.new:  # the revision and its audit entry happened back then
            # Only the unstamped ones: setting an attribute, even to its own value, marks the
            # object changed again, and the pending objects pile up until the next flush.
            if isinstance(pending, Revision | ReportEvent | StoredFile) \
                    and pending.created_at is None:
                pending.created_at = action.moment
        return view

    def _act(self, view: reporting.ReportView, user: User, actor: User | None,
             action: _Action) -> None:
        session, unit = self.session, view.unit
        if action.kind == "save":
            values = {key: self._raw(unit, user, value) for key, value in action.values.items()}
            # A demo unit explains every figure the form flags (a correction, a jump from a
            # small first figure), as a real one must before submitting.
            # Other warnings (a target missed) are explained in the remarks.
            issues = reporting.issues_for(view, values)
            notes = {key: DEMO_NOTE for key in flagged_figures(issues)}
            _, general = unexplained(issues, notes, action.text)
            reporting.save(session, actor, view, values, explanations=notes,
                           remarks=action.text or (DEMO_REMARK if general else ""),
                           now=action.moment)
            if view.report.revision == 1:
                view.report.created_at = action.moment
            view.report.updated_at = action.moment
        elif action.kind == "submit":
            reporting.submit(session, actor, view, now=action.moment)
        elif action.kind == "return":
            reporting.return_report(session, actor, view, action.text)
        else:
            reporting.approve(session, actor, view, acknowledged=True)
            view.report.approved_at = action.moment

    def _raw(self, unit: Unit, user: User, value: Any) -> Any:
        """A value as a form would send it; a document becomes a stored file."""
        if isinstance(value, Decimal):
            return format_number(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Document):
            if unit.id not in self.documents:
                stored = files.store(self.session, BytesIO(value.text.encode()), value.name,
                                     "text/plain; charset=utf-8", unit=unit, user=user,
                                     limit=None)
                assert isinstance(stored, StoredFile)  # not empty, and no limit
                self.documents[unit.id] = stored
            return files.attachment_value(self.documents[unit.id])
        return value


class _Steps:
    """The actions of one report, each a little after the one before."""

    def __init__(self, owner: _Reports, period: str, rng: random.Random) -> None:
        self.owner, self.period, self.rng = owner, period, rng
        self.actions: list[_Action] = []

    def add(self, moment: datetime, kind: str, *, values: dict | None = None, text: str = "",
            period: str | None = None) -> None:
        moment = min(moment, self.owner.latest)
        if self.actions:
            moment = max(moment, self.actions[-1].moment + timedelta(minutes=3))
        self.actions.append(_Action(moment, next(_ORDER), kind, period or self.period,
                                    values or {}, text))

    def later(self, days: int, kind: str, **kwargs) -> None:
        """*days* later in office hours, or some minutes later the same day."""
        last = self.actions[-1].moment
        if days:
            moment = self.owner._at(last.astimezone(SHANGHAI).date() + timedelta(days=days),
                                    self.rng)
        else:
            moment = last + timedelta(minutes=self.rng.randint(5, 90))
        self.add(moment, kind, **kwargs)

    def saves(self, values: dict, *, start: datetime | None = None,
              end: datetime | None = None) -> None:
        """One save, or two for recent periods: the figures first and the texts later."""
        if start is None:
            start = end - timedelta(hours=self.rng.randint(1, 30))
        if self.rng.random() < 0.4 and self.owner.recent(self.period):
            self.add(start, "save", values=_figures_only(values))
            self.add(end or start + timedelta(hours=self.rng.randint(1, 5)), "save",
                     values=values)
        else:
            self.add(end or start, "save", values=values)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the database stores UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _after(actions: list[_Action], earliest: datetime, latest: datetime) -> None:
    """Move *actions* later, keeping their spacing, so that none is before *earliest*."""
    shift = earliest - actions[0].moment
    if shift > timedelta(0):
        for action in actions:
            action.moment = min(action.moment + shift, latest)


def _figures_only(values: dict[str, Any]) -> dict[str, Any]:
    """A first save: the header and the figures; the texts are written afterwards."""
    return {k: v for k, v in values.items()
            if not isinstance(v, str) or k in ("reporter", "phone")}


def _too_brief(values: dict[str, Any]) -> dict[str, Any]:
    """The progress texts of a hurried report, which the consolidator sends back."""
    return {k: "正在推进。" if k.endswith("_progress") and isinstance(v, str) else v
            for k, v in values.items()}


def _decrease_comment(definition: Definition, key: str, sent: int, caught_up: int,
                      before: Period) -> str:
    fld, item = definition.field(key), definition.item_of(key)
    unit = fld.unit or ""
    return (f"第{item.number}项“{fld.label}”本期累计{sent}{unit}，低于{before.label('zh_CN')}"
            f"补报的{caught_up}{unit}。累计数不能减少，请核实后更正并重新报送。")


# -- texts -------------------------------------------------------------------------------

BRIEF = "推进情况填写过于简单，请补充具体措施和成效后重新报送。"
RETURN_COMMENTS = (
    BRIEF,
    "隐患排查数据与台账不一致，请核实后重新报送。",
    "请补充本期新增数据的来源说明，并核对各项累计数。",
    "报送人请填写具体经办人，并核对联系电话。",
)
DEMO_NOTE = "经复核，本期数字据实填报。"
DEMO_REMARK = "未达目标的事项已列入下阶段整改计划，按期推进。"
CATCH_UP_REMARKS = "本期为补报：经核对培训签到台账补录了参训人次，下一期报表将同步更正。"
