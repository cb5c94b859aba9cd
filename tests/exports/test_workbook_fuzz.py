"""Whatever is uploaded, the reader answers with a result, never an exception.

Random bytes, truncated workbooks, damaged zips, and workbooks whose XML or
BIFF records were altered and then correctly re-packed (so the damage reaches
the spreadsheet parser itself, past the zip checks).
"""

from __future__ import annotations

import io
import zipfile

import pytest
from excel_helpers import SOFFICE, fill_workbook, read, sample_values, soffice_convert, template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports.workbook_reader import ReadResult

pytestmark = pytest.mark.slow  # 150 workbooks a test: `make test-fast` leaves them out

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(result: ReadResult) -> None:
    assert isinstance(result, ReadResult)
    if result.refused:
        assert result.issues, "a refused file must say why"
        assert all(i.is_error for i in result.issues)
    for issue in result.issues:
        assert issue.render()
        assert issue.render(locale="en")


@pytest.fixture(scope="module")
def valid_xlsx(every_kind) -> bytes:
    return fill_workbook(template(every_kind), every_kind, sample_values(every_kind))


@pytest.fixture(scope="module")
def valid_xls(every_kind, valid_xlsx, tmp_path_factory) -> bytes:
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is needed to make an .xls sample")
    return soffice_convert(valid_xlsx, "xls", tmp_path_factory.mktemp("fuzz"))


def rezip(data: bytes, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for index, info in enumerate(source.infolist()):
            target.writestr(info.filename, change(index, source.read(info)))
    return out.getvalue()


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(every_kind, data):
    check(read(data, every_kind))


@FUZZ
@given(magic=st.sampled_from([b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]),
       rest=st.binary(max_size=4096))
def test_random_bytes_behind_a_spreadsheet_signature(every_kind, magic, rest):
    check(read(magic + rest, every_kind))


@FUZZ
@given(cut=st.floats(0, 1, exclude_max=True))
def test_truncated_workbooks(every_kind, valid_xlsx, cut):
    result = read(valid_xlsx[: int(len(valid_xlsx) * cut)], every_kind)

    check(result)
    assert result.refused


@FUZZ
@given(changes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                        min_size=1, max_size=8))
def test_workbooks_with_damaged_bytes(every_kind, valid_xlsx, changes):
    data = bytearray(valid_xlsx)
    for where, value in changes:
        data[int(len(data) * where)] = value
    check(read(bytes(data), every_kind))


_NUMBERS = st.sampled_from([b"0", b"9", b"65536", b"1048577", b"99999999", b"4294967295",
                            b"18446744073709551617", b"-1", b"XFD", b"A"])


@FUZZ
@given(part=st.integers(0, 20), edits=st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), _NUMBERS | st.binary(min_size=1, max_size=4)),
    min_size=1, max_size=6))
def test_workbooks_with_altered_xml_repacked(every_kind, valid_xlsx, part, edits):
    def change(index, content):
        if index != part % len(zipfile.ZipFile(io.BytesIO(valid_xlsx)).infolist()) or not content:
            return content
        for where, text in edits:
            at = int(len(content) * where)
            content = content[:at] + text + content[at + len(text):]
        return content

    check(read(rezip(valid_xlsx, change), every_kind))


@FUZZ
@given(changes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                        min_size=1, max_size=8))
def test_xls_workbooks_with_damaged_records(every_kind, valid_xls, changes):
    data = bytearray(valid_xls)
    for where, value in changes:
        data[int(len(data) * where)] = value
    check(read(bytes(data), every_kind, filename="upload.xls"))
