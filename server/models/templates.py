"""Published template versions.

A published version is immutable: the definition is stored as JSON exactly as
validated, and any change becomes version N+1. Submissions refer to the version
they were made under, so old reports still render and merge.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forms.definition import Definition
from server.db import Base
from server.models.accounts import utcnow


class TemplateVersion(Base):
    __tablename__ = "template_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    definition_json: Mapped[str] = mapped_column(Text)
    # SHA-256 of the definition without its version number: an unchanged file
    # loaded again is recognised and publishes nothing.
    checksum: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))  # "catalog", "upload" or "designer"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("key", "version"),)

    @property
    def definition(self) -> Definition:
        """The validated definition (parsed once per loaded row)."""
        cached = self.__dict__.get("_definition")
        if cached is None:
            cached = Definition.from_json(self.definition_json)
            self.__dict__["_definition"] = cached
        return cached

    def __repr__(self) -> str:
        return f"<TemplateVersion {self.key} v{self.version}>"
