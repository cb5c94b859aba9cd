"""``tianbao templates``: publish and list template definitions."""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import gettext as _

from forms.loader import DefinitionError
from server.cli.common import Failure, group, require_migrated
from server.db import db_session, unit_of_work
from server.locale import translate_definition_error
from server.services import templates as template_service


@group("templates")
def templates_group() -> None:
    """Publish and list template definitions."""


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
        raise Failure(f"{heading}\n{translate_definition_error(exc)}") from None
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
