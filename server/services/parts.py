"""The parts behind one consolidated figure, a page at a time, from ``report_values``.

What a person sees on opening a total: which units make it up, with what value,
in tree order, each counted with its report of the period or carried forward
from an earlier one (a cumulative figure in the like-for-like view). Fetched when
asked for, never computed for every number up front; the same rules as the
roll-up (:mod:`server.services.rollup`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, literal, select, union_all
from sqlalchemy.orm import Session

from server.models import Unit, UnitPlacement
from server.models.reporting import Assignment, Report, ReportValue, Status
from server.scope import can_see, unit_scope
from server.services.assignments import assignment_periods, is_event, version_for
from server.services.consolidation import NotConsolidating
from server.services.errors import NotVisible
from server.services.owing import in_force, period_day
from server.services.report_values import from_micros
from server.services.rollup import _counted_statuses, _in_span, child_ids, ids_in

PAGE = 50


@dataclass(frozen=True)
class PartRow:
    unit_code: str
    unit_name: str
    value: Any
    revision: int
    carried_from: str | None  # the period a carried-forward value comes from


@dataclass(frozen=True)
class PartsPage:
    rows: list[PartRow]
    total: int  # parts in all
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        after = self.offset + self.limit
        return after if after < self.total else None


def parts_page(session: Session, assignment: Assignment, unit: Unit, period: str,
               field_key: str, *, include_submitted: bool = False, carry_forward: bool = True,
               offset: int = 0, limit: int | None = None,
               children: list[int] | None = None) -> PartsPage:
    """One page of the parts of *field_key*'s figure of *unit*'s subtree (scope checked by
    the caller); None-valued and not-applying children are not parts."""
    limit = PAGE if limit is None else limit
    definition = version_for(assignment, period).definition
    fld = definition.field(field_key)
    if children is None:
        children = child_ids(session, assignment, unit, period)
    statuses = _counted_statuses(include_submitted)
    rv = ReportValue
    counted = (select(rv.unit_id, rv.micros, rv.report_id, literal(None).label("carried"))
               .where(rv.assignment_id == assignment.id, rv.period == period,
                      rv.status.in_(statuses), rv.field_key == field_key, rv.applies,
                      rv.micros.is_not(None), ids_in(session, rv.unit_id, children)))
    sources = [counted]
    if carry_forward and fld is not None and fld.cumulative:
        now = select(Report.unit_id).where(Report.assignment_id == assignment.id,
                                           Report.period == period,
                                           Report.status.in_(statuses))
        latest = (select(Report.unit_id, func.max(Report.period).label("period"))
                  .where(Report.assignment_id == assignment.id,
                         Report.status == Status.APPROVED, Report.period < period,
                         ids_in(session, Report.unit_id, children),
                         Report.unit_id.not_in(now))
                  .group_by(Report.unit_id).subquery())
        sources.append(
            select(rv.unit_id, rv.micros, rv.report_id, rv.period.label("carried"))
            .join(latest, and_(latest.c.unit_id == rv.unit_id, latest.c.period == rv.period))
            .where(rv.assignment_id == assignment.id, rv.field_key == field_key, rv.applies,
                   rv.micros.is_not(None), _in_span([fld], period, rv.period, rv.field_key)))
    found = union_all(*sources).subquery()
    day = period_day(assignment, period)
    total = session.scalar(select(func.count()).select_from(found)) or 0
    query = (select(Unit.code, Unit.name, found.c.micros, Report.revision, found.c.carried)
             .join(Unit, Unit.id == found.c.unit_id)
             .join(Report, Report.id == found.c.report_id)
             .join(UnitPlacement, and_(UnitPlacement.unit_id == Unit.id,
                                       in_force(UnitPlacement, day)))
             .order_by(UnitPlacement.path).offset(offset).limit(limit))
    rows = [PartRow(code, name, from_micros(fld, micros) if fld else None, revision, carried)
            for code, name, micros, revision, carried in session.execute(query)]
    return PartsPage(rows, total, offset, limit)


def parts_for(session: Session, user: Any, assignment_key: str, unit_code: str, period: str,
              field_key: str, **options: Any) -> tuple[Assignment, Unit, PartsPage]:
    """:func:`parts_page` within *user*'s scope, with the checks of the figures themselves:
    an unknown assignment, unit, period or field, a unit outside the scope, or one whose
    children the account may not see raises NotVisible; NotConsolidating without children."""
    assignment = session.scalar(select(Assignment).where(Assignment.key == assignment_key))
    unit = session.scalar(select(Unit).where(Unit.code == unit_code, unit_scope(user)))
    if assignment is None or unit is None:
        raise NotVisible(what=assignment_key if assignment is None else unit_code)
    if period not in assignment_periods(assignment) or is_event(assignment):
        raise NotVisible(what=period)
    if version_for(assignment, period).definition.field(field_key) is None:
        raise NotVisible(what=field_key)
    children = child_ids(session, assignment, unit, period)
    if not children:
        raise NotConsolidating(unit.code)
    if not can_see(user, session.get(Unit, children[0])):
        raise NotVisible(what=unit.code)
    return assignment, unit, parts_page(session, assignment, unit, period, field_key,
                                        children=children, **options)
