"""The flat data as CSV: what Excel opens right, the same rows as the data sheet, inert text."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import given, settings
from python_calamine import CalamineWorkbook
from test_merged_workbook import V2, VERSIONS, reports, roll_up, trees

from exports.flat_data import BOM, FLAT_HEADERS, UnitReport, csv_cell, flat_csv, neutralise
from exports.merged_workbook import write_merged_workbook


def _parse(chunks) -> list[list[str]]:
    text = "".join(chunks)
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM):], newline="")))


def _sheet_cell(value) -> str:
    """A flat-sheet cell as calamine reads it, written the way the CSV writes it."""
    if isinstance(value, float):
        return csv_cell(Decimal(repr(value)))
    return neutralise(value) if isinstance(value, str) else csv_cell(value)


@settings(max_examples=20, deadline=None)
@given(root=trees())
def test_csv_has_the_same_rows_as_the_flat_sheet(tmp_path_factory, root):
    roll_up(root)
    path = tmp_path_factory.mktemp("csv") / "merged.xlsx"
    result = write_merged_workbook(
        path, V2, unit_code=root.code, unit_name=root.name, period="2024Q4",
        consolidated=root.values, reports=reports(root, "2024Q4", "2024Q3"),
        versions=VERSIONS)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(result.data_sheets[0])
    rows = _parse(flat_csv(V2, reports(root, "2024Q4", "2024Q3"), versions=VERSIONS))
    assert rows[0] == list(FLAT_HEADERS)
    assert rows[1:] == [[_sheet_cell(v) for v in row] for row in sheet.to_python()[1:]]


def test_formulas_are_neutralised_but_numbers_are_not():
    report = UnitReport("=cmd|' /C calc'!A0", "+86 村", "@root", 1, "2024Q4", "merge-test", 2,
                        "approved", values={"found": 3, "i01_progress": "-1+1",
                                            "i02_progress": "\t=1"},
                        previous={"found": 5})
    rows = _parse(flat_csv(V2, [report], versions=VERSIONS))
    by_key = {row[7]: row for row in rows[1:]}
    assert by_key["i01_progress"][:3] == ["'=cmd|' /C calc'!A0", "'+86 村", "'@root"]
    assert by_key["i01_progress"][9] == "'-1+1"
    assert by_key["i02_progress"][9] == "'\t=1"
    # A figure that went down has a negative increment: a number, left as it is.
    assert by_key["found"][9:] == ["3", "-2", "处", ""]


def test_chinese_labels_by_default_english_on_request():
    report = UnitReport("A", "甲村", "ROOT", 1, "2024Q4", "merge-test", 2, "approved",
                        values={"rate": Decimal("85.5"), "funding": Decimal("12.30")})
    zh = {row[7]: row for row in _parse(flat_csv(V2, [report]))[1:]}
    assert zh["rate"][8:] == ["培训覆盖率", "85.5", "", "%", ""]
    assert zh["funding"][8:] == ["安全投入", "12.3", "12.3", "万元", ""]
    en_rows = _parse(flat_csv(V2, [report], locale="en", translate=str.upper))
    assert en_rows[0][:2] == ["UNIT CODE", "UNIT"]
    en = {row[7]: row for row in en_rows[1:]}
    assert en["funding"][8:] == ["Funding", "12.3", "12.3", "10k yuan", ""]


def test_csv_streams_in_chunks():
    many = (UnitReport(f"U{i}", "村", "ROOT", 1, "2024Q4", "merge-test", 2, "approved",
                       values={"found": i}) for i in range(1200))
    chunks = list(flat_csv(V2, many))
    assert len(chunks) == 4  # header, then batches of 500 rows
    assert chunks[0].startswith(BOM) and not chunks[1].startswith(BOM)
    assert sum(c.count("\r\n") for c in chunks) == 1201
