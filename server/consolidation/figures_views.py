"""The consolidation pages: what an account consolidates, and one unit's figures for a period.

Consolidators and administrators only (others get 403); assignments, units and
periods outside the account's scope answer 404, like everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user

from forms.periods import SHANGHAI, Period
from server.auth.access import roles_required
from server.consolidation.blueprint import bp
from server.consolidation.figure_lines import large_field_line, section_lines
from server.consolidation.forms import CloseForm, ReopenForm
from server.db import db_session
from server.locale import current_locale_code
from server.models import Assignment, Role, Status, Unit
from server.models.accounts import utcnow
from server.navigation import Page
from server.pagination import PER_PAGE, paginate
from server.services import assignments as assignment_service
from server.services import closing, consolidation, events, parts, reporting, targets
from server.services import review as review_service

PERIODS_LISTED = 4  # newest begun periods linked per unit on the overview
SWITCH = "submitted"  # the query parameter that includes submitted, not yet approved reports
STRICT = "strict"  # the query parameter of the strict view: nothing carried forward
MISMATCH_PAGE = "mismatches"  # the query parameter of the page of mismatches


@dataclass(frozen=True)
class Overseen:
    """One assignment on the overview: its consolidating units and latest begun periods."""

    assignment: Assignment
    title: str
    units: list[Unit]
    periods: list[str]  # newest first


def _user():
    return current_user._get_current_object()


def _today():
    return utcnow().astimezone(SHANGHAI).date()


def include_submitted() -> bool:
    return request.args.get(SWITCH) == "1"


def strict() -> bool:
    return request.args.get(STRICT) == "1"


def switch_args(submitted: bool | None = None, strict_view: bool | None = None
                ) -> dict[str, str]:
    """The query arguments of the two switches (by default as on this request)."""
    submitted = include_submitted() if submitted is None else submitted
    strict_view = strict() if strict_view is None else strict_view
    return {**({SWITCH: "1"} if submitted else {}), **({STRICT: "1"} if strict_view else {})}


def _title(assignment: Assignment, period: str | None = None) -> str:
    template = assignment_service.version_for(assignment, period or assignment.first_period)
    return template.definition.text("title", current_locale_code())


@bp.get("/")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def index():
    """The assignments the account oversees, each with the units it consolidates."""
    session, user, today = db_session(), _user(), _today()
    overseen = []
    for assignment in review_service.assignments_for(session, user):
        if assignment_service.is_event(assignment):
            continue  # events are listed as they arrive (review.events), not per period
        units = consolidation.consolidating_units(session, user, assignment)
        if units:
            periods = list(reversed(assignment_service.open_periods(assignment, today)))
            overseen.append(Overseen(assignment, _title(assignment), units,
                                     periods[:PERIODS_LISTED]))
    return render_template("consolidation/index.html", overseen=overseen)


@bp.get("/<assignment>/<unit>/")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def index_pick(assignment: str, unit: str):
    """The period picker's target (a GET form, so it works without JavaScript)."""
    period = request.args.get("period", "")
    if not period:
        return redirect(url_for("consolidation.index"))
    return redirect(url_for("consolidation.index_figures", assignment=assignment, unit=unit,
                            period=period, **switch_args()))


def event_export(endpoint: str, assignment: str, unit: str, period: str):
    """For an event assignment, the redirect to its events export for *period*'s days
    (events are not consolidated per period); None for any other assignment."""
    window = events.period_window(db_session(), current_user._get_current_object(),
                                  assignment, unit, period)  # NotVisible: 404
    if window is None:
        return None
    return redirect(url_for(endpoint, assignment=window.assignment, **window_args(window)))


def window_args(window: events.EventWindow) -> dict[str, str]:
    """The query string of the events page and exports for *window*."""
    return {name: day.isoformat() for name, day in (("since", window.since),
                                                     ("until", window.until)) if day}


def figures_or_404(assignment: str, unit: str, period: str):
    """The figures; NotVisible (unknown, out of scope, nothing below) is answered 404."""
    return consolidation.figures(db_session(), _user(), assignment, unit, period,
                                 include_submitted=include_submitted(),
                                 carry_forward=not strict())


@bp.get("/<assignment>/<unit>/<period>")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def index_figures(assignment: str, unit: str, period: str, reopen_form=None):
    """A unit's consolidated figures: totals with their parts, who is missing, mismatches
    (a page of them), and whether the period is closed (with the forms to close or reopen
    it). An event assignment's period leads to its events, listed for the period's days."""
    moved = event_export("review.events", assignment, unit, period)
    if moved is not None:
        return moved
    figures = figures_or_404(assignment, unit, period)
    found = figures.assignment
    today = _today()
    periods = assignment_service.assignment_periods(found)
    start = Period.parse(figures.period).start
    switch = include_submitted()
    session = db_session()
    mismatches = figures.mismatches
    mismatch_page = Page.from_request(len(mismatches), PER_PAGE, arg=MISMATCH_PAGE)
    large = len(figures.child_ids) > PER_PAGE
    if large:
        # More children than a page: totals and who is in them from the roll-up, the
        # parts of a total fetched when it is opened, one page of the children listed
        # (their texts, tables and tallies with them).
        page_ids, units_page = paginate(session, consolidation.children_query(session, figures))
        rows = consolidation.child_rows(session, figures, page_ids)
        census = consolidation.census(session, figures)
        sections = []
        if start <= today:
            detail = figures.detail(page_ids)
            fell = consolidation.unit_falls(session, figures)
            sections = section_lines(
                figures, lambda fld: large_field_line(session, figures, fld, detail, fell))
    else:
        rows, units_page = [], None
        census = consolidation.census_of(figures)
        sections = section_lines(figures) if start <= today else []
    return render_template(
        "consolidation/figures.html",
        figures=figures, definition=figures.definition, switch=switch,
        title=_title(found, figures.period), begun=start <= today, period_start=start,
        sections=sections, large=large, census=census, rows=rows, units_page=units_page,
        mismatches=mismatches[mismatch_page.offset:mismatch_page.offset + PER_PAGE],
        mismatch_page=mismatch_page, mismatch_arg=MISMATCH_PAGE,
        unapproved=census.unapproved,
        periods=[(p, Period.parse(p).start <= today) for p in periods],
        neighbours=_neighbours(periods, figures.period),
        switch_url=_figures_url(figures, switch_args(submitted=not switch)),
        strict=strict(), strict_url=_figures_url(figures, switch_args(strict_view=not strict())),
        switch_args=switch_args(),
        overall=figures.overall.sentence(ngettext, carrying=figures.carry_forward,
                                         locale=current_locale_code()),
        own_args=_own_args(figures),
        Status=Status, status_label=reporting.status_label,
        field_label=lambda key: _field_label(figures, key),
        targets=(targets.shown(figures.definition,
                               targets.for_consolidation(session, figures),
                               current_locale_code())
                 if start <= today else []),
        phase=targets.phase_now(figures.definition, assignment=figures.assignment),
        phases=targets.phases(figures.definition, figures.assignment),
        closing=_closing_context(figures, reopen_form or ReopenForm(), CloseForm()),
        parts_inline=parts.PAGE,
    )


@bp.get("/<assignment>/<unit>/<period>/parts/<field>")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def figure_parts(assignment: str, unit: str, period: str, field: str):
    """The units behind one total, a page at a time: a fragment for the figures page
    (``?fragment=1``), or a page of its own without JavaScript."""
    offset = request.args.get("offset", "0")
    offset = int(offset) if offset.isdigit() else 0
    found, where, page = parts.parts_for(db_session(), _user(), assignment, unit, period,
                                         field, include_submitted=include_submitted(),
                                         carry_forward=not strict(), offset=offset)
    fld = assignment_service.version_for(found, period).definition.field(field)
    fragment = request.args.get("fragment") == "1"
    more = None
    if page.next_offset is not None:
        more = url_for("consolidation.figure_parts", assignment=assignment, unit=unit,
                       period=period, field=field, offset=page.next_offset,
                       **({"fragment": "1"} if fragment else {}), **switch_args())
    return render_template(
        "consolidation/_parts.html" if fragment else "consolidation/parts.html",
        page=page, field=fld, unit=where, assignment_key=assignment,
        title=_title(found, period), period=period, more=more,
        label=fld.text("label", current_locale_code()),
        back=url_for("consolidation.index_figures", assignment=assignment, unit=unit,
                     period=period, **switch_args()))


def _closing_context(figures, reopen_form, close_form) -> dict:
    """What the page says about closing the period, and the forms the account may use."""
    session, user = db_session(), _user()
    may = closing.may_close(user, figures.unit)
    own = figures.closure is not None and figures.closure.unit_id == figures.unit.id
    return {
        "closure": figures.closure,
        "closed_at": closing.local_time(figures.closure.closed_at) if figures.closure else "",
        "own": own,
        "readiness": closing.readiness(session, figures.assignment, figures.unit,
                                       figures.period),
        "history": closing.history(session, figures.assignment, figures.unit, figures.period),
        "local_time": closing.local_time,
        "may_close": may and figures.closure is None,
        "may_reopen": may and own,
        "close_form": close_form,
        "reopen_form": reopen_form,
    }


def _neighbours(periods: list[str], period: str) -> tuple[str | None, str | None]:
    at = periods.index(period)
    return (periods[at - 1] if at > 0 else None,
            periods[at + 1] if at + 1 < len(periods) else None)


def _figures_url(figures, args: dict[str, str]) -> str:
    return url_for("consolidation.index_figures", assignment=figures.assignment.key,
                   unit=figures.unit.code, period=figures.period, **args)


def _own_args(figures) -> dict[str, str] | None:
    """The URL arguments of the office's own report, when the unit reports itself."""
    if figures.own is None:
        return None
    return {"assignment": figures.assignment.key, "unit": figures.unit.code,
            "period": figures.period}


def _field_label(figures, key: str) -> str:
    fld = figures.definition.field(key)
    return fld.text("label", current_locale_code()) if fld else key
