"""``GET /tasks``: the reports a submitter owes, or the reports a consolidator oversees.

A submitter (or any account reporting for its own unit) gets the tasks of
``reporting.tasks_for_unit``, most urgent first. Consolidators and
administrators get every (assignment, period, unit) in their scope that owes a
report, assignment by assignment, newest period first, units in tree order:
one count per assignment and one query per page, whatever the size of the
subtree. Filters: ``assignment``, ``period``, ``status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from flask import request, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from forms.periods import SHANGHAI, Period, days_until
from server.api import schemas, serializers
from server.api.auth import api_user
from server.api.blueprint import bp
from server.api.pagination import paginated
from server.api.problems import ApiError
from server.db import db_session
from server.models import Assignment, Report, Role, Status, Unit, User
from server.models.accounts import utcnow
from server.models.reporting import is_overdue
from server.scope import unit_scope_on
from server.services import assignments as assignment_service
from server.services import reporting, targets
from server.services import review as review_service
from server.services.owing import owing_units, period_day

STATUSES = tuple(str(s) for s in Status)


@dataclass(frozen=True)
class Filters:
    assignment: str = ""
    period: str = ""
    status: str = ""


@dataclass(frozen=True)
class TaskItem:
    assignment: Assignment
    unit: Unit
    period: str
    due: date
    report: Report | None
    now: datetime

    @property
    def status(self) -> Status:
        return Status.of(self.report)

    @property
    def overdue(self) -> bool:
        return is_overdue(self.status, days_until(self.due, self.now))

    def task(self) -> schemas.Task:
        return schemas.Task(
            assignment=self.assignment.key,
            unit=serializers.unit_ref(self.unit),
            period=self.period,
            due=self.due,
            **serializers.due_moved(self.assignment, self.period),
            status=self.status,
            late=bool(self.report and self.report.late) or self.overdue,
            overdue=self.overdue,
            revision=self.report.revision if self.report else 0,
            links=schemas.TaskLinks(report=url_for(
                "api.get_report", assignment=self.assignment.key, unit=self.unit.code,
                period=self.period)),
            phase=serializers.phase(self.phase()),
        )

    def phase(self):
        version = (self.report.template_version if self.report
                   else assignment_service.version_for(self.assignment, self.period))
        return targets.phase_now(version.definition, self.now, assignment=self.assignment)


def _filters() -> Filters:
    filters = Filters(*(request.args.get(name, "").strip()
                        for name in ("assignment", "period", "status")))
    if filters.status and filters.status not in STATUSES:
        raise ApiError(400, "bad_request", _("status must be one of %(choices)s.",
                                              choices=", ".join(STATUSES)))
    if filters.period:
        try:
            key = Period.parse(filters.period).key  # "2024q2" means 2024Q2
        except ValueError:
            raise ApiError(400, "bad_request", _("%(period)s is not a period key such as "
                                                  "2024Q2, 2024H1, 2024-05 or 2024.",
                                                  period=filters.period)) from None
        filters = replace(filters, period=key)
    return filters


@bp.get("/tasks")
def tasks():
    user = api_user()
    filters = _filters()
    session = db_session()
    now = utcnow()
    if user.role in (Role.CONSOLIDATOR, Role.ADMIN):
        def fetch(offset: int, limit: int):
            return overseen(session, user, filters, offset, limit, now)
    else:
        def fetch(offset: int, limit: int):
            owed = own_tasks(session, user, filters, now)
            return owed[offset:offset + limit], len(owed)
    return paginated(schemas.TaskPage, fetch, TaskItem.task)


def own_tasks(session: Session, user: User, filters: Filters, now: datetime) -> list[TaskItem]:
    """What the account's unit owes, most urgent first."""
    if user.unit is None:
        return []
    items = [TaskItem(t.assignment, t.unit, t.period, t.due, t.report, now)
             for t in reporting.tasks_for_unit(session, user.unit, now)]
    return [i for i in items
            if (not filters.assignment or i.assignment.key == filters.assignment)
            and (not filters.period or i.period == filters.period)
            and (not filters.status or i.status == filters.status)]


def overseen(session: Session, user: User, filters: Filters, offset: int, limit: int,
             now: datetime) -> tuple[list[TaskItem], int]:
    """One page of the (assignment, period, unit) reports in the account's scope, and the total."""
    today = now.astimezone(SHANGHAI).date()
    blocks: list[tuple[Assignment, str, int]] = []  # each (assignment, period) and its size
    for assignment in review_service.assignments_for(session, user):
        if filters.assignment and assignment.key != filters.assignment:
            continue
        periods = list(reversed(assignment_service.open_periods(assignment, today)))
        if filters.period:
            periods = [p for p in periods if p == filters.period]
        if periods:
            sizes = _block_sizes(session, user, assignment, periods, filters.status)
            blocks.extend((assignment, p, sizes[p]) for p in periods)
    total = sum(size for *_rest, size in blocks)

    items: list[TaskItem] = []
    start = 0
    for assignment, period, size in blocks:
        if len(items) >= limit:
            break
        end = start + size
        if end > offset and size:
            skip = max(offset - start, 0)
            wanted = limit - len(items)
            due = assignment_service.due_date(assignment, period)
            for unit, report in _block_rows(session, user, assignment, period, filters.status,
                                            skip, wanted):
                items.append(TaskItem(assignment, unit, period, due, report, now))
        start = end
    return items, total


def _units(user: User, assignment: Assignment, period: str):
    """The visible units that owe *period*, with the tree and reporting dates of then (and
    visible with the tree of then: see ``server.scope.unit_scope_on``)."""
    return owing_units(assignment, period).where(
        unit_scope_on(user, period_day(assignment, period)))


def _block_sizes(session: Session, user: User, assignment: Assignment, periods: Sequence[str],
                 status: str) -> dict[str, int]:
    """How many units of each period match *status* (all of them without a status)."""
    sizes = {}
    for period in periods:
        units = _units(user, assignment, period).with_only_columns(Unit.id).order_by(None)
        total = session.scalar(select(func.count()).select_from(units.subquery())) or 0
        if not status:
            sizes[period] = total
            continue
        counted = session.scalar(select(func.count()).where(
            Report.assignment_id == assignment.id, Report.period == period,
            Report.unit_id.in_(units),
            *([Report.status == status] if status != Status.NOT_STARTED else []))) or 0
        sizes[period] = total - counted if status == Status.NOT_STARTED else counted
    return sizes


def _block_rows(session: Session, user: User, assignment: Assignment, period: str,
                status: str, offset: int, limit: int) -> list[tuple[Unit, Report | None]]:
    query = _units(user, assignment, period).outerjoin(Report, and_(
        Report.unit_id == Unit.id, Report.assignment_id == assignment.id,
        Report.period == period)).add_columns(Report)
    if status == Status.NOT_STARTED:
        query = query.where(Report.id.is_(None))
    elif status:
        query = query.where(Report.status == status)
    return [(unit, report) for unit, report in session.execute(query.offset(offset)
                                                                 .limit(limit))]
