"""``tianbao export``: merged workbooks and flat data of a consolidation, from the shell."""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import gettext as _

from server.cli.common import (
    Failure,
    TerminalProgress,
    acting_account,
    cli_locale,
    group,
    require_migrated,
)
from server.db import db_session
from server.services import assignments as assignment_service
from server.services import consolidation, merged
from server.services.errors import NotVisible


@group("export")
def export_group() -> None:
    """Export consolidated data."""


def _known_assignment(key: str) -> None:
    try:
        assignment_service.get_assignment(db_session(), key)
    except NotVisible:
        raise Failure(_("There is no assignment with the key %(assignment)s.",
                        assignment=key)) from None


def _written(target: Path, write) -> None:
    """Run *write* on a file beside *target*, renamed to it once complete.

    A failure leaves neither a half-written file nor a damaged earlier one.
    """
    partial = target.with_name(f".{target.name}.part")
    try:
        write(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


@export_group.command("merged")
@click.option("--assignment", "assignment_key", required=True, metavar="KEY",
              help="The assignment's key.")
@click.option("--unit", "unit_code", required=True, metavar="CODE",
              help="The consolidating unit's code.")
@click.option("--period", required=True, metavar="PERIOD", help="The period, e.g. 2024Q3.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the file (default: a name from assignment, unit and period).")
@click.option("--csv", "as_csv", is_flag=True,
              help="Write the flat data (one row per unit and field) as CSV instead.")
@click.option("--include-submitted", is_flag=True,
              help="Count submitted reports in the totals too, not only approved ones.")
@click.option("--as", "username", metavar="USERNAME",
              help="Act as this account (default: the only administrator).")
def export_merged(assignment_key: str, unit_code: str, period: str, output: Path | None,
                  as_csv: bool, include_submitted: bool, username: str | None) -> None:
    """Write the merged workbook of a unit's subtree for one period (or its flat data)."""
    require_migrated()
    user = acting_account(username)
    _known_assignment(assignment_key)
    session = db_session()
    try:
        figures = consolidation.figures(session, user, assignment_key, unit_code, period,
                                        include_submitted=include_submitted)
    except consolidation.NotConsolidating:
        raise Failure(_("Unit %(unit)s has no reporting units below it under assignment "
                        "%(assignment)s: there is nothing to merge.",
                        unit=unit_code, assignment=assignment_key)) from None
    except NotVisible:
        raise Failure(_("There is no consolidation of assignment %(assignment)s for unit "
                        "%(unit)s in period %(period)s within the reach of %(username)s.",
                        assignment=assignment_key, unit=unit_code, period=period,
                        username=user.username)) from None
    locale = cli_locale()
    progress = TerminalProgress(merged.subtree_size(session, figures), _("Units"))
    if as_csv:
        target = output or Path(merged.csv_filename(figures, locale))
        rows = 0

        def write_csv(path: Path) -> None:
            nonlocal rows
            with path.open("wb") as file, progress:
                rows = merged.write_flat_csv(session, figures, file, locale=locale,
                                             translate=_, progress=progress)

        _written(target, write_csv)
        click.echo(_("Flat data written to %(path)s: %(rows)s rows.", path=target, rows=rows))
        return
    target = output or Path(merged.merged_filename(figures, locale))
    result = None

    def write_workbook(path: Path) -> None:
        nonlocal result
        with progress:
            result = merged.write_merged(session, figures, str(path), locale=locale,
                                         translate=_, progress=progress)

    _written(target, write_workbook)
    click.echo(_("Merged workbook written to %(path)s: %(units)s units, %(rows)s data rows.",
                 path=target, units=result.units, rows=result.data_rows))
    if include_submitted:
        click.echo(_("Submitted reports not yet approved are counted in the totals."))


@export_group.command("series")
@click.option("--assignment", "assignment_key", required=True, metavar="KEY",
              help="The assignment's key.")
@click.option("--unit", "unit_code", required=True, metavar="CODE", help="The unit's code.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the workbook (default: a name from assignment and unit).")
@click.option("--as", "username", metavar="USERNAME",
              help="Act as this account (default: the only administrator).")
def export_series(assignment_key: str, unit_code: str, output: Path | None,
                  username: str | None) -> None:
    """Write one unit's cumulative figures across every period of the plan, with increments."""
    require_migrated()
    user = acting_account(username)
    _known_assignment(assignment_key)
    session = db_session()
    locale = cli_locale()
    try:
        target = output or Path(merged.series_filename(session, user, assignment_key,
                                                       unit_code, locale))
        _written(target, lambda path: merged.write_series(
            session, user, assignment_key, unit_code, str(path), locale=locale, translate=_))
    except NotVisible:
        raise Failure(_("Unit %(unit)s neither reports nor consolidates under assignment "
                        "%(assignment)s within the reach of %(username)s.",
                        unit=unit_code, assignment=assignment_key,
                        username=user.username)) from None
    click.echo(_("Workbook written to %(path)s.", path=target))
