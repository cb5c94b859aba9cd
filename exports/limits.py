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

import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from xml.parsers import expat

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
            problem, parts = _check_archive(archive, filename, limits, keep=lambda name: True,
                                            data=data)
    except Exception:
        return None, file_error("corrupt_file", filename=filename)
    if problem is not None:
        return None, problem
    # The reader tries every format on a zip and looks parts up loosely, so every
    # part is measured by what it holds, whatever its name.
    problem = _guarded(lambda: _zip_extents(parts, filename, limits), filename)
    if problem is not None:
        return None, problem
    names = {_normal(name) for name, _ in parts}
    if "xl/workbook.xml" in names:
        return "xlsx", None
    if "content.xml" in names and "mimetype" in names:
        return "ods", None
    return None, file_error("not_a_spreadsheet", filename=filename)


def _normal(name: str) -> str:
    """A part name as a lenient reader matches it: case-blind, with forward slashes."""
    return posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/").lower()


def _guarded(check, filename: str) -> CellIssue | None:
    """Run an extent check; a file too damaged to measure is refused as corrupt."""
    try:
        return check()
    except Exception:
        return file_error("corrupt_file", filename=filename)


def check_zip(data: bytes, filename: str, limits: Limits) -> CellIssue | None:
    """None when the zip is safe to unpack, else the refusal."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _check_archive(archive, filename, limits, keep=lambda name: False,
                                  data=data)[0]
    except Exception:
        return file_error("corrupt_file", filename=filename)


def _check_archive(archive: zipfile.ZipFile, filename: str, limits: Limits, keep,
                   data: bytes | None = None) -> tuple[CellIssue | None, list[tuple[str, bytes]]]:
    """Inflate every entry within the limits; return the refusal and the parts *keep* wants.

    Parts are kept as a list: a zip may hold two entries of the same name. *data*, the
    bytes *archive* was opened on (from offset 0), lets a plain entry be inflated in one
    call (:func:`_inflate_plain`).
    """
    kept: list[tuple[str, bytes]] = []
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
            content = None if data is None else _inflate_plain(data, info, budget)
            if content is None:  # anything unusual: zipfile's own reading decides
                content = _inflate(archive, info, budget, keep(info.filename))
            elif not keep(info.filename):
                content = len(content)
            if content is None:
                return too_large, kept
            size = content if isinstance(content, int) else len(content)
            if size != info.file_size:
                return file_error("corrupt_file", filename=filename), kept
            if not isinstance(content, int):
                kept.append((info.filename, content))
            budget -= size
    except Exception:
        # zipfile and zlib raise many types on hostile input: BadZipFile, EOFError,
        # zlib.error, RuntimeError (encrypted entries), NotImplementedError (exotic methods).
        return file_error("corrupt_file", filename=filename), kept
    return None, kept


# The largest entry inflated in one call; a larger one is read in chunks by _inflate.
_PLAIN_MAX = 4 * MB
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_MAGIC = b"PK\x03\x04"
# Flag bits that make zipfile refuse an entry or read it differently: encrypted (0),
# compressed patched data (5), strong encryption (6).
_SPECIAL_FLAGS = 0x1 | 0x20 | 0x40
_UTF8_NAME = 0x800


def _inflate_plain(data: bytes, info: zipfile.ZipInfo, budget: int) -> bytes | None:
    """The content of a well-formed deflated entry of up to ``_PLAIN_MAX`` bytes, else None.

    This is what :func:`_inflate` reads through ``zipfile`` for such an entry, with the
    same checks (local header magic, the same name, no encryption, the stream complete
    within the recorded compressed size, and before the next entry where ``zipfile``
    records where that is, the CRC), in one ``zlib`` call instead of a file object per
    entry. None means "not that simple" (stored or other methods, flags, a name or size
    that disagrees, a truncated or damaged stream, anything over the cap): the caller
    then reads the entry through ``zipfile`` as before, which gives the answer, so an
    unusual file is judged exactly as it always was.
    """
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & _SPECIAL_FLAGS:
        return None
    start, size = info.header_offset, info.compress_size
    if start < 0 or size > _PLAIN_MAX or start + _LOCAL_HEADER.size > len(data):
        return None
    header = _LOCAL_HEADER.unpack_from(data, start)
    if header[0] != _LOCAL_MAGIC:
        return None
    name_end = start + _LOCAL_HEADER.size + header[10]
    try:
        name = data[name_end - header[10]:name_end].decode(
            "utf-8" if header[3] & _UTF8_NAME else "cp437")
    except UnicodeDecodeError:
        return None
    if name != info.orig_filename:
        return None
    begin = name_end + header[11]
    if begin + size > len(data):
        return None
    end = getattr(info, "_end_offset", None)  # where newer zipfile versions stop an entry
    if end is not None and begin + size > end:
        return None
    inflater = zlib.decompressobj(-15)
    cap = min(budget, _PLAIN_MAX * 2)
    if cap < 0:
        return None
    try:
        content = inflater.decompress(data[begin:begin + size], cap + 1)
        if not inflater.eof:
            return None
        content += inflater.flush()
    except zlib.error:
        return None
    if len(content) > cap or zlib.crc32(content) != info.CRC:
        return None
    return content


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int,
             keep: bool) -> int | bytes | None:
    """The entry's content (or only its real size), or None once it exceeds *budget*.

    The entry is opened with its declared size raised past the budget, so a
    header that understates the size cannot stop the count early (zipfile
    stops reading at the declared size; the archive's own record of the size
    is put back at once). The CRC is checked at the end.
    """
    chunk_size = 256 * 1024
    declared = info.file_size
    info.file_size = budget + 2 * chunk_size  # read once, when the entry is opened
    try:
        stream = archive.open(info)
    finally:
        info.file_size = declared
    total, chunks = 0, []
    with stream:
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
_SHEET_NAME = re.compile(rb"<(?:\w+:)?sheet\s[^>]*?\bname=\"([^\"]*)\"[^>]*?\bid=\"([^\"]*)\"")
_RELATION = re.compile(rb"<Relationship\s[^>]*?\bId=\"([^\"]*)\"[^>]*?\bTarget=\"([^\"]*)\"")


def _zip_extents(parts: list[tuple[str, bytes]], filename: str,
                 limits: Limits) -> CellIssue | None:
    """Measure every part that a reader could take for a sheet or a string table.

    Which part is a sheet is decided by its content, not its name: names that
    differ in case, backslashes and relationship targets all lead a reader to
    parts that a check by path would miss. Every ``content.xml`` is walked as
    an OpenDocument table, with the prefixes read literally as the reader does.
    """
    for entry, raw in parts:
        content = _as_utf8(raw)
        tag = _SST_TAG.search(content) if b"sst" in content else None
        for count in _COUNT_ATTR.findall(tag.group(0) if tag else b""):
            if int(count) > limits.max_cells:  # buffers are sized from these counts
                return file_error("corrupt_file", filename=filename)
        if b"sheetData" in content or b"dimension" in content:
            rows, cols = _xlsx_bound(content)
            if rows * cols > limits.max_cells:  # measure it exactly, for the answer
                rows, cols = _xlsx_extent(content)
            if rows * cols > limits.max_cells:
                names = _xlsx_sheet_names(parts)  # only for the message
                return file_error("sheet_too_large", sheet=names.get(_normal(entry), entry),
                                  cell=_last_cell(rows, cols))
        if "content.xml" in entry.lower() and _normal(entry) == "content.xml":
            problem = _ods_extent(content, limits)
            if problem is not None:
                return problem
    return None


def _as_utf8(content: bytes) -> bytes:
    """XML parts in UTF-16 (which the reader decodes) as UTF-8, so the patterns see them."""
    head = content[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        try:
            return content.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            for codec in ("utf-16-le", "utf-16-be"):
                text = content.decode(codec, "replace")
                if text.lstrip("\ufeff").startswith("<"):
                    return text.encode("utf-8")
    return content


def _last_cell(rows: int, cols: int) -> str:
    return xl_rowcol_to_cell(min(rows, 1048576) - 1, min(cols, 16384) - 1)


def _column_number(letters: bytes | str) -> int:
    number = 0
    text = letters if isinstance(letters, str) else letters.decode("ascii")
    for ch in text.upper()[:12]:  # far beyond any sheet; keeps the arithmetic small
        number = number * 26 + ord(ch) - 64
    return number


def _xlsx_extent(xml: bytes) -> tuple[int, int]:
    """Rows and columns from A1 to the farthest cell (or declared dimension).

    A part of up to ``_SMALL_PART`` bytes (a filled form is a few dozen KB) is
    scanned with ``findall``: one pass when every cell and row tag is plain and
    holds its reference (as Excel, WPS, LibreOffice and XlsxWriter write them),
    else three passes that build short lists; a larger one by
    :func:`_xlsx_extent_streaming`, which holds no list of matches. All give
    the same answer.
    """
    if len(xml) > _SMALL_PART:
        return _xlsx_extent_streaming(xml)
    found = _WELL_FORMED.findall(xml)
    letters, numbers, odd = zip(*found, strict=True) if found else ((), (), ())
    if not any(odd):
        # Every cell and row tag holds its reference within the tag, and no tag is
        # prefixed: this one pass found what the three passes below find.
        columns = set(letters)
        columns.discard(b"")
        rows = max(map(int, set(numbers)), default=0)
        cols = max(map(_column_number, columns), default=0)
        return _with_dimension(xml, rows, cols)
    # Without any prefixed tag in the part, the optional prefix of the patterns can only
    # match empty: the same patterns without it find the same, sooner.
    plain = _PREFIXED.search(xml) is None
    cells = (_PLAIN_CELL_REF if plain else _CELL_REF).findall(xml)
    row_refs = (_PLAIN_ROW_REF if plain else _ROW_REF).findall(xml)
    rows = max(map(int, {row for _, row in cells}.union(row_refs)), default=0)
    cols = max(map(_column_number, {column for column, _ in cells}), default=0)
    tags = (_PLAIN_TAG_OPEN if plain else _TAG_OPEN).findall(xml)
    # Cells and rows may omit their reference and follow the previous one.
    cols += tags.count(b"c") - len(cells)
    rows += tags.count(b"row") - len(row_refs)
    return _with_dimension(xml, rows, cols)


_SMALL_PART = 1024 * 1024
# Per tag: a cell's column letters and row number, a row's number, or, in the third group,
# what sends the part to the general scan: a cell or row tag whose reference is missing
# or not within the tag (a ``<`` before it), or any prefixed tag. When no match has the
# third group, the matches are exactly those of the plain patterns below: each cell or
# row tag is matched once, from its ``<`` to its reference, as the lazy ``[^>]*?`` of
# those patterns matches it when no ``<`` comes between.
# (``(?!/)`` passes over end tags at once; ``r="`` right after the tag name, as writers put
# it, is tried before the general ``[^<>]*?`` and leads to the same match.)
_WELL_FORMED = re.compile(
    rb"<(?!/)(?:(?:c\s(?:r=\"|[^<>]*?\br\s*=\s*[\"'])\$?([A-Za-z]+)\$?"
    rb"|row\s(?:r=\"|[^<>]*?\br\s*=\s*[\"']))([0-9]+)[\"']|((?:c|row)[\s/>]|\w+:))")
# A cell or row start tag, with any prefix; one match per tag, as _CELL_OPEN and _ROW_OPEN.
_TAG_OPEN = re.compile(rb"<(?:\w+:)?(c|row)[\s/>]")
_PLAIN_CELL_REF = re.compile(_CELL_REF.pattern.replace(rb"(?:\w+:)?", b"", 1))
_PLAIN_ROW_REF = re.compile(_ROW_REF.pattern.replace(rb"(?:\w+:)?", b"", 1))
_PLAIN_TAG_OPEN = re.compile(_TAG_OPEN.pattern.replace(rb"(?:\w+:)?", b"", 1))


# A cell or row start tag (unprefixed) *not* followed by a reference within A1:ZZ999 as
# its first attribute, in the form writers use; and any prefixed cell or row start tag
# (or the same text elsewhere). Searched with the literal start, they cost a fraction of
# the matches _xlsx_extent collects.
_BEYOND_SMALL_CELL = re.compile(rb'<c(?! r="[A-Z]{1,2}[0-9]{1,3}")[\s/>]')
_BEYOND_SMALL_ROW = re.compile(rb'<row(?! r="[0-9]{1,3}")[\s/>]')
_PREFIXED_CELL_OR_ROW = re.compile(rb":(?:c|row)[\s/>]")
_SMALL_ROWS, _SMALL_COLS = 999, 702  # ZZ999


def _xlsx_bound(xml: bytes) -> tuple[int, int]:
    """Rows and columns no fewer than :func:`_xlsx_extent`'s, found without collecting refs.

    When every cell and row start tag carries a reference within ZZ999 right after its
    name and none is prefixed, each is one reference :func:`_xlsx_extent` counts and
    none is missing one, so the extent is at most ZZ999 or the declared dimension;
    otherwise the extent itself. A filled form passes with three searches that find
    nothing, where the extent builds a match per tag.
    """
    if (_BEYOND_SMALL_CELL.search(xml) is None and _BEYOND_SMALL_ROW.search(xml) is None
            and _PREFIXED_CELL_OR_ROW.search(xml) is None):
        return _with_dimension(xml, _SMALL_ROWS, _SMALL_COLS)
    return _xlsx_extent(xml)


def _with_dimension(xml: bytes, rows: int, cols: int) -> tuple[int, int]:
    dimension = _DIMENSION.search(xml)
    if dimension:
        last = _REF.search(dimension.group(1).decode("ascii", "replace"))
        if last:
            rows = max(rows, int(last.group(2)))
            cols = max(cols, _column_number(last.group(1)))
    return rows, cols


def _xlsx_extent_streaming(xml: bytes) -> tuple[int, int]:
    """:func:`_xlsx_extent` for a large part.

    The matches are walked one by one, so a huge sheet costs no list of them;
    per match only the distinct references are collected (folded into the
    maximum whenever there are many), and numbers are made of them once.
    """
    rows = cols = cell_refs = row_refs = 0
    letters: set[bytes] = set()
    numbers: set[bytes] = set()
    for match in _CELL_REF.finditer(xml):
        cell_refs += 1
        column, row = match.groups()
        letters.add(column)
        numbers.add(row)
        if len(numbers) > _FOLD or len(letters) > _FOLD:
            rows, cols = _fold(rows, numbers, cols, letters)
    for match in _ROW_REF.finditer(xml):
        row_refs += 1
        numbers.add(match.group(1))
        if len(numbers) > _FOLD:
            rows, cols = _fold(rows, numbers, cols, letters)
    rows, cols = _fold(rows, numbers, cols, letters)
    # Cells and rows may omit their reference and follow the previous one.
    cols += _count_tags(xml, b"c", _CELL_OPEN) - cell_refs
    rows += _count_tags(xml, b"row", _ROW_OPEN) - row_refs
    return _with_dimension(xml, rows, cols)


_FOLD = 4096  # distinct references held before they are folded into the maxima


def _fold(rows: int, numbers: set[bytes], cols: int, letters: set[bytes]) -> tuple[int, int]:
    """The maxima with the collected references in; empties the sets."""
    if numbers:
        rows = max(rows, max(map(int, numbers)))
        numbers.clear()
    if letters:
        cols = max(cols, max(map(_column_number, letters)))
        letters.clear()
    return rows, cols


_TAG_ENDS = (b" ", b"\t", b"\n", b"\r", b"\f", b"\v", b"/", b">")
_PREFIXED = re.compile(rb"<\w+:")


def _count_tags(xml: bytes, name: bytes, pattern: re.Pattern[bytes]) -> int:
    """How many times *pattern* (``<name`` then a space, ``/`` or ``>``, any prefix) occurs.

    Without namespace prefixes in the part, counting the byte strings gives the
    same number as the pattern, much faster.
    """
    if _PREFIXED.search(xml) is None:
        return sum(xml.count(b"<" + name + end) for end in _TAG_ENDS)
    return sum(1 for _ in pattern.finditer(xml))


def _xlsx_sheet_names(parts: list[tuple[str, bytes]]) -> dict[str, str]:
    """Worksheet part (normalised) → the sheet's name, for messages."""
    found = {_normal(name): content for name, content in parts}
    workbook = found.get("xl/workbook.xml", b"")
    rels = found.get("xl/_rels/workbook.xml.rels", b"")
    targets = {rid.decode("utf-8", "replace"): target.decode("utf-8", "replace")
               for rid, target in _RELATION.findall(rels)}
    names = {}
    for name, rid in _SHEET_NAME.findall(workbook):
        target = targets.get(rid.decode("utf-8", "replace"), "")
        part = target if target.startswith(("/", "\\")) else f"xl/{target}"
        names[_normal(part)] = name.decode("utf-8", "replace")
    return names


class _Refused(Exception):
    """Stops the walk of an OpenDocument table as soon as it is too large."""


def _ods_extent(xml: bytes, limits: Limits) -> CellIssue | None:
    """Walk content.xml once, measuring each table's extent of non-empty cells.

    Names are compared as written (``table:table-cell``), without namespace
    processing, because that is how the reader matches them: a file that binds
    ``table:`` to another namespace is still read as a table. A document type
    declaration (entities) is refused outright.
    """
    state = {"name": "", "row": 0, "rows": 0, "cols": 0, "repeat": 1, "col": 0,
             "content": False, "cell": None}
    parser = expat.ParserCreate()

    def count(value: str | None) -> int:
        number = int(value or "1")
        if number < 0:
            raise ValueError(value)
        return number

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "table:table":
            state.update(name=attrs.get("table:name", ""), row=0, rows=0, cols=0)
        elif tag == "table:table-row":
            state.update(repeat=count(attrs.get("table:number-rows-repeated")), col=0,
                         content=False)
        elif tag in ("table:table-cell", "table:covered-table-cell"):
            filled = "office:value-type" in attrs or "table:formula" in attrs
            state["cell"] = [count(attrs.get("table:number-columns-repeated")), filled]
        elif state["cell"] is not None:
            state["cell"][1] = True  # a paragraph, an annotation: the cell is not empty

    def end(tag: str) -> None:
        if tag in ("table:table-cell", "table:covered-table-cell") and state["cell"]:
            repeat, filled = state["cell"]
            if filled:
                state["cols"] = max(state["cols"], state["col"] + repeat)
                state["content"] = True
            state["col"] += repeat
            state["cell"] = None
        elif tag == "table:table-row":
            if state["content"]:
                state["rows"] = max(state["rows"], state["row"] + state["repeat"])
            state["row"] += state["repeat"]
        else:
            return
        if state["rows"] * state["cols"] > limits.max_cells:
            raise _Refused

    def no_doctype(*args) -> None:
        raise ValueError("document type declarations are not accepted")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = no_doctype
    parser.EntityDeclHandler = no_doctype
    try:
        parser.Parse(xml, True)
    except _Refused:
        rows, cols = state["rows"], state["cols"]
        return file_error("sheet_too_large", sheet=state["name"], cell=_last_cell(rows, cols))
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

    Every stream the reader could take for the workbook is checked. Each is
    walked from its start, and again from each sheet's offset given in its
    BOUNDSHEET record (where calamine starts reading a sheet), so a damaged
    record length cannot hide a sheet's records from the check.
    """
    streams = _workbook_streams(data)
    if not streams:
        return file_error("corrupt_file", filename=filename)
    for stream in streams:
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
        if problem is not None:
            return problem
    return None


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


_WORKBOOK_NAMES = ("Workbook", "Book", "WORKBOOK", "BOOK")  # the reader's order
_DIFSECT = 0xFFFFFFFC


def _workbook_streams(data: bytes) -> list[bytes]:
    """Every stream of an OLE2 compound file the reader could take for the workbook.

    The walk follows calamine's reading of the container, not the
    specification's: a directory entry's name ends at its first NUL whatever
    its declared length or type, streams under 4096 bytes are in the mini
    stream (whatever the header's cutoff), the mini stream is the first
    entry's chain, and every DIFAT entry below DIFSECT names a FAT sector.
    Every entry with one of the reader's names is checked, not only the first.
    """
    if len(data) < 512:
        return []
    version, = struct.unpack_from("<H", data, 0x1A)
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if shift not in (9, 12) or mini_shift != 6:
        return []
    size = 1 << shift
    first_dir, = struct.unpack_from("<I", data, 0x30)
    first_minifat, minifat_count, first_difat = struct.unpack_from("<III", data, 0x3C)
    sectors = max(0, (len(data) - size) // size)

    def sector(n: int) -> bytes:
        return data[(n + 1) * size:(n + 2) * size]

    difat = list(struct.unpack_from("<109I", data, 0x4C))
    n, seen = first_difat, set()
    while n < sectors and n not in seen:
        seen.add(n)
        entries = struct.unpack(f"<{size // 4}I", sector(n))
        difat.extend(entries[:-1])
        n = entries[-1]
    fat = b"".join(sector(s) for s in difat if s < min(_DIFSECT, sectors))
    fat_table = struct.unpack(f"<{len(fat) // 4}I", fat[: len(fat) // 4 * 4])

    def chain(start: int, table: tuple[int, ...], limit: int) -> list[int]:
        found, n = [], start
        while n < len(table) and n not in (_FREE, _END_OF_CHAIN) and len(found) <= limit:
            found.append(n)
            n = table[n]
        return found

    def regular(start: int, length: int) -> bytes:
        return b"".join(sector(s) for s in chain(start, fat_table, sectors) if s < sectors)[:length]

    directory = regular(first_dir, len(data))
    entries = []
    for offset in range(0, len(directory) - 127, 128):
        entry = directory[offset:offset + 128]
        raw_name = entry[:64].decode("utf-16-le", "replace")
        name = raw_name.encode("utf-8").split(b"\x00")[0].decode("utf-8", "replace")
        start, = struct.unpack_from("<I", entry, 116)
        length = struct.unpack_from("<Q" if version == 4 and shift == 12 else "<I", entry, 120)[0]
        entries.append((name, start, min(length, len(data))))
    if not entries:
        return []
    mini_stream = regular(entries[0][1], entries[0][2]) if minifat_count else b""
    minifat = b"".join(sector(s) for s in chain(first_minifat, fat_table, sectors)
                       if s < sectors)
    mini_table = struct.unpack(f"<{len(minifat) // 4}I", minifat[: len(minifat) // 4 * 4])
    streams = []
    for name, start, length in entries:
        if name not in _WORKBOOK_NAMES:
            continue
        if length < 4096:
            parts = chain(start, mini_table, len(mini_stream) // 64)
            streams.append(b"".join(mini_stream[p * 64:(p + 1) * 64] for p in parts)[:length])
        else:
            streams.append(regular(start, length))
    return [stream for stream in streams if stream]
