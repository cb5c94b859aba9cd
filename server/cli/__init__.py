"""The ``tianbao`` command line. Commands are thin: they call services and print.

Each command group lives in a module of its own (``instance`` for ``init``,
``serve`` and ``db``; ``worker`` for the job runner; ``reminders``; ``units``, ``users``,
``templates``, ``workbook``, ``export``, ``tokens``; ``backup`` for ``backup`` and
``restore``), built with the helpers of :mod:`server.cli.common`; this module gathers
them into ``tianbao``.

Messages are translated into the locale taken from ``TIANBAO_LOCALE`` or the
usual ``LC_ALL``/``LC_MESSAGES``/``LANG`` variables (zh_CN unless they ask for English).

A command that changes data does its work inside ``server.db.unit_of_work``: it
is committed when the work succeeds and rolled back, leaving nothing behind, when
it fails. What it prints about the result comes after the commit.

Exit statuses:

- 0: done.
- 1: refused or failed, with a translated message on standard error. Every
  :class:`server.services.errors.Refusal` a service raises (invalid input, not
  allowed, not visible, locked, invalid state, stale revision) is mapped here, in
  one handler (``common._in_cli_terms``), to its own message; a command may say
  more for the refusals it expects (e.g. which report is out of reach). The same
  status for a file with problems, a database not yet migrated, an unknown
  account or unit, and ``workbook import`` when any workbook was not saved.
- 2: wrong usage (an unknown command or option, a missing argument): click's message.
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from server.app import create_app
from server.cli import (
    backup,
    calendar,
    export,
    instance,
    periods,
    reminders,
    templates,
    tokens,
    units,
    users,
    workbook,
    worker,
)

cli = FlaskGroup(
    create_app=create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    help="Tianbao (填报): reporting, validation and consolidation through an organisation tree.",
)
for command in (instance.init_command, instance.serve_command, instance.db_group,
                units.units_group, users.users_group, templates.templates_group,
                workbook.workbook_group, export.export_group, tokens.tokens_group,
                periods.periods_group,
                backup.backup_command, backup.restore_command, worker.worker_command,
                reminders.reminders_group, calendar.calendar_group):
    cli.add_command(command)


def main() -> None:
    cli.main(prog_name="tianbao")
