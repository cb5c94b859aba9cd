"""The notification outbox: every message is a row before anything is sent."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base
from server.models.accounts import User, utcnow


class Channel(enum.StrEnum):
    APP = "app"  # the bell in the header; "sent" as soon as it is written
    EMAIL = "email"
    WECOM = "wecom"  # 企业微信 group robot
    DINGTALK = "dingtalk"  # 钉钉 group robot
    SMS = "sms"


class Delivery(enum.StrEnum):
    PENDING = "pending"  # due at next_try_at
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    FAILED = "failed"  # permanently refused by the channel (e.g. no address): not retried
    DEAD = "dead"  # gave up after the maximum number of attempts


class Notification(Base):
    """One message to one recipient over one channel.

    The idempotency key is the tuple (channel, recipient, assignment, unit, period,
    kind, step): whatever writes the same message twice (a scheduler run repeated,
    two workers) writes one row, so it is sent once. ``key`` is that tuple as text,
    sent to receivers (Message-ID, ``Idempotency-Key`` header) so that a message
    repeated after a worker died mid-send can be recognised as a duplicate.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), default="")
    # The idempotency key's parts (an empty string where a part does not apply).
    assignment_key: Mapped[str] = mapped_column(String(64), default="")
    unit_code: Mapped[str] = mapped_column(String(64), default="")
    period: Mapped[str] = mapped_column(String(16), default="")
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(64), default="")
    key: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(16), default=Delivery.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User | None] = relationship()

    __table_args__ = (
        UniqueConstraint("channel", "recipient", "assignment_key", "unit_code", "period",
                         "kind", "step", name="uq_notifications_idempotency"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'dead')",
                        name="status_known"),
        CheckConstraint("channel IN ('app', 'email', 'wecom', 'dingtalk', 'sms')",
                        name="channel_known"),
        # What the delivery task looks for: due pending rows and expired leases.
        Index("ix_notifications_status_next_try_at", "status", "next_try_at"),
        # The bell: a user's unread messages in the app.
        Index("ix_notifications_user_id_channel_read_at", "user_id", "channel", "read_at"),
    )

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.channel} {self.status} {self.key}>"


class ReminderChase(Base):
    """A consolidator's 一键催报 of one unit for one period: the audit trail and the rate
    limit (a unit is chased at most once per period in a configured number of hours)."""

    __tablename__ = "reminder_chases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    by: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_reminder_chases_lookup", "assignment_id", "period", "unit_id", "at"),
    )
