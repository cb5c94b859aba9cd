"""Assignments, reports, their revisions and their audit trail.

An *assignment* gives a template to part of the organisation tree for a window
of periods. A *report* is what one unit owes for one period of an assignment
("not started" is the absence of a row). Every save appends an immutable
*revision*; the report row only points at the latest one and carries the
workflow status. Every workflow action is an *event* in the audit trail.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from server.db import Base
from server.models.accounts import User, utcnow
from server.models.templates import TemplateVersion
from server.models.units import Unit

JsonType = JSON().with_variant(JSONB(), "postgresql")


class Status(enum.StrEnum):
    """Where a report stands. The rules that depend on it are defined here, once."""

    NOT_STARTED = "not_started"  # shown only: no report row exists yet
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"

    @classmethod
    def of(cls, report: Report | None) -> Status:
        """The status of a report, or NOT_STARTED when there is no report yet."""
        return cls(report.status) if report is not None else cls.NOT_STARTED

    @property
    def is_open(self) -> bool:
        """Still owed by the unit (and editable by it): not started, a draft, or returned."""
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset({Status.NOT_STARTED, Status.DRAFT, Status.RETURNED})
# Handed in: everything else. A report row in one of these is locked for the unit.
SENT_STATUSES = frozenset(Status) - OPEN_STATUSES


def is_overdue(status: str, days_left: int) -> bool:
    """Still owed after the due date (*days_left* from :func:`forms.periods.days_until`).

    A report handed in after the due date is not overdue: it carries ``late``.
    """
    return Status(status).is_open and days_left < 0


def late_or_overdue(status: str, submitted_late: bool, days_left: int) -> bool:
    """Handed in after the due date, or still owed after it."""
    return bool(submitted_late) or is_overdue(status, days_left)


def sent_in_sql(status: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL: the report row's *status* is handed in (the complement of open statuses)."""
    return status.in_(sorted(SENT_STATUSES))


def open_in_sql(report_id: ColumnElement[int], status: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL: the outer-joined report is still owed: no row at all, or an open status."""
    stored_open = sorted(OPEN_STATUSES - {Status.NOT_STARTED})
    return or_(report_id.is_(None), status.in_(stored_open))


class Source(enum.StrEnum):
    WEB = "web"
    EXCEL = "excel"
    API = "api"
    CONSOLIDATION = "consolidation"
    AUTOSAVE = "autosave"  # the web form saving a draft by itself while the unit types


class Assignment(Base):
    """A template assigned to a subtree (optionally only to units of some kinds)."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    template_key: Mapped[str] = mapped_column(String(64), index=True)
    root_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    consolidating_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # Comma-separated unit kinds that report; empty: every unit below the root.
    unit_kinds: Mapped[str] = mapped_column(String(300), default="")
    include_root: Mapped[bool] = mapped_column(Boolean, default=False)
    first_period: Mapped[str] = mapped_column(String(16))
    last_period: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Phases of this assignment on top of the template's (same key: other dates), as
    # Phase dicts; and a one-off report's due phase when it differs from the template's.
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list,
                                                         server_default=text("'[]'"))
    due_phase: Mapped[str | None] = mapped_column(String(64))
    # Reminder settings that differ from the defaults (server.services.reminders); None:
    # the defaults as they stand.
    reminder_policy: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # Due dates on a weekend or public holiday move to the next working day.
    shift_to_workday: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    root_unit: Mapped[Unit] = relationship(foreign_keys=[root_unit_id])
    consolidating_unit: Mapped[Unit] = relationship(foreign_keys=[consolidating_unit_id])
    versions: Mapped[list[AssignmentVersion]] = relationship(
        back_populates="assignment", order_by="AssignmentVersion.from_period",
        cascade="all, delete-orphan",
    )

    @property
    def kinds(self) -> list[str]:
        return [k for k in self.unit_kinds.split(",") if k]


class AssignmentVersion(Base):
    """From *from_period* on, reports of the assignment use this template version."""

    __tablename__ = "assignment_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"))
    from_period: Mapped[str] = mapped_column(String(16))

    assignment: Mapped[Assignment] = relationship(back_populates="versions")
    template_version: Mapped[TemplateVersion] = relationship()

    __table_args__ = (UniqueConstraint("assignment_id", "from_period"),)


class Report(Base):
    """What one unit reports for one period of an assignment."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"))
    status: Mapped[str] = mapped_column(String(16), default=Status.DRAFT)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # latest revision number
    values: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # of that revision
    remarks: Mapped[str] = mapped_column(Text, default="")
    # 说明 beside flagged figures, by field key (of that revision)
    explanations: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict,
                                                         server_default=text("'{}'"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Event reports only: when it happened (for lists and filters) and the latest
    # revision's time, place and attachments (forms.events.EventInfo.to_json).
    event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    event: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # The numeric figures of the latest revision packed into one vector, what a roll-up
    # reads (``server.services.report_values.pack``); deferred: nothing else needs it.
    figures: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    assignment: Mapped[Assignment] = relationship()
    unit: Mapped[Unit] = relationship()
    template_version: Mapped[TemplateVersion] = relationship()
    approved_by: Mapped[User | None] = relationship()

    __table_args__ = (
        UniqueConstraint("assignment_id", "unit_id", "period"),
        CheckConstraint("status IN ('draft', 'submitted', 'returned', 'approved')",
                        name="status_known"),
        # The roll-up: which children are counted, each one's latest approved period,
        # read from the index alone (the rows are wide with their JSON documents).
        Index("ix_reports_rollup", "assignment_id", "unit_id", "period", "status"),
    )

    @property
    def locked(self) -> bool:
        return self.status == Status.APPROVED


class ReportValue(Base):
    """One numeric figure of a report's latest revision, as data the database adds up.

    The report's JSON document stays the record of what was submitted; this narrow
    copy is rewritten in the same transaction as every save (``server.services.
    report_values``) and carries the report's status, kept in step on every workflow
    change, so a roll-up is one set-based query over the subtree. A row exists for
    each numeric input field of its template version: ``applies`` whether the field
    applied to the unit when it saved (one that did not is never counted, not even as
    zero), ``micros`` the value times 10**6 (exact to six decimal places), NULL when blank.
    """

    __tablename__ = "report_values"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    field_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    assignment_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    applies: Mapped[bool] = mapped_column(Boolean)
    micros: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        # The roll-up: one assignment's period, the units of a subtree, covering the value.
        Index("ix_report_values_rollup", "assignment_id", "period", "unit_id", "field_key",
              "status", "applies", "micros"),
        # The few blank or non-applying figures, which like-for-like sums take back out.
        Index("ix_report_values_gaps", "assignment_id", "period", "unit_id", "field_key",
              sqlite_where=text("micros IS NULL OR applies = 0"),
              postgresql_where=text("micros IS NULL OR NOT applies")),
    )


class StoredFile(Base):
    """An uploaded file (Excel upload or attachment), kept in the database."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # unguessable public id
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Revision(Base):
    """One immutable save of a report."""

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"))
    values: Mapped[dict[str, Any]] = mapped_column(JsonType)
    remarks: Mapped[str] = mapped_column(Text, default="")
    explanations: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict,
                                                         server_default=text("'{}'"))
    source: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    event: Mapped[dict[str, Any] | None] = mapped_column(JsonType)  # event reports: see Report

    author: Mapped[User | None] = relationship()
    file: Mapped[StoredFile | None] = relationship()

    __table_args__ = (UniqueConstraint("report_id", "number"),)


class ReportEvent(Base):
    """The audit trail: who did what to a report, when, and why."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # saved, submitted, returned, approved, ...
    revision: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    actor: Mapped[User | None] = relationship()
    # A return's comments on single fields, in the order the form shows the fields.
    field_comments: Mapped[list[FieldComment]] = relationship(
        order_by="FieldComment.id", cascade="all, delete-orphan", lazy="selectin")


class FieldComment(Base):
    """A reviewer's comment on one field of a report, given when returning it: the unit
    sees it at that field of its form. Read only through its report (same scope)."""

    __tablename__ = "field_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("report_events.id", ondelete="CASCADE"),
                                          index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    field_key: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text)


class PeriodClosure(Base):
    """A consolidator closed a period of an assignment for a unit's subtree.

    While ``reopened_at`` is None, no report of that period below the unit (as the
    tree stood then) may change. Reopening fills in who, when and why and keeps
    the row, so the rows of a (assignment, unit, period) are its audit trail;
    closing again adds a new row.
    """

    __tablename__ = "period_closures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reopen_reason: Mapped[str] = mapped_column(Text, default="")

    assignment: Mapped[Assignment] = relationship()
    unit: Mapped[Unit] = relationship()
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    reopened_by: Mapped[User | None] = relationship(foreign_keys=[reopened_by_id])

    __table_args__ = (
        Index("ix_period_closures_lookup", "assignment_id", "period", "unit_id"),
    )

    @property
    def open(self) -> bool:
        """Still in force (not reopened)."""
        return self.reopened_at is None
