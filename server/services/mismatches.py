"""Offices whose reported figure differs from their own children's aggregate, in SQL.

The check of the consolidation page (:func:`server.services.consolidation.figures`),
at every depth of a subtree, set-based over ``report_values``: the reporting tree
is read as ids and paths (one query), each unit linked to its nearest reporting
unit above in Python (integers only), and that link goes back to the database as
one parameter; the children's figures are then aggregated per office and field by
the database, and only the offices' own figures come back to be compared. The same
rules as the consolidation (:mod:`forms.consolidation`):

* an office is checked when its report of the period counts (approved; or submitted
  too with the switch), and the top unit's own report whatever its status;
* a child counts with its report of the period when that one counts; otherwise, in
  the like-for-like view, its cumulative figures within their span are carried
  forward from its latest approved report before the period;
* a field that did not apply to a child is never counted, not even as zero; fields
  added up as "none" or "last unit's" are not checked; a mean is compared to two places.

The number of statements depends on neither the subtree nor the template.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Integer, and_, func, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, lazyload

from forms.consolidation import MEAN_PLACES
from forms.definition import Aggregation, CumulativeSpan, Definition
from forms.periods import Period
from server.models import Unit, UnitPlacement
from server.models.reporting import Assignment, Report, ReportValue, Status
from server.services.owing import owing_units
from server.services.report_values import SCALE, from_micros
from server.services.rollup import ids_in
from server.services.subtree import path_ids

MEAN_TOLERANCE = Decimal("0.01")  # a mean is rounded to two places: closer than that agrees
CHECKED = (Aggregation.SUM, Aggregation.MIN, Aggregation.MAX, Aggregation.MEAN)


@dataclass(frozen=True)
class Mismatch:
    """A unit's reported figure that differs from what its own children's reports add up to."""

    unit: Unit
    field_key: str
    reported: Any
    computed: Any
    difference: Any  # reported - computed
    depth: int  # 0 for the consolidated unit itself, 1 for its children, ...


@dataclass
class Links:
    parent: dict[int, int]  # unit id -> its nearest reporting unit above (or the top)
    depth: dict[int, int]
    paths: dict[int, str]


def tree_links(session: Session, assignment: Assignment, unit: Unit, period: str) -> Links:
    """The reporting tree below *unit* in *period* as integers (one query of ids and paths)."""
    rows = session.execute(owing_units(assignment, period, unit)
                           .with_only_columns(Unit.id, UnitPlacement.path)).all()
    reporting = {unit_id for unit_id, _path in rows}
    links = Links({}, {unit.id: 0}, {})
    for unit_id, path in rows:  # tree order: ancestors first
        links.paths[unit_id] = path
        if unit_id == unit.id:
            continue
        parent = unit.id
        for ancestor in reversed(path_ids(path)[:-1]):
            if ancestor == unit.id:
                break
            if ancestor in reporting:
                parent = ancestor
                break
        links.parent[unit_id] = parent
        links.depth[unit_id] = links.depth.get(parent, 0) + 1
    return links


def _pairs(session: Session, parent: dict[int, int]) -> Any:
    """(child, office) pairs as a table of one bound parameter, whatever their number."""
    children, offices = list(parent), list(parent.values())
    if session.get_bind().dialect.name == "postgresql":
        return func.unnest(literal(children, type_=ARRAY(Integer)),
                           literal(offices, type_=ARRAY(Integer))
                           ).table_valued("child", "office").alias("links")
    listed = func.json_each(json.dumps([[c, o] for c, o in parent.items()])
                            ).table_valued("value").alias("links")
    return (select(func.json_extract(listed.c.value, "$[0]").label("child"),
                   func.json_extract(listed.c.value, "$[1]").label("office"))
            .select_from(listed).subquery("links"))


def _in_span(cumulative: Sequence[str], yearly: Sequence[str], period: str,
             column: Any, key_column: Any) -> Any:
    """SQL: a carried value counts: a cumulative field, within its span from *period*."""
    keep = key_column.in_(list(cumulative))
    if not yearly:
        return keep
    year = Period.parse(period).year
    return and_(keep, or_(key_column.not_in(list(yearly)),
                          and_(column >= f"{year:04d}", column < f"{year + 1:04d}")))


def find(session: Session, assignment: Assignment, unit: Unit, period: str, *,
         definition: Definition, include_submitted: bool = False,
         carry_forward: bool = True, own_report: bool = False,
         links: Links | None = None) -> list[Mismatch]:
    """What differs in *unit*'s subtree, shallowest first and in tree order within a depth.

    *definition* gives the rules of the fields (reports of other versions merge by
    field key); *own_report*: the top unit owes the period, so its own report is
    checked whatever its status."""
    if links is None:
        links = tree_links(session, assignment, unit, period)
    if not links.parent:
        return []
    statuses = [Status.APPROVED, Status.SUBMITTED] if include_submitted else [Status.APPROVED]
    fields = {f.key: f for f in definition.numeric_fields()
              if not f.is_calculated and f.effective_aggregation in CHECKED}
    if not fields:
        return []
    keys = list(fields)
    cumulative = [k for k, f in fields.items() if f.cumulative]
    yearly = [k for k in cumulative if fields[k].cumulative_span is CumulativeSpan.YEAR]
    pairs = _pairs(session, links.parent)
    offices = sorted(set(links.parent.values()))
    rv = ReportValue

    # The offices' own figures: reports that count, and the top unit's whatever its status.
    counted_office = rv.status.in_(statuses)
    if own_report:
        counted_office = or_(counted_office, rv.unit_id == unit.id)
    elif unit.id in offices:
        counted_office = and_(counted_office, rv.unit_id != unit.id)
    reported: dict[tuple[int, str], int] = {}
    for unit_id, key, micros in session.execute(
            select(rv.unit_id, rv.field_key, rv.micros)
            .where(rv.assignment_id == assignment.id, rv.period == period,
                   rv.field_key.in_(keys), rv.micros.is_not(None), counted_office,
                   ids_in(session, rv.unit_id, offices))):
        reported[(unit_id, key)] = int(micros)

    # Each child's counted figures of the period, and (like for like) the cumulative ones
    # of its latest approved report before it when its report of the period does not count.
    current = (select(pairs.c.office, rv.field_key, rv.micros)
               .join(rv, rv.unit_id == pairs.c.child)
               .where(rv.assignment_id == assignment.id, rv.period == period,
                      rv.status.in_(statuses), rv.field_key.in_(keys), rv.applies,
                      rv.micros.is_not(None)))
    sources = [current]
    if carry_forward and cumulative:
        now = (select(Report.unit_id).where(Report.assignment_id == assignment.id,
                                            Report.period == period,
                                            Report.status.in_(statuses)))
        latest = (select(Report.unit_id, func.max(Report.period).label("period"))
                  .join(pairs, pairs.c.child == Report.unit_id)
                  .where(Report.assignment_id == assignment.id,
                         Report.status == Status.APPROVED, Report.period < period,
                         Report.unit_id.not_in(now))
                  .group_by(Report.unit_id).subquery())
        sources.append(
            select(pairs.c.office, rv.field_key, rv.micros)
            .join(rv, rv.unit_id == pairs.c.child)
            .join(latest, and_(latest.c.unit_id == rv.unit_id, latest.c.period == rv.period))
            .where(rv.assignment_id == assignment.id, rv.applies, rv.micros.is_not(None),
                   _in_span(cumulative, yearly, period, rv.period, rv.field_key)))
    parts = sources[0].union_all(*sources[1:]).subquery() if len(sources) > 1 \
        else sources[0].subquery()
    office_col, key_col, micros_col = parts.c
    totals = session.execute(
        select(office_col, key_col, func.sum(micros_col), func.min(micros_col),
               func.max(micros_col), func.count(micros_col))
        .group_by(office_col, key_col)).all()

    found: list[tuple[int, str, Any, Any, Any]] = []
    for office, key, total, least, most, count in totals:
        office = int(office)
        value = reported.get((office, key))
        if value is None or not count:
            continue
        fld = fields[key]
        rule = fld.effective_aggregation
        if rule is Aggregation.MEAN:
            computed: Any = (Decimal(int(total)) / SCALE / int(count)).quantize(
                MEAN_PLACES, rounding=ROUND_HALF_UP)
            mine = from_micros(fld, value)
            difference = Decimal(mine) - computed
            if abs(difference) < MEAN_TOLERANCE:
                continue
            found.append((office, key, mine, computed, difference))
            continue
        micros = {Aggregation.SUM: total, Aggregation.MIN: least, Aggregation.MAX: most}[rule]
        if int(micros) == value:
            continue
        mine, computed = from_micros(fld, value), from_micros(fld, int(micros))
        found.append((office, key, mine, computed, mine - computed))
    # As many statements whether anything differs or not (the units' tags load on demand).
    units = {u.id: u for u in session.scalars(
        select(Unit).options(lazyload(Unit.tag_rows))
        .where(ids_in(session, Unit.id, sorted({f[0] for f in found}))))}
    order = {key: at for at, key in enumerate(definition_order(definition))}
    found.sort(key=lambda f: (links.depth[f[0]], links.paths.get(f[0], ""), order.get(f[1], 0)))
    return [Mismatch(units[office], key, mine, computed, difference, links.depth[office])
            for office, key, mine, computed, difference in found]


def definition_order(definition: Definition) -> list[str]:
    return [f.key for f in definition.numeric_fields()]
