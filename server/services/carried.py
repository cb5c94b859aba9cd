"""What a unit's cumulative figures stand at when its report of a period does not count:
its latest approved report before that period (``forms.consolidation`` carries it
forward within each field's span). One query shape for the figures, the mismatch
check and an office's own validation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Select, String, and_, bindparam, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from server.models import Unit, UnitPlacement
from server.models.reporting import Assignment, Report, Status
from server.services.owing import owing_parameters, owing_statement
from server.services.plans import AssignmentPlan
from server.services.subtree import link


def latest_approved(assignment: Assignment, period: str, unit_ids: Any):
    """Per unit of *unit_ids* (ids, or a SELECT of them), its latest approved report
    before *period*: plain rows (id, unit id, period, values, template version id)."""
    latest = (
        select(Report.unit_id, func.max(Report.period).label("period"))
        .where(Report.assignment_id == assignment.id, Report.status == Status.APPROVED,
               Report.period < period, Report.unit_id.in_(unit_ids))
        .group_by(Report.unit_id)
        .subquery()
    )
    return (
        select(Report.id, Report.unit_id, Report.period, Report.values,
               Report.template_version_id)
        .join(latest, (latest.c.unit_id == Report.unit_id) & (latest.c.period == Report.period))
        .where(Report.assignment_id == assignment.id)
    )


def _with_child_reports(owing: Select) -> Select:
    """The units below (``child_of``) with the report a consolidation of ``period``
    counts of each: the approved one of the period, else the latest approved earlier."""
    earlier = aliased(Report)
    assignment_id = bindparam("child_assignment", type_=Integer)
    period = bindparam("child_period", type_=String)
    latest = (
        select(func.max(earlier.period))
        .where(earlier.unit_id == Unit.id, earlier.assignment_id == assignment_id,
               earlier.status == Status.APPROVED, earlier.period <= period)
        .correlate(Unit)
        .scalar_subquery()
    )
    return (
        owing.where(Unit.id != bindparam("child_of", type_=Integer))
        .outerjoin(Report, and_(Report.unit_id == Unit.id,
                                Report.assignment_id == assignment_id,
                                Report.period == latest))
        .add_columns(UnitPlacement.path, Report)
        .options(joinedload(Unit.tag_rows))  # a child's part depends on its tags
    )


def counted_child_reports(session: Session, assignment: Assignment | AssignmentPlan,
                          unit: Unit,
                          period: str) -> list[Report] | None:
    """What a consolidation of *period* counts of *unit*'s children, in tree order (one
    query): each child's approved report of the period, else its latest approved earlier
    one (a report of another period, whose cumulative figures are carried forward).

    None when no unit below reports (the unit consolidates nothing). The statement is
    built once per shape of the assignment (every save of a report runs it).
    """
    shape, values = owing_parameters(assignment, period, unit, session)
    query = owing_statement(shape, _with_child_reports)
    values.update(child_assignment=assignment.id, child_period=period, child_of=unit.id)
    rows = session.execute(query, values).unique().all()
    if not rows:
        return None
    tree = link(unit, [(below, path) for below, path, _report in rows])
    found = {below.id: report for below, _path, report in rows if report is not None}
    return [found[c.id] for c in tree.children_of(unit) if c.id in found]
