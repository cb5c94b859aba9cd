"""Backups of the whole database, taken while the server runs, and their restore.

A backup is one file, a gzipped tar archive: ``tianbao-backup.json`` says what it
is (database kind, Alembic revision, application version, time, PostgreSQL schema)
and beside it is the payload, an SQLite database file (taken with SQLite's online
backup) or a ``pg_dump --format=custom`` archive. Restore reads the description
first, so a foreign file, a backup of the other kind of database or one made by a
newer version is refused before anything changes; a backup older than the
application's schema is migrated up once restored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

from server import migrate
from server.backup import archive, postgres, sqlite
from server.backup.archive import BackupRefused, Manifest


def kind_of(engine: Engine) -> str:
    """``sqlite`` or ``postgresql``."""
    return engine.url.get_backend_name()


def create(engine: Engine, target: Path, *, force: bool = False) -> Manifest:
    """Write a consistent snapshot of *engine*'s database to *target*."""
    archive.refuse_existing(target, force)
    if not target.parent.is_dir():
        raise BackupRefused(archive.NO_FOLDER, folder=str(target.parent))
    with archive.scratch(target.parent) as folder:
        payload = folder / archive.PAYLOADS[kind_of(engine)]
        if kind_of(engine) == "sqlite":
            revision = sqlite.snapshot(engine, payload)
            schema = None
        else:
            revision = migrate.current_revision(engine)
            schema = postgres.dump(engine.url, payload)
        manifest = Manifest.now(kind_of(engine), revision, schema)
        archive.write(target, manifest, payload, force=force)
    return manifest


@dataclass(frozen=True)
class Opened:
    """A backup file read and checked against the database it would replace."""

    manifest: Manifest
    payload: Path


@contextmanager
def opened(engine: Engine, source: Path) -> Iterator[Opened]:
    """Read *source* and refuse it unless it can be restored into *engine*'s database."""
    with archive.scratch(None) as folder, archive.extract(source, folder) as (manifest, payload):
        _check(engine, manifest)
        yield Opened(manifest, payload)


def _check(engine: Engine, manifest: Manifest) -> None:
    if manifest.kind != kind_of(engine):
        raise BackupRefused(archive.WRONG_KIND, backup_kind=manifest.kind,
                            database_kind=kind_of(engine))
    if manifest.revision is not None and not _known(manifest.revision):
        raise BackupRefused(archive.NEWER_SCHEMA, revision=manifest.revision,
                            version=manifest.app_version)
    if manifest.kind == "postgresql":
        postgres.check_schema(engine.url, manifest.schema)


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(migrate.alembic_config()).get_revision(
            revision) is not None
    except CommandError:
        return False


def restore(engine: Engine, backup: Opened) -> str | None:
    """Replace the data of *engine*'s database by *backup*; the revision it was upgraded from.

    ``None`` when the backup was already at the application's schema revision.
    """
    if backup.manifest.kind == "sqlite":
        sqlite.restore(engine, backup.payload)
    else:
        postgres.restore(engine.url, backup.payload)
    engine.dispose()  # pooled connections must not keep anything of the replaced data
    if migrate.is_up_to_date(engine):
        return None
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    return before or "-"
