"""Consolidation through the organisation tree: a unit's figures from the reports below it.

The *children* of a unit are the nearest reporting units strictly below it
(:mod:`server.services.subtree`). A unit *consolidates* when it has at least one child.
A reporting unit that consolidates files its own report, prefilled from its
children, and submits it upward like any other: each level sums the reports of
its children only, which are themselves roll-ups, so village → town → county →
city works at any depth.

Only approved reports count, unless the caller includes submitted ones too. A
cumulative figure rolls up like for like (``forms.consolidation``): a child whose
report does not count contributes its latest approved figure within the field's
span, carried forward; ``carry_forward=False`` is the strict view, this period's
reports only. The mismatch check below and an office's prefill follow the same rule.
The subtree is read with one range query over the materialised paths for its
units and one for its reports (the period and the one before), whatever its
depth or size. Reports of different template versions merge by field key.

The numeric figures (totals, previous values, 本期新增, calculated fields) are the
database roll-up's (:mod:`server.services.rollup`, over ``report_values``); the
provenance, texts, tallies and the mismatch check still read the reports here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from forms.applicability import Applicability, applies_by_tags
from forms.calculated import calculate
from forms.consolidation import (
    ChildReport,
    Consolidation,
    Counts,
    Fall,
    Part,
    aggregate,
    child_value,
    consolidate,
    counts_for,
    falls,
    previous_like_for_like,
)
from forms.definition import Aggregation, Definition, FieldDef
from forms.issues import Issue
from forms.periods import days_until
from forms.validation import increments as increments_of
from forms.values import is_blank, jsonable, loads_values
from server.locale import current_locale_code
from server.models import Unit, UnitPlacement, User
from server.models.accounts import utcnow
from server.models.reporting import Assignment, PeriodClosure, Report, Source, Status
from server.models.templates import TemplateVersion
from server.models.units import subtree_bounds
from server.scope import can_see_on, placed_on, unit_scope, unit_scope_on
from server.services import carried, closing, reporting, rollup
from server.services.assignments import (
    assignment_periods,
    due_date,
    is_event,
    version_for,
)
from server.services.errors import InvalidState, NotVisible
from server.services.owing import in_force, owes, owing_today, path_then, period_day, within
from server.services.reporting import ReportView, Task
from server.services.subtree import Tree, path_ids, reporting_tree

__all__ = [
    "ChildState", "Coverage", "Fall", "Figures", "Mismatch", "NotConsolidating", "Part", "Prefill",
    "consolidates", "consolidating_units", "figures", "figures_for_view", "prefill",
    "prefill_values", "refill", "refill_offered", "refilled_values",
]

BATCH = 500  # subtree rows fetched per round trip
IN_CHUNK = 5000  # ids per IN (...) list
MEAN_TOLERANCE = Decimal("0.01")  # a mean is rounded to two places: closer than that agrees


class NotConsolidating(NotVisible):
    """The unit has no reporting unit below it under the assignment."""


@dataclass(frozen=True)
class ChildState:
    """One child of the consolidated unit and how its report stands."""

    unit: Unit
    report: Report | None
    status: str  # a Status value, or Status.NOT_STARTED when there is no report
    included: bool  # counted in the figures (approved; or submitted too with the switch)
    late: bool  # submitted late, or overdue and still not submitted
    consolidates: bool  # has children of its own under this assignment
    # Not counted, but its cumulative figures are carried forward from this period.
    carried_from: str | None = None


@dataclass(frozen=True)
class Mismatch:
    """A unit's reported figure that differs from what its own children's reports add up to."""

    unit: Unit
    field_key: str
    reported: Any
    computed: Any
    difference: Any  # reported - computed
    depth: int  # 0 for the consolidated unit itself, 1 for its children, ...


@dataclass(frozen=True)
class Coverage(Counts):
    """Who is in a figure (:class:`~forms.consolidation.Counts`), with the children it
    does not apply to."""

    not_applicable: list[Unit] = dc_field(default_factory=list)


@dataclass
class Figures:
    """The consolidation of one unit's subtree for one period of an assignment."""

    assignment: Assignment
    unit: Unit
    period: str
    template: TemplateVersion
    include_submitted: bool
    children: list[ChildState]
    result: Consolidation
    previous_period: str | None
    previous_values: dict[str, Any]
    increments: dict[str, Any]
    mismatches: list[Mismatch]
    own: ReportView | None
    closure: PeriodClosure | None = None  # in force over the unit's figures of the period
    carry_forward: bool = True  # False: the strict view, this period's reports only
    falls: list[Fall] = dc_field(default_factory=list)  # units whose own figure fell

    @property
    def carried(self) -> list[ChildState]:
        """The children not counted whose cumulative figures are carried forward."""
        return [c for c in self.children if c.carried_from]

    @property
    def definition(self) -> Definition:
        return self.template.definition

    @property
    def values(self) -> dict[str, Any]:
        return self.result.values

    @property
    def included(self) -> list[ChildState]:
        return [c for c in self.children if c.included]

    @property
    def missing(self) -> list[ChildState]:
        """The children whose report is not counted (none, not sent, or not approved)."""
        return [c for c in self.children if not c.included]

    @property
    def late_children(self) -> list[ChildState]:
        return [c for c in self.children if c.late]

    @cached_property
    def _uncounted_scopes(self) -> list[tuple[str, Applicability]]:
        """What the tags of each child not counted rule out, worked out once for all fields."""
        return [(c.unit.code, applies_by_tags(self.definition, c.unit.tags))
                for c in self.children if not c.included]

    def coverage(self, key: str) -> Coverage:
        """Who is in the figure: the children it applies to, counted with this period's
        report, carried forward, blank, or without any report that counts.

        A counted (or carried) child's report says what applies to it (tags and
        answers); for any other child its tags decide, and a part that depends on
        answers it has not given counts as applying.
        """
        result = self.result
        off = set(result.not_applicable.get(key, ()))
        off.update(code for code, scope in self._uncounted_scopes if not scope.applies(key))
        carried = result.carried(key)
        reported = len(result.provenance.get(key, ())) - carried
        return Coverage(len(self.children) - len(off), reported, carried,
                        len(result.missing.get(key, ())), len(off),
                        [c.unit for c in self.children if c.unit.code in off])

    def carries(self, key: str) -> bool:
        """Whether the figure carries values forward: a cumulative one, like for like."""
        fld = self.definition.field(key)
        return self.carry_forward and fld is not None and fld.cumulative

    def coverage_sentence(self, key: str, ngettext: Any, locale: str = "zh_CN") -> str:
        if key in self.result.calculated_over:
            return self.calculated_sentence(key, ngettext, locale)
        return self.coverage(key).sentence(ngettext, carrying=self.carries(key), locale=locale)

    def calculated_sentence(self, key: str, ngettext: Any, locale: str = "zh_CN") -> str:
        """Which units a calculated figure (a rate) is computed over: those that gave every
        input, so numerator and denominator count the same units."""
        codes = self.result.calculated_over.get(key, [])
        names = {c.unit.code: c.unit.name for c in self.children}
        listed = ("、" if not locale.startswith("en") else ", ").join(
            names.get(code, code) for code in codes)
        return ngettext("Computed over %(num)s unit that gave every input: %(units)s",
                        "Computed over %(num)s units that gave every input: %(units)s",
                        len(codes), units=listed or "—")

    @cached_property
    def overall(self) -> Counts:
        """The children as a whole: counted this period, carried forward, or neither."""
        carried = len(self.carried)
        counted = len(self.included)
        return Counts(len(self.children), counted, carried)


# -- the units that consolidate -------------------------------------------------------------


def consolidates(session: Session, assignment: Assignment, unit: Unit) -> bool:
    """Whether *unit* has a child: any reporting unit below it makes the nearest one a child.

    Events never consolidate into an office's own event: each stands alone.
    """
    if is_event(assignment):
        return False
    query = (owing_today(assignment, unit)
             .where(Unit.id != unit.id).with_only_columns(Unit.id).order_by(None).limit(1))
    return session.scalar(query) is not None


def consolidating_units(session: Session, user: User, assignment: Assignment) -> list[Unit]:
    """The units within *user*'s scope that consolidate under *assignment*, in tree order.

    Those are the units above some reporting unit, inside the assignment's
    subtree, plus its consolidating unit and the account's own unit when they
    lie above the root.
    """
    paths = session.scalars(owing_today(assignment).with_only_columns(UnitPlacement.path))
    above = {ancestor for path in paths for ancestor in path_ids(path)[:-1]}
    if not above:
        return []
    low, high = subtree_bounds(assignment.root_unit.path)
    placed = (Unit.path >= low) & (Unit.path < high)
    placed = placed | (Unit.id == assignment.consolidating_unit_id)
    if user.unit_id is not None:
        placed = placed | (Unit.id == user.unit_id)
    return list(session.scalars(
        select(Unit).where(Unit.id.in_(sorted(above)), Unit.active.is_(True), placed,
                           unit_scope(user)).order_by(Unit.path)))


# -- the figures ----------------------------------------------------------------------------


def _counts(report: Report | None, include_submitted: bool) -> bool:
    if report is None:
        return False
    return report.status == Status.APPROVED or (include_submitted
                                                and report.status == Status.SUBMITTED)


def figures(session: Session, user: User, assignment_key: str, unit_code: str, period: str,
            *, include_submitted: bool = False, now: datetime | None = None,
            carry_forward: bool = True) -> Figures:
    """The consolidation of *unit_code*'s subtree for *period*.

    Raises NotVisible for an unknown assignment, unit or period and for a unit
    outside the account's scope, or whose children are (a submitter sees its own
    unit only: its office's report is prefilled, but the figures page is not for
    it); NotConsolidating when the unit has no child.
    """
    assignment = session.scalar(select(Assignment).where(Assignment.key == assignment_key))
    if assignment is None:
        raise NotVisible(what=assignment_key)
    if period not in assignment_periods(assignment):
        raise NotVisible(what=period)
    # The subtree of a period is read with the tree as it stood then, and so is who sees it.
    day = period_day(assignment, period)
    unit = session.scalar(placed_on(day).where(Unit.code == unit_code, unit_scope_on(user, day)))
    if unit is None:
        raise NotVisible(what=unit_code)
    own = None
    if owes(session, assignment, unit, period):
        reports = session.scalars(select(Report).where(
            Report.assignment_id == assignment.id, Report.unit_id == unit.id))
        own = reporting.build_view(assignment, unit, period, {r.period: r for r in reports})
    return _figures(session, assignment, unit, period, own, include_submitted, now, viewer=user,
                    carry_forward=carry_forward)


def figures_for_view(session: Session, view: ReportView, *, include_submitted: bool = False,
                     now: datetime | None = None) -> Figures | None:
    """The consolidation behind a unit's own report (None when the unit consolidates nothing).

    The view was loaded within the account's scope, so no further check is made.
    """
    try:
        return _figures(session, view.assignment, view.unit, view.period, view,
                        include_submitted, now)
    except NotConsolidating:
        return None


def figures_at(session: Session, figures: Figures, period: str) -> Figures:
    """The same unit's consolidation for another *period* (*figures* was scoped already)."""
    return _figures(session, figures.assignment, figures.unit, period, None,
                    figures.include_submitted, None, carry_forward=figures.carry_forward)


def _figures(session: Session, assignment: Assignment, unit: Unit, period: str,
             own: ReportView | None, include_submitted: bool, now: datetime | None,
             viewer: User | None = None, carry_forward: bool = True) -> Figures:
    tree = reporting_tree(session, assignment, unit, period)
    children = tree.children_of(unit)
    if not children:
        raise NotConsolidating(unit.code)
    if viewer is not None and not can_see_on(session, viewer, children[0],
                                             period_day(assignment, period)):
        raise NotVisible(what=unit.code)
    periods = assignment_periods(assignment)
    at = periods.index(period)
    previous_period = periods[at - 1] if at > 0 else None
    # The subtree's reports stream through the mismatch check; only the children's
    # reports (the parts of the figures) are loaded as objects.
    check = _MismatchCheck(tree, _versions(session, assignment), include_submitted,
                           own_reports=own is not None, period=period,
                           carry_forward=carry_forward)
    child_ids = {c.id for c in children}
    wanted: list[int] = []
    prior_ids: dict[int, int] = {}  # child id -> its latest approved report before the period
    for row in session.execute(
            _subtree_rows(assignment, unit, period, [p for p in (period, previous_period) if p]),
            execution_options={"yield_per": BATCH}):
        if row.period == period:
            check.add(row)
        if row.unit_id in child_ids:
            wanted.append(row.id)
    # Then each unit's latest approved earlier report, for the cumulative figures of the
    # units whose report of the period does not count (the check now knows which).
    for row in session.execute(_prior_rows(assignment, unit, period),
                               execution_options={"yield_per": BATCH}):
        check.add_prior(row)
        if row.unit_id in child_ids:
            prior_ids[row.unit_id] = row.id
    wanted += prior_ids.values()
    reports = [report for start in range(0, max(len(wanted), 1), IN_CHUNK)  # SQLite caps them
               for report in session.scalars(
                   select(Report).where(Report.id.in_(wanted[start:start + IN_CHUNK])))]
    by_id = {r.id: r for r in reports}
    current = {r.unit_id: r for r in reports if r.period == period}
    before = {r.unit_id: r for r in reports if r.period == previous_period}
    template = version_for(assignment, period)
    definition = template.definition
    values = reporting.ReportValues()
    prior = {by_id[report_id].unit.code: replace(values.child(by_id[report_id]),
                                                 carried_from=by_id[report_id].period)
             for report_id in prior_ids.values()}

    due = due_date(assignment, period)
    days_left = days_until(due, now or utcnow())
    states = []
    parts: list[ChildReport] = []
    for child in children:
        report = current.get(child.id)
        task = Task(assignment, child, period, due, report, days_left)
        included = _counts(report, include_submitted)
        carried = None if included or not carry_forward else prior.get(child.code)
        states.append(ChildState(child, report, task.status, included, task.late,
                                 bool(tree.children_of(child)),
                                 carried.carried_from if carried else None))
        if included:
            parts.append(values.child(report))
        elif carried is not None:
            parts.append(carried)
    result = consolidate(definition, parts, period)

    previous_values: dict[str, Any] = {}
    if previous_period is not None:
        counted = [before[c.id] for c in children
                   if _counts(before.get(c.id), include_submitted)]
        previous_values = consolidate(definition, [values.child(r) for r in counted]).values
    # Cumulative figures: the same units as they stood the period before, like for like.
    previous_values.update(previous_like_for_like(definition, result, prior, period,
                                                  previous_period))
    previous_values = {k: v for k, v in calculate(definition, previous_values).items()
                       if v is not None}
    # The numbers come from the database roll-up (report_values), the one definition
    # of every numeric figure; texts, tables and tallies from the reports above.
    summed = rollup.rollup(session, assignment, unit, period,
                           include_submitted=include_submitted, carry_forward=carry_forward,
                           children=[c.id for c in children])
    result.values = _with_numbers(definition, result.values, summed.values)
    previous_values = _with_numbers(definition, previous_values, summed.previous_values)
    # 本期新增 of exactly the figures shown, calculated ones included.
    grown = increments_of(definition, result.values, previous_values or None,
                          period=period, previous_period=previous_period)

    mismatches = check.mismatches()
    return Figures(assignment, unit, period, template, include_submitted, states, result,
                   previous_period, previous_values, grown, mismatches, own,
                   closing.closure_of(session, assignment, unit, period),
                   carry_forward, falls(definition, result, prior, period))


def _with_numbers(definition: Definition, values: Mapping[str, Any],
                  numbers: Mapping[str, Any]) -> dict[str, Any]:
    """*values* with every entered numeric figure taken from *numbers* (absent there: none).

    Calculated figures (rates) stay as :func:`forms.consolidation.consolidate` made them:
    over the same units for every input (``calculated_over``), which totals alone cannot
    tell."""
    numeric = {f.key for f in definition.numeric_fields() if not f.is_calculated}
    out = {k: v for k, v in values.items() if k not in numeric}
    out.update((k, v) for k, v in numbers.items() if k in numeric)
    return out


def _subtree_rows(assignment: Assignment, unit: Unit, period: str, periods: Sequence[str]):
    """The reports of *periods* of every unit in *unit*'s subtree (itself included) as it
    stood in *period*, as plain rows in tree order: a unit's report comes before those of
    the units below it."""
    day = period_day(assignment, period)
    return (
        select(Report.id, Report.unit_id, Report.period, Report.status, Report.values,
               Report.template_version_id)
        .join(UnitPlacement, and_(UnitPlacement.unit_id == Report.unit_id,
                                  in_force(UnitPlacement, day)))
        .where(Report.assignment_id == assignment.id, Report.period.in_(list(periods)),
               within(UnitPlacement.path, path_then(unit.id, day)))
        .order_by(UnitPlacement.path, Report.period)
    )


def _prior_rows(assignment: Assignment, unit: Unit, period: str):
    """Per unit of *unit*'s subtree as it stood in *period*, its latest approved report
    before *period*: what a cumulative figure carries forward when the unit's report of
    the period does not count."""
    day = period_day(assignment, period)
    placed = (select(UnitPlacement.unit_id)
              .where(in_force(UnitPlacement, day),
                     within(UnitPlacement.path, path_then(unit.id, day))))
    return carried.latest_approved(assignment, period, placed)


def _versions(session: Session, assignment: Assignment) -> dict[int, Definition]:
    return {v.id: v.definition for v in session.scalars(
        select(TemplateVersion).where(TemplateVersion.key == assignment.template_key))}


class _MismatchCheck:
    """Offices' reported figures against what their own children's reports add up to.

    Fed the subtree's reports of the period in tree order, so an office's report
    arrives before its children's, then each unit's latest approved earlier report,
    carried into its office's cumulative totals when its report of the period does not
    count. Each child is folded into its office's running aggregates at once: memory
    holds the offices' values and the ids of the units counted, never a unit's values.
    Every consolidating unit whose report counts is checked, and the top unit's own
    report whatever its status (it is the one being worked on).
    """

    def __init__(self, tree: Tree, versions: Mapping[int, Definition],
                 include_submitted: bool, *, own_reports: bool, period: str,
                 carry_forward: bool = True) -> None:
        self.tree, self.versions = tree, versions
        self.include_submitted, self.own_reports = include_submitted, own_reports
        self.period, self.carry_forward = period, carry_forward
        self.counted: set[int] = set()  # units whose report of the period counts
        self.offices: dict[int, tuple[Definition, dict[str, Any]]] = {}
        self.totals: dict[int, dict[str, Any]] = {}  # office id -> field -> aggregate so far
        self.units = {unit.id: unit for unit in tree.below}

    def add(self, row: Any) -> None:
        top = row.unit_id == self.tree.top.id
        counted = row.status == Status.APPROVED or (self.include_submitted
                                                    and row.status == Status.SUBMITTED)
        if not (counted or top) or (top and not self.own_reports):
            return
        if counted:
            self.counted.add(row.unit_id)
        definition = self.versions[row.template_version_id]
        values = loads_values(definition, row.values or {})
        if self.tree.children.get(row.unit_id):
            self.offices[row.unit_id] = (definition, values)
        if not top:
            self._fold(row.unit_id, values, None)

    def add_prior(self, row: Any) -> None:
        """A unit's latest approved report before the period, after its report of the
        period (if any): carried into its office's cumulative totals when that one does
        not count."""
        if (not self.carry_forward or row.unit_id == self.tree.top.id
                or row.unit_id in self.counted):
            return
        values = loads_values(self.versions[row.template_version_id], row.values or {})
        self._fold(row.unit_id, values, row.period)

    def _fold(self, unit_id: int, values: Mapping[str, Any], carried_from: str | None) -> None:
        office = self.offices.get(self.tree.parent.get(unit_id))
        if office is None:
            return
        totals = self.totals.setdefault(self.tree.parent[unit_id], {})
        unit = self.units.get(unit_id)
        child = ChildReport("", "", values, tags=unit.tags if unit else None,
                            carried_from=carried_from)
        scope = child.applicability(office[0])
        for fld in office[0].numeric_fields():
            rule = fld.effective_aggregation
            if not scope.applies(fld.key) or not counts_for(fld, child, self.period):
                continue  # not the child's to report: never counted, not even as zero
            value = child_value(fld, values)
            if value is None or rule in (Aggregation.NONE, Aggregation.LAST):
                continue
            if rule is Aggregation.MEAN:  # needs every value; means are rare and small
                totals.setdefault(fld.key, []).append(value)
            elif fld.key in totals:
                totals[fld.key] = aggregate(rule, [totals[fld.key], value])
            else:
                totals[fld.key] = value

    def mismatches(self) -> list[Mismatch]:
        """What differs, shallowest first and in tree order within a depth."""
        found: list[Mismatch] = []
        for unit in (self.tree.top, *self.tree.below):
            totals = self.totals.get(unit.id)
            if totals is None:
                continue
            definition, reported = self.offices[unit.id]
            expected = {key: aggregate(Aggregation.MEAN, total) if isinstance(total, list)
                        else total for key, total in totals.items()}
            found += differences(unit, definition, reported, expected, self.tree.depth[unit.id])
        found.sort(key=lambda m: m.depth)  # stable: tree order within a depth
        return found


def differences(unit: Unit, definition: Definition, reported: Mapping[str, Any],
                expected: Mapping[str, Any], depth: int = 0) -> list[Mismatch]:
    """The numeric fields of *reported* that differ from the children's aggregate, by field.

    The same comparison as the validation's ``differs_from_children`` warning.
    """
    found = []
    for fld in definition.numeric_fields():
        rule = fld.effective_aggregation
        value = reported.get(fld.key)
        if value is None or rule in (Aggregation.NONE, Aggregation.LAST):
            continue
        computed = expected.get(fld.key)
        if computed is None:
            continue
        difference = (Decimal(value) - computed) if rule is Aggregation.MEAN else value - computed
        if difference and (rule is not Aggregation.MEAN or abs(difference) >= MEAN_TOLERANCE):
            found.append(Mismatch(unit, fld.key, value, computed, difference, depth))
    return found


# -- the office's own report ----------------------------------------------------------------


def _prefilled(definition: Definition) -> list[FieldDef]:
    """The fields a consolidation fills in: not the header (the office's own contact)."""
    header = {f.key for f in definition.header}
    return [f for f in definition.fields() if f.key not in header]


def prefill_values(figures: Figures) -> dict[str, Any]:
    """Typed values for the office's own report from its children's reports.

    Numbers are the consolidated values, text fields the per-unit list to edit
    into a narrative, tables the children's rows one after the other.
    """
    values = figures.result.values
    return {f.key: values[f.key] for f in _prefilled(figures.definition)
            if values.get(f.key) is not None}


@dataclass(frozen=True)
class Prefill:
    """What a consolidating unit's new report starts from."""

    values: dict[str, Any]
    included: int  # children whose report was counted
    children: int
    carried: int = 0  # children whose cumulative figures were carried forward
    coverage: str = ""  # the same in words ("17 个单位：4 个本期已计入，…")


def prefill(session: Session, view: ReportView) -> Prefill | None:
    """The prefill of the view's report from its approved children; None when it has none."""
    if view.definition.is_event:
        return None
    found = figures_for_view(session, view)
    if found is None:
        return None
    return Prefill(prefill_values(found), len(found.included), len(found.children),
                   len(found.carried), found.overall.sentence(
                       ngettext, carrying=found.carry_forward, locale=current_locale_code()))


def refilled_values(definition: Definition, current: Mapping[str, Any],
                    filled: Mapping[str, Any]) -> dict[str, Any]:
    """*current* with the numbers from *filled*, and *filled* texts where the office wrote none.

    Text the office wrote is never overwritten; a number nothing below reports keeps its value.
    """
    out = dict(current)
    for fld in _prefilled(definition):
        new = filled.get(fld.key)
        if new is None:
            continue
        if fld.is_numeric or is_blank(current.get(fld.key)):
            out[fld.key] = new
    return out


def refill_offered(session: Session, view: ReportView) -> bool:
    """Whether filling the draft in again from below would change it: some child's report
    counts (approved, or carried forward) and its figures differ from the draft's."""
    found = figures_for_view(session, view)
    if found is None or not (found.included or found.carried):
        return False
    values = refilled_values(view.definition, view.values, prefill_values(found))
    return jsonable(values) != jsonable(view.values)


def refill(session: Session, user: User, view: ReportView,
           expected_revision: int | None) -> tuple[Report, list[Issue], Figures]:
    """Fill the office's draft in again from its approved children, as a new revision.

    Refused (InvalidState) when the unit consolidates nothing, when no child's report
    counts yet, and when it would change nothing (no empty revision); otherwise the
    workflow's save rules apply (only the unit's own accounts, draft or
    returned, not stale).
    """
    found = figures_for_view(session, view)
    if found is None:
        raise InvalidState(_l("No unit below reports under this assignment: there is nothing to "
                              "fill in from."))
    if not found.included and not found.carried:
        raise InvalidState(_l("No unit below has an approved report or a figure carried "
                              "forward yet: there is nothing to fill in from."))
    values = refilled_values(view.definition, view.values, prefill_values(found))
    if jsonable(values) == jsonable(view.values):
        raise InvalidState(_l("The figures of the units below are already in this draft: "
                              "filling it in again would change nothing."))
    report, issues = reporting.save(session, user, view, values,
                                    expected_revision=expected_revision,
                                    source=Source.CONSOLIDATION)
    return report, issues, found
