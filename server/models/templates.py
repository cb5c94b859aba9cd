"""Published template versions.

A published version is immutable: the definition is stored as JSON exactly as
validated, and any change becomes version N+1. Submissions refer to the version
they were made under, so old reports still render and merge.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forms.definition import Definition
from server.db import Base
from server.models.accounts import User, utcnow


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

    # Who published it (None: the catalogue, loaded from the command line).
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("key", "version"),)

    @property
    def definition(self) -> Definition:
        """The validated definition (parsed once per process, see :class:`DefinitionCache`)."""
        cached = self.__dict__.get("_definition")
        if cached is None:
            cached = DEFINITIONS.get(self.id, self.definition_json)
            self.__dict__["_definition"] = cached
        return cached

    def __repr__(self) -> str:
        return f"<TemplateVersion {self.key} v{self.version}>"


class DefinitionCache:
    """Parsed definitions shared by every request of the process.

    Validating a definition with pydantic costs more than the rest of a save;
    every request loads its template version afresh, so the per-row cache alone
    would parse it once per request. Keyed by the row's id *and* a hash of its
    JSON: a published version is immutable, and should a row's text ever differ
    (a restored backup reusing ids), its new text is parsed, never the old
    definition served. Definitions are frozen, so threads can share them.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._parsed: OrderedDict[tuple[int | None, bytes], Definition] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version_id: int | None, definition_json: str) -> Definition:
        key = (version_id, hashlib.sha256(definition_json.encode()).digest())
        with self._lock:
            found = self._parsed.get(key)
            if found is not None:
                self._parsed.move_to_end(key)
                return found
        parsed = Definition.from_json(definition_json)  # outside the lock: it takes a while
        with self._lock:
            self._parsed[key] = parsed
            while len(self._parsed) > self._size:
                self._parsed.popitem(last=False)
        return parsed

    def clear(self) -> None:
        with self._lock:
            self._parsed.clear()


DEFINITIONS = DefinitionCache()
