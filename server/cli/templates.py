"""``tianbao templates``: publish, list and export template definitions, import drafts."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import yaml
from flask_babel import gettext as _

from exports.source_import import import_untrusted
from forms.importers import KINDS, MESSAGES, ImportRefused, ImportResult
from forms.loader import DefinitionError, parse_definition
from forms.periods import Schedule
from server.cli.common import Failure, group, require_migrated
from server.db import db_session, unit_of_work
from server.labels import frequency_label, period_label
from server.locale import format_date, source_place, translate_definition_error, translate_issue
from server.services import templates as template_service
from server.services.errors import InvalidInput


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


@templates_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from", "kind", type=click.Choice(sorted(KINDS)),
              help="What the file is (default: told by its extension).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the draft here instead of to standard output.")
def templates_import(file: Path, kind: str | None, output: Path | None) -> None:
    """Make a draft definition (YAML) from a plan document or its attached table."""
    try:
        result = import_untrusted(file.read_bytes(), file.name, kind)
    except ImportRefused as refused:
        raise InvalidInput(MESSAGES.get(refused.code, refused.code), **refused.params) from None
    text = yaml.safe_dump(result.data, allow_unicode=True, sort_keys=False, width=100)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(_("Draft written to %(path)s.", path=str(output)), err=True)
    for line in _import_summary(result, text, file.name):
        click.echo(line, err=True)


def _import_summary(result: ImportResult, text: str, name: str) -> list[str]:
    """What the draft holds, its schedule, what was left out and what to finish."""
    sections = result.data.get("sections") or []
    items = [i for s in sections for i in s.get("items", ())]
    fields = [f for i in items for f in i.get("fields", ())]
    lines = [_("Sections: %(sections)s, items: %(items)s, indicator fields: %(fields)s.",
               sections=len(sections), items=len(items), fields=len(fields))]
    lines.append(_schedule_line(result.data.get("schedule")))
    if result.unplaced:
        lines.append(_("Not placed (%(count)s):", count=len(result.unplaced)))
        for piece in result.unplaced:
            message = translate_issue(MESSAGES.get(piece.code, piece.code), piece.params)
            where = source_place(piece.source)
            lines.append(f"  {where}: {message}")
    try:
        parse_definition(text, name)
    except DefinitionError as exc:
        lines.append(_("The draft is not yet a complete template (%(count)s problems); "
                       "finish it in the designer:", count=len(exc.problems)))
        lines.extend(f"  {line}" for line in translate_definition_error(exc).splitlines())
    return lines


def _schedule_line(data: dict | None) -> str:
    if not data:
        return _("Schedule: none found.")
    try:
        schedule = Schedule.model_validate(data)
    except ValueError:
        return _("Schedule: %(frequency)s, periods not found.",
                 frequency=frequency_label(data.get("frequency", "")))
    periods = schedule.periods()
    return _("Schedule: %(frequency)s, %(first)s to %(last)s, %(count)s periods; "
             "the first report is due %(due)s.",
             frequency=frequency_label(schedule.frequency), first=period_label(schedule.first),
             last=period_label(schedule.last), count=len(periods),
             due=format_date(schedule.due_date(periods[0])))


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
