"""Files that cannot be taken are refused with a message that says which and what to do."""

from __future__ import annotations

import io
import struct
import zipfile

import openpyxl
import pytest
from excel_helpers import SECRET, edit_form, identity_of, read, resolver, template

from exports.identity import IDENTITY_SHEET
from exports.limits import (
    Limits,
    _check_archive,
    _xlsx_bound,
    _xlsx_extent,
    _xlsx_extent_streaming,
    _zip_extents,
)
from exports.workbook_reader import read_workbook


def refusal(result):
    assert result.refused
    assert not result.ok
    assert result.values == {}
    (issue,) = result.issues
    assert issue.is_error and issue.cell is None
    return issue


def xlsx_without_identity() -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = "报送单位"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_of(entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(("data", "name"), [
    (b"just some text, not a workbook", "notes.txt"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "scan.pdf"),
    (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "report.xls"),
    ("序号,项目名称\n1,培训\n".encode("gbk"), "report.csv"),
    (zip_of({"word/document.xml": b"<w:document/>", "[Content_Types].xml": b"<Types/>"}),
     "report.docx"),
])
def test_what_is_not_a_spreadsheet_is_refused_clearly(every_kind, data, name):
    issue = refusal(read(data, every_kind, filename=name))

    assert issue.code == "not_a_spreadsheet"
    assert name in issue.render()
    assert ".xlsx" in issue.render()


def test_an_empty_file(every_kind):
    assert refusal(read(b"", every_kind, filename="a.xlsx")).code == "empty_file"


@pytest.mark.parametrize("cut", [100, 1000, 0.5, 0.9, -10])
def test_a_truncated_workbook_is_corrupt(every_kind, cut):
    data = template(every_kind)
    size = int(len(data) * cut) if isinstance(cut, float) else cut
    issue = refusal(read(data[:size], every_kind))

    assert issue.code in {"corrupt_file", "not_a_spreadsheet"}


def test_a_file_over_the_size_limit_is_refused_before_parsing(every_kind):
    data = template(every_kind)
    limits = Limits(max_bytes=len(data) - 1)

    issue = refusal(read(data, every_kind, limits=limits))

    assert issue.code == "file_too_large"
    assert issue.params["max_mb"] == f"{(len(data) - 1) / 1024 / 1024:.1f}".rstrip("0").rstrip(".")


def test_the_default_size_limit_is_ten_megabytes(every_kind):
    assert refusal(read(b"PK\x03\x04" + b"\0" * (10 * 1024 * 1024), every_kind)).code == (
        "file_too_large")


def test_a_password_protected_workbook(every_kind):
    # Encrypted .xlsx files are OLE2 containers holding an EncryptionInfo stream.
    data = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le")
            + b"\0" * 1024)

    assert refusal(read(data, every_kind)).code == "password_protected"


def test_a_spreadsheet_that_is_not_a_tianbao_template(every_kind):
    issue = refusal(read(xlsx_without_identity(), every_kind, filename="我的表.xlsx"))

    assert issue.code == "no_identity"
    assert "我的表.xlsx" in issue.render()
    assert "Download the template" in issue.render()


def test_a_template_whose_identity_sheet_was_deleted(every_kind):
    book = openpyxl.load_workbook(io.BytesIO(template(every_kind)))
    del book[IDENTITY_SHEET]
    out = io.BytesIO()
    book.save(out)

    assert refusal(read(out.getvalue(), every_kind)).code == "no_identity"


@pytest.mark.parametrize(("key", "value"), [
    ("unit", "350582102"),
    ("period", "2024Q4"),
    ("version", "2"),
    ("template", "other"),
    ("signature", "0" * 64),
    ("version", "three"),
])
def test_a_tampered_identity_is_refused(every_kind, key, value):
    book = openpyxl.load_workbook(io.BytesIO(template(every_kind)))
    for row in book[IDENTITY_SHEET].iter_rows():
        if row[0].value == key:
            row[1].value = value
    out = io.BytesIO()
    book.save(out)

    issue = refusal(read(out.getvalue(), every_kind))

    assert issue.code == "bad_signature"
    assert "Download a fresh template" in issue.render()


def test_a_workbook_signed_by_another_server(every_kind):
    data = template(every_kind, secret=b"another server")

    assert refusal(read(data, every_kind)).code == "bad_signature"


def test_an_unknown_or_retired_template_version(every_kind):
    data = template(every_kind)

    result = read_workbook(data, "a.xlsx", secret=SECRET, resolve=resolver())

    issue = refusal(result)
    assert issue.code == "unknown_template"
    assert issue.params == {"filename": "a.xlsx", "template": "every-kind", "version": 3}


@pytest.mark.parametrize(("expected", "code"), [
    ({"template": "chidian-progress"}, "wrong_template"),
    ({"unit": "350582999"}, "wrong_unit"),
    ({"period": "2024Q4"}, "wrong_period"),
])
def test_a_workbook_for_another_report(every_kind, expected, code):
    identity = identity_of(every_kind)
    wanted = type(identity)(**{**identity.__dict__, **expected})

    issue = refusal(read(template(every_kind), every_kind, expected=wanted))

    assert issue.code == code
    assert "Upload it on the page of its own report" in issue.render()


def test_the_wrong_period_is_named_in_the_users_language(every_kind):
    wanted = identity_of(every_kind, period="2024Q4")
    issue = refusal(read(template(every_kind), every_kind, expected=wanted))

    assert "2024年第三季度" in issue.render()
    assert "2024年第四季度" in issue.render()
    assert "2024 Q3" in issue.render(locale="en")


def test_the_expected_report_may_use_a_newer_version(every_kind):
    wanted = identity_of(every_kind)
    wanted = type(wanted)(wanted.template, wanted.version + 1, wanted.unit, wanted.period)

    assert read(template(every_kind), every_kind, expected=wanted).ok


def test_a_workbook_whose_markers_were_removed(every_kind):
    def wipe(ws):
        for cell in ws["A"]:
            cell.value = None

    issue = refusal(read(edit_form(template(every_kind), wipe), every_kind))

    assert issue.code == "no_form_sheet"


def test_a_sheet_with_content_far_outside_the_form(every_kind):
    def far(ws):
        ws["XFD1048576"] = "x"

    issue = refusal(read(edit_form(template(every_kind), far), every_kind))

    assert issue.code == "sheet_too_large"
    assert issue.params["cell"] == "XFD1048576"


# -- zip bombs ------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_before_it_is_inflated(every_kind):
    bomb = zip_of({"xl/workbook.xml": b"<workbook/>",
                   "xl/worksheets/sheet1.xml": b"\0" * 20_000_000})

    issue = refusal(read(bomb, every_kind, limits=Limits(max_unpacked_bytes=5_000_000)))

    assert issue.code == "unpacked_too_large"


def test_a_high_compression_ratio_is_refused(every_kind):
    bomb = zip_of({"xl/workbook.xml": b"<workbook/>", "xl/sharedStrings.xml": b"a" * 5_000_000})

    assert refusal(read(bomb, every_kind)).code == "unpacked_too_large"


def _understate_sizes(data: bytes, name: bytes, size: int) -> bytes:
    """Rewrite the declared uncompressed size of one entry, as a hostile file would."""
    out = bytearray(data)
    start = 0
    while (pos := out.find(b"PK\x03\x04", start)) != -1:  # local headers
        name_len = struct.unpack_from("<H", out, pos + 26)[0]
        if out[pos + 30:pos + 30 + name_len] == name:
            struct.pack_into("<I", out, pos + 22, size)
        start = pos + 4
    start = 0
    while (pos := out.find(b"PK\x01\x02", start)) != -1:  # central directory
        name_len = struct.unpack_from("<H", out, pos + 28)[0]
        if out[pos + 46:pos + 46 + name_len] == name:
            struct.pack_into("<I", out, pos + 24, size)
        start = pos + 4
    return bytes(out)


def test_a_zip_that_lies_about_its_sizes_is_refused(every_kind):
    data = zip_of({"xl/workbook.xml": b"<workbook/>",
                   "xl/worksheets/sheet1.xml": b"<x/>" * 3_000_000})
    lying = _understate_sizes(data, b"xl/worksheets/sheet1.xml", 1000)

    issue = refusal(read(lying, every_kind, limits=Limits(max_unpacked_bytes=5_000_000)))

    assert issue.code == "unpacked_too_large"


def test_a_zip_with_too_many_parts(every_kind):
    entries = {f"xl/media/{n}.bin": b"" for n in range(1100)}
    entries["xl/workbook.xml"] = b"<workbook/>"

    issue = refusal(read(zip_of(entries), every_kind))

    assert issue.code == "too_many_parts"
    assert issue.params["max"] == 1000


def test_a_damaged_zip_entry_is_corrupt(every_kind):
    data = bytearray(template(every_kind))
    sheet = data.find(b"xl/worksheets/sheet1.xml")
    data[sheet + 200:sheet + 260] = b"\xff" * 60  # inside the compressed sheet

    assert refusal(read(bytes(data), every_kind)).code == "corrupt_file"


SHEET_PARTS = [
    b'<worksheet><dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1"/><c r="B1"/></row>'
    b'<row r="2"><c r="B2"><v>1</v></c></row></sheetData></worksheet>',
    # prefixed tags, single quotes, spaces, $ signs, cells and rows without references
    b"<x:worksheet><x:sheetData><x:row r='3'><x:c r = '$zz$12'/><x:c/><c r='B7'></c></x:row>"
    b'<row/><row r="00099"/></x:sheetData></x:worksheet>',
    b'<sheetData><c <c r="A1"><row r="5"><row><c><c/><c>x</c>',
    b'<sheetData><dimension ref="A1:XFD1048576"/></sheetData>',
    b"<sheetData>" + b"".join(b'<row r="%d"><c r="C%d"/><c/></row>' % (n, n)
                              for n in range(1, 3000)) + b"</sheetData>",
    b"",
    # every tag with its reference, in the ways writers put it: one pass measures these
    b'<sheetData><row r="2" spans="1:3"><c s="1" r="C2" t="s"><v>0</v></c><c r=\'$b$7\'/>'
    b'</row><row\tr="9"><c\nr = "AA9"/></row><row r="11"/></sheetData>',
    b'<worksheet><dimension ref="A1:C4"/><sheetData><row r="3"><c r="B3"/></row></sheetData>',
    # a cell without a column, a reference after a "<", an unknown prefix
    b'<sheetData><row r="1"><c t="s" r="12"/><c r="D1"/></row></sheetData>',
    b'<sheetData><row r="1"><c s="<" r="E1"/></row></sheetData>',
    b'<sheetData><row r="1"><c r="F1"/></row><y:ext/></sheetData>',
]


@pytest.mark.parametrize("part", SHEET_PARTS)
def test_a_small_part_is_measured_as_a_large_one_is(part):
    """Parts up to 1 MB are scanned with lists of matches, larger ones match by match."""
    assert _xlsx_extent(part) == _xlsx_extent_streaming(part)


def test_a_part_with_a_cell_far_away_is_measured_by_it():
    part = b'<sheetData><row r="1"><c r="A1"/></row><row r="900"><c r="ZZ900"/></row></sheetData>'

    assert _xlsx_extent(part) == (900, 702)


@pytest.mark.parametrize("part", SHEET_PARTS + [
    b'<sheetData><row r="1"><c r="ZZ999"/></row></sheetData>',
    b'<sheetData><row r="1"><c r="AAA1"/></row><row r="1000"><c r="A1000"/></row></sheetData>',
    b'<sheetData><row r="1"><c r="A1"/><x:c r="AAA1"/></row><x:row r="5000"/></sheetData>',
    b'<sheetData><row r="1"><c r="A1"/></row><row r="5000"/><row/></sheetData>',
    b'<dimension ref="A1:AB2000"/><sheetData><row r="1"><c r="A1"/></row></sheetData>',
    b'<sheetData><row r="1"><c r="A1" /><c\tr="B5"/></row><row r="7"><c r="a7"/></row></sheetData>',
])
def test_the_quick_bound_of_a_part_is_never_below_its_extent(part):
    rows, cols = _xlsx_extent(part)
    bound_rows, bound_cols = _xlsx_bound(part)

    assert bound_rows >= rows and bound_cols >= cols


@pytest.mark.parametrize(("cell", "refused"), [("J10", False), ("K10", True), ("J11", True)])
def test_a_part_over_a_small_cell_limit_is_measured_exactly(cell, refused):
    """The quick bound (up to ZZ999) exceeds 100 cells, so the exact extent decides."""
    part = (b'<worksheet><sheetData><row r="1"><c r="A1"/></row><row r="%s"><c r="%s"/>'
            b'</row></sheetData></worksheet>' % (cell[1:].encode(), cell.encode()))

    problem = _zip_extents([("xl/worksheets/sheet1.xml", part)], "a.xlsx",
                           Limits(max_cells=100))

    assert (problem is not None) is refused
    if refused:
        assert (problem.code, problem.params["cell"]) == ("sheet_too_large", cell)


def _parts_read(data: bytes, *, whole: bool) -> tuple[str | None, list[tuple[str, bytes]]]:
    """What the zip checks make of *data*: with *whole*, plain entries are inflated in
    one call from the bytes; without, every entry is read through ``zipfile``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        problem, parts = _check_archive(archive, "a.xlsx", Limits(), keep=lambda name: True,
                                        data=data if whole else None)
    return (problem.code if problem else None), parts


def _damaged_zips() -> list[bytes]:
    parts = {"xl/workbook.xml": b"<workbook>" + b"<sheet/>" * 500 + b"</workbook>",
             "xl/worksheets/sheet1.xml": b"<worksheet><sheetData/></worksheet>"}
    plain = zip_of(parts)
    first = plain.index(b"PK\x03\x04")
    name_at = first + 30
    data_at = name_at + len("xl/workbook.xml")
    central = plain.index(b"PK\x01\x02")
    renamed = bytearray(plain)
    renamed[name_at:name_at + 2] = b"XL"  # the local name differs from the directory's
    flipped = bytearray(plain)
    flipped[data_at + 5] ^= 0xFF  # inside the deflated data
    bad_crc = bytearray(plain)
    bad_crc[central + 16] ^= 0xFF  # the CRC the directory records
    encrypted = bytearray(plain)
    encrypted[central + 8] |= 0x1  # flagged as encrypted
    return [plain, zip_of(parts, zipfile.ZIP_STORED), bytes(renamed), bytes(flipped),
            bytes(bad_crc), bytes(encrypted)]


@pytest.mark.parametrize("data", _damaged_zips())
def test_entries_inflated_in_one_call_are_judged_as_zipfile_reads_them(data):
    assert _parts_read(data, whole=True) == _parts_read(data, whole=False)


def test_the_parts_of_a_sound_zip_are_read_whole_and_a_damaged_one_is_corrupt():
    plain, stored, renamed, flipped, bad_crc, encrypted = _damaged_zips()

    for data in (plain, stored):
        problem, parts = _parts_read(data, whole=True)
        assert problem is None
        assert dict(parts)["xl/workbook.xml"].count(b"<sheet/>") == 500
    for data in (renamed, flipped, bad_crc, encrypted):
        assert _parts_read(data, whole=True)[0] == "corrupt_file"


def test_a_large_part_is_measured_too():
    rows = b"".join(b'<row r="%d"><c r="D%d"/></row>' % (n, n) for n in range(1, 60_000))
    assert len(rows) > 1024 * 1024
    assert _xlsx_extent(b"<sheetData>" + rows + b"</sheetData>") == (59_999, 4)
    assert _xlsx_extent(b"<sheetData>" + rows[:1000] + b"</sheetData>")[1] == 4
