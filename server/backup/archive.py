"""The backup file: a gzipped tar of a description (JSON) and the database payload."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from flask_babel import lazy_gettext as _l

from server.services.errors import Refusal

FORMAT = "tianbao-backup"
FORMAT_VERSION = 1
MANIFEST = "tianbao-backup.json"
PAYLOADS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}

FILE_EXISTS = _l("%(file)s already exists. Choose another name, or replace it with --force.")
NO_FOLDER = _l("There is no folder %(folder)s.")
NO_FILE = _l("There is no file %(file)s.")
NOT_A_BACKUP = _l("%(file)s is not a Tianbao backup.")
WRONG_KIND = _l("This is a backup of a %(backup_kind)s database; this server uses "
                "%(database_kind)s. Restore it into a server of the same kind.")
NEWER_SCHEMA = _l("The backup's schema revision %(revision)s is unknown to this version of "
                  "Tianbao (the backup was made by version %(version)s). Upgrade Tianbao first.")


class BackupRefused(Refusal):
    """A backup cannot be written or restored as asked; nothing was changed."""

    code = "backup_refused"


@dataclass(frozen=True)
class Manifest:
    """What a backup file holds, written beside its payload."""

    kind: str
    revision: str | None
    schema: str | None
    app_version: str
    created_at: str
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @classmethod
    def now(cls, kind: str, revision: str | None, schema: str | None) -> Manifest:
        return cls(kind=kind, revision=revision, schema=schema, app_version=app_version(),
                   created_at=datetime.now(UTC).isoformat(timespec="seconds"))

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode("utf-8")


def app_version() -> str:
    try:
        return version("tianbao")
    except PackageNotFoundError:
        return "unknown"


def refuse_existing(target: Path, force: bool) -> None:
    if target.exists() and not force:
        raise BackupRefused(FILE_EXISTS, file=str(target))


@contextmanager
def scratch(beside: Path | None) -> Iterator[Path]:
    """A private temporary folder, removed afterwards (*beside*: on the target's disk)."""
    folder = Path(tempfile.mkdtemp(prefix=".tianbao-backup-", dir=beside))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write(target: Path, manifest: Manifest, payload: Path, *, force: bool) -> None:
    """Write the backup beside *target*, then move it into place whole.

    Without *force* the last step is a hard link, which fails if *target* appeared
    meanwhile: an existing file is never replaced unless asked.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            description = manifest.to_bytes()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(description)
            info.mtime = int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(description))
            tar.add(payload, arcname=PAYLOADS[manifest.kind])
            raw.flush()
            os.fsync(raw.fileno())
        if force:
            os.replace(temporary, target)
        else:
            try:
                os.link(temporary, target)
            except FileExistsError:
                raise BackupRefused(FILE_EXISTS, file=str(target)) from None
    finally:
        Path(temporary).unlink(missing_ok=True)


@contextmanager
def extract(source: Path, folder: Path) -> Iterator[tuple[Manifest, Path]]:
    """The description of the backup *source* and its payload, copied into *folder*."""
    if not source.is_file():
        raise BackupRefused(NO_FILE, file=str(source))
    try:
        with tarfile.open(source, mode="r:gz") as tar:
            manifest = _manifest(tar)
            if manifest is None:
                raise BackupRefused(NOT_A_BACKUP, file=str(source))
            member = tar.getmember(PAYLOADS[manifest.kind])
            stream = tar.extractfile(member)
            if stream is None:
                raise BackupRefused(NOT_A_BACKUP, file=str(source))
            payload = folder / PAYLOADS[manifest.kind]
            with stream, payload.open("wb") as out:
                shutil.copyfileobj(stream, out, 1024 * 1024)
    except (tarfile.TarError, OSError, EOFError, KeyError):
        raise BackupRefused(NOT_A_BACKUP, file=str(source)) from None
    yield manifest, payload


def _manifest(tar: tarfile.TarFile) -> Manifest | None:
    try:
        stream = tar.extractfile(tar.getmember(MANIFEST))
        data = json.loads(stream.read(64 * 1024)) if stream else None
    except (KeyError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("format") != FORMAT
            or data.get("format_version") != FORMAT_VERSION
            or data.get("kind") not in PAYLOADS):
        return None
    known = {name: data[name] for name in Manifest.__dataclass_fields__ if name in data}
    try:
        return Manifest(**known)  # a newer format's extra keys are ignored
    except TypeError:
        return None
