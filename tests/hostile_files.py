"""A corpus of hostile spreadsheets, each built in code (no binary committed).

Every file plays one trick that once walked around the upload pre-check or
made the reader allocate without bound. ``CORPUS`` maps a name to a function
returning (filename, bytes); the files are small, the damage they aim at is
not.
"""

from __future__ import annotations

import io
import struct
import zipfile

HUGE_CELL = b'<c r="XFD1048576" t="n"><v>1</v></c>'


def zip_of(entries: list[tuple[str, bytes]], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=method)
    return out.getvalue()


def sheet_xml(cells: bytes = HUGE_CELL, dimension: bytes = b"") -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + dimension + b"<sheetData><row r=\"1048576\">" + cells
            + b"</row></sheetData></worksheet>")


def xlsx_parts(sheet_target: str = "worksheets/sheet1.xml") -> list[tuple[str, bytes]]:
    workbook = (b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/worksheet" Target="{sheet_target}"/></Relationships>').encode()
    types = (b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             b'<Default Extension="xml" ContentType="application/xml"/>'
             b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
             b'officedocument.spreadsheetml.sheet.main+xml"/></Types>')
    root_rels = (b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                 b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org'
                 b'/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                 b"</Relationships>")
    return [("[Content_Types].xml", types), ("_rels/.rels", root_rels),
            ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", rels)]


def case_names() -> tuple[str, bytes]:
    """The sheet's part name differs in case from the relationship's target."""
    return "case.xlsx", zip_of([*xlsx_parts(), ("XL/Worksheets/Sheet1.XML", sheet_xml())])


def backslashes() -> tuple[str, bytes]:
    return "backslash.xlsx", zip_of([*xlsx_parts(), ("xl\\worksheets\\sheet1.xml", sheet_xml())])


def sheet_via_relationship() -> tuple[str, bytes]:
    """The sheet sits where only the relationship file says, with no .xml ending."""
    return "rels.xlsx", zip_of([*xlsx_parts("../data/hidden.bin"), ("data/hidden.bin",
                                                                     sheet_xml())])


def huge_dimension() -> tuple[str, bytes]:
    return "dimension.xlsx", zip_of([*xlsx_parts(), ("xl/worksheets/sheet1.xml", sheet_xml(
        b'<c r="A1" t="n"><v>1</v></c>', b'<dimension ref="A1:XFD1048576"/>'))])


def huge_cell() -> tuple[str, bytes]:
    return "xfd.xlsx", zip_of([*xlsx_parts(), ("xl/worksheets/sheet1.xml", sheet_xml())])


def utf16_sheet() -> tuple[str, bytes]:
    xml = sheet_xml().replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode()
    return "utf16.xlsx", zip_of([*xlsx_parts(), ("xl/worksheets/sheet1.xml",
                                                 xml.encode("utf-16"))])


def forged_shared_strings() -> tuple[str, bytes]:
    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
               b'count="4000000000" uniqueCount="4000000000"><si><t>a</t></si></sst>')
    sheet = sheet_xml(b'<c r="A1" t="s"><v>0</v></c>')
    return "sst.xlsx", zip_of([*xlsx_parts(), ("xl/worksheets/sheet1.xml", sheet),
                               ("xl/sharedStrings.xml", strings)])


def zip_bomb() -> tuple[str, bytes]:
    """A part of 200 MB of zeros (about 200 KB compressed)."""
    return "bomb.xlsx", zip_of([*xlsx_parts(), ("xl/worksheets/sheet1.xml",
                                                b"<a>" + b"\0" * 200_000_000)])


def lying_zip_bomb() -> tuple[str, bytes]:
    """A bomb whose headers declare 1000 bytes, so a check of declared sizes lets it by."""
    data = bytearray(zip_of([*xlsx_parts(), ("xl/worksheets/sheet1.xml",
                                             b" " * 120_000_000)]))
    for signature, size_at, name_length_at, header in ((b"PK\x03\x04", 22, 26, 30),
                                                        (b"PK\x01\x02", 24, 28, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            name_length = struct.unpack_from("<H", data, start + name_length_at)[0]
            if data[start + header:start + header + name_length].endswith(b"sheet1.xml"):
                struct.pack_into("<I", data, start + size_at, 1000)
            start += 4
    return "liar.xlsx", bytes(data)


def ods(content: bytes) -> bytes:
    return zip_of([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
                   ("content.xml", content)], method=zipfile.ZIP_STORED)


def ods_rebound_prefix() -> tuple[str, bytes]:
    """``table:`` bound to another namespace; the reader matches the prefix as written."""
    content = (b'<?xml version="1.0" encoding="UTF-8"?>'
               b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
               b'office:1.0" xmlns:table="urn:example:not-a-table" '
               b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
               b"<office:body><office:spreadsheet><table:table table:name=\"S\">"
               b'<table:table-row table:number-rows-repeated="1048576">'
               b'<table:table-cell table:number-columns-repeated="16384" '
               b'office:value-type="float" office:value="1"/></table:table-row>'
               b"</table:table></office:spreadsheet></office:body></office:document-content>")
    return "rebound.ods", ods(content)


# -- .xls: a compound file built by hand ------------------------------------------------

def biff(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def compound_file(streams: list[tuple]) -> bytes:
    """A version 3 compound file with every stream in regular 512-byte sectors.

    Each stream is (name, content) or (name, content, declared name size, entry
    type): the reader ignores both of the last, a walk by the specification does not.
    """
    size, sectors, entries = 512, [], []
    for name, content, *forged in streams:
        content = content.ljust(4096, b"\0")  # regular sectors, not the mini stream
        first = len(sectors)
        sectors.extend(content[i:i + size].ljust(size, b"\0")
                       for i in range(0, len(content), size))
        entries.append((name, first, len(content), len(sectors) - first, *forged))
    directory_sector = len(sectors)
    fat_sector = directory_sector + 1
    fat = []
    for _, first, _, count, *_ in entries:
        fat.extend(first + i + 1 for i in range(count - 1))
        fat.append(0xFFFFFFFE)
    fat += [0xFFFFFFFE, 0xFFFFFFFD]  # the directory, then the FAT itself
    fat += [0xFFFFFFFF] * (size // 4 - len(fat))

    def entry(name: str, start: int, length: int, declared=None, kind: int = 2) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        declared = len(encoded) if declared is None else declared
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", declared, kind, 1)
                + struct.pack("<III", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b"\0" * 36
                + struct.pack("<IIH", start, length, 0).ljust(12, b"\0"))

    directory = entry("Root Entry", 0xFFFFFFFE, 0, None, 5)
    for name, first, length, _, *forged in entries:
        directory += entry(name, first, length, *forged)
    directory = directory.ljust(size, b"\0")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 10
              + struct.pack("<II", 1, directory_sector) + b"\0" * 4
              + struct.pack("<IIIII", 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
              + struct.pack("<I", fat_sector) + b"\xff" * 4 * 108)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    return header + b"".join(sectors) + directory + fat_bytes


def xls_stream(*records: bytes) -> bytes:
    bof = biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))
    return bof + b"".join(records) + biff(0x000A, b"")


def xls_forged_dimensions() -> tuple[str, bytes]:
    dimensions = biff(0x0200, struct.pack("<IIHHH", 0, 0xFFFFFFF0, 0, 0xFFF0, 0))
    return "dimensions.xls", compound_file([("Workbook", xls_stream(dimensions))])


def xls_hidden_stream_name() -> tuple[str, bytes]:
    """A harmless "Book" and a forged "Workbook" whose entry declares a name length of 0.

    A walk by declared names finds only "Book"; the reader takes "Workbook".
    """
    dimensions = biff(0x0200, struct.pack("<IIHHH", 0, 0xFFFFFFF0, 0, 0xFFF0, 0))
    return "hidden.xls", compound_file([("Book", xls_stream()),
                                        ("Workbook", xls_stream(dimensions), 0, 2)])


def xls_storage_typed_stream() -> tuple[str, bytes]:
    """The forged "Workbook" is typed as a storage and comes first; a stream of the
    same name follows. A walk by entry types reads the second, the reader the first."""
    sst = biff(0x00FC, struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFFF))
    return "storage.xls", compound_file([("Workbook", xls_stream(sst), None, 1),
                                         ("Workbook", xls_stream())])


def nested_zip() -> tuple[str, bytes]:
    """A bundle holding a bundle holding a bomb."""
    _, bomb = zip_bomb()
    inner = zip_of([("inner/bomb.xlsx", bomb)])
    return "nested.zip", zip_of([("outer/inner.zip", inner)])


CORPUS = {function.__name__: function for function in (
    case_names, backslashes, sheet_via_relationship, huge_dimension, huge_cell, utf16_sheet,
    forged_shared_strings, zip_bomb, lying_zip_bomb, ods_rebound_prefix, xls_forged_dimensions,
    xls_hidden_stream_name, xls_storage_typed_stream, nested_zip,
)}
