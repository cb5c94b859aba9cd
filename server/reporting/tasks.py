"""My reports: every report the account's unit owes, most urgent first."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from server.db import db_session
from server.locale import current_locale_code
from server.reporting.blueprint import bp
from server.services import assignments as assignment_service
from server.services import reporting, targets
from server.services.reporting import Task


@dataclass(frozen=True)
class TaskRow:
    """One line of the list, with what it says about the deadline."""

    task: Task
    title: str
    deadline: str  # "due in 3 days", "5 days late", …
    phase: str = ""  # the plan's current phase, when the template names phases

    @property
    def urgent(self) -> bool:
        return self.task.open and 0 <= self.task.days_left <= 7


def deadline_text(task: Task) -> str:
    days = task.days_left
    if not task.open or task.is_event:
        return ""
    if days < 0:
        return ngettext("%(num)s day late", "%(num)s days late", -days)
    if days == 0:
        return _("Due today")
    if days == 1:
        return _("Due tomorrow")
    return ngettext("Due in %(num)s day", "Due in %(num)s days", days)


def task_rows(tasks: list[Task]) -> list[TaskRow]:
    locale = current_locale_code()
    rows = []
    for task in tasks:
        template = (task.report.template_version if task.report
                    else assignment_service.version_for(task.assignment, task.period))
        definition = template.definition
        phase = targets.phase_now(definition, assignment=task.assignment)
        rows.append(TaskRow(task, definition.text("title", locale), deadline_text(task),
                            phase.text("name", locale) if phase else ""))
    return rows


@bp.get("/")
@login_required
def my_reports():
    user = current_user._get_current_object()
    unit = user.unit
    tasks = reporting.tasks_for_unit(db_session(), unit) if unit is not None else []
    rows = task_rows(tasks)
    return render_template(
        "reporting/my_reports.html", unit=unit,
        open_rows=[r for r in rows if r.task.open], done_rows=[r for r in rows if not r.task.open],
        new_events=new_event_links(unit) if unit is not None else [],
    )


@dataclass(frozen=True)
class NewEvent:
    """A "report a new event" button: the assignment, its title and the next event's key."""

    assignment: str
    title: str
    period: str


def new_event_links(unit) -> list[NewEvent]:
    session, locale = db_session(), current_locale_code()
    return [NewEvent(a.key, assignment_service.version_for(a, a.first_period).definition
                     .text("title", locale), reporting.next_event_key(session, a, unit))
            for a in reporting.event_assignments(session, unit)]
