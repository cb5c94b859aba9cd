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
reports only. The mismatch check and an office's prefill follow the same rule.
The subtree is read as ids and paths with one range query over the materialised
paths, whatever its depth or size. Reports of different template versions merge by
field key.

Everything a figure needs comes from the database: the numbers (totals, previous
values, 本期新增, coverage, calculated fields) are the roll-up's
(:mod:`server.services.rollup`, over ``report_values``), the mismatches at every depth
are set-based SQL (:mod:`server.services.mismatches`), the children's states plain
rows a page at a time (:func:`child_rows`, :func:`census`). The children's reports
themselves are read only when something asks for their texts, tables, tallies or
parts (:attr:`Figures.children`, :attr:`Figures.result`, :meth:`Figures.detail` for
one page of them): an office's prefill, a merged download, the page of a unit with
few children.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import datetime
from functools import cached_property
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from forms.applicability import Applicability, applies_by_tags
from forms.consolidation import (
    ChildReport,
    Consolidation,
    Counts,
    Fall,
    Part,
    consolidate,
    falls,
    raw_inputs,
)
from forms.definition import Definition, FieldDef
from forms.issues import Issue
from forms.periods import days_until
from forms.validation import increments as increments_of
from forms.values import is_blank, jsonable
from server.locale import current_locale_code
from server.models import Unit, UnitPlacement, User
from server.models.accounts import utcnow
from server.models.reporting import (
    SENT_STATUSES,
    Assignment,
    PeriodClosure,
    Report,
    ReportValue,
    Source,
    Status,
    late_or_overdue,
)
from server.models.templates import TemplateVersion
from server.models.units import subtree_bounds
from server.scope import can_see_on, placed_on, unit_scope, unit_scope_on
from server.services import carried, closing, mismatches, reporting, rollup
from server.services.assignments import (
    assignment_periods,
    due_date,
    is_event,
    version_for,
)
from server.services.errors import InvalidState, NotVisible
from server.services.mismatches import Mismatch
from server.services.owing import in_force, owes, owing_today, period_day
from server.services.reporting import ReportView, Task
from server.services.rollup import ids_in
from server.services.subtree import path_ids

__all__ = [
    "Census", "ChildRow", "ChildState", "Coverage", "Detail", "Fall", "Figures", "Mismatch",
    "NotConsolidating", "Part", "Prefill", "calculated_over", "calculated_words", "census",
    "census_of", "child_rows", "children_query", "consolidates", "consolidating_units",
    "figures", "figures_for_view", "prefill", "prefill_values", "refill", "refill_offered",
    "refilled_values",
]



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
class Coverage(Counts):
    """Who is in a figure (:class:`~forms.consolidation.Counts`), with the children it
    does not apply to."""

    not_applicable: list[Unit] = dc_field(default_factory=list)


@dataclass(frozen=True)
class ChildRow:
    """One child as a page of the children lists it: plain values, no report object."""

    unit_id: int
    code: str
    name: str
    contact_name: str | None
    contact_phone: str | None
    status: str  # a Status value, or Status.NOT_STARTED when there is no report
    included: bool
    late: bool
    consolidates: bool
    carried_from: str | None = None


@dataclass(frozen=True)
class Detail:
    """The children's own reports behind the figures: their states, texts, tables,
    tallies and parts (all children, or one page of them)."""

    children: list[ChildState]
    result: Consolidation
    falls: list[Fall]


@dataclass
class Figures:
    """The consolidation of one unit's subtree for one period of an assignment.

    Computed up front, from the database alone: the totals, previous values and
    coverage (the roll-up over ``report_values``), how many children are counted or
    carried forward, and the mismatches (set-based SQL). The children's states and
    reports, their texts, tables and tallies (``children``, ``result``, ``falls``)
    are read from the direct children's reports when first asked for (a prefill, a
    merged download); the figures page asks for one page of them (:meth:`detail`).
    """

    assignment: Assignment
    unit: Unit
    period: str
    template: TemplateVersion
    include_submitted: bool
    rolled: rollup.Rollup
    child_ids: list[int]  # the nearest reporting units below, in tree order
    links: mismatches.Links  # the reporting tree below, as ids
    own: ReportView | None
    closure: PeriodClosure | None = None  # in force over the unit's figures of the period
    carry_forward: bool = True  # False: the strict view, this period's reports only
    carried_count: int = 0  # children not counted whose cumulative figures carry forward
    now: datetime | None = None
    session: Session | None = dc_field(default=None, repr=False)

    @cached_property
    def offices(self) -> frozenset[int]:
        """The units of the subtree with reporting units below them."""
        return frozenset(self.links.parent.values())

    @cached_property
    def mismatches(self) -> list[Mismatch]:
        """Offices anywhere in the subtree whose reported figure differs from their own
        children's aggregate (set-based SQL, when first asked for)."""
        assert self.session is not None
        return mismatches.find(self.session, self.assignment, self.unit, self.period,
                               links=self.links, definition=self.definition,
                               include_submitted=self.include_submitted,
                               carry_forward=self.carry_forward,
                               own_report=self.own is not None, top_totals=self.totals)

    @property
    def previous_period(self) -> str | None:
        return self.rolled.previous_period

    @property
    def previous_values(self) -> dict[str, Any]:
        return self.rolled.previous_values

    @property
    def totals(self) -> dict[str, Any]:
        """The roll-up's figures: totals, and calculated ones from the totals."""
        return self.rolled.values

    def counts(self, key: str) -> Coverage:
        """Who is in the figure, from the roll-up (no unit named)."""
        found = self.rolled.counts.get(key)
        if found is None:
            return Coverage(len(self.child_ids), 0)
        return Coverage(found.applies, found.reported, found.carried, found.blank, found.off)

    @cached_property
    def _all(self) -> Detail:
        return self.detail(self.child_ids)

    def detail(self, ids: Sequence[int]) -> Detail:
        """The children *ids* (in tree order) with their reports, consolidated: texts,
        tables, tallies and parts; the numbers of the result are the roll-up's."""
        assert self.session is not None
        return _detail(self.session, self, list(ids))

    @property
    def children(self) -> list[ChildState]:
        return self._all.children

    @property
    def result(self) -> Consolidation:
        return self._all.result

    @property
    def falls(self) -> list[Fall]:
        """The units whose own cumulative figure fell."""
        return self._all.falls

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

    @cached_property
    def increments(self) -> dict[str, Any]:
        """本期新增 of exactly the figures shown, calculated ones included."""
        return increments_of(self.definition, self.values, self.previous_values or None,
                             period=self.period, previous_period=self.previous_period)

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
        return calculated_words([names.get(code, code) for code in codes], len(codes),
                                ngettext, locale)

    @cached_property
    def overall(self) -> Counts:
        """The children as a whole: counted this period, carried forward, or neither."""
        return Counts(len(self.child_ids), self.rolled.counted, self.carried_count)


def calculated_words(names: Sequence[str], count: int, ngettext: Any,
                     locale: str = "zh_CN") -> str:
    """"Computed over 3 units that gave every input: A、B、C"; *names* may be the first
    few of *count* (then "…" says there are more)."""
    listed = ("、" if not locale.startswith("en") else ", ").join(names)
    if listed and len(names) < count:
        listed += "…"
    return ngettext("Computed over %(num)s unit that gave every input: %(units)s",
                    "Computed over %(num)s units that gave every input: %(units)s",
                    count, units=listed or "—")

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


def totals_at(session: Session, figures: Figures, period: str,
              keys: Collection[str] | None = None) -> dict[str, Any]:
    """The same unit's consolidated totals (and calculated figures) for another *period*
    (*figures* was scoped already), as :func:`figures` of that period gives them: the
    roll-up over the children the unit had then, with the same switches. Only the
    period's own figures are computed: not the period before (previous values, 本期新增),
    the tree's links, the count carried forward or the closing, which a target judged on
    the totals never reads. With *keys*, only those fields' figures (see
    :func:`server.services.rollup.rollup`). Read afresh on every call, so never older
    than the data. A period in which the unit had no units below it owing a report (its
    villages began reporting later, or were moved in later) has no figures: ``{}``."""
    children = rollup.child_ids(session, figures.assignment, figures.unit, period)
    if not children:
        return {}
    return rollup.rollup(session, figures.assignment, figures.unit, period,
                         include_submitted=figures.include_submitted,
                         carry_forward=figures.carry_forward, children=children,
                         previous=False, keys=keys).values


def _figures(session: Session, assignment: Assignment, unit: Unit, period: str,
             own: ReportView | None, include_submitted: bool, now: datetime | None,
             viewer: User | None = None, carry_forward: bool = True) -> Figures:
    """The figures from the database alone: the tree as ids (one query), the roll-up and
    the count carried forward (the mismatches when asked for); statements never grow
    with the subtree."""
    links = mismatches.tree_links(session, assignment, unit, period)
    children = [unit_id for unit_id, parent in links.parent.items() if parent == unit.id]
    if not children:
        raise NotConsolidating(unit.code)
    if viewer is not None and not can_see_on(session, viewer, session.get(Unit, children[0]),
                                             period_day(assignment, period)):
        raise NotVisible(what=unit.code)
    template = version_for(assignment, period)
    summed = rollup.rollup(session, assignment, unit, period,
                           include_submitted=include_submitted, carry_forward=carry_forward,
                           children=children, falls=True, over=True)
    carried_count = 0
    if carry_forward:
        counted = select(Report.unit_id).where(
            Report.assignment_id == assignment.id, Report.period == period,
            Report.status.in_(_statuses(include_submitted)))
        carried_count = session.scalar(
            select(func.count(func.distinct(Report.unit_id))).where(
                Report.assignment_id == assignment.id, Report.status == Status.APPROVED,
                Report.period < period, ids_in(session, Report.unit_id, children),
                Report.unit_id.not_in(counted))) or 0
    return Figures(assignment, unit, period, template, include_submitted, summed, children,
                   links, own,
                   closing.closure_of(session, assignment, unit, period), carry_forward,
                   carried_count, now, session)


def _statuses(include_submitted: bool) -> list[str]:
    return [Status.APPROVED, Status.SUBMITTED] if include_submitted else [Status.APPROVED]


def _detail(session: Session, figures: Figures, ids: list[int]) -> Detail:
    """The children *ids* with their reports (of the period, the one before, and the
    latest approved earlier one carried forward), consolidated."""
    assignment, period = figures.assignment, figures.period
    previous_period = figures.previous_period
    units = {u.id: u for u in session.scalars(select(Unit).where(ids_in(session, Unit.id, ids)))}
    periods = [p for p in (period, previous_period) if p]
    reports = list(session.scalars(select(Report).where(
        Report.assignment_id == assignment.id, Report.period.in_(periods),
        ids_in(session, Report.unit_id, ids))))
    current = {r.unit_id: r for r in reports if r.period == period}
    prior_ids = [row.id for row in session.execute(
        carried.latest_approved(assignment, period, select(Unit.id).where(
            ids_in(session, Unit.id, ids))))]
    earlier = list(session.scalars(select(Report).where(
        ids_in(session, Report.id, prior_ids)))) if prior_ids else []
    definition = figures.definition
    values = reporting.ReportValues()
    prior = {units[r.unit_id].code: replace(values.child(r), carried_from=r.period)
             for r in earlier if r.unit_id in units}

    due = due_date(assignment, period)
    days_left = days_until(due, figures.now or utcnow())
    states = []
    parts: list[ChildReport] = []
    for child_id in ids:
        child = units.get(child_id)
        if child is None:
            continue
        report = current.get(child.id)
        task = Task(assignment, child, period, due, report, days_left)
        included = _counts(report, figures.include_submitted)
        held = None if included or not figures.carry_forward else prior.get(child.code)
        states.append(ChildState(child, report, task.status, included, task.late,
                                 child.id in figures.offices,
                                 held.carried_from if held else None))
        if included:
            parts.append(values.child(report))
        elif held is not None:
            parts.append(held)
    result = consolidate(definition, parts, period)
    # The numbers are the roll-up's (report_values), the one definition of every numeric
    # figure; texts, tables and tallies come from the reports above.
    result.values = _with_numbers(definition, result.values, figures.totals)
    return Detail(states, result, falls(definition, result, prior, period))


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


def child_rows(session: Session, figures: Figures, ids: Sequence[int]) -> list[ChildRow]:
    """The children *ids* as plain rows, in the order given (one page of the children
    list: two statements, whatever the number of children)."""
    assignment, period = figures.assignment, figures.period
    found = {row.id: row for row in session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.contact_name, Unit.contact_phone,
               Report.status, Report.late)
        .outerjoin(Report, and_(Report.unit_id == Unit.id,
                                Report.assignment_id == assignment.id,
                                Report.period == period))
        .where(ids_in(session, Unit.id, ids)))}
    carried_from: dict[int, str] = {}
    if figures.carry_forward:
        carried_from = dict(session.execute(
            select(Report.unit_id, func.max(Report.period))
            .where(Report.assignment_id == assignment.id, Report.status == Status.APPROVED,
                   Report.period < period, ids_in(session, Report.unit_id, ids))
            .group_by(Report.unit_id)).all())
    days_left = days_until(due_date(assignment, period), figures.now or utcnow())
    counted = _statuses(figures.include_submitted)
    rows = []
    for unit_id in ids:
        row = found.get(unit_id)
        if row is None:
            continue
        status = row.status or Status.NOT_STARTED
        included = row.status in counted
        rows.append(ChildRow(unit_id, row.code, row.name, row.contact_name, row.contact_phone,
                             status, included,
                             late_or_overdue(status, bool(row.late), days_left),
                             unit_id in figures.offices,
                             None if included else carried_from.get(unit_id)))
    return rows


@dataclass(frozen=True)
class Census:
    """How the children stand, counted."""

    children: int
    included: int  # counted in the figures
    carried: int  # not counted, cumulative figures carried forward
    late: int
    sent: int  # handed in (submitted, approved, ...), counted or not
    unapproved: int  # counted although not approved yet (the switch)

    @property
    def missing(self) -> int:
        return self.children - self.included

    @property
    def waiting(self) -> int:
        """Handed in but not counted (waiting for approval)."""
        return self.sent - self.included


def census_of(figures: Figures) -> Census:
    """The census of every child in full (:attr:`Figures.children` read)."""
    children = figures.children
    return Census(len(children), len(figures.included), len(figures.carried),
                  len(figures.late_children),
                  sum(1 for c in children if not Status(c.status).is_open),
                  sum(1 for c in children if c.included and c.status != Status.APPROVED))


def children_query(session: Session, figures: Figures):
    """The ids of the children in tree order, to be paged (:func:`server.pagination.paginate`)."""
    day = period_day(figures.assignment, figures.period)
    return (select(Unit.id)
            .join(UnitPlacement, and_(UnitPlacement.unit_id == Unit.id,
                                      in_force(UnitPlacement, day)))
            .where(ids_in(session, Unit.id, figures.child_ids))
            .order_by(UnitPlacement.path))


def census(session: Session, figures: Figures) -> Census:
    """How the children stand, counted in the database (one statement)."""
    assignment, period = figures.assignment, figures.period
    days_left = days_until(due_date(assignment, period), figures.now or utcnow())
    counted = _statuses(figures.include_submitted)
    late = Report.late.is_(True)
    if days_left < 0:  # past the due date: every child still owing is late too
        late = or_(late, Report.id.is_(None), Report.status.not_in(sorted(SENT_STATUSES)))
    included, overdue, sent, unapproved = session.execute(
        select(func.count(case((Report.status.in_(counted), 1))),
               func.count(case((late, 1))),
               func.count(case((Report.status.in_(sorted(SENT_STATUSES)), 1))),
               func.count(case((and_(Report.status.in_(counted),
                                     Report.status != Status.APPROVED), 1))))
        .select_from(Unit)
        .outerjoin(Report, and_(Report.unit_id == Unit.id,
                                Report.assignment_id == assignment.id,
                                Report.period == period))
        .where(ids_in(session, Unit.id, figures.child_ids))).one()
    return Census(len(figures.child_ids), int(included or 0), figures.carried_count,
                  int(overdue or 0), int(sent or 0), int(unapproved or 0))


def calculated_over(session: Session, figures: Figures, key: str, limit: int = 10
                    ) -> tuple[int, list[str]]:
    """How many children a calculated figure is computed over (those whose counted
    report of the period gave every input) and the names of the first *limit* of them."""
    definition = figures.definition
    fld = definition.field(key)
    if fld is None or not fld.is_calculated:
        return 0, []
    over = figures.rolled.over
    if over is not None and key in over and limit <= rollup.OVER_LISTED:
        # Counted by the roll-up in its pass over the period's vectors: only the names.
        count, first = over[key]
        if not count:
            return 0, []
        names = dict(session.execute(select(Unit.id, Unit.name)
                                     .where(Unit.id.in_(first[:limit]))).all())
        return count, [names[unit_id] for unit_id in first[:limit]]
    keys = raw_inputs(definition, fld)
    rv = ReportValue
    gave = (select(rv.unit_id)
            .where(rv.assignment_id == figures.assignment.id, rv.period == figures.period,
                   rv.status.in_(_statuses(figures.include_submitted)),
                   rv.field_key.in_(keys), rv.applies, rv.micros.is_not(None),
                   ids_in(session, rv.unit_id, figures.child_ids))
            .group_by(rv.unit_id).having(func.count() == len(keys)))
    # One statement: the first names, each row carrying the count of them all.
    rows = session.execute(select(Unit.name, func.count().over())
                           .where(Unit.id.in_(gave)).order_by(Unit.path).limit(limit)).all()
    if not rows:
        return 0, []
    return int(rows[0][1]), [name for name, _count in rows]


def unit_falls(session: Session, figures: Figures) -> list[Fall]:
    """The counted children whose own cumulative figure fell below their latest approved
    one, found by the roll-up in its own pass over the vectors (:func:`_figures` asks for
    them), with their names: what a large subtree's page shows instead of reading every
    child's report. Falls are corrections and rare, so they are listed in full."""
    found = list(figures.rolled.falls or ())
    if not found:
        return []
    units = {row.id: row for row in session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.path)
        .where(Unit.id.in_(sorted({f.unit_id for f in found}))))}
    found.sort(key=lambda f: (units[f.unit_id].path, f.field_key))
    return [Fall(units[f.unit_id].code, units[f.unit_id].name, f.field_key, f.value,
                 f.previous, f.previous_period) for f in found]


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
