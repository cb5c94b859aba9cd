"""``tianbao calendar``: the days off and 调休 working days administrators add."""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import gettext as _

from server.cli.common import group, require_migrated
from server.db import db_session, unit_of_work
from server.services import calendar_imports, workdays


@group("calendar")
def calendar_group() -> None:
    """Holidays and 调休 working days beyond the chinese-calendar package."""


@calendar_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def calendar_import(file: Path) -> None:
    """Add days from a CSV file: date,kind,reason[,reason in English] per row, kind being
    holiday (休) or workday (班); all or nothing."""
    require_migrated()
    with unit_of_work(db_session()) as session:
        result = calendar_imports.import_file(session, file.read_bytes())
    click.echo(_("%(count)s days saved in the calendar.", count=result.added))


@calendar_group.command("list")
@click.option("--year", type=click.IntRange(1000, 9999), help="Only the days of this year.")
def calendar_list(year: int | None) -> None:
    """The days administrators added: date, holiday or workday, reason (tab-separated)."""
    require_migrated()
    for entry in workdays.entries(db_session(), year):
        kind = "workday" if entry.workday else "holiday"
        click.echo(f"{entry.day.isoformat()}\t{kind}\t{entry.reason}\t{entry.reason_en}".rstrip())
