"""``tianbao periods``: closing and reopening a period for a unit's subtree.

The same service as the consolidation page: only a consolidator of the unit (or an
administrator) may, closing needs every report owed approved, reopening needs a
reason, and each closing and reopening is recorded with who and when.
"""

from __future__ import annotations

import click
from flask_babel import gettext as _

from server.cli.common import Failure, acting_account, group, require_migrated
from server.db import db_session, unit_of_work
from server.labels import period_label
from server.models import Unit
from server.models.reporting import Assignment
from server.services import assignments as assignment_service
from server.services import closing
from server.services import units as unit_service
from server.services.errors import NotVisible


@group("periods")
def periods_group() -> None:
    """Close and reopen periods."""


def _subject(assignment_key: str, unit_code: str, period: str) -> tuple[Assignment, Unit]:
    session = db_session()
    try:
        assignment = assignment_service.get_assignment(session, assignment_key)
    except NotVisible:
        raise Failure(_("There is no assignment with the key %(assignment)s.",
                        assignment=assignment_key)) from None
    unit = unit_service.get_unit(session, unit_code)
    if unit is None:
        raise Failure(_("There is no unit with code “%(code)s”.", code=unit_code))
    if period not in assignment_service.assignment_periods(assignment):
        raise Failure(_("%(period)s is not a period of %(assignment)s.", period=period,
                        assignment=assignment.key))
    return assignment, unit


_ARGUMENTS = (
    click.argument("assignment_key", metavar="ASSIGNMENT"),
    click.argument("unit_code", metavar="UNIT"),
    click.argument("period", metavar="PERIOD"),
    click.option("--as", "username", metavar="USERNAME",
                 help="Act as this account (default: the only administrator)."),
)


def _with_arguments(function):
    for decorator in reversed(_ARGUMENTS):
        function = decorator(function)
    return function


@periods_group.command("close")
@_with_arguments
def periods_close(assignment_key: str, unit_code: str, period: str,
                  username: str | None) -> None:
    """Close PERIOD of ASSIGNMENT for UNIT's subtree (every report owed must be approved)."""
    require_migrated()
    user = acting_account(username)
    assignment, unit = _subject(assignment_key, unit_code, period)
    with unit_of_work(db_session()) as session:
        closing.close(session, user, assignment, unit, period)
    click.echo(_("%(period)s is closed for %(unit)s: its reports can no longer change.",
                 period=period_label(period), unit=unit.name))


@periods_group.command("reopen")
@_with_arguments
@click.option("--reason", required=True, help="Why the period is reopened (recorded).")
def periods_reopen(assignment_key: str, unit_code: str, period: str, username: str | None,
                   reason: str) -> None:
    """Reopen PERIOD of ASSIGNMENT for UNIT, with a reason."""
    require_migrated()
    user = acting_account(username)
    assignment, unit = _subject(assignment_key, unit_code, period)
    with unit_of_work(db_session()) as session:
        closing.reopen(session, user, assignment, unit, period, reason)
    click.echo(_("%(period)s is open again for %(unit)s.", period=period_label(period),
                 unit=unit.name))
