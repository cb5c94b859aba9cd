"""Many workbooks in one upload: several files, or a .zip of them.

A consolidator may upload the workbooks of all the units below at once.
:func:`expand_uploads` turns what was uploaded into one entry per workbook,
each read on its own with :func:`exports.workbook_reader.read_workbook`, so a
bad file never blocks the others. A .zip bundle is unpacked member by member
with caps on the member count and the total unpacked size, counted on the
bytes really inflated (a member's declared size may lie), so memory holds one
member at a time while reading; a zip that is itself a spreadsheet (.xlsx,
.ods) is of course not unpacked, and a zip inside the bundle is read (and
refused) as a workbook, never unpacked again.

Zip tools on Chinese Windows store member names in GBK without saying so;
those names are decoded as GBK so that "池店镇.xlsx" does not arrive as
mojibake.
"""

from __future__ import annotations

import contextlib
import copy
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from exports.limits import DEFAULT_LIMITS, MB, Limits, mb
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
    total_budget = limits.max_bytes * max_files
    uploads: list[Upload] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > max_files * 2 + 10:  # room for folders and __MACOSX entries
                return [_too_many(filename, max_files)]
            members = [i for i in infos if _is_workbook_member(i)]
            if len(members) > max_files:
                return [_too_many(filename, max_files)]
            bomb = Upload(filename, problem=file_error(
                "unpacked_too_large", filename=filename, max_mb=mb(total_budget)))
            for info in members:
                if info.file_size > total_budget or (
                        info.file_size > MB
                        and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
                    return [bomb]
            for info in members:
                name = _member_name(info)
                content = _inflate(archive, info, min(limits.max_bytes, total_budget))
                if content is None:
                    if total_budget <= limits.max_bytes:
                        return [bomb]
                    uploads.append(Upload(name, problem=file_error(
                        "file_too_large", filename=name,
                        size_mb=mb(max(info.file_size, limits.max_bytes + 1)),
                        max_mb=mb(limits.max_bytes))))
                    continue
                total_budget -= len(content)
                uploads.append(Upload(name, content))
    except Exception:
        # zipfile and zlib raise many types on hostile input (see exports.limits).
        return [Upload(filename, problem=file_error("corrupt_file", filename=filename))]
    if not uploads:
        return [Upload(filename, problem=file_error("empty_bundle", filename=filename))]
    return uploads


def _too_many(filename: str, max_files: int) -> Upload:
    return Upload(filename, problem=file_error("too_many_files", filename=filename,
                                               max=max_files))


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes | None:
    """A member's content, or None once more than *budget* bytes come out of it.

    The declared size is raised past the budget so that a header understating
    it cannot cut the count short; the CRC is still checked at the end.
    """
    probe = copy.copy(info)
    probe.file_size = budget + MB  # never reached: zipfile checks the CRC at that point
    with archive.open(probe) as stream:
        content = stream.read(budget + 1)
    if len(content) > budget:
        return None
    if len(content) != info.file_size:
        raise zipfile.BadZipFile("the member's size differs from its header")
    return content


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
