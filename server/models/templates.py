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
            # Known by the row's id, version and checksum once its text was parsed: a
            # query may leave the long text unread (deferred), it is read on a miss only.
            published = (self.version, self.checksum)
            cached = DEFINITIONS.recall(self.id, published)
            if cached is None:
                cached = DEFINITIONS.get(self.id, self.definition_json, published)
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
    definition served. A row's definition is also known by its id, version and
    checksum (what the text is published with; another text has another checksum),
    so a query may leave the long text unread. Definitions are frozen, so threads
    can share them.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._parsed: OrderedDict[tuple[int | None, bytes], Definition] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version_id: int | None, definition_json: str,
            published: tuple | None = None) -> Definition:
        """The definition of *definition_json*; with *published* (the row's version and
        checksum) it is also known to :meth:`recall` without its text."""
        key = (version_id, hashlib.sha256(definition_json.encode()).digest())
        with self._lock:
            found = self._parsed.get(key)
            if found is not None:
                self._parsed.move_to_end(key)
        if found is None:
            found = Definition.from_json(definition_json)  # outside the lock: it takes a while
        with self._lock:
            self._parsed[key] = found
            if published is not None and version_id is not None:
                self._parsed[("published", version_id, published)] = found
            while len(self._parsed) > self._size:
                self._parsed.popitem(last=False)
        return found

    def recall(self, version_id: int | None, published: tuple) -> Definition | None:
        """The definition parsed for the row *version_id* with this version and checksum
        (the checksum changes with the text), or None: the text need not be read."""
        if version_id is None:
            return None
        key = ("published", version_id, published)
        with self._lock:
            found = self._parsed.get(key)
            if found is not None:
                self._parsed.move_to_end(key)
            return found

    def clear(self) -> None:
        with self._lock:
            self._parsed.clear()


DEFINITIONS = DefinitionCache()
