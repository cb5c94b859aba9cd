"""The 催报 list workbook: what a consolidator sees when opening it in Excel or WPS."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
from python_calamine import CalamineWorkbook

from exports.chase_list import ChaseRow, write_chase_list

ZH = {
    "Unit code": "单位代码", "Unit name": "单位名称", "Parent unit": "上级单位",
    "Status": "状态", "Due date": "截止日期", "Days overdue": "逾期天数",
    "Contact person": "联系人", "Contact phone": "联系电话", "Chase list": "催报名单",
}

ROWS = [
    ChaseRow("VA1", "=HYPERLINK(\"http://x\")村", "池店镇", "未开始", date(2024, 7, 5), 12,
             "张三", "0595-85001234"),
    ChaseRow("VA2", "+西滨村", "池店镇", "已退回", date(2024, 7, 5), 0, "", ""),
    ChaseRow("VB1", "@东山社区", "-龙湖镇", "草稿", date(2024, 7, 5), 3, "李四", "+8613800000000"),
]


def read_rows(data: bytes) -> list[list]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_index(0).to_python()


def test_rows_read_back_exactly_with_localised_headers():
    data = write_chase_list(ROWS, title="催报名单 · 2024年第二季度", translate=ZH.get)
    rows = read_rows(data)
    assert rows[0][0] == "催报名单 · 2024年第二季度"
    assert rows[1] == ["单位代码", "单位名称", "上级单位", "状态", "截止日期", "逾期天数",
                       "联系人", "联系电话"]
    body = rows[2:]
    assert [r[0] for r in body] == ["VA1", "VA2", "VB1"]
    assert body[0][1] == "=HYPERLINK(\"http://x\")村"
    assert body[1][1:4] == ["+西滨村", "池店镇", "已退回"]
    assert body[2][1:3] == ["@东山社区", "-龙湖镇"]
    due = body[0][4]
    assert (due.date() if isinstance(due, datetime) else due) == date(2024, 7, 5)
    assert [r[5] for r in body] == [12, 0, 3]
    assert body[0][6:] == ["张三", "0595-85001234"]
    assert body[2][7] == "+8613800000000"
    assert body[1][6:] == ["", ""]


def test_text_that_looks_like_a_formula_is_stored_as_text():
    data = write_chase_list(ROWS, title="t")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    names = [sheet.cell(row=r, column=2) for r in (3, 4, 5)]
    assert all(cell.data_type == "s" for cell in names)
    assert names[0].value.startswith("=HYPERLINK")
    phone = sheet.cell(row=3, column=8)
    assert phone.data_type == "s" and phone.value == "0595-85001234"


def test_header_is_frozen_filtered_and_columns_fit_their_text():
    data = write_chase_list(ROWS, title="t", translate=ZH.get)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet.title == "催报名单"
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:H5"
    assert sheet.page_setup.orientation == "landscape"
    widths = {col: sheet.column_dimensions[col].width for col in "ABCDEFGH"}
    # A Chinese name is wider than a short code; nothing is squeezed below the minimum.
    assert widths["B"] > widths["A"] >= 8
    assert sheet.cell(row=3, column=6).number_format == "0"


def test_an_empty_list_still_has_its_header():
    rows = read_rows(write_chase_list([], title="无需催报", translate=ZH.get))
    assert rows[0][0] == "无需催报"
    assert rows[1][0] == "单位代码"
    assert len([r for r in rows[2:] if any(c != "" for c in r)]) == 0
