"""The 晾晒通报 worksheet: text stays text, the page is set up for A4, the chart reads
the ranking table, and the 点名 section is only there when someone is named."""

from __future__ import annotations

import io
import zipfile

import openpyxl

from exports.briefing_sheet import BriefingSheet, RankingRow, write_briefing

HEADERS = ["排名", "单位", "应报", "按时", "逾期", "未报", "未到期", "完成率"]


def sheet(**changes) -> BriefingSheet:
    values = dict(
        title="关于2025年第一季度报送情况的通报", office='=HYPERLINK("x")镇',
        date="2025年4月10日",
        headline=["应报单位 3 个。"], ranking_heading="下属单位排名", ranking_text="",
        headers=HEADERS,
        rows=[RankingRow(1, "=1+1村", 1, 1, 0, 0, 0, 1.0),
              RankingRow(2, "@SUM(A1)村", 2, 0, 1, 1, 0, 0.5)],
        call_out_heading="点名通报：1 个单位未按要求报送", call_out=["@SUM(A1)村（1 期未报）"],
        chart_title="各单位报送情况", seal="（盖章）")
    values.update(changes)
    return BriefingSheet(**values)


def test_user_text_is_never_a_formula_and_the_page_is_a4():
    data = write_briefing(sheet())
    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book.active
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells}
    assert {"=1+1村", "@SUM(A1)村", '=HYPERLINK("x")镇', "（盖章）"} <= texts
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "portrait"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    # One page wide (1 is the default, so left out of the file), at most two tall.
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 2
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
    assert "$B$" in chart and chart.count("<c:ser>") == 4


def test_no_call_out_section_without_names():
    data = write_briefing(sheet(call_out_heading="", call_out=[]))
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    texts = {c.value for row in ws.iter_rows() for c in row if c.value is not None}
    assert not [t for t in texts if isinstance(t, str) and "点名" in t]
