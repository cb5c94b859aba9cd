"""Cheap checks on an uploaded file before any spreadsheet parser sees it.

The format is recognised from the content, not the file name (WPS and mail
programs rename files; a web page saved as ".xls" is not a workbook). Zip
based formats (.xlsx, .ods) are checked for zip bombs first: entry count,
declared unpacked size and compression ratio from the central directory,
then every entry is actually inflated with a hard cap, because the declared
sizes of a hostile file may lie.

Then the extent of every sheet is measured: python-calamine allocates the
whole rectangle from A1 to the last cell in one go, and sizes some buffers
from counts the file declares (shared strings, .xls DIMENSIONS records), so a
single cell at XFD1048576 or one forged count would abort the process (a Rust
allocation failure cannot be caught). .xlsb is refused: it is rare, and cannot
be checked cheaply.
"""

from __future__ import annotations

import copy
import io
import re
import struct
import zipfile
from dataclasses import dataclass
from xml.etree.ElementTree import iterparse

from xlsxwriter.utility import xl_rowcol_to_cell

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


def inspect_upload(data: bytes, filename: str,
                   limits: Limits) -> tuple[str | None, CellIssue | None]:
    """The format ("xlsx", "ods" or "xls") of a file that is safe to parse, or a refusal."""
    problem = check_size(data, filename, limits)
    if problem is not None:
        return None, problem
    if data.startswith(_OLE2):
        if _ENCRYPTED in data:
            # Password-protected .xlsx files are OLE2 containers with this stream.
            return None, file_error("password_protected", filename=filename)
        return "xls", _guarded(lambda: _xls_extent(data, limits, filename), filename)
    if not data.startswith(_ZIP):
        return None, file_error("not_a_spreadsheet", filename=filename)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            problem, parts = _check_archive(archive, filename, limits, keep=_parts_to_check)
    except Exception:
        return None, file_error("corrupt_file", filename=filename)
    if problem is not None:
        return None, problem
    if parts.get("mimetype", b"").strip().startswith(_ODS_MIMETYPE) and "content.xml" in parts:
        return "ods", _guarded(lambda: _ods_extent(io.BytesIO(parts["content.xml"]), limits),
                               filename)
    if "xl/workbook.xml" in parts:
        return "xlsx", _guarded(lambda: _xlsx_extents(parts, filename, limits), filename)
    return None, file_error("not_a_spreadsheet", filename=filename)


def _guarded(check, filename: str) -> CellIssue | None:
    """Run an extent check; a file too damaged to measure is refused as corrupt."""
    try:
        return check()
    except Exception:
        return file_error("corrupt_file", filename=filename)


def _parts_to_check(name: str) -> bool:
    return name in _KEPT_PARTS or bool(_SHEET_ENTRY.match(name))


def check_zip(data: bytes, filename: str, limits: Limits) -> CellIssue | None:
    """None when the zip is safe to unpack, else the refusal."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _check_archive(archive, filename, limits, keep=lambda name: False)[0]
    except Exception:
        return file_error("corrupt_file", filename=filename)


def _check_archive(archive: zipfile.ZipFile, filename: str, limits: Limits,
                   keep) -> tuple[CellIssue | None, dict[str, bytes]]:
    """Inflate every entry within the limits; return the refusal and the parts *keep* wants."""
    kept: dict[str, bytes] = {}
    too_large = file_error("unpacked_too_large", filename=filename,
                           max_mb=mb(limits.max_unpacked_bytes))
    try:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            return file_error("too_many_parts", filename=filename,
                              max=limits.max_entries), kept
        if sum(info.file_size for info in infos) > limits.max_unpacked_bytes:
            return too_large, kept
        for info in infos:
            if (info.file_size > MB
                    and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
                return too_large, kept
        budget = limits.max_unpacked_bytes
        for info in infos:
            content = _inflate(archive, info, budget, keep(info.filename))
            if content is None:
                return too_large, kept
            size = content if isinstance(content, int) else len(content)
            if size != info.file_size:
                return file_error("corrupt_file", filename=filename), kept
            if not isinstance(content, int):
                kept[info.filename] = content
            budget -= size
    except Exception:
        # zipfile and zlib raise many types on hostile input: BadZipFile, EOFError,
        # zlib.error, RuntimeError (encrypted entries), NotImplementedError (exotic methods).
        return file_error("corrupt_file", filename=filename), kept
    return None, kept


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int,
             keep: bool) -> int | bytes | None:
    """The entry's content (or only its real size), or None once it exceeds *budget*.

    The entry is opened with its declared size raised past the budget, so a
    header that understates the size cannot stop the count early (zipfile
    stops reading at the declared size). The CRC is checked at the end.
    """
    chunk_size = 256 * 1024
    probe = copy.copy(info)
    probe.file_size = budget + 2 * chunk_size
    total, chunks = 0, []
    with archive.open(probe) as stream:
        while chunk := stream.read(chunk_size):
            total += len(chunk)
            if total > budget:
                return None
            if keep:
                chunks.append(chunk)
    return b"".join(chunks) if keep else total


# -- sheet extents --------------------------------------------------------------------

_CELL_OPEN = re.compile(rb"<(?:\w+:)?c[\s/>]")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br\s*=\s*[\"']\$?([A-Za-z]+)\$?([0-9]+)[\"']")
_ROW_OPEN = re.compile(rb"<(?:\w+:)?row[\s/>]")
_ROW_REF = re.compile(rb"<(?:\w+:)?row\s[^>]*?\br\s*=\s*[\"']([0-9]+)[\"']")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_SST_TAG = re.compile(rb"<(?:\w+:)?sst\b[^>]*>")
_COUNT_ATTR = re.compile(rb"\b(?:uniqueCount|count)\s*=\s*[\"']\s*([0-9]+)")
_REF = re.compile(r"\$?([A-Za-z]+)\$?([0-9]+)$")
_SHEET_ENTRY = re.compile(r"xl/worksheets/[^/]+\.xml$")
_KEPT_PARTS = frozenset({"mimetype", "content.xml", "xl/workbook.xml",
                         "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml"})
_SHEET_NAME = re.compile(rb"<(?:\w+:)?sheet\s[^>]*?\bname=\"([^\"]*)\"[^>]*?\bid=\"([^\"]*)\"")
_RELATION = re.compile(rb"<Relationship\s[^>]*?\bId=\"([^\"]*)\"[^>]*?\bTarget=\"([^\"]*)\"")

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def _xlsx_extents(parts: dict[str, bytes], filename: str, limits: Limits) -> CellIssue | None:
    strings = parts.get("xl/sharedStrings.xml")
    if strings is not None:
        tag = _SST_TAG.search(strings)
        for count in _COUNT_ATTR.findall(tag.group(0) if tag else b""):
            if int(count) > limits.max_cells:  # buffers are sized from these counts
                return file_error("corrupt_file", filename=filename)
    names = _xlsx_sheet_names(parts)
    for entry, content in parts.items():
        if _SHEET_ENTRY.match(entry):
            rows, cols = _xlsx_extent(content)
            if rows * cols > limits.max_cells:
                return file_error("sheet_too_large", sheet=names.get(entry, entry),
                                  cell=_last_cell(rows, cols))
    return None


def _last_cell(rows: int, cols: int) -> str:
    return xl_rowcol_to_cell(min(rows, 1048576) - 1, min(cols, 16384) - 1)


def _column_number(letters: bytes | str) -> int:
    number = 0
    text = letters if isinstance(letters, str) else letters.decode("ascii")
    for ch in text.upper()[:12]:  # far beyond any sheet; keeps the arithmetic small
        number = number * 26 + ord(ch) - 64
    return number


def _xlsx_extent(xml: bytes) -> tuple[int, int]:
    """Rows and columns from A1 to the farthest cell (or declared dimension)."""
    refs = _CELL_REF.findall(xml)
    row_refs = _ROW_REF.findall(xml)
    rows = max(map(int, {r for _, r in refs}.union(row_refs)), default=0)
    cols = max(map(_column_number, {c for c, _ in refs}), default=0)
    # Cells and rows may omit their reference and follow the previous one.
    cols += len(_CELL_OPEN.findall(xml)) - len(refs)
    rows += len(_ROW_OPEN.findall(xml)) - len(row_refs)
    dimension = _DIMENSION.search(xml)
    if dimension:
        last = _REF.search(dimension.group(1).decode("ascii", "replace"))
        if last:
            rows = max(rows, int(last.group(2)))
            cols = max(cols, _column_number(last.group(1)))
    return rows, cols


def _xlsx_sheet_names(parts: dict[str, bytes]) -> dict[str, str]:
    """Worksheet part → the sheet's name, for messages."""
    workbook = parts.get("xl/workbook.xml", b"")
    rels = parts.get("xl/_rels/workbook.xml.rels", b"")
    targets = {rid: target.decode("utf-8", "replace") for rid, target in _RELATION.findall(rels)}
    names = {}
    for name, rid in _SHEET_NAME.findall(workbook):
        target = targets.get(rid.decode("utf-8", "replace"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        names[part] = name.decode("utf-8", "replace")
    return names


def _ods_extent(stream, limits: Limits) -> CellIssue | None:
    """Walk content.xml once, measuring each table's extent of non-empty cells."""
    name, row, rows, cols = "", 0, 0, 0
    row_repeat, col, row_has_content = 1, 0, False
    for event, elem in iterparse(stream, events=("start", "end")):
        tag = elem.tag
        if event == "start":
            if tag == f"{_TABLE}table":
                name, row, rows, cols = elem.get(f"{_TABLE}name", ""), 0, 0, 0
            elif tag == f"{_TABLE}table-row":
                row_repeat = int(elem.get(f"{_TABLE}number-rows-repeated", "1"))
                col, row_has_content = 0, False
            continue
        if tag in (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"):
            repeat = int(elem.get(f"{_TABLE}number-columns-repeated", "1"))
            if elem.get(f"{_OFFICE}value-type") is not None or len(elem):
                cols = max(cols, col + repeat)
                row_has_content = True
            col += repeat
            elem.clear()
        elif tag == f"{_TABLE}table-row":
            if row_has_content:
                rows = max(rows, row + row_repeat)
            row += row_repeat
            elem.clear()
        elif tag == f"{_TABLE}table" and rows * cols > limits.max_cells:
            return file_error("sheet_too_large", sheet=name, cell=_last_cell(rows, cols))
    return None


# -- .xls: a minimal walk of the compound file and its BIFF records -------------------

_FREE, _END_OF_CHAIN = 0xFFFFFFFF, 0xFFFFFFFE
_DIMENSIONS, _SST, _BOUNDSHEET, _BOF = 0x0200, 0x00FC, 0x0085, 0x0809
# Records that start with the row and column of a cell (NUMBER, LABELSST, RK, BLANK,
# BOOLERR, LABEL, RSTRING, FORMULA, and the BIFF2-4 forms) and those that end with a
# last column (MULRK, MULBLANK).
_CELL_RECORDS = frozenset({0x0203, 0x00FD, 0x027E, 0x0201, 0x0205, 0x0204, 0x00D6, 0x0006,
                           0x0406, 0x0206, 0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0007})
_MULTI_RECORDS = frozenset({0x00BD, 0x00BE})


def _xls_extent(data: bytes, limits: Limits, filename: str) -> CellIssue | None:
    """Check what calamine sizes buffers from: DIMENSIONS, SST and cell positions.

    The stream is walked from its start, and again from each sheet's offset
    given in its BOUNDSHEET record (where calamine starts reading a sheet), so
    a damaged record length cannot hide a sheet's records from the check.
    """
    stream = _workbook_stream(data)
    if stream is None:
        return file_error("corrupt_file", filename=filename)
    sheets: list[tuple[int, str]] = []
    for kind, body in _records(stream, 0):
        if kind == _BOUNDSHEET and len(body) >= 8:
            length, high = body[6], body[7] & 1
            raw = body[8:8 + length * (2 if high else 1)]
            name = raw.decode("utf-16-le" if high else "latin-1", "replace")
            sheets.append((struct.unpack_from("<I", body)[0], name))
    problem = _check_records(_records(stream, 0), "", limits, filename)
    for offset, name in sheets:
        problem = problem or _check_records(_records(stream, offset), name, limits, filename)
    return problem


def _records(stream: bytes, pos: int):
    """(record id, body) from *pos* to the end of the stream."""
    while pos >= 0 and pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        yield kind, stream[pos + 4:pos + 4 + size]
        pos += 4 + size


def _check_records(records, name: str, limits: Limits, filename: str) -> CellIssue | None:
    rows = cols = 0  # extent of the cells of the current sheet
    for kind, body in records:
        if kind in _CELL_RECORDS or kind in _MULTI_RECORDS:
            if len(body) < 4:
                continue
            row, col = struct.unpack_from("<HH", body)
            if kind in _MULTI_RECORDS and len(body) >= 6:
                col = max(col, struct.unpack_from("<H", body, len(body) - 2)[0])
            if col > 255:
                return file_error("corrupt_file", filename=filename)
            rows, cols = max(rows, row + 1), max(cols, col + 1)
        elif kind == _BOF:
            rows = cols = 0
        elif kind == _SST and len(body) >= 8:
            if struct.unpack_from("<I", body, 4)[0] > limits.max_cells:
                return file_error("corrupt_file", filename=filename)
        elif kind == _DIMENSIONS and len(body) in (10, 14):
            if len(body) == 14:
                first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", body)
            else:
                first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", body)
            if not (first_row <= last_row <= 65536 and first_col <= last_col <= 256):
                return file_error("corrupt_file", filename=filename)
            rows, cols = max(rows, last_row), max(cols, last_col)
        if rows * cols > limits.max_cells:
            return file_error("sheet_too_large", sheet=name, cell=_last_cell(rows, cols))
    return None


def _workbook_stream(data: bytes) -> bytes | None:
    """The "Workbook" (or BIFF5 "Book") stream of an OLE2 compound file, or None."""
    if len(data) < 512:
        return None
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if shift not in (9, 12) or mini_shift != 6:
        return None
    size = 1 << shift
    fat_count, first_dir = struct.unpack_from("<II", data, 0x2C)
    mini_cutoff, first_minifat, _, first_difat, difat_count = struct.unpack_from(
        "<IIIII", data, 0x38)
    sectors = max(0, (len(data) - size) // size)

    def sector(n: int) -> bytes:
        return data[(n + 1) * size:(n + 2) * size]

    difat = list(struct.unpack_from("<109I", data, 0x4C))
    n, hops = first_difat, 0
    while n < sectors and hops < min(difat_count, sectors):
        entries = struct.unpack(f"<{size // 4}I", sector(n))
        difat.extend(entries[:-1])
        n, hops = entries[-1], hops + 1
    fat_sectors = [s for s in difat[:fat_count] if s < sectors]
    fat = b"".join(sector(s) for s in fat_sectors)
    fat_table = struct.unpack(f"<{len(fat) // 4}I", fat[: len(fat) // 4 * 4])

    def chain(start: int, table: tuple[int, ...], limit: int) -> list[int]:
        found, n = [], start
        while n < len(table) and n not in (_FREE, _END_OF_CHAIN) and len(found) <= limit:
            found.append(n)
            n = table[n]
        return found

    directory = b"".join(sector(s) for s in chain(first_dir, fat_table, sectors) if s < sectors)
    root_start, root_size, workbook = None, 0, None
    for offset in range(0, len(directory) - 127, 128):
        entry = directory[offset:offset + 128]
        name_size = min(struct.unpack_from("<H", entry, 64)[0], 64)
        name = entry[:max(name_size - 2, 0)].decode("utf-16-le", "replace")
        kind = entry[66]
        start, length = struct.unpack_from("<II", entry, 116)
        if kind == 5:
            root_start, root_size = start, length
        elif kind == 2 and name in ("Workbook", "Book") and workbook is None:
            workbook = (start, length)
    if workbook is None:
        return None
    start, length = workbook
    if length >= mini_cutoff:
        body = b"".join(sector(s) for s in chain(start, fat_table, sectors) if s < sectors)
        return body[:length]
    # Small streams live in the mini stream, itself stored in the root entry's chain.
    if root_start is None:
        return None
    mini_stream = b"".join(
        sector(s) for s in chain(root_start, fat_table, sectors) if s < sectors)[:root_size]
    minifat = b"".join(sector(s) for s in chain(first_minifat, fat_table, sectors)
                       if s < sectors)
    mini_table = struct.unpack(f"<{len(minifat) // 4}I", minifat[: len(minifat) // 4 * 4])
    parts = chain(start, mini_table, len(mini_stream) // 64)
    return b"".join(mini_stream[p * 64:(p + 1) * 64] for p in parts)[:length]
