"""Accounts and login attempts."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base
from server.models.units import Unit


class Role(enum.StrEnum):
    SUBMITTER = "submitter"  # reports for their own unit
    CONSOLIDATOR = "consolidator"  # reviews and consolidates their unit's subtree
    ADMIN = "admin"  # manages everything


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_session_token() -> str:
    return secrets.token_hex(16)


class User(Base):
    """An account. Flask-Login uses :meth:`get_id`, which includes ``session_token`` so
    that changing or resetting the password signs out every other session."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where notifications reach the person, each optional (see services.notifications).
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(32))
    wecom_userid: Mapped[str | None] = mapped_column(String(64))
    # A reviewer hears of each submission below them only when they ask for it.
    notify_on_submission: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())
    # Scheduled reminders are not sent to this account (escalations still are).
    reminders_opt_out: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())

    unit: Mapped[Unit | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "role IN ('submitter', 'consolidator', 'admin')", name="role_known"
        ),
        # Only an administrator may exist without a unit: every other scope is a unit.
        CheckConstraint("role = 'admin' OR unit_id IS NOT NULL", name="unit_required"),
    )

    # --- Flask-Login ---------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    # --- roles ------------------------------------------------------------------------
    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_consolidator(self) -> bool:
        return self.role == Role.CONSOLIDATOR

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class LoginAttempt(Base):
    """A failed login, kept for the throttling window.

    Kept in the database so that the limit holds across several server processes.
    """

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    __table_args__ = (
        Index("ix_login_attempts_username_ip_at", "username", "ip", "at"),
        # Counts one address's failures across usernames (one guess at many accounts).
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )


class ApiToken(Base):
    """A personal API token. Only the SHA-256 of the secret is stored; the secret is shown
    once, when the token is created. ``prefix`` (the secret's first characters) lets people
    recognise a token in lists and lets authentication find the row without the hash.
    Every token expires: a secret forgotten in an old script does not work for ever."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired()

    def expired(self, now: datetime | None = None) -> bool:
        return expired_at(self.expires_at, now)

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix} of user {self.user_id}>"


def expired_at(expires_at: datetime, now: datetime | None = None) -> bool:
    """Whether a token expiring at *expires_at* has expired by *now* (default: now)."""
    return as_utc(expires_at) <= (now or utcnow())
