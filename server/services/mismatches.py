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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Integer, and_, func, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, lazyload

from forms.consolidation import MEAN_PLACES
from forms.definition import Aggregation, CumulativeSpan, Definition
from forms.periods import Period
from server.models import Unit
from server.models.reporting import Assignment, Report, ReportValue, Status
from server.services.report_values import SCALE, from_micros
from server.services.rollup import ids_in, unit_paths
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
    """The reporting tree below *unit* in *period* as integers (one query of ids and paths,
    in tree order)."""
    links = Links({}, {unit.id: 0}, {})
    # In path order a unit's subtree follows it: the reporting units above a row are a
    # stack of those whose path it starts with (one string comparison a row, mostly).
    above: list[tuple[str, int]] = []
    for unit_id, path in unit_paths(session, assignment, unit, period):
        links.paths[unit_id] = path
        if unit_id == unit.id:
            continue
        while above and not path.startswith(above[-1][0]):
            above.pop()
        parent = above[-1][1] if above else unit.id
        links.parent[unit_id] = parent
        links.depth[unit_id] = links.depth[parent] + 1
        above.append((path, unit_id))
    return links


def _pairs(session: Session, parent: dict[int, int]) -> Any:
    """(child, office) pairs as a table of one bound parameter, whatever their number."""
    children, offices = list(parent), list(parent.values())
    if session.get_bind().dialect.name == "postgresql":
        return func.unnest(literal(children, type_=ARRAY(Integer)),
                           literal(offices, type_=ARRAY(Integer))
                           ).table_valued("child", "office").render_derived(name="links")
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
         links: Links | None = None, top_totals: Mapping[str, Any] | None = None
         ) -> list[Mismatch]:
    """What differs in *unit*'s subtree, shallowest first and in tree order within a depth.

    *definition* gives the rules of the fields (reports of other versions merge by
    field key); *own_report*: the top unit owes the period, so its own report is
    checked whatever its status; *top_totals*: the roll-up of *unit*'s children
    (:func:`server.services.rollup.rollup`, the same rules), which the top unit's own
    report is then compared with instead of adding its children up again. Only the
    children of offices whose report is checked are added up."""
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
    checked = {office for office, _key in reported}
    if top_totals is not None:
        checked.discard(unit.id)
    pairs = _pairs(session, {child: office for child, office in links.parent.items()
                             if office in checked})

    # Each child's counted figures of the period, added up per office and field ...
    totals: dict[tuple[int, str], list[int]] = {}
    _add(totals, session.execute(
        select(pairs.c.office, rv.field_key, *_aggregates(rv.micros))
        .join(rv, rv.unit_id == pairs.c.child)
        .where(rv.assignment_id == assignment.id, rv.period == period,
               rv.status.in_(statuses), rv.field_key.in_(keys), rv.applies,
               rv.micros.is_not(None))
        .group_by(pairs.c.office, rv.field_key)))
    # ... and (like for like) the cumulative ones of its latest approved report before the
    # period when its report of the period does not count.
    if carry_forward and cumulative:
        now = (select(Report.unit_id).where(Report.assignment_id == assignment.id,
                                            Report.period == period,
                                            Report.status.in_(statuses)))
        latest = (select(Report.unit_id, pairs.c.office, func.max(Report.period).label("period"))
                  .join(pairs, pairs.c.child == Report.unit_id)
                  .where(Report.assignment_id == assignment.id,
                         Report.status == Status.APPROVED, Report.period < period,
                         Report.unit_id.not_in(now))
                  .group_by(Report.unit_id, pairs.c.office).subquery())
        _add(totals, session.execute(
            select(latest.c.office, rv.field_key, *_aggregates(rv.micros))
            .select_from(latest)
            .join(rv, and_(rv.assignment_id == assignment.id, rv.period == latest.c.period,
                           rv.unit_id == latest.c.unit_id))
            .where(rv.applies, rv.micros.is_not(None),
                   _in_span(cumulative, yearly, period, rv.period, rv.field_key))
            .group_by(latest.c.office, rv.field_key)))

    computed: dict[tuple[int, str], Any] = {}
    for (office, key), (total, least, most, count) in totals.items():
        fld = fields[key]
        rule = fld.effective_aggregation
        if rule is Aggregation.MEAN:
            computed[(office, key)] = (Decimal(total) / SCALE / count).quantize(
                MEAN_PLACES, rounding=ROUND_HALF_UP)
        else:
            micros = {Aggregation.SUM: total, Aggregation.MIN: least,
                      Aggregation.MAX: most}[rule]
            computed[(office, key)] = from_micros(fld, micros)
    if top_totals is not None:
        computed.update(((unit.id, key), top_totals[key]) for key in keys
                        if top_totals.get(key) is not None)

    found: list[tuple[int, str, Any, Any, Any]] = []
    for (office, key), value in reported.items():
        expected = computed.get((office, key))
        if expected is None:
            continue
        fld = fields[key]
        mine = from_micros(fld, value)
        if fld.effective_aggregation is Aggregation.MEAN:
            difference = Decimal(mine) - expected
            if abs(difference) < MEAN_TOLERANCE:
                continue
        else:
            difference = mine - expected
            if not difference:
                continue
        found.append((office, key, mine, expected, difference))
    # As many statements whether anything differs or not (the units' tags load on demand).
    units = {u.id: u for u in session.scalars(
        select(Unit).options(lazyload(Unit.tag_rows))
        .where(ids_in(session, Unit.id, sorted({f[0] for f in found}))))}
    order = {key: at for at, key in enumerate(definition_order(definition))}
    # Tree order by the path's ids as numbers: as text, /1/99/ would sort after /1/100/.
    found.sort(key=lambda f: (links.depth[f[0]], path_ids(links.paths.get(f[0], "")),
                              order.get(f[1], 0)))
    return [Mismatch(units[office], key, mine, computed, difference, links.depth[office])
            for office, key, mine, computed, difference in found]


def _aggregates(micros: Any) -> list[Any]:
    return [func.sum(micros), func.min(micros), func.max(micros), func.count(micros)]


def _add(into: dict[tuple[int, str], list[int]], rows: Any) -> None:
    """Merge (office, field, sum, min, max, count) rows into *into*."""
    for office, key, total, least, most, count in rows:
        if not count:
            continue
        here = (int(total), int(least), int(most), int(count))
        were = into.get((int(office), key))
        into[(int(office), key)] = list(here) if were is None else [
            were[0] + here[0], min(were[1], here[1]), max(were[2], here[2]), were[3] + here[3]]


def definition_order(definition: Definition) -> list[str]:
    return [f.key for f in definition.numeric_fields()]
