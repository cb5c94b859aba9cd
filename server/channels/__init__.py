"""Senders of notifications, one module per channel, free of Flask and the database.

Each sender takes its settings and one :class:`Message` and either returns (the
channel accepted the message) or raises :class:`SendError`. The outbox
(``server.services.outbox``) decides what a failure means: retried later with
backoff, or given up on when ``permanent``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Sent with every message so that a receiver can recognise a repeat (see the outbox).
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Message:
    recipient: str  # an e-mail address, a mobile number or a WeCom user id
    subject: str
    text: str
    url: str  # absolute link to the report, or ""
    key: str  # the outbox row's idempotency key


class SendError(Exception):
    """The channel did not take the message. *permanent*: trying again cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent
