"""Template drafts: definitions an administrator is building in the designer.

A draft is kept server-side until it is published as a template version. Its
definition is plain JSON in the shape of :class:`forms.definition.Definition`
but may be incomplete (a section without items, a rule not finished): that is
what the designer shows as problems. ``revision`` grows with every change, so
two administrators editing the same draft cannot overwrite each other silently.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base
from server.models.accounts import User, utcnow


class TemplateDraft(Base):
    __tablename__ = "template_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_key: Mapped[str] = mapped_column(String(64), index=True)
    # The published version it started from (None: a new template or an import).
    base_version: Mapped[int | None] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(16))  # "blank", "version" or "import"
    definition_json: Mapped[str] = mapped_column(Text)
    # What an importer proposed and could not place, shown beside the draft.
    import_json: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.definition_json)

    @property
    def import_notes(self) -> dict[str, Any] | None:
        return json.loads(self.import_json) if self.import_json else None

    def __repr__(self) -> str:
        return f"<TemplateDraft {self.id} {self.template_key} r{self.revision}>"
