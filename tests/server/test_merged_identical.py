"""The demo town's merged workbook is the same file whichever way its rows are written.

The merged writer serialises plain table rows and official-layout rows itself
(``exports.merged_workbook._RowWriter`` and ``_LayoutRows``), as XlsxWriter would; and
stored values are read back as data (``forms.values.loads_values``), not through the
input parser. Here the demo town's download is written as it is, and again with every
row left to XlsxWriter's own writers: the two files hold the same parts, byte for byte
(the creation time aside). And every stored report of the demo reads back to the same
typed values as the input coercion gives them.
"""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from demo_loaded import NOW, prepared_demo, town_figures
from demo_loaded import TOWN_KEY as KEY
from sqlalchemy import select
from sqlalchemy.orm import Session

import exports.merged_workbook as merged_workbook
from forms.values import coerce_values, loads_values
from server.db import database
from server.models.reporting import Report
from server.services import merged


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as book:
        return {name: book.read(name) for name in book.namelist()
                if name != "docProps/core.xml"}  # holds the moment the file was made


@pytest.mark.slow  # builds the whole demo
def test_the_town_download_is_the_same_file_and_stored_values_read_back_the_same(
        migrated, tmp_path, tmp_path_factory, monkeypatch):
    with (prepared_demo(migrated, tmp_path_factory, "zh-CN") as (app, _),
          app.test_request_context(headers={"Accept-Language": "zh-CN"}),
          Session(database(app).engine, expire_on_commit=False) as session):
        figures = town_figures(session)
        fast = tmp_path / "fast.xlsx"
        result = merged.write_merged(session, figures, str(fast), locale="zh_CN", now=NOW)
        with monkeypatch.context() as patch:
            patch.setattr(merged_workbook._RowWriter, "for_sheet", lambda ws: None)
            patch.setattr(merged_workbook._LayoutRows, "for_sheet", lambda ws: None)
            plain = tmp_path / "plain.xlsx"
            merged.write_merged(session, figures, str(plain), locale="zh_CN", now=NOW)
        assert result.data_rows > 0 and result.child_sheets
        ours, theirs = parts(fast), parts(plain)
        assert list(ours) == list(theirs)
        assert [name for name in ours if ours[name] != theirs[name]] == []

        reports = list(session.scalars(select(Report)))
        assert reports
        for report in reports:
            definition = report.template_version.definition
            as_input = json.loads(json.dumps(report.values), parse_float=Decimal)
            expected, _ = coerce_values(definition, as_input)
            found = loads_values(definition, report.values)
            assert found == expected
            assert {k: type(v) for k, v in found.items()} == \
                {k: type(v) for k, v in expected.items()}


TEXTS = ("a & b", "<r>x</r>", " leading", "trailing ", "_x0041_", "bell\x07", "两行\n文字",
         "=SUM(A1)", "普通文字")


def test_rows_with_text_to_escape_are_written_as_xlsxwriter_writes_them(tmp_path, monkeypatch):
    from exports.flat_data import UnitReport
    from forms.loader import load_catalog

    definition = next(d for d in load_catalog() if d.key == KEY)
    texts = [f.key for _, item in definition.items() for f in item.fields
             if not f.is_numeric][:3]
    numbers = [f.key for f in definition.numeric_fields() if not f.is_calculated][:3]

    def values(text: str) -> dict:
        return {**{key: text for key in texts},
                **dict(zip(numbers, (1, 2.5, 10**14), strict=True))}

    def write(path: Path) -> dict[str, bytes]:
        merged_workbook.write_merged_workbook(
            path, definition, unit_code="T", unit_name="镇", period="2024Q4",
            consolidated=values("合计"), reports=iter([
                UnitReport(f"U{n}", text.strip() or "甲", "T", 1, "2024Q4", KEY,
                           definition.version, "approved", values=values(text), submitter=text)
                for n, text in enumerate(TEXTS)]))
        return parts(path)

    ours = write(tmp_path / "fast.xlsx")
    with monkeypatch.context() as patch:
        patch.setattr(merged_workbook._RowWriter, "for_sheet", lambda ws: None)
        patch.setattr(merged_workbook._LayoutRows, "for_sheet", lambda ws: None)
        theirs = write(tmp_path / "plain.xlsx")
    assert list(ours) == list(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []
