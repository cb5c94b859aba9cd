"""Files kept in the database (attachments of reports), reachable only within scope.

A file is identified outside the server by an unguessable token, never by its
row id. A report's attachment value records that token (``{"id": token,
"name", "size", "content_type"}``); a download is allowed only through a
report the account may see *and* whose revisions refer to the token, so a
token alone opens nothing.
"""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.definition import Definition, FieldKind
from server.models import Unit, User
from server.models.reporting import Report, Revision, StoredFile

CHUNK = 64 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def new_token() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class RefusedFile:
    """Why an upload was not kept: ``code`` is ``too_large`` or ``empty``."""

    code: str
    limit_bytes: int | None = None


def read_limited(stream: IO[bytes], limit: int | None) -> bytes | None:
    """The stream's bytes, or None as soon as it grows beyond *limit* bytes."""
    chunks, size = [], 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)


def size_limit(max_size_mb: Decimal | float | None, app_limit: int | None) -> int | None:
    """The smaller of a field's limit (in MB) and the application's request limit (bytes)."""
    limits = [int(Decimal(max_size_mb) * 1024 * 1024)] if max_size_mb is not None else []
    if app_limit:
        limits.append(int(app_limit))
    return min(limits) if limits else None


def clean_filename(name: str | None) -> str:
    """A file name fit for display and download: no folders, no control characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "file"


def store(session: Session, stream: IO[bytes], filename: str | None, content_type: str | None,
          *, unit: Unit | None, user: User | None, limit: int | None) -> StoredFile | RefusedFile:
    """Keep an uploaded file (added to *session*, not committed) or say why not."""
    data = read_limited(stream, limit)
    if data is None:
        return RefusedFile("too_large", limit)
    if not data:
        return RefusedFile("empty")
    return store_bytes(session, data, filename, content_type, unit=unit, user=user)


def store_bytes(session: Session, data: bytes, filename: str | None, content_type: str | None,
                *, unit: Unit | None, user: User | None) -> StoredFile:
    """Keep *data*, already read and checked (added to *session* and flushed)."""
    name = clean_filename(filename)
    guessed = mimetypes.guess_type(name)[0]
    stored = StoredFile(
        token=new_token(), filename=name,
        content_type=(content_type or guessed or DEFAULT_CONTENT_TYPE)[:100],
        size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data,
        unit_id=unit.id if unit else None, created_by_id=user.id if user else None,
    )
    session.add(stored)
    session.flush()
    return stored


def attachment_value(stored: StoredFile) -> dict[str, Any]:
    """The value an attachment field stores for *stored*."""
    return {"id": stored.token, "name": stored.filename, "size": stored.size,
            "content_type": stored.content_type}


def attachment_tokens(definition: Definition, values: dict[str, Any]) -> set[str]:
    """The tokens of the files the attachment fields of *values* refer to."""
    tokens = set()
    for fld in definition.fields():
        value = values.get(fld.key) if isinstance(values, dict) else None
        if fld.kind is FieldKind.ATTACHMENT and isinstance(value, dict) and value.get("id"):
            tokens.add(str(value["id"]))
    return tokens


def report_file(session: Session, report: Report | None, definition: Definition,
                token: str) -> StoredFile | None:
    """The file *token* if the report refers to it, else None: attached by one of its
    revisions, or the original upload a revision was read from (an Excel workbook).

    A report's revisions all use the report's template version, *definition*.
    """
    if report is None or not token:
        return None
    stored = session.scalar(select(StoredFile).where(
        StoredFile.token == token, StoredFile.unit_id == report.unit_id))
    if stored is None:
        return None
    rows = session.execute(select(Revision.values, Revision.file_id, Revision.event)
                           .where(Revision.report_id == report.id))
    for values, file_id, event in rows:
        if file_id == stored.id or token in attachment_tokens(definition, values or {}) \
                or token in event_tokens(event):
            return stored
    return None


def event_tokens(event: dict[str, Any] | None) -> set[str]:
    """The tokens of an event's attachments (see ``forms.events.EventInfo``)."""
    return {str(a.get("id")) for a in (event or {}).get("attachments") or ()
            if isinstance(a, dict) and a.get("id")}
