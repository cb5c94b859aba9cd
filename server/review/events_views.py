"""The events that arrived from the units below, newest first, filtered by event date."""

from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from server import event_downloads
from server.auth.access import roles_required
from server.db import db_session
from server.locale import current_locale_code
from server.models import Role
from server.review.blueprint import bp
from server.services import events as event_service


def _day(name: str, problems: list[str]) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(_("“%(value)s” is not a date such as 2024-06-30.", value=text))
        return None


@bp.get("/events")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def events():
    session = db_session()
    user = current_user._get_current_object()
    problems: list[str] = []
    since, until = _day("since", problems), _day("until", problems)
    assignments = event_service.event_assignments_in_scope(session, user)
    chosen = request.args.get("assignment") or None
    rows = event_service.arrived(session, user, assignment=chosen, since=since, until=until,
                                 locale=current_locale_code())
    downloadable = chosen or (assignments[0].key if len(assignments) == 1 else None)
    return render_template("review/events.html", rows=rows, problems=problems,
                           since=since, until=until, chosen=chosen, assignments=assignments,
                           downloadable=downloadable)


def _export(assignment: str):
    problems: list[str] = []
    since, until = _day("since", problems), _day("until", problems)
    return event_service.export(db_session(), current_user._get_current_object(), assignment,
                                since=since, until=until, locale=current_locale_code())


@bp.get("/events/<assignment>/events.xlsx")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def events_workbook(assignment: str):
    return event_downloads.workbook_response(_export(assignment))


@bp.get("/events/<assignment>/events.csv")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def events_csv(assignment: str):
    return event_downloads.csv_response(_export(assignment))
