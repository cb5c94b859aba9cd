"""The 晾晒通报 of one period below a unit: its wording, its workbook, its PDF.

The figures are the dashboard's (:func:`server.services.dashboard.build` over the one
period); this module only words them, following the data: a plural where there are
several, no 点名 section when nobody is missing, a different sentence when every
unit handed in on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from exports.briefing_sheet import BriefingSheet, RankingRow, write_briefing
from forms.targets import STATUS_LABELS, TargetStatus
from server.labels import period_label
from server.locale import current_locale_code
from server.models import Assignment, Unit, User
from server.services import assignments as assignment_service
from server.services import dashboard as dashboard_service
from server.services.dashboard import (
    LATE,
    MISSING,
    ON_TIME,
    PENDING,
    TARGET_ORDER,
    Dashboard,
    TargetTally,
)


@dataclass
class Briefing:
    board: Dashboard
    period: str
    sheet: BriefingSheet
    filename: str


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.1%}"


def headline(board: Dashboard, period: str) -> list[str]:
    tally = board.by_period[period]
    label = period_label(period)
    if not tally.owed:
        return [_("No unit owed the report of %(period)s.", period=label)]
    sentences = [ngettext(
        "%(num)s unit owed the report of %(period)s.",
        "%(num)s units owed the report of %(period)s.", tally.owed, period=label)]
    if tally[ON_TIME] == tally.owed:
        sentences.append(_("Every unit handed it in on time."))
    else:
        sentences.append(_(
            "On time: %(on_time)s; late: %(late)s; missing: %(missing)s; not yet due: "
            "%(pending)s. Completion %(completion)s, on time %(timeliness)s.",
            on_time=tally[ON_TIME], late=tally[LATE], missing=tally[MISSING],
            pending=tally[PENDING], completion=percent(tally.completion),
            timeliness=percent(tally.timeliness)))
    if tally["returned"]:
        sentences.append(ngettext("%(num)s report was returned for correction.",
                                  "%(num)s reports were returned for correction.",
                                  tally["returned"]))
    return sentences


def ranking_text(board: Dashboard) -> str:
    count = len(board.children)
    if not count:
        return _("No unit below reports under this assignment.")
    full = sum(1 for row in board.children if row.total.owed and
               row.total[ON_TIME] == row.total.owed)
    if full == count:
        return ngettext("The %(num)s unit below handed in on time.",
                        "All %(num)s units below handed in on time.", count)
    return ngettext("%(num)s of %(total)s units below handed in everything on time.",
                    "%(num)s of %(total)s units below handed in everything on time.",
                    full, total=count)


def call_out(board: Dashboard) -> tuple[str, list[str]]:
    """The 点名 heading and sentences; ("", []) when no unit is missing a report."""
    lagging = board.lagging
    if not lagging:
        return "", []
    heading = ngettext("%(num)s unit named for missing reports",
                       "%(num)s units named for missing reports", len(lagging))
    names = _(", ").join(
        ngettext("%(unit)s (%(num)s missing)", "%(unit)s (%(num)s missing)", row.total[MISSING],
                 unit=row.unit.name) for row in lagging)
    sentences = [names]
    late = [row for row in board.children if row.total[LATE]]
    if late:
        sentences.append(_("Handed in late: %(units)s.", units=_(", ").join(
            row.unit.name for row in late)))
    sentences.append(_("Units named are asked to hand in at once and explain the delay."))
    return heading, sentences


def targets_text(tally: TargetTally | None) -> str:
    """A child's targets in words, worst first ("" when they were not judged)."""
    if tally is None:
        return ""
    return _(", ").join(f"{_(STATUS_LABELS[TargetStatus(status)])} {tally[status]}"
                        for status in TARGET_ORDER if tally[status])


def build(session: Session, assignment: Assignment, under: Unit, period: str, *,
          kind: str = "", now: datetime | None = None, user: User | None = None) -> Briefing:
    """The briefing of *period*; with *user*, the children's targets are judged too
    (on the figures *user* may see)."""
    board = dashboard_service.build(session, assignment, under, [period], kind=kind, now=now)
    judged = user is not None and dashboard_service.child_targets(session, user, board)
    definition = assignment_service.version_for(assignment, period).definition
    locale = current_locale_code()
    heading, named = call_out(board)
    rows = [RankingRow(row.rank, row.unit.name, row.total.owed, row.total[ON_TIME],
                       row.total[LATE], row.total[MISSING], row.total[PENDING],
                       row.total.completion, targets_text(row.targets))
            for row in board.children]
    sheet = BriefingSheet(
        title=_("Briefing on the reports of %(title)s, %(period)s",
                title=definition.text("title", locale), period=period_label(period)),
        office=under.name,
        date=format_date(dashboard_service.today(), "long"),
        headline=headline(board, period),
        ranking_heading=_("Ranking of the units below"),
        ranking_text=ranking_text(board),
        headers=[_("Rank"), _("Unit"), _("Owed"), _("On time"), _("Late"), _("Missing"),
                 _("Not yet due"), _("Completion")] + ([_("Targets")] if judged else []),
        rows=rows,
        call_out_heading=heading,
        call_out=named,
        chart_title=_("Reports by unit"),
        seal=_("(seal)"),
        sheet_name=_("Briefing"),
    )
    return Briefing(board, period, sheet, f"briefing-{assignment.key}-{under.code}-{period}")


def workbook(brief: Briefing) -> bytes:
    return write_briefing(brief.sheet)

