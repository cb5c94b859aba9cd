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

import math
import random
import re
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

from forms.definition import CumulativeSpan, Definition, FieldDef, FieldKind, Item
from forms.periods import SHANGHAI, Frequency, Period
from forms.rules import parse
from forms.values import format_number
from server.models import Role, Unit, User
from server.models.accounts import utcnow
from server.models.reporting import Assignment, Report, ReportEvent, Revision, Status, StoredFile
from server.services import files, reporting
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
    Plan("chidian-progress", "CHIDIAN"),  # villages, communities, departments, companies
    Plan("xuefeng-progress", "XUEFENG"),
    Plan("jicui-progress", "JICUI"),
    # The roster is filled in by the town's safety committee office (安委办) alone.
    Plan("jicui-roster", "JICUI-D01", include_root=True, consolidating="JICUI"),
    Plan("cangyuan-progress", "CANGYUAN", kinds=("company",)),
    Plan("cangyuan-plan", "CANGYUAN", kinds=("company",)),
    Plan("siping-summary", "SIPING", kinds=("bureau",)),  # the county-level bureaus
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
    """Assign the catalogue and fill the periods begun by *now*; commits once at the end.

    Templates that are not published and units that do not exist are skipped.
    """
    now = now or utcnow()
    summary = WorkflowSummary()
    admin = session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
    for plan in PLANS:
        assignment = _assign(session, plan, admin)
        if assignment is None:
            continue
        summary.assignments += 1
        for report in _Reports(session, assignment, admin, now).fill():
            summary.statuses[report.status] += 1
            summary.late += report.late
    session.commit()
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
    return reporting.create_assignment(
        session, key=plan.template, template=template, root=units[plan.root],
        consolidating_unit=units.get(consolidating), kinds=plan.kinds,
        include_root=plan.include_root, user=admin, commit=False,
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
        self.units = session.scalars(reporting.reporting_units_query(assignment)).all()
        self.submitters = _submitters(session, [u.id for u in self.units])
        self.reviewer = session.scalar(
            select(User).where(User.role == Role.CONSOLIDATOR, User.active.is_(True),
                               User.unit_id == assignment.consolidating_unit_id)
            .order_by(User.username)) or admin
        self.periods = reporting.open_periods(assignment, self.today)
        self.due = {p: reporting.due_date(assignment, p) for p in self.periods}
        past = [p for p in self.periods if self.due[p] < self.today]
        self.past = past[::-1]  # latest past-due period first
        self.documents: dict[int, StoredFile] = {}
        self.states = self._states()

    # -- states ---------------------------------------------------------------------------

    def _decrease_here(self) -> bool:
        return (DECREASE.assignment == self.assignment.key and len(self.past) >= 2
                and self.recent(self.past[1]) and self.reviewer is not None
                and any(u.code == DECREASE.unit and u.id in self.submitters
                        for u in self.units))

    def _states(self) -> dict[tuple[str, str], str]:
        """What each unit has done for each period, drawn so that every state shows up."""
        codes = [u.code for u in self.units if u.id in self.submitters]
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
        return states

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
        for unit in self.units:
            user = self.submitters.get(unit.id)
            if user is not None:
                yield from self._fill_unit(unit, user)

    def _fill_unit(self, unit: Unit, user: User) -> Iterator[Report]:
        rng = random.Random(f"{SEED}:{self.assignment.key}:{unit.code}")
        tardy = rng.random() < 0.2  # this unit tends to submit after the deadline
        decrease = self._decrease_here() and unit.code == DECREASE.unit
        boost = {self.past[1]: {DECREASE.field: DECREASE.catch_up}} if decrease else {}
        definition = reporting.version_for(self.assignment, self.periods[0]).definition
        series = _Series(definition, unit, random.Random(rng.random()), boost)
        truth = {period: series.values(Period.parse(period)) for period in self.periods}
        actions: list[_Action] = []
        for period in self.periods:
            state = self.states.get((unit.code, period), "none")
            if not (decrease and period in self.past[:2]):
                actions += self._plan(period, state, truth[period], tardy, rng)
        if decrease:
            actions += self._decrease(truth, rng)
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
        definition = reporting.version_for(self.assignment, latest).definition
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
        had none before): loading each from the database made the demo ten times slower."""
        report, values = made.get(period, (None, {}))
        template = (report.template_version if report
                    else reporting.version_for(self.assignment, period))
        earlier = [p for p, (r, _v) in made.items()
                   if p < period and r.status in (Status.SUBMITTED, Status.APPROVED)]
        previous, previous_values = made[max(earlier)] if earlier else (None, {})
        later = [p for p in made if p > period]
        following = made[min(later)][0] if later else None
        return reporting.ReportView(self.assignment, unit, period, template, report,
                                    dict(values), self.due[period], previous,
                                    dict(previous_values), following)

    def _run(self, view: reporting.ReportView, user: User,
             action: _Action) -> reporting.ReportView:
        session, unit = self.session, view.unit
        actor = self.reviewer if action.kind in ("return", "approve") else user
        if action.kind == "save":
            values = {key: self._raw(unit, user, value) for key, value in action.values.items()}
            reporting.save(session, actor, view, values, remarks=action.text, commit=False)
            if view.report.revision == 1:
                view.report.created_at = action.moment
            view.report.updated_at = action.moment
        elif action.kind == "submit":
            reporting.submit(session, actor, view, now=action.moment, commit=False)
        elif action.kind == "return":
            reporting.return_report(session, actor, view, action.text, commit=False)
        else:
            reporting.approve(session, actor, view, commit=False)
            view.report.approved_at = action.moment
        for pending in session.new:  # the revision and its audit entry happened back then
            if isinstance(pending, Revision | ReportEvent | StoredFile):
                pending.created_at = pending.created_at or action.moment
        return view

    def _raw(self, unit: Unit, user: User, value: Any) -> Any:
        """A value as a form would send it; a document becomes a stored file."""
        if isinstance(value, Decimal):
            return format_number(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, _Document):
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


# -- figures -----------------------------------------------------------------------------

# Growth per quarter in a village, by unit of measure: people a dozen, cases now and then.
_MAGNITUDES = {"人次": 14.0, "人": 6.0, "万元": 2.4, "次": 1.0, "场": 1.0, "台（套）": 0.8,
               "起": 0.25, "件": 0.25, "支": 0.15}
_DEFAULT_MAGNITUDE = 1.2  # 家, 个, 项, 处, 条, ...
_FREQUENCY_SCALE = {Frequency.MONTHLY: 0.4, Frequency.QUARTERLY: 1.0,
                    Frequency.HALFYEARLY: 2.0, Frequency.YEARLY: 3.5, Frequency.ONCE: 1.0}
_KIND_SCALE = {"company": 0.6, "village": 1.0, "community": 0.8, "department": 1.3,
               "office": 1.3, "bureau": 4.0}
_COMPARISON = re.compile(r"^(?P<left>[^<>=!]+?)\s*(?P<op><=|>=|<|>)\s*(?P<right>[^<>=!]+)$")
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_CENT = Decimal("0.01")


@dataclass
class _Spec:
    rate: float  # mean growth per period; 0: the unit has nothing of this kind
    base: float  # the current number, for figures that are not cumulative


@dataclass(frozen=True)
class _Document:
    """An attachment to store when the report is saved."""

    name: str
    text: str


class _Series:
    """A unit's values period after period; each call gives the next period.

    Cumulative figures only grow within their span (a year-span figure starts
    again in January). Rules such as ``rectified <= found`` are met by raising
    the larger side, which never makes a figure go down.
    """

    def __init__(self, definition: Definition, unit: Unit, rng: random.Random,
                 boost: dict[str, dict[str, int]]) -> None:
        self.definition, self.unit, self.rng, self.boost = definition, unit, rng, boost
        self.items = {f.key: item for _section, item in definition.items() for f in item.fields}
        # A unit works on most tasks, not all: a task it has nothing to do with stays at 0.
        active = {item.key: rng.random() < 0.8 for _section, item in definition.items()}
        scale = (_FREQUENCY_SCALE[definition.schedule.frequency]
                 * _KIND_SCALE.get(unit.kind, 1.0))
        self.specs = {
            f.key: _Spec(rate=_magnitude(f) * scale * rng.uniform(0.4, 1.6)
                         if active.get(self.items[f.key].key if f.key in self.items else "")
                         else 0.0,
                         base=_magnitude(f) * rng.uniform(1.0, 4.0))
            for f in definition.numeric_fields()
        }
        self.rules = list(_comparisons(definition))
        # "其中已整改" and the like: a share of the figure a rule keeps it under.
        self.parts = [(left_keys[0], right) for _left, op, right, left_keys, _keys in self.rules
                      if op in ("<", "<=") and len(left_keys) == 1]
        self.shares = {key: rng.uniform(0.55, 0.95) for key, _whole in self.parts}
        self.yes_from = {f.key: rng.randint(0, 3) for f in definition.fields()
                         if f.kind is FieldKind.YESNO}
        self.state: dict[str, Any] = {}  # the figures of the period before
        self.previous: Period | None = None
        self.index = 0

    def values(self, period: Period) -> dict[str, Any]:
        numbers = self._numbers(period)
        values = {"reporter": self.unit.contact_name or self.unit.name,
                  "phone": self.unit.contact_phone or "13800000000", **numbers}
        for fld in self.definition.fields():
            if fld.key not in values:
                value = self._other(fld, period, numbers)
                if value is not None:
                    values[fld.key] = value
        self.state, self.previous, self.index = numbers, period, self.index + 1
        return values

    def _restarts(self, fld: FieldDef, period: Period) -> bool:
        return self.previous is None or (fld.cumulative_span is CumulativeSpan.YEAR
                                         and period.year != self.previous.year)

    def _numbers(self, period: Period) -> dict[str, Any]:
        numbers: dict[str, Any] = {}
        boost = self.boost.get(period.key, {})
        for fld in self.definition.numeric_fields():
            spec, before = self.specs[fld.key], self.state.get(fld.key)
            if fld.cumulative:
                step = spec.rate * self.rng.uniform(0.3, 1.7) if self.rng.random() < 0.75 else 0
                start = 0 if self._restarts(fld, period) else before
                numbers[fld.key] = start + _number(fld, step) + boost.get(fld.key, 0)
            elif fld.kind is FieldKind.PERCENT:
                numbers[fld.key] = _number(fld, min(100.0, 60 + spec.base + self.index * 2))
            elif before is None:
                numbers[fld.key] = _number(fld, spec.base)
            else:
                numbers[fld.key] = max(0, before + self.rng.choice((0, 0, 0, 1, -1)))
        for key, whole in self.parts:
            total = whole.evaluate(numbers)
            if total is None:
                continue
            fld = self.definition.field(key)
            share = min(1.0, self.shares[key] + 0.03 * self.index)
            part = _number(fld, math.floor(total * Decimal(str(share))))
            if fld.cumulative and not self._restarts(fld, period):
                part = max(part, self.state[key])
            numbers[key] = part
        _meet_rules(self.definition, self.rules, numbers)
        return numbers

    def _other(self, fld: FieldDef, period: Period, numbers: dict[str, Any]) -> Any:
        """Texts, choices, dates, tables and documents."""
        rng, unit = self.rng, self.unit
        item = self.items.get(fld.key)
        column = fld.key.removeprefix(item.key + "_") if item else None
        texts = fld.kind in (FieldKind.TEXT, FieldKind.LONGTEXT)
        if texts and item is not None and item.key in SUMMARY_TEXTS:
            return rng.choice(SUMMARY_TEXTS[item.key])
        if texts and column == "measures":
            return "；".join(rng.sample(MEASURES, rng.randint(1, 2))) + "。"
        if texts and column == "progress":
            return self._progress(item, period, numbers)
        if texts and column == "remarks":
            return rng.choice(REMARKS) if rng.random() < 0.15 else None
        if fld.key in FIXED_TEXTS:
            return FIXED_TEXTS[fld.key]
        if fld.key == "principal":
            return rng.choice(NAMES)
        if fld.kind is FieldKind.YESNO:
            return self.index >= self.yes_from[fld.key]
        if fld.kind is FieldKind.TABLE and fld.key == "members":
            return [{"role": role, "name": NAMES[i], "position": position,
                     "unit": "积翠镇", "phone": f"138000001{i:02d}"}
                    for i, (role, position) in enumerate(ROSTER)]
        if fld.kind is FieldKind.CHOICE:
            return _choice(fld, unit, rng)
        if fld.kind is FieldKind.MULTICHOICE:
            values = [c.value for c in fld.choices]
            if fld.required and fld.help:  # "the plan should cover all of these"
                return values
            return sorted(rng.sample(values, rng.randint(1, 2)), key=values.index)
        if fld.kind is FieldKind.ATTACHMENT:
            return _Document(f"{unit.name}三年治本攻坚行动工作方案.txt",
                             PLAN_DOCUMENT.format(unit=unit.name))
        if fld.kind is FieldKind.DATE:
            due = self.definition.schedule.due_date(period)
            return due - timedelta(days=rng.randint(10, 30))
        if fld.kind is FieldKind.LONGTEXT and fld.required:
            return rng.choice(PROGRESS)
        return None

    def _progress(self, item: Item, period: Period, numbers: dict[str, Any]) -> str:
        """The item's figures in words, or a general sentence when it has none."""
        parts = []
        for fld in item.fields:
            value = numbers.get(fld.key)
            if not value:
                continue
            unit = fld.unit or ""
            if not fld.cumulative:
                parts.append(f"{fld.label}{format_number(value)}{unit}")
                continue
            text = f"{fld.label}累计{format_number(value)}{unit}"
            if not self._restarts(fld, period) and value > self.state[fld.key]:
                text += f"（本期新增{format_number(value - self.state[fld.key])}{unit}）"
            parts.append(text)
        if not parts:
            return self.rng.choice(PROGRESS)
        return f"{self.rng.choice(OPENINGS)}，{'；'.join(parts[:3])}。{self.rng.choice(CLOSINGS)}"


def _magnitude(fld: FieldDef) -> float:
    return _MAGNITUDES.get(fld.unit or "", _DEFAULT_MAGNITUDE)


def _number(fld: FieldDef, amount: float | Decimal) -> int | Decimal:
    if fld.kind is FieldKind.INTEGER:
        return int(round(amount))
    return Decimal(str(amount)).quantize(_CENT)


def _comparisons(definition: Definition) -> Iterator[tuple]:
    """The rules of the form ``<sum> op <sum>``, split into their two sides."""
    for rule in definition.rules:
        match = _COMPARISON.match(rule.expr.strip())
        if match is not None:
            left, right = match["left"], match["right"]
            yield (parse(left), match["op"], parse(right), _KEY.findall(left),
                   _KEY.findall(right))


def _meet_rules(definition: Definition, rules: list[tuple], numbers: dict[str, Any]) -> None:
    """Raise the larger side of every failed comparison until all of them hold."""
    for _round in range(12):
        changed = False
        for left, op, right, left_keys, right_keys in rules:
            a, b = left.evaluate(numbers), right.evaluate(numbers)
            if a is None or b is None:
                continue
            strict = 1 if op in ("<", ">") else 0
            gap, keys = (a - b, right_keys) if op in ("<", "<=") else (b - a, left_keys)
            target = next((k for k in keys if k in numbers), None)
            if gap + strict > 0 and target is not None:
                fld = definition.field(target)
                numbers[target] += _number(fld, gap + strict)
                changed = True
        if not changed:
            return


def _choice(fld: FieldDef, unit: Unit, rng: random.Random) -> str:
    values = [c.value for c in fld.choices]
    for word, value in INDUSTRY_WORDS.items():
        if word in unit.name and value in values:
            return value
    if fld.key == "industry" and "other" in values:
        return "other"
    return rng.choice(values[:3])


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

MEASURES = (
    "成立工作专班，明确专人负责",
    "建立工作台账，实行清单化管理",
    "开展入企指导服务，督促企业落实主体责任",
    "联合安办、综合执法队开展检查",
    "召开专题部署会，压实各方责任",
    "结合“安全生产月”活动集中宣传",
    "建立问题清单、整改清单和责任清单",
    "邀请专家开展现场指导",
    "将任务纳入年度目标责任考核",
    "通过工作群每周调度进展",
)
OPENINGS = ("截至本期末", "本期", "截至目前", "行动开展以来")
CLOSINGS = (
    "", "", "", "相关台账已建立并及时更新。", "按计划有序推进。", "下一步将持续跟踪督促落实。",
    "已纳入月度调度内容。", "整体进度符合年度计划要求。",
)
PROGRESS = (
    "已制定工作方案并印发实施，明确责任分工和时间节点。",
    "结合辖区实际逐项落实，定期召开推进会研究解决问题。",
    "已纳入年度工作计划，正在按计划推进。",
    "本期组织专项检查，发现的问题已督促整改。",
    "通过微信群、宣传栏等方式加强宣传引导，营造良好氛围。",
    "已完成阶段性任务，正在开展“回头看”巩固成效。",
    "持续推进，与相关部门建立信息共享机制。",
)
REMARKS = ("按计划推进", "无", "持续推进", "已纳入年度计划", "阶段性完成")
SUMMARY_TEXTS = {
    "completed": (
        "本期围绕治本攻坚三年行动重点任务，组织开展专项检查和培训，各项工作按计划推进，"
        "重大事故隐患动态清零，未发生较大以上生产安全事故。",
        "本期召开专题推进会，压实企业主体责任和部门监管责任，完成阶段性目标任务，"
        "企业主要负责人培训、隐患排查整治等工作取得明显成效。",
    ),
    "problems": (
        "部分小微企业安全投入不足，从业人员安全意识有待提高；基层监管力量相对薄弱。",
        "个别企业隐患整改不够及时，台账资料不够规范；专业技术人员短缺。",
    ),
    "next_steps": (
        "下一步将继续加强督导检查，推动隐患闭环整改，持续开展警示教育和技能培训。",
        "下一步将聚焦重点行业领域，强化精准执法和帮扶指导，巩固提升治本攻坚成效。",
    ),
}
BRIEF = "推进情况填写过于简单，请补充具体措施和成效后重新报送。"
RETURN_COMMENTS = (
    BRIEF,
    "隐患排查数据与台账不一致，请核实后重新报送。",
    "请补充本期新增数据的来源说明，并核对各项累计数。",
    "报送人请填写具体经办人，并核对联系电话。",
)
CATCH_UP_REMARKS = "本期为补报：经核对培训签到台账补录了参训人次，下一期报表将同步更正。"
NAMES = ("王建国", "李卫东", "张文华", "刘志强", "陈晓燕", "杨海涛", "赵丽娟", "孙国庆",
         "周立新", "吴晓明", "郑永红", "黄建平")
ROSTER = (
    ("leader", "镇党委书记"), ("leader", "镇长"), ("executive_deputy", "副镇长"),
    ("deputy", "镇党委副书记"), ("deputy", "镇人大主席"), ("deputy", "镇党委委员、副镇长"),
    ("member", "镇安委办主任"), ("member", "应急消防站站长"), ("member", "市场监督管理所所长"),
    ("member", "自然资源所所长"),
)
FIXED_TEXTS = {"office_location": "镇安委办", "office_director": NAMES[2],
               "office_phone": "0358-6012345"}
INDUSTRY_WORDS = {"糖": "sugar", "水泥": "cement", "建材": "cement", "茶": "tea"}
PLAN_DOCUMENT = """{unit}安全生产治本攻坚三年行动工作方案（2024—2026年）

一、年度目标：2024年完成重大事故隐患排查整治，2025年通过安全生产标准化三级考评，2026年巩固提升。
二、任务分工：主要负责人全面负责，分管负责人具体落实，各车间按职责分工推进。
三、责任单位和责任人：安全管理部门负责日常推进，各车间主任为本车间第一责任人。
四、完成时限：按年度目标分阶段完成，每季度末自查一次。
五、保障措施：每年安排安全生产投入，纳入绩效考核，定期开展培训和应急演练。
"""
