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


def sniff(data: bytes, filename: str, limits: Limits) -> tuple[str | None, CellIssue | None]:
    """The spreadsheet format ("xlsx", "ods" or "xls"), or a refusal."""
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
    chunk_size = 256 * 1024
    probe = copy.copy(info)
    # Room beyond the budget, so the count passes it before zipfile stops at the size.
    probe.file_size = budget + 2 * chunk_size
    total = 0
    with archive.open(probe) as stream:
        while chunk := stream.read(chunk_size):
            total += len(chunk)
            if total > budget:
                return None
    return total


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
_SHEET_NAME = re.compile(rb"<(?:\w+:)?sheet\s[^>]*?\bname=\"([^\"]*)\"[^>]*?\bid=\"([^\"]*)\"")
_RELATION = re.compile(rb"<Relationship\s[^>]*?\bId=\"([^\"]*)\"[^>]*?\bTarget=\"([^\"]*)\"")

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def check_extent(data: bytes, fmt: str, limits: Limits,
                 filename: str = "") -> CellIssue | None:
    """A refusal when reading a sheet would exhaust memory."""
    if fmt == "xls":
        return _xls_extent(data, limits, filename)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if fmt == "ods":
            with archive.open("content.xml") as content:
                return _ods_extent(content, limits)
        if "xl/sharedStrings.xml" in archive.namelist():
            tag = _SST_TAG.search(archive.read("xl/sharedStrings.xml"))
            for count in _COUNT_ATTR.findall(tag.group(0) if tag else b""):
                if int(count) > limits.max_cells:  # buffers are sized from these counts
                    return file_error("corrupt_file", filename=filename)
        names = _xlsx_sheet_names(archive)
        for entry in archive.namelist():
            if _SHEET_ENTRY.match(entry):
                rows, cols = _xlsx_extent(archive.read(entry))
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
    row_refs = [int(r) for r in _ROW_REF.findall(xml)]
    rows = max([int(r) for _, r in refs] + row_refs + [0])
    cols = max([_column_number(c) for c, _ in refs] + [0])
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


def _xlsx_sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part → the sheet's name, for messages."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
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
    """Check what calamine sizes buffers from: DIMENSIONS, SST and cell positions."""
    stream = _workbook_stream(data)
    if stream is None:
        return file_error("corrupt_file", filename=filename)
    names: list[str] = []
    sheet = -1  # index of the worksheet substream being walked (-1: workbook globals)
    rows = cols = 0  # extent of the cells of the current sheet

    def too_large() -> CellIssue:
        name = names[sheet] if 0 <= sheet < len(names) else ""
        return file_error("sheet_too_large", sheet=name, cell=_last_cell(rows, cols))

    pos = 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4:pos + 4 + size]
        pos += 4 + size
        if kind in _CELL_RECORDS or kind in _MULTI_RECORDS:
            if len(body) < 4:
                continue
            row, col = struct.unpack_from("<HH", body)
            if kind in _MULTI_RECORDS and len(body) >= 6:
                col = max(col, struct.unpack_from("<H", body, len(body) - 2)[0])
            if col > 255:
                return file_error("corrupt_file", filename=filename)
            rows, cols = max(rows, row + 1), max(cols, col + 1)
            if rows * cols > limits.max_cells:
                return too_large()
        elif kind == _BOF:
            if len(body) >= 4 and struct.unpack_from("<H", body, 2)[0] == 0x10:
                sheet += 1
            rows = cols = 0
        elif kind == _BOUNDSHEET and len(body) >= 8:
            length, high = body[6], body[7] & 1
            raw = body[8:8 + length * (2 if high else 1)]
            names.append(raw.decode("utf-16-le" if high else "latin-1", "replace"))
        elif kind == _SST and len(body) >= 8:
            if struct.unpack_from("<I", body, 4)[0] > max(len(stream), 16):
                return file_error("corrupt_file", filename=filename)
        elif kind == _DIMENSIONS and len(body) in (10, 14):
            if len(body) == 14:
                first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", body)
            else:
                first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", body)
            if not (first_row <= last_row <= 65536 and first_col <= last_col <= 256):
                return file_error("corrupt_file", filename=filename)
            if (last_row - first_row) * (last_col - first_col) > limits.max_cells:
                rows, cols = max(last_row, 1), max(last_col, 1)
                return too_large()
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
