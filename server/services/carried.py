"""What a unit's cumulative figures stand at when its report of a period does not count:
its latest approved report before that period (``forms.consolidation`` carries it
forward within each field's span). One query shape for the figures, the mismatch
check and an office's own validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models.reporting import Assignment, Report, Status

IN_CHUNK = 5000  # ids per IN (...) list


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


def latest_approved_reports(session: Session, assignment: Assignment, unit_ids: Sequence[int],
                            period: str) -> dict[int, Report]:
    """Unit id -> its latest approved report before *period*, for the given units."""
    ids = list(unit_ids)
    found: dict[int, Report] = {}
    for start in range(0, len(ids), IN_CHUNK):
        report_ids = [row.id for row in session.execute(
            latest_approved(assignment, period, ids[start:start + IN_CHUNK]))]
        if report_ids:
            found.update((r.unit_id, r) for r in session.scalars(
                select(Report).where(Report.id.in_(report_ids))))
    return found
