"""Reminders over the API: the chase list with 一键催报, and an assignment's reminder settings.

``/consolidations/{assignment}/{unit}/{period}/chase`` is the chase list of the web
page (consolidators and administrators, the unit within their scope): GET lists the
units still to report with the text for a WeChat group; POST reminds the chosen
units now (``{"units": [codes]}``, all of them when left out), at most once per
unit and period in the configured hours (429 ``too_soon`` otherwise), recorded
with who and when. ``/assignments/{assignment}/reminders`` reads and changes an
assignment's reminder settings (administrators).
"""

from __future__ import annotations

from flask_babel import gettext as _
from pydantic import ValidationError

from server.api import schemas, serializers
from server.api.auth import check_role
from server.api.blueprint import bp
from server.api.problems import ApiError
from server.api.reports import body_object
from server.db import db_session
from server.locale import current_locale_code
from server.models import Role
from server.services import assignments as assignment_service
from server.services import reminders
from server.services import review as review_service
from server.services.errors import NotVisible

CHASE = "/consolidations/<assignment>/<unit>/<period>/chase"


def _chase(assignment_key: str, unit_code: str, period: str):
    user = check_role(Role.CONSOLIDATOR, Role.ADMIN)
    session = db_session()
    assignment = review_service.assignment_for(session, user, assignment_key)
    under = review_service.reviewed_unit(session, user, assignment, unit_code)
    if under is None or under.code != unit_code:
        raise NotVisible(what=unit_code)
    entries = review_service.chase_list(session, user, assignment, under, period)
    return user, assignment, under, entries


@bp.get(CHASE)
def get_chase_list(assignment: str, unit: str, period: str):
    _user, found, under, entries = _chase(assignment, unit, period)
    units = [entry.unit for entry in entries]
    last = reminders.last_chased(db_session(), found, period, [u.id for u in units])
    return schemas.answer(schemas.ChaseList(
        assignment=found.key, unit=serializers.unit_ref(under), period=period,
        due=assignment_service.due_date(found, period),
        units=[schemas.ChaseUnit(unit=serializers.unit_ref(e.unit), parent=e.parent_name,
                                 status=e.status, days_overdue=e.days_overdue,
                                 contact_name=e.unit.contact_name,
                                 contact_phone=e.unit.contact_phone,
                                 last_reminded_at=last.get(e.unit.id))
               for e in entries],
        text=reminders.copy_text(found, period, units, locale=current_locale_code())
        if units else "",
        interval_hours=int(reminders.chase_interval().total_seconds() // 3600)))


@bp.post(CHASE)
def post_chase(assignment: str, unit: str, period: str):
    user, found, under, entries = _chase(assignment, unit, period)
    try:
        body = schemas.ChaseRequest.model_validate(body_object(optional=True))
    except ValidationError:
        raise ApiError(400, "bad_request", _("“%(name)s” must be a list of unit codes.",
                                              name="units")) from None
    outcome = reminders.chase_now(db_session(), user, found, under, period,
                                  [e.unit for e in entries], body.units)
    return schemas.answer(schemas.ChaseResult(
        reminded=[serializers.unit_ref(u) for u in outcome.sent], messages=outcome.messages))


def _settings(assignment) -> schemas.ReminderSettings:
    return schemas.ReminderSettings(**reminders.policy_of(assignment).as_dict(),
                                    defaults=not assignment.reminder_policy)


@bp.get("/assignments/<assignment>/reminders")
def get_reminder_settings(assignment: str):
    check_role(Role.ADMIN)
    return schemas.answer(_settings(assignment_service.get_assignment(db_session(),
                                                                      assignment)))


@bp.put("/assignments/<assignment>/reminders")
def put_reminder_settings(assignment: str):
    check_role(Role.ADMIN)
    found = assignment_service.get_assignment(db_session(), assignment)
    changes = body_object()
    reset = changes.pop("defaults", None) is True
    # Each setting checked (InvalidInput: 422); a change is in the audit log.
    reminders.change_policy(db_session(), found, changes, reset=reset)
    db_session().flush()
    return schemas.answer(_settings(found))
