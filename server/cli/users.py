"""``tianbao users``: accounts."""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import gettext as _

from server.cli.common import (
    Failure,
    group,
    import_file,
    require_migrated,
    user_or_fail,
)
from server.db import db_session, unit_of_work
from server.models import Role, User
from server.services import accounts
from server.services import units as unit_service


@group("users")
def users_group() -> None:
    """Accounts."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True,
              help="submitter, consolidator or admin.")
@click.option("--unit", "unit_code", metavar="CODE", help="The unit (not needed for admin).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Initial password (asked for if omitted).")
def users_create(username: str, role: str, unit_code: str | None, password: str) -> None:
    """Create an account."""
    require_migrated()
    with unit_of_work(db_session()) as session:
        unit = accounts.find_unit(session, unit_code)
        user = accounts.create_user(session, username, password, role, unit)
    click.echo(_("The account %(username)s has been created.", username=user.username))


@users_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def users_import(file: Path) -> None:
    """Import accounts from an .xlsx or .csv file (all or nothing)."""
    report = import_file(accounts.import_users, file)
    click.echo(_("Import finished: %(created)s accounts created, %(updated)s updated.",
                 created=len(report.created), updated=len(report.updated)))


@users_group.command("list")
@click.option("--under", "under_code", metavar="CODE", help="Only accounts of units below CODE.")
def users_list(under_code: str | None) -> None:
    """List accounts: username, role, unit code, status."""
    require_migrated()
    session = db_session()
    under = None
    if under_code:
        under = unit_service.get_unit(session, under_code)
        if under is None:
            raise Failure(_("There is no unit with code “%(code)s”.", code=under_code))
    for user in accounts.list_users(session, under=under):
        status = "" if user.active else "\t" + _("disabled")
        click.echo(f"{user.username}\t{user.role}\t{user.unit.code if user.unit else '-'}{status}")


@users_group.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable an account (it can no longer sign in)."""
    user = _set_active(username, False)
    click.echo(_("The account %(username)s is disabled.", username=user.username))


@users_group.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Enable a disabled account."""
    user = _set_active(username, True)
    click.echo(_("The account %(username)s is enabled.", username=user.username))


def _set_active(username: str, active: bool) -> User:
    require_migrated()
    with unit_of_work(db_session()) as session:
        user = user_or_fail(username)
        accounts.set_active(session, user, active)
    return user
