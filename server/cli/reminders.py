"""``tianbao reminders run``: write today's reminders to the outbox (for cron, or by hand).

The worker runs the same every hour; running it again the same day adds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask_babel import gettext as _

from server.cli.common import Failure, group, require_migrated
from server.db import db_session, unit_of_work
from server.services import reminders


@group("reminders")
def reminders_group() -> None:
    """Reminders of reports due and overdue."""


@reminders_group.command("run")
@click.option("--now", "now_text", default="", metavar="TIME",
              help="Act as if it were this time (ISO 8601, e.g. 2026-07-02T09:00+08:00; "
                   "without a zone: UTC). Default: now.")
def reminders_run(now_text: str) -> None:
    """Write the reminders and escalations due now to the outbox (idempotent)."""
    require_migrated()
    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise Failure(_("“%(value)s” is not a time such as 2026-07-02T09:00+08:00.",
                            value=now_text)) from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    with unit_of_work(db_session()) as session:
        summary = reminders.run(session, now, checkpoint=session.commit)
    click.echo(_("Reminders: %(reminders)s messages to %(units)s units, %(escalations)s "
                 "escalations, %(group)s group messages.", reminders=summary.reminders,
                 units=len(summary.units), escalations=summary.escalations,
                 group=summary.group))
