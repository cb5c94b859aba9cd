"""``tianbao workbook``: template workbooks out, filled workbooks in."""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import gettext as _

from server.cli.common import (
    Failure,
    TerminalProgress,
    acting_account,
    group,
    require_migrated,
)
from server.db import db_session, unit_of_work
from server.services import reporting, workbooks
from server.services.errors import NotVisible


@group("workbook")
def workbook_group() -> None:
    """Template workbooks out, filled workbooks in (Excel, WPS, LibreOffice)."""


@workbook_group.command("template")
@click.option("--assignment", "assignment_key", required=True, metavar="KEY",
              help="The assignment's key.")
@click.option("--unit", "unit_code", required=True, metavar="CODE", help="The unit's code.")
@click.option("--period", required=True, metavar="PERIOD", help="The period, e.g. 2024Q3.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the workbook (default: a name from unit, period and form).")
@click.option("--as", "username", metavar="USERNAME",
              help="Act as this account (default: the only administrator).")
def workbook_template(assignment_key: str, unit_code: str, period: str, output: Path | None,
                      username: str | None) -> None:
    """Write the template workbook of one report, filled with its current values."""
    require_migrated()
    user = acting_account(username)
    try:
        view = reporting.load(db_session(), user, assignment_key, unit_code, period)
    except NotVisible:
        raise Failure(_("There is no report of assignment %(assignment)s for unit %(unit)s in "
                        "period %(period)s within the reach of %(username)s.",
                        assignment=assignment_key, unit=unit_code, period=period,
                        username=user.username)) from None
    workbook = workbooks.template_for(db_session(), user, view)
    target = output or Path(workbook.filename)
    target.write_bytes(workbook.data)
    click.echo(_("Workbook written to %(path)s.", path=target))


@workbook_group.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", metavar="USERNAME",
              help="Act as this account (default: the only administrator).")
@click.option("--annotated-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write workbooks with errors, problems marked, into this folder.")
@click.pass_context
def workbook_import(ctx: click.Context, files: tuple[Path, ...], username: str | None,
                    annotated_dir: Path | None) -> None:
    """Save filled workbooks (or .zip bundles) as drafts of the reports they belong to.

    Prints one line per workbook; exits with status 1 when any was not saved.
    """
    require_migrated()
    user = acting_account(username)
    # A bar on the terminal when reading the workbooks takes more than a second.
    with unit_of_work(db_session()) as session, TerminalProgress(0, _("Workbooks")) as progress:
        outcomes = workbooks.import_bulk(session, user,
                                         [(path.name, path.read_bytes()) for path in files],
                                         progress=progress)
    for outcome in outcomes:
        click.echo(f"{outcome.filename}: {workbooks.summary(outcome)}")
        if outcome.result != workbooks.REFUSED:
            for line in workbooks.issue_lines(outcome):
                where = f"{line.sheet}!{line.cell} " if line.cell else ""
                label = f"{line.label}: " if line.label else ""
                click.echo(f"  {where}{label}{line.message}")
        if outcome.annotated is not None and annotated_dir is not None:
            annotated_dir.mkdir(parents=True, exist_ok=True)
            target = annotated_dir / outcome.annotated.filename
            target.write_bytes(outcome.annotated.data)
            click.echo("  " + _("Problems marked in %(path)s.", path=target))
    if any(not outcome.saved for outcome in outcomes):
        ctx.exit(1)
