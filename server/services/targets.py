"""Targets and phases as the pages, the API and the merged workbook show them.

The judging itself is ``forms.targets``; this module only gathers the series of
figures it is judged on:

- a reporting unit's own reports as handed in (submitted or approved), with
  the report being looked at in its current state; such a unit sees the targets
  set for every unit (``scope: unit``) and, when it is the assignment's
  consolidating unit, the jurisdiction's targets too;
- an office's consolidated figures of every period that has begun, on which
  the jurisdiction's targets are judged (``scope: jurisdiction``): a plan's
  "2 enterprises in the county" is reached by the county, not by each firm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.definition import Definition, Phase, TargetScope, current_phase
from forms.periods import Period
from forms.targets import (
    Progress,
    judged_keys,
    needs_earlier,
    progress_all,
    summary,
    today_in_shanghai,
)
from forms.values import loads_values
from server.models import Unit, User
from server.models.accounts import utcnow
from server.models.reporting import Assignment, Report, sent_in_sql
from server.services import assignments as assignment_service
from server.services import consolidation
from server.services import templates as template_service
from server.services.reporting import ReportView


@dataclass(frozen=True)
class Shown:
    """One target as a page shows it: the judged progress and its sentence."""

    progress: Progress
    text: str

    @property
    def status(self) -> str:
        return str(self.progress.status)


def today(now: datetime | None = None) -> date:
    return today_in_shanghai(now or utcnow())


def own_reports(session: Session, assignment: Assignment,
                unit: Unit) -> dict[str, dict[str, Any]]:
    """The unit's handed-in reports by period, as typed values."""
    versions = {v.id: v for v in template_service.versions(session, assignment.template_key)}
    rows = session.execute(
        select(Report.period, Report.values, Report.template_version_id)
        .where(Report.assignment_id == assignment.id, Report.unit_id == unit.id,
               sent_in_sql(Report.status)))
    return {period: loads_values(versions[version_id].definition, values or {})
            for period, values, version_id in rows}


def consolidated_reports(session: Session, user: User, assignment: Assignment, unit: Unit,
                         day: date, progress: Callable[[int], None] | None = None
                         ) -> dict[str, dict[str, Any]]:
    """The unit's consolidated figures of every period begun by *day*; *progress* is told
    the number of periods consolidated so far."""
    out = {}
    for number, period in enumerate(assignment_service.open_periods(assignment, day), 1):
        values = consolidation.figures(session, user, assignment.key, unit.code, period).values
        if any(v is not None for v in values.values()):
            out[period] = values
        if progress is not None:
            progress(number)
    return out


def judge(definition: Definition, reports: Mapping[str, Mapping[str, Any]], day: date,
          scopes=tuple(TargetScope), *, assignment: Assignment | None = None) -> list[Progress]:
    """The progress of *definition*'s targets on the reports by period key.

    An assignment that starts after the plan's first period is judged from its own
    first day: the windows before it were never asked of its units.
    """
    series = [(Period.parse(key), values) for key, values in reports.items()]
    opens = Period.parse(assignment.first_period).start if assignment is not None else None
    if opens == date.min:  # a one-off report has no first day of its own
        opens = None
    return progress_all(definition, series, day, scopes=scopes, opens=opens)


def shown(definition: Definition, items: list[Progress], locale: str,
          translate=gettext) -> list[Shown]:
    return [Shown(item, summary(item, translate, locale, definition)) for item in items]


def for_report(session: Session, view: ReportView, values: Mapping[str, Any] | None = None,
               *, now: datetime | None = None) -> list[Progress]:
    """A reporting unit's targets, with *values* (default: the view's) for its period."""
    definition = view.definition
    if not definition.target_fields():
        return []
    reports = view.sent_values()  # read with the view, if they were
    if reports is None:
        reports = own_reports(session, view.assignment, view.unit)
    return judge(definition, _with_shown(view, reports, values), today(now),
                 _report_scopes(view), assignment=view.plan)


def _with_shown(view: ReportView, reports: dict[str, Any],
                values: Mapping[str, Any] | None) -> dict[str, Any]:
    """*reports* with the report being looked at, in its current state, when it has any
    value."""
    shown_values = view.values if values is None else values
    if any(v not in (None, "", [], {}) for v in shown_values.values()):
        reports[view.period] = dict(shown_values)
    return reports


def _report_scopes(view: ReportView) -> list[TargetScope]:
    scopes = [TargetScope.UNIT]
    if view.unit.id == view.plan.consolidating_unit_id:
        scopes.append(TargetScope.JURISDICTION)
    return scopes


def report_key(view: ReportView, locale: str, *, now: datetime | None = None) -> tuple | None:
    """What :func:`for_report` and its sentences in *locale* depend on, for a view whose
    handed-in reports were read with it (None otherwise, or without targets): the
    template version, the assignment's first day, the scopes, today, and the judged
    figures of every period. Most saves change none of these (a text, a figure no target
    reads), so an answer may reuse the targets it gave before."""
    definition = view.definition
    if view.sent is None or not definition.target_fields():
        return None
    keys = sorted(judged_keys(definition))
    reports = _with_shown(view, view.sent_values(), None)
    key = (view.template.id, id(definition), view.plan.first_period,
           tuple(_report_scopes(view)), today(now), locale,
           tuple((period, tuple(values.get(k) for k in keys))
                 for period, values in sorted(reports.items())))
    try:
        hash(key)
    except TypeError:  # a value the key cannot hold: judged afresh
        return None
    return key


def for_consolidation(session: Session, figures: consolidation.Figures, *,
                      now: datetime | None = None) -> list[Progress]:
    """An office's targets judged on its consolidated figures up to the figures' period."""
    definition = figures.definition
    if not definition.target_fields():
        return []
    day = today(now)
    reports = {}
    # The earlier periods are consolidated only when a target reads them (a recurring
    # minimum, a stock's first figure, a figure the period does not give yet), and then
    # only their totals: the roll-up's numbers, the children's reports stay unread.
    shown = Period.parse(figures.period)
    keys = judged_keys(definition)
    if any(needs_earlier(definition, fld, shown, figures.totals, day)
           for fld in definition.target_fields()):
        for period in assignment_service.open_periods(figures.assignment, day):
            if period >= figures.period:
                break
            values = consolidation.totals_at(session, figures, period, keys)
            if any(v is not None for v in values.values()):
                reports[period] = values
    reports[figures.period] = figures.totals
    return judge(definition, reports, day, assignment=figures.assignment)


def phase_now(definition: Definition, now: datetime | None = None, *,
              assignment: Assignment | None = None) -> Phase | None:
    """The phase today falls in, of the assignment's phases (else the template's)."""
    return current_phase(phases(definition, assignment), today(now))


def phases(definition: Definition, assignment: Assignment | None = None) -> tuple[Phase, ...]:
    if assignment is None:
        return definition.phases
    return assignment_service.phases_of(assignment, definition)
