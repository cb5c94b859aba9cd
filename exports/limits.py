"""Cheap checks on an uploaded file before any spreadsheet parser sees it.

The format is recognised from the content, not the file name (WPS and mail
programs rename files; a web page saved as ".xls" is not a workbook). Zip
based formats (.xlsx, .xlsb, .ods) are checked for zip bombs first: entry
count, declared unpacked size and compression ratio from the central
directory, then every entry is actually inflated with a hard cap, because the
declared sizes of a hostile file may lie.
"""

from __future__ import annotations

import copy
import io
import zipfile
from dataclasses import dataclass

from exports.messages import CellIssue, file_error

MB = 1024 * 1024
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


@dataclass(frozen=True)
class Limits:
    """What an upload may cost. The defaults are generous for a filled form."""

    max_bytes: int = 10 * MB  # the file as uploaded
    max_unpacked_bytes: int = 100 * MB  # all zip entries inflated
    max_ratio: int = 200  # inflated / compressed, for entries over 1 MB
    max_entries: int = 1000  # parts inside a zip
    max_cells: int = 2_000_000  # rows x columns of the sheets that are read


DEFAULT_LIMITS = Limits()


def mb(size: int) -> str:
    return f"{size / MB:.1f}".rstrip("0").rstrip(".")


def check_size(data: bytes, filename: str, limits: Limits) -> CellIssue | None:
    if not data:
        return file_error("empty_file", filename=filename)
    if len(data) > limits.max_bytes:
        return file_error("file_too_large", filename=filename, size_mb=mb(len(data)),
                          max_mb=mb(limits.max_bytes))
    return None


def sniff(data: bytes, filename: str, limits: Limits) -> tuple[str | None, CellIssue | None]:
    """The spreadsheet format ("xlsx", "xlsb", "ods" or "xls"), or a refusal."""
    if data.startswith(_OLE2):
        if _ENCRYPTED in data:
            # Password-protected .xlsx files are OLE2 containers with this stream.
            return None, file_error("password_protected", filename=filename)
        return "xls", None
    if not data.startswith(_ZIP):
        return None, file_error("not_a_spreadsheet", filename=filename)
    problem = check_zip(data, filename, limits)
    if problem is not None:
        return None, problem
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        if "mimetype" in names and archive.read("mimetype").strip().startswith(_ODS_MIMETYPE):
            return "ods", None
        if "xl/workbook.xml" in names:
            return "xlsx", None
        if "xl/workbook.bin" in names:
            return "xlsb", None
    return None, file_error("not_a_spreadsheet", filename=filename)


def check_zip(data: bytes, filename: str, limits: Limits) -> CellIssue | None:
    """None when the zip is safe to hand to a parser, else the refusal."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > limits.max_entries:
                return file_error("too_many_parts", filename=filename, max=limits.max_entries)
            declared = sum(info.file_size for info in infos)
            if declared > limits.max_unpacked_bytes:
                return file_error("unpacked_too_large", filename=filename,
                                  max_mb=mb(limits.max_unpacked_bytes))
            for info in infos:
                if (info.file_size > MB
                        and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
                    return file_error("unpacked_too_large", filename=filename,
                                      max_mb=mb(limits.max_unpacked_bytes))
            budget = limits.max_unpacked_bytes
            for info in infos:
                inflated = _inflate(archive, info, budget)
                if inflated is None:
                    return file_error("unpacked_too_large", filename=filename,
                                      max_mb=mb(limits.max_unpacked_bytes))
                if inflated != info.file_size:
                    return file_error("corrupt_file", filename=filename)
                budget -= inflated
    except Exception:
        # zipfile and zlib raise many types on hostile input: BadZipFile, EOFError,
        # zlib.error, RuntimeError (encrypted entries), NotImplementedError (exotic methods).
        return file_error("corrupt_file", filename=filename)
    return None


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> int | None:
    """The real inflated size of an entry, or None once it exceeds *budget*.

    The entry is opened with its declared size raised to the budget, so a
    header that understates the size cannot stop the count early (zipfile
    stops reading at the declared size). The CRC is checked at the end.
    """
    probe = copy.copy(info)
    probe.file_size = budget + 1
    total = 0
    with archive.open(probe) as stream:
        while chunk := stream.read(256 * 1024):
            total += len(chunk)
            if total > budget:
                return None
    return total
