"""``tianbao templates``: publish, list and export template definitions."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask_babel import gettext as _

from forms.loader import DefinitionError
from server.cli.common import Failure, group, require_migrated
from server.db import db_session, unit_of_work
from server.services import templates as template_service


@group("templates")
def templates_group() -> None:
    """Publish, list and export template definitions."""


@templates_group.command("load")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def templates_load(files: tuple[Path, ...]) -> None:
    """Publish definition files (default: the built-in catalogue); unchanged ones stay."""
    require_migrated()
    try:
        with unit_of_work(db_session()) as session:
            results = template_service.load_files(session, list(files) or None)
    except DefinitionError as exc:
        heading = _("Nothing was published: the definition has problems.")
        raise Failure(f"{heading}\n{exc}") from None
    messages = {
        "created": _("%(key)s: version %(version)s published (new template)."),
        "updated": _("%(key)s: version %(version)s published (changed)."),
        "unchanged": _("%(key)s: unchanged, version %(version)s stays current."),
    }
    for result in results:
        click.echo(messages[result.status] % {"key": result.key, "version": result.version})


@templates_group.command("list")
def templates_list() -> None:
    """List template keys with their latest version and title."""
    require_migrated()
    rows = template_service.list_latest(db_session())
    if not rows:
        click.echo(_("No templates yet: run “tianbao templates load”."))
    for row, count in rows:
        retired = " " + _("(retired)") if row.retired else ""
        click.echo(f"{row.key}\tv{row.version}\t{count}\t{row.title}{retired}")


@templates_group.command("export")
@click.argument("key")
@click.option("--version", "version", type=click.IntRange(min=1), default=None,
              help="Version number (default: the latest).")
@click.option("--to", "fmt", type=click.Choice(["yaml", "json", "xlsform"]), default="yaml",
              show_default=True, help="yaml and json load back with “templates load”.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output).")
def templates_export(key: str, version: int | None, fmt: str, output: Path | None) -> None:
    """Write one version of a template as YAML, JSON or an XLSForm workbook."""
    require_migrated()
    exported = template_service.export_definition(db_session(), key, version, fmt)
    if output is not None:
        output.write_bytes(exported.data)
        click.echo(_("%(key)s version %(version)s written to %(file)s.") % {
            "key": exported.key, "version": exported.version, "file": output}, err=True)
        return
    if fmt == "xlsform" and _stdout_is_terminal():
        # A workbook's bytes would only garble the terminal.
        raise Failure(_("An XLSForm is a workbook: name a file with -o FILE, or redirect "
                        "the output to one."))
    sys.stdout.flush()
    sys.stdout.buffer.write(exported.data)
    sys.stdout.buffer.flush()


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
