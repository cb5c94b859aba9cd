"""The demo town's merged workbook prints as a document a leader reads: the compact
汇总表 of the 21-item table in three A4 pages or fewer, the town's units side by side in
four or fewer, converted to PDF by LibreOffice as an office would print it."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from demo_loaded import NOW, prepared_demo, town_figures
from sqlalchemy.orm import Session

from server.db import database
from server.services import merged

pytestmark = pytest.mark.slow  # builds the whole demo, then runs LibreOffice

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def town_workbook(migrated, tmp_path_factory) -> Iterator[tuple[Path, merged.MergedWorkbook]]:
    """The town's merged workbook of the latest period that has begun, in Chinese."""
    folder = tmp_path_factory.mktemp("summary-pdf")
    with (prepared_demo(migrated, tmp_path_factory, "zh-CN") as (app, _),
          app.test_request_context(headers={"Accept-Language": "zh-CN"}),
          Session(database(app).engine, expire_on_commit=False) as session):
        path = folder / "town.xlsx"
        result = merged.write_merged(session, town_figures(session), str(path),
                                     locale="zh_CN", now=NOW)
        yield path, result


def pdf_pages(workbook: Path, sheet: str, folder: Path) -> int:
    """Pages of *sheet* alone, printed to PDF by LibreOffice with the workbook's settings."""
    book = openpyxl.load_workbook(workbook)
    for name in list(book.sheetnames):
        if name != sheet:
            del book[name]
    single = folder / f"{len(list(folder.iterdir()))}.xlsx"
    book.save(single)
    subprocess.run([SOFFICE, "--headless", "--norestore", "--convert-to", "pdf", "--outdir",
                    str(folder), str(single)], check=True, capture_output=True, timeout=300)
    data = single.with_suffix(".pdf").read_bytes()
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def test_the_town_summary_prints_in_three_pages_and_its_units_in_four(town_workbook,
                                                                     tmp_path):
    """One test rather than two: under xdist each test of the module may run in a worker of
    its own, and each would build the whole demo again for the same workbook."""
    path, result = town_workbook
    book = openpyxl.load_workbook(path)
    # Every sheet has print settings.
    for ws in book.worksheets:
        assert ws.page_setup.paperSize == 9, ws.title  # A4
        assert ws.page_setup.fitToWidth in (1, None) and ws.sheet_properties.pageSetUpPr.fitToPage
        assert "&P" in ws.oddFooter.center.text, ws.title
    assert book.sheetnames[0] == result.summary_table_sheet == "汇总表"
    table = book[result.summary_table_sheet]
    cells = [str(c.value) for row in table.iter_rows() for c in row if c.value is not None]
    # Every one of the 21 items is in the table, with the units counted above it.
    numbers = {str(c.value) for c in table["A"] if c.value is not None}
    assert {str(n) for n in range(1, 22)} <= numbers
    assert any(text.startswith("计入单位：17 个单位：") for text in cells), cells[:5]
    assert not any("*" in text for text in cells)  # no required box left empty
    assert table.page_setup.orientation == "landscape" and table.page_setup.paperSize == 9
    assert table.print_title_rows and "&P" in table.oddFooter.center.text
    by_unit = book[result.by_unit_sheet]
    assert by_unit.max_row >= 17 + 1  # the town's 17 units below the header
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed: the workbook cannot be printed "
                    "to PDF here")
    assert pdf_pages(path, result.summary_table_sheet, tmp_path) <= 3
    assert pdf_pages(path, result.by_unit_sheet, tmp_path) <= 4
