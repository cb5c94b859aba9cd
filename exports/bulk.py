"""Many workbooks in one upload: several files, or a .zip of them.

A consolidator may upload the workbooks of all the units below at once.
:func:`expand_uploads` turns what was uploaded into one entry per workbook,
each read on its own with :func:`exports.workbook_reader.read_workbook`, so a
bad file never blocks the others. A .zip bundle is checked like any zip
(entry count, unpacked size, real inflated sizes) before it is opened; a zip
that is itself a spreadsheet (.xlsx, .ods) is of course not unpacked.

Zip tools on Chinese Windows store member names in GBK without saying so;
those names are decoded as GBK so that "池店镇.xlsx" does not arrive as
mojibake.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from exports.limits import DEFAULT_LIMITS, Limits, check_zip, mb
from exports.messages import CellIssue, file_error

_UTF8_FLAG = 0x800
_SPREADSHEET_PARTS = ("xl/workbook.xml", "xl/workbook.bin", "mimetype", "content.xml")


@dataclass(frozen=True)
class Upload:
    """One workbook to read, or the reason it cannot be (``problem``)."""

    filename: str
    data: bytes | None = None
    problem: CellIssue | None = None


def expand_uploads(
    files: Iterable[tuple[str, bytes]],
    *,
    limits: Limits = DEFAULT_LIMITS,
    max_files: int = 500,
) -> list[Upload]:
    """One :class:`Upload` per workbook, with .zip bundles unpacked."""
    uploads: list[Upload] = []
    for filename, data in files:
        if _is_bundle(data):
            uploads.extend(_unpack(filename, data, limits, max_files))
        else:
            uploads.append(Upload(filename, data))
    return uploads


def _is_bundle(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except Exception:  # a damaged zip is passed on and refused by the reader
        return False
    return not names & set(_SPREADSHEET_PARTS)


def _unpack(filename: str, data: bytes, limits: Limits, max_files: int) -> list[Upload]:
    bundle_limits = Limits(
        max_bytes=limits.max_bytes * max_files,
        max_unpacked_bytes=limits.max_bytes * max_files,
        max_ratio=limits.max_ratio,
        max_entries=max_files * 2 + 10,  # room for folders and __MACOSX entries
        max_cells=limits.max_cells,
    )
    problem = check_zip(data, filename, bundle_limits)
    if problem is not None:
        return [Upload(filename, problem=problem)]
    uploads: list[Upload] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [i for i in archive.infolist() if _is_workbook_member(i)]
        if len(members) > max_files:
            return [Upload(filename, problem=file_error("too_many_files", filename=filename,
                                                         max=max_files))]
        for info in members:
            name = _member_name(info)
            if info.file_size > limits.max_bytes:
                uploads.append(Upload(name, problem=file_error(
                    "file_too_large", filename=name, size_mb=mb(info.file_size),
                    max_mb=mb(limits.max_bytes))))
                continue
            uploads.append(Upload(name, archive.read(info)))
    if not uploads:
        return [Upload(filename, problem=file_error("empty_bundle", filename=filename))]
    return uploads


def _is_workbook_member(info: zipfile.ZipInfo) -> bool:
    if info.is_dir():
        return False
    path = PurePosixPath(info.filename)
    # Not macOS resource forks, hidden files or Office lock files.
    return "__MACOSX" not in path.parts and not path.name.startswith((".", "~$"))


def _member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & _UTF8_FLAG:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("gb18030")
    return PurePosixPath(name).name
