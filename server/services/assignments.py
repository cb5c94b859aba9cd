"""Assignments: a template given to part of the tree for a window of periods.

What an assignment is and which units owe reports under it: its periods and
their due dates, the template version each period uses, and the units that
report. The reporting workflow, consolidation, the review pages, the exports
and the administration pages all build on this module; it builds on none of them.

The rules of a valid assignment live here, so every channel refuses the same
things: a key of lower-case letters, digits, ``-`` and ``_``, not used before; a
template version that is not retired; a consolidating unit that is the root unit
or one above it; a window of periods of the template's frequency. Each refusal
names the input it concerns (``field``), and the ``check_…`` functions let a
form show every problem at once before anything is created.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, object_session

from forms.definition import Definition, Phase, merge_phases
from forms.definition_errors import MESSAGES, DefinitionRuleError
from forms.periods import NEVER_DUE, Frequency, Period, parse_typed_period
from forms.workdays import Shift, next_working_day
from server.models import Unit, User
from server.models.reporting import Assignment, AssignmentVersion
from server.models.templates import TemplateVersion
from server.models.units import subtree_bounds
from server.services import workdays
from server.services.errors import InvalidInput, NotVisible
from server.services.plans import AssignmentPlan, PlanTemplate

# Keys appear in addresses and file names.
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def check_key(session: Session, key: str) -> None:
    """Refuse (InvalidInput on ``key``) a key that is malformed or already used."""
    if not key:
        raise InvalidInput(_l("An assignment needs a key."), field="key")
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidInput(_l("Use lower-case letters, digits, - and _ only, starting with a "
                              "letter or digit."), field="key")
    if session.scalar(select(Assignment.id).where(Assignment.key == key)):
        raise InvalidInput(_l("An assignment with the key %(key)s already exists."), field="key",
                           key=key)


def check_consolidating_unit(root: Unit, consolidating: Unit) -> None:
    """Refuse (InvalidInput on ``consolidating_unit``) an office that is not above the subtree.

    The consolidating unit reviews and consolidates the whole subtree, so it is
    the root unit itself or one of its ancestors.
    """
    if not root.path.startswith(consolidating.path):
        raise InvalidInput(_l("The consolidating unit must be the root unit or a unit above it."),
                           field="consolidating_unit")


def check_assignable(template: TemplateVersion) -> None:
    """Refuse (InvalidInput on ``template``) a retired template version."""
    if template.retired:
        raise InvalidInput(_l("A retired template version cannot be assigned."), field="template")


def parse_period(definition: Definition, text: str, *, field: str) -> Period:
    """The period *text* names (a key such as 2026-11 or a label such as 2026年11月, see
    :func:`forms.periods.parse_typed_period`): of the template's frequency and inside
    its window.

    Refused (InvalidInput on *field*) otherwise, with an example of a valid key.
    """
    schedule = definition.schedule
    example = schedule.first
    try:
        period = parse_typed_period(text)
    except ValueError:
        raise InvalidInput(_l("“%(value)s” is not a period such as %(example)s."), field=field,
                           value=text, example=example) from None
    if period.frequency != schedule.frequency:
        raise InvalidInput(_l("This template is reported per period like %(example)s; "
                              "“%(value)s” is another kind of period."),
                           field=field, example=example, value=text)
    if not schedule.contains(period):
        raise InvalidInput(_l("%(period)s is outside the template's window (%(first)s to "
                              "%(last)s)."), field=field, period=period.key,
                           first=schedule.first, last=schedule.last)
    return period


def period_keys(definition: Definition, first: str, last: str) -> list[str]:
    """The period keys from *first* to *last* of the definition's frequency (none for
    events: they are numbered as they happen, never owed)."""
    if definition.is_event:
        return []
    return list(_period_keys(definition.schedule.frequency, first, last))


@lru_cache(maxsize=256)
def _period_keys(frequency: Frequency, first: str, last: str) -> tuple[str, ...]:
    """:func:`period_keys` of a schedule's *frequency*, listed once per process (every
    request for a report checks its period against them; a refusal is raised again)."""
    try:
        start, end = Period.parse(first), Period.parse(last)
    except ValueError:
        raise InvalidInput(_l("%(first)s – %(last)s is not a valid period range."),
                           field="first_period", first=first, last=last) from None
    if start.frequency != frequency or end.frequency != start.frequency:
        raise InvalidInput(_l("The periods do not match the template's schedule."),
                           field="first_period")
    if end < start:
        raise InvalidInput(_l("The last period comes before the first."), field="last_period")
    keys, current = [], start
    while current is not None and not end < current:
        keys.append(current.key)
        current = current.next()
    return tuple(keys)


def create_assignment(
    session: Session,
    *,
    key: str,
    template: TemplateVersion,
    root: Unit,
    consolidating_unit: Unit | None = None,
    kinds: Sequence[str] = (),
    first: str | None = None,
    last: str | None = None,
    include_root: bool = False,
    user: User | None = None,
    phases: Sequence[Phase] = (),
    due_phase: str | None = None,
    shift_to_workday: bool = False,
) -> Assignment:
    """Assign a published template version to the subtree below *root*.

    *shift_to_workday*: due dates on a weekend or holiday move to the next working day.

    Flushed, so the assignment has its id; the caller's unit of work commits it.
    """
    key = (key or "").strip()
    check_key(session, key)
    check_assignable(template)
    if consolidating_unit is not None:
        check_consolidating_unit(root, consolidating_unit)
    schedule = template.definition.schedule
    first = first or schedule.first
    last = last or schedule.last
    parse_period(template.definition, first, field="first_period")
    parse_period(template.definition, last, field="last_period")
    if not template.definition.is_event:
        period_keys(template.definition, first, last)  # and the order of the two
    assignment = Assignment(
        key=key, template_key=template.key, root_unit=root,
        consolidating_unit=consolidating_unit or root, unit_kinds=",".join(kinds),
        include_root=include_root, first_period=first, last_period=last,
        created_by_id=user.id if user else None, shift_to_workday=bool(shift_to_workday),
    )
    assignment.versions.append(AssignmentVersion(template_version=template, from_period=first))
    set_phases(assignment, phases, due_phase, template.definition)
    session.add(assignment)
    session.flush()
    return assignment


def replace_version(
    session: Session, assignment: Assignment, template: TemplateVersion, from_period: str,
) -> None:
    """Use *template* for the periods from *from_period* on; earlier reports keep theirs."""
    if template.key != assignment.template_key:
        raise InvalidInput(_l("The new version must be of the same template."))
    check_assignable(template)
    keys = period_keys(template.definition, assignment.first_period, assignment.last_period)
    if template.definition.is_event:
        keys = [assignment.first_period]  # events have one window: a new version replaces it
    if from_period not in keys:
        raise InvalidInput(_l("%(period)s is not a period of this assignment."), period=from_period)
    existing = next((v for v in assignment.versions if v.from_period == from_period), None)
    if existing is not None:
        existing.template_version = template
    else:
        assignment.versions.append(
            AssignmentVersion(template_version=template, from_period=from_period))


def version_for(assignment: Assignment | AssignmentPlan,
                period: str) -> TemplateVersion | PlanTemplate:
    """The template version a new report of *period* uses."""
    chosen = assignment.versions[0]
    for candidate in sorted(assignment.versions, key=lambda v: v.from_period):
        if candidate.from_period <= period:
            chosen = candidate
    return chosen.template_version


def assignment_periods(assignment: Assignment | AssignmentPlan) -> list[str]:
    definition = version_for(assignment, assignment.first_period).definition
    return period_keys(definition, assignment.first_period, assignment.last_period)


def is_event(assignment: Assignment | AssignmentPlan) -> bool:
    """Whether the assignment is of event reports (filed whenever something happens)."""
    return version_for(assignment, assignment.first_period).definition.is_event


def open_periods(assignment: Assignment, today: date) -> list[str]:
    """The periods of the assignment that have begun by *today*."""
    return [p for p in assignment_periods(assignment) if Period.parse(p).start <= today]


@dataclass(frozen=True)
class Due:
    """When *period* is due, and the shift that moved it off a day off (None if none)."""

    date: date
    shift: Shift | None = None

    def reason(self, locale: str) -> str:
        """Why the date moved ("10月5日为国庆节假期，顺延至10月9日。"); empty if it did not."""
        return workdays.shift_reason(self.shift, locale) if self.shift else ""


def due(assignment: Assignment | AssignmentPlan, period: str,
        session: Session | None = None) -> Due:
    """The one answer to "when is *period* of *assignment* due": the template's rule, or
    for a one-off report tied to a phase, the last day of that phase as the assignment
    dates it; moved to the next working day when the assignment says so and that day is
    a weekend, a public holiday or a day off an administrator declared (the days of
    *session*, by default the assignment row's own: a plan has none)."""
    definition = version_for(assignment, period).definition
    day = None
    if assignment.phases or assignment.due_phase:
        phase = due_phase(assignment, definition)
        if phase is not None:
            day = phase.end
    if day is None:
        day = definition.schedule.due_date(Period.parse(period))
    if not assignment.shift_to_workday or day >= NEVER_DUE:
        return Due(day)
    days = workdays.calendar_of(session if session is not None else object_session(assignment))
    shift = next_working_day(day, days)
    return Due(shift.moved, shift) if shift else Due(day)


def due_date(assignment: Assignment | AssignmentPlan, period: str,
             session: Session | None = None) -> date:
    """The date of :func:`due` (what most callers need)."""
    return due(assignment, period, session).date


# -- phases ------------------------------------------------------------------------------
# A template names the phases of its plan (动员部署, 集中攻坚, 总结评估); an assignment may
# date them otherwise for its part of the tree (a phase with the same key) or add its own.


def phases_of(assignment: Assignment, definition: Definition | None = None) -> tuple[Phase, ...]:
    """The phases that hold for *assignment*: the template's, as the assignment adjusts them."""
    definition = definition or version_for(assignment, assignment.first_period).definition
    own = [Phase.model_validate(p) for p in assignment.phases or ()]
    if not own:
        return definition.phases
    try:
        return merge_phases(definition.phases, own)
    except DefinitionRuleError:  # a later template version redated a phase: the assignment's win
        return tuple(sorted(own, key=lambda p: p.start))


def due_phase(assignment: Assignment, definition: Definition) -> Phase | None:
    """The phase whose end a one-off report of *assignment* falls due on, if any."""
    key = assignment.due_phase or definition.due_phase
    if key is None or definition.schedule.frequency is not Frequency.ONCE:
        return None
    return next((p for p in phases_of(assignment, definition) if p.key == key), None)


def parse_phases(text: str) -> list[Phase]:
    """Phases typed one per line as ``key | name | start | end`` (optionally ``| English name``).

    Dates are ISO (2024-06-30). Refused (InvalidInput on ``phases``) with the line number.
    """
    phases = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        if len(parts) not in (4, 5) or not all(parts[:4]):
            raise InvalidInput(_l("Line %(line)s: write a phase as key | name | start | end, "
                                  "e.g. gongjian | 集中攻坚 | 2024-06-01 | 2025-12-31."),
                               field="phases", line=number)
        data = dict(zip(("key", "name", "start", "end", "name_en"), parts, strict=False))
        try:
            phases.append(Phase.model_validate({k: v for k, v in data.items() if v}))
        except ValidationError as error:
            first = error.errors()[0]
            if first["type"] in MESSAGES:
                raise InvalidInput(_l("Line %(line)s: %(problem)s"), field="phases", line=number,
                                   problem=_rule_problem(first["type"], first.get("ctx"))
                                   ) from None
            raise InvalidInput(_l("Line %(line)s: the key must be letters, digits and _, and the "
                                  "dates like 2024-06-30."), field="phases", line=number) from None
    return phases


def format_phases(phases: Sequence[Phase]) -> str:
    """Phases as :func:`parse_phases` reads them, for an edit box."""
    return "\n".join(" | ".join([p.key, p.name, p.start.isoformat(), p.end.isoformat()]
                                + ([p.name_en] if p.name_en else [])) for p in phases)


def set_phases(assignment: Assignment, phases: Sequence[Phase], due: str | None,
               definition: Definition | None = None) -> None:
    """Give *assignment* its own phases (and due phase), checked against the template's.

    Refused (InvalidInput on ``phases`` or ``due_phase``) when they overlap the
    template's, or when the due phase names no phase or the report is not one-off.
    """
    definition = definition or version_for(assignment, assignment.first_period).definition
    try:
        merged = merge_phases(definition.phases, phases)
    except DefinitionRuleError as error:
        raise InvalidInput(_l("%(problem)s"), field="phases",
                           problem=_rule_problem(error.type, error.context)) from None
    due = (due or "").strip() or None
    if due is not None:
        if definition.schedule.frequency is not Frequency.ONCE:
            raise InvalidInput(MESSAGES["due_phase_not_once"], field="due_phase")
        if due not in {p.key for p in merged}:
            raise InvalidInput(_l("“%(key)s” names no phase of this assignment."),
                               field="due_phase", key=due)
    assignment.phases = [p.model_dump(mode="json", exclude_none=True) for p in phases]
    assignment.due_phase = due


def _rule_problem(code: str, context: dict | None) -> str:
    """A phase rule's message (forms.definition_errors) in the reader's language."""
    params = {k: v for k, v in (context or {}).items() if k not in ("at", "msgid")}
    text = gettext(MESSAGES[code])
    return text % params if params else text


def reports_for_unit(assignment: Assignment, unit: Unit) -> bool:
    """Whether *unit* stands in the assignment's subtree today as a unit of a kind it asks.

    A cheap check on the current tree, for listing what a unit may be asked; whether
    it owes a given period is :func:`server.services.owing.owes`.
    """
    root = assignment.root_unit
    low, high = subtree_bounds(root.path)
    if not (low <= unit.path < high) or not unit.active:
        return False
    if unit.id == root.id and not assignment.include_root:
        return False
    return not assignment.kinds or unit.kind in assignment.kinds


def get_assignment(session: Session, key: str) -> Assignment:
    assignment = session.scalar(
        select(Assignment).where(Assignment.key == key)
        .options(joinedload(Assignment.root_unit), joinedload(Assignment.consolidating_unit))
    )
    if assignment is None:
        raise NotVisible(what=key)
    return assignment


def list_assignments(session: Session) -> Sequence[Assignment]:
    return session.scalars(select(Assignment).order_by(Assignment.key)).all()
