"""The notification tasks' work: deliver what is due from the outbox, write reminders."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from server.channels.settings import senders
from server.db import db_session, unit_of_work
from server.services import outbox, reminders

log = logging.getLogger(__name__)


def policy_from_config(config) -> outbox.Policy:
    return outbox.Policy(
        max_attempts=max(int(config.get("NOTIFY_MAX_ATTEMPTS") or 8), 1),
        base_delay=timedelta(seconds=int(config.get("NOTIFY_RETRY_SECONDS") or 60)),
        lease=timedelta(seconds=int(config.get("NOTIFY_LEASE_SECONDS") or 120)),
    )


def deliver() -> outbox.Summary:
    """Send every due message of the current application's outbox."""
    config = current_app.config
    summary = outbox.deliver_due(db_session(), senders(config),
                                 base_url=config.get("BASE_URL", ""),
                                 policy=policy_from_config(config))
    if summary.sent or summary.errors:
        log.info("notifications: %s sent, %s to retry, %s failed, %s dead", summary.sent,
                 summary.retried, summary.failed, summary.dead)
        for error in summary.errors:
            log.warning("notification not delivered: %s", error)
    return summary


def write_reminders() -> reminders.RunSummary:
    """Write the reminders due now (the outbox's keys make a repeated run add nothing)."""
    session = db_session()
    with unit_of_work(session):
        summary = reminders.run(session, checkpoint=session.commit)
    if summary.reminders or summary.escalations or summary.group:
        log.info("reminders: %s messages to %s units, %s escalations, %s group messages",
                 summary.reminders, len(summary.units), summary.escalations, summary.group)
    return summary
