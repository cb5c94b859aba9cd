"""``tianbao units``: the organisation tree."""

from __future__ import annotations

import functools
from pathlib import Path

import click
from flask_babel import gettext as _

from forms.tags import format_tags
from server.cli.common import Failure, TerminalProgress, group, import_file, require_migrated
from server.db import db_session, unit_of_work
from server.models import Role
from server.scope import visible_units
from server.services import units as unit_service


@group("units")
def units_group() -> None:
    """The organisation tree."""


@units_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def units_import(file: Path) -> None:
    """Import units from an .xlsx or .csv file (all or nothing)."""
    with TerminalProgress(0, _("Units")) as progress:
        report = import_file(functools.partial(unit_service.import_units, progress=progress),
                             file)
    click.echo(_("%(created)s units created, %(updated)s updated, %(moved)s moved.",
                 created=len(report.created), updated=len(report.updated),
                 moved=len(report.moved)))


@units_group.command("move")
@click.argument("code")
@click.option("--to", "parent_code", required=True, metavar="PARENT",
              help="The new parent's code (an empty string: a top unit).")
@click.option("--on", "day", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE",
              help="The day the move takes effect, YYYY-MM-DD (default: today). Periods "
                   "that begin before it keep the old parent.")
def units_move(code: str, parent_code: str, day) -> None:
    """Place unit CODE (and its subtree) under PARENT from a day on."""
    require_migrated()
    session = db_session()
    unit = unit_service.get_unit(session, code)
    if unit is None:
        raise Failure(_("There is no unit with code “%(code)s”.", code=code))
    parent = None
    if parent_code.strip():
        parent = unit_service.get_unit(session, parent_code.strip())
        if parent is None:
            raise Failure(_("There is no unit with code “%(code)s”.", code=parent_code))
    on = day.date() if day is not None else None
    with unit_of_work(session):
        unit_service.move_unit(session, unit, parent, on)
    click.echo(_("%(unit)s is placed under %(parent)s from %(day)s on.", unit=unit.name,
                 parent=parent.name if parent else "—",
                 day=(on or unit_service.today()).isoformat()))


@units_group.command("list")
@click.option("--under", "under_code", metavar="CODE", help="Only this unit and those below.")
def units_list(under_code: str | None) -> None:
    """List units as an indented tree: code, kind, name and, when it has any, tags."""
    require_migrated()
    session = db_session()
    if under_code:
        under = unit_service.get_unit(session, under_code)
        if under is None:
            raise Failure(_("There is no unit with code “%(code)s”.", code=under_code))
        found = unit_service.subtree(session, under)
    else:
        found = visible_units(session, _SystemUser())
    base = found[0].depth if found else 0
    for unit in found:
        flag = "" if unit.active else " " + _("(inactive)")
        tags = f"\t{format_tags(unit.tag_list)}" if unit.tag_list else ""
        click.echo(f"{'  ' * (unit.depth - base)}{unit.code}\t{unit.kind}\t{unit.name}{flag}{tags}")


class _SystemUser:
    """The CLI acts as an administrator: whoever runs it has the server's files anyway."""

    is_authenticated = True
    active = True
    role = Role.ADMIN
    unit = None
