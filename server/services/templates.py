"""Publishing template definitions: the built-in catalogue and uploaded files.

Loading a definition compares its content (everything but the version number)
with the latest published version of the same key: unchanged content changes
nothing, changed content becomes the next version. Both the CLI
(``tianbao templates load``) and the administrators' upload page use
:func:`publish`, so they apply the same checks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exports.xlsform import xlsform_bytes
from forms.definition import Definition
from forms.loader import (
    CATALOG_DIR,
    DefinitionError,
    catalog_files,
    load_definition,
    parse_definition,
    problem,
)
from server.models import User
from server.models.templates import TemplateVersion
from server.services import audit
from server.services.errors import NotVisible

MAX_DEFINITION_BYTES = 2 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a definition can be downloaded as: media type and file name ending.
EXPORT_FORMATS = {
    "yaml": ("application/yaml; charset=utf-8", ".yaml"),
    "json": ("application/json; charset=utf-8", ".json"),
    "xlsform": (XLSX, "-xlsform.xlsx"),
}


@dataclass(frozen=True)
class PublishResult:
    key: str
    version: int
    status: str  # "created" (first version), "updated" (new version) or "unchanged"
    title: str


def checksum(definition: Definition) -> str:
    content = definition.model_dump_json(exclude={"version"}, exclude_none=True)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def latest(session: Session, key: str) -> TemplateVersion | None:
    return session.scalar(
        select(TemplateVersion).where(TemplateVersion.key == key)
        .order_by(TemplateVersion.version.desc()).limit(1)
    )


def get_version(session: Session, key: str, version: int) -> TemplateVersion | None:
    return session.scalar(
        select(TemplateVersion).where(TemplateVersion.key == key,
                                      TemplateVersion.version == version)
    )


def get_definition(session: Session, key: str, version: int) -> Definition | None:
    """The definition of a published, not retired, version (None otherwise)."""
    row = get_version(session, key, version)
    return None if row is None or row.retired else row.definition


def publish(
    session: Session, definition: Definition, *, origin: str, user_id: int | None = None,
) -> PublishResult:
    """Publish *definition* as a new version of its key, unless nothing changed."""
    digest = checksum(definition)
    current = latest(session, definition.key)
    if current is not None and current.checksum == digest:
        return PublishResult(definition.key, current.version, "unchanged", current.title)
    version = 1 if current is None else current.version + 1
    stored = definition.model_copy(update={"version": version})
    session.add(TemplateVersion(
        key=stored.key, version=version, title=stored.title,
        definition_json=stored.to_json(), checksum=digest, origin=origin,
        created_by_id=user_id,
    ))
    audit.record(session, audit.Kind.TEMPLATE_PUBLISHED,
                 actor=session.get(User, user_id) if user_id is not None else None,
                 target=f"{stored.key} v{version} {stored.title}",
                 details={"key": stored.key, "version": version, "origin": origin})
    return PublishResult(stored.key, version, "created" if current is None else "updated",
                         stored.title)


def load_files(session: Session, paths: list[Path] | None = None) -> list[PublishResult]:
    """Publish the given definition files (default: the built-in catalogue).

    Every file is read and validated first; if any is broken nothing is
    published and :class:`DefinitionError` describes the first broken file.
    """
    definitions = [load_definition(p) for p in (paths or catalog_files(CATALOG_DIR))]
    return [publish(session, d, origin="catalog") for d in definitions]


def upload(session: Session, data: bytes, filename: str, user_id: int | None) -> PublishResult:
    """Publish an uploaded YAML or JSON definition; raises DefinitionError when invalid."""
    if len(data) > MAX_DEFINITION_BYTES:
        limit = MAX_DEFINITION_BYTES // (1024 * 1024)
        raise DefinitionError(filename, [problem("file_too_large", limit=limit)])
    return publish(session, parse_definition(data, filename), origin="upload", user_id=user_id)


def list_latest(session: Session) -> list[tuple[TemplateVersion, int]]:
    """The latest version of every template key, with its number of versions."""
    newest = (
        select(TemplateVersion.key, func.max(TemplateVersion.version).label("version"),
               func.count().label("count"))
        .group_by(TemplateVersion.key).subquery()
    )
    rows = session.execute(
        select(TemplateVersion, newest.c.count)
        .join(newest, (TemplateVersion.key == newest.c.key)
              & (TemplateVersion.version == newest.c.version))
        .order_by(TemplateVersion.key)
    ).all()
    return [(row[0], row[1]) for row in rows]


def versions(session: Session, key: str) -> list[TemplateVersion]:
    return list(session.scalars(
        select(TemplateVersion).where(TemplateVersion.key == key)
        .order_by(TemplateVersion.version.desc())
    ))


def set_retired(session: Session, row: TemplateVersion, retired: bool) -> None:
    if row.retired != retired:
        audit.record(session, audit.Kind.TEMPLATE_RETIRED if retired
                     else audit.Kind.TEMPLATE_RESTORED,
                     target=f"{row.key} v{row.version} {row.title}",
                     details={"key": row.key, "version": row.version})
    row.retired = retired


@dataclass(frozen=True)
class DefinitionFile:
    """One published version written out for download: bytes, media type, file name."""

    data: bytes
    mimetype: str
    filename: str
    key: str
    version: int


def export_definition(
    session: Session, key: str, version: int | None = None, fmt: str = "yaml",
) -> DefinitionFile:
    """Any published version (retired ones too: old reports were made with them) as
    YAML (which ``tianbao templates load`` reads back), JSON or an XLSForm workbook.

    The latest version when *version* is None; an unknown key or version is refused
    with :class:`NotVisible`.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    row = latest(session, key) if version is None else get_version(session, key, version)
    if row is None:
        if version is None or latest(session, key) is None:
            raise NotVisible(_l("There is no template “%(key)s”."), key=key)
        raise NotVisible(_l("Template “%(key)s” has no version %(version)s."),
                         key=key, version=version)
    definition = row.definition
    if fmt == "yaml":
        data = definition.to_yaml().encode("utf-8")
    elif fmt == "json":
        data = definition.to_json().encode("utf-8")
    else:
        data = xlsform_bytes(definition)
    mimetype, ending = EXPORT_FORMATS[fmt]
    return DefinitionFile(data, mimetype, f"{row.key}-v{row.version}{ending}", row.key,
                          row.version)
