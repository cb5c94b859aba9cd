"""The audit log: every administrative and security event, in one table.

Rows are only ever added: nothing in the application updates or deletes them,
so the log is kept for as long as the database. ``unit_path`` is the path of the
unit the event concerns as it stood then, so a consolidator's view of its
subtree is one range query like every other subtree query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base
from server.models.accounts import User, utcnow
from server.models.units import PathString, Unit

JsonType = JSON().with_variant(JSONB(), "postgresql")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # None for a failed sign-in (nobody proved who they are) and for the command line.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str | None] = mapped_column(PathString)
    target: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")

    actor: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()

    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_actor_id_at", "actor_id", "at"),
        Index("ix_audit_events_kind_at", "kind", "at"),
        Index("ix_audit_events_unit_path", "unit_path"),
    )

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.kind} {self.target}>"
