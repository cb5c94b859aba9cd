"""The template workbook as the person filling it in sees and prints it."""

from __future__ import annotations

import copy
import io
import zipfile
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest
from excel_helpers import EVERY_KIND, SECRET, named_cells, read, template

from exports.identity import IDENTITY_SHEET, LISTS_SHEET
from exports.template_workbook import render_template, sheet_name_for
from forms.definition import Definition, FieldKind


def open_form(data: bytes):
    book = openpyxl.load_workbook(io.BytesIO(data))
    return book, book.worksheets[0]


def texts(ws) -> list[str]:
    return [str(c.value) for row in ws.iter_rows() for c in row
            if c.value is not None and c.column > 1]


def cell_of(ws, definition_key: str) -> openpyxl.cell.Cell:
    sheet, ref = named_cells(ws.parent)[definition_key]
    return ws.parent[sheet][ref]


def test_the_official_form_has_title_period_unit_columns_sections_and_items(every_kind):
    _, ws = open_form(template(every_kind))
    shown = texts(ws)

    assert ws.title == "全类型测试表"
    assert "全类型测试表" in shown
    assert "2024年第三季度" in shown
    assert "报送单位：池店镇" in shown
    headers = [c.value for c in ws[7]][1:6]
    assert headers == ["序号", "项目名称", "具体内容", "推进情况", "备注"]
    assert "（一）隐患排查" in shown and "（二）组织保障" in shown
    assert "排查整治隐患" in shown and "全面排查" in shown
    assert "注：相关数据均为累计。" in shown


def test_section_rows_and_item_numbers_are_merged(every_kind):
    _, ws = open_form(template(every_kind))
    merged = {str(r) for r in ws.merged_cells.ranges}
    section_row = next(c.row for c in ws["B"] if c.value == "（一）隐患排查")

    assert f"B{section_row}:H{section_row}" in merged
    # Item 1 has three indicator sub-rows: its number spans all four rows.
    item_row = next(c.row for c in ws["B"] if c.value == "1")
    assert f"B{item_row}:B{item_row + 3}" in merged


def test_indicators_are_sub_rows_with_unit_and_previous_value(every_kind):
    _, ws = open_form(template(every_kind, previous={"found": 41, "rate": Decimal(3)}))
    found = cell_of(ws, "found")
    row = found.row

    assert ws.cell(row, 3).value == "排查隐患"  # label
    assert ws.cell(row, found.column + 1).value == "处"  # unit beside the input
    previous = ws.cell(row, found.column + 2)
    assert previous.value == 41
    assert previous.protection.locked
    # Only cumulative figures are shown as reference.
    assert ws.cell(cell_of(ws, "rate").row, found.column + 2).value is None
    assert "Previous period\n(2024年第二季度)" in texts(ws)


def test_plan_text_and_basis_are_readable_as_comments(every_kind):
    _, ws = open_form(template(every_kind))
    comments = {c.value: c.comment.text for row in ws.iter_rows() for c in row if c.comment}

    assert "全面排查整治各类隐患。" in comments["排查整治隐患"]
    assert "全面排查隐患" in comments["排查隐患"]
    assert comments["（一）隐患排查"] == "本组按正文排列。"


def test_inputs_are_unlocked_labels_locked_and_the_sheet_protected(every_kind):
    book, ws = open_form(template(every_kind))

    assert ws.protection.sheet
    assert not ws.protection.password
    assert ws.protection.insertRows is False  # False: inserting rows is allowed
    for key in ("reporter", "phone", "found", "rate", "done", "i01_progress"):
        assert cell_of(ws, key).protection.locked is False, key
    assert ws["B2"].protection.locked
    assert ws.cell(cell_of(ws, "found").row, 3).protection.locked


def test_print_setup_is_a4_landscape_fitted_to_width_with_repeated_headers(every_kind):
    _, ws = open_form(template(every_kind))

    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$7:$7"
    assert ws.print_area.startswith("'全类型测试表'!$B$2:$H$")
    assert ws.column_dimensions["A"].hidden  # the markers do not print


def test_signature_and_seal_line(every_kind):
    translations = {"Reporting unit (seal):": "报送单位（盖章）：",
                    "Person in charge (signature):": "负责人签字：",
                    "Date: ____ / __ / __": "日期：    年  月  日"}
    _, ws = open_form(template(every_kind, translate=lambda s: translations.get(s, s)))
    last = [c.value for c in ws[ws.max_row] if c.value]

    assert last[1:] == ["报送单位（盖章）：", "负责人签字：", "日期：    年  月  日"]


def test_identity_and_lists_sheets_are_very_hidden(every_kind):
    book, _ = open_form(template(every_kind))

    assert book[IDENTITY_SHEET].sheet_state == "veryHidden"
    assert book[LISTS_SHEET].sheet_state == "veryHidden"
    pairs = {r[0].value: r[1].value for r in book[IDENTITY_SHEET].iter_rows()}
    assert pairs["template"] == "every-kind"
    assert pairs["version"] == "3"
    assert pairs["unit"] == "350582101"
    assert pairs["period"] == "2024Q3"
    assert len(pairs["signature"]) == 64


def _validations(ws) -> dict[str, object]:
    found = {}
    for dv in ws.data_validations.dataValidation:
        for ref in str(dv.sqref).split():
            found[ref.split(":")[0]] = dv
    return found


def test_inputs_carry_excel_data_validation_by_kind(every_kind):
    book, ws = open_form(template(every_kind))
    rules = _validations(ws)

    def rule(key):
        return rules[cell_of(ws, key).coordinate]

    assert (rule("found").type, rule("found").operator, rule("found").formula1) == (
        "whole", "greaterThanOrEqual", "0")
    assert (rule("rectified").formula1, rule("rectified").formula2) == ("0", "100000")
    assert rule("investment").type == "decimal"
    assert (rule("rate").type, rule("rate").formula1, rule("rate").formula2) == (
        "decimal", "0", "1")  # a percent cell holds the fraction
    assert rule("start").type == "date"
    assert rule("done").type == "list" and rule("done").formula1 == '"是,否"'
    assert (rule("reporter").type, rule("reporter").formula1) == ("textLength", "50")
    assert "写明主要做法" in rule("summary").prompt
    # A label with a comma cannot go in an inline list: it comes from the lists sheet.
    level = rule("level")
    assert level.type == "list" and level.formula1.startswith("_lists!")
    lists = [c.value for c in book[LISTS_SHEET]["A"]]
    assert lists == ["重大风险", "低风险, 一般"]


def test_number_formats_fit_the_kinds(every_kind):
    _, ws = open_form(template(every_kind))

    assert cell_of(ws, "rate").number_format == "0.0#%"
    assert cell_of(ws, "start").number_format == "yyyy-mm-dd"
    assert cell_of(ws, "phone").number_format == "@"  # 0595… keeps its leading zero
    assert cell_of(ws, "found").number_format == "0"


def test_repeating_tables_get_twenty_rows_but_respect_max_rows(every_kind):
    book, ws = open_form(template(every_kind))
    _, ref = named_cells(book)["roster"]
    first, last = ref.split(":")
    assert ws[last].row - ws[first].row + 1 == 20

    small = copy.deepcopy(EVERY_KIND)
    roster = small["sections"][1]["items"][0]["fields"][0]
    roster.update(max_rows=3, min_rows=2)
    book, ws = open_form(template(Definition.model_validate(small)))
    first, last = named_cells(book)["roster"][1].split(":")
    assert ws[last].row - ws[first].row + 1 == 3


def test_prefilled_values_are_typed_cells(every_kind):
    values = {"found": 12, "investment": Decimal("3.5"), "rate": Decimal("85"),
              "start": datetime(2024, 6, 1).date(), "level": "blue", "done": True,
              "sectors": ["dust", "metal"], "reporter": "张三"}
    _, ws = open_form(template(every_kind, values=values))

    assert cell_of(ws, "found").value == 12
    assert cell_of(ws, "investment").value == 3.5
    assert cell_of(ws, "rate").value == pytest.approx(0.85)
    assert cell_of(ws, "start").value == datetime(2024, 6, 1)
    assert cell_of(ws, "level").value == "低风险, 一般"
    assert cell_of(ws, "done").value == "是"
    assert cell_of(ws, "sectors").value == "粉尘涉爆、冶金"


@pytest.mark.parametrize("text", [
    "=cmd|' /c calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "=HYPERLINK(\"http://x\")",
])
def test_text_that_looks_like_a_formula_is_written_as_text(every_kind, text):
    data = template(every_kind, values={"reporter": text, "i01_progress": text,
                                        "roster": [{"name": text}]})
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")

    assert b"<f>" not in sheet_xml
    _, ws = open_form(data)
    assert cell_of(ws, "reporter").data_type == "s"
    assert cell_of(ws, "reporter").value == text
    result = read(data, every_kind)
    assert result.values["reporter"] == text
    assert result.values["roster"][0]["name"] == text


def test_english_uses_the_english_texts(every_kind):
    _, ws = open_form(template(every_kind, locale="en"))
    shown = texts(ws)

    assert ws.title == "Every kind"
    assert "Every kind" in shown
    assert "2024 Q3" in shown
    assert "Reporting unit: 池店镇" in shown
    assert "Hazards found" in shown and "hazards" in shown
    assert "Figures are cumulative." in shown
    assert "Progress" in shown


def test_defined_names_point_at_the_cells_the_reader_uses(every_kind):
    rendered = render_template(every_kind, unit_code="u", unit_name="n", period="2024Q3",
                               secret=SECRET)
    book = openpyxl.load_workbook(io.BytesIO(rendered.data))
    names = named_cells(book)
    result = read(rendered.data, every_kind)

    for field in every_kind.fields():
        if field.kind in (FieldKind.ATTACHMENT, FieldKind.TABLE):
            continue
        assert names[field.key] == (rendered.sheet, result.cells[(field.key, None, None)])
        assert rendered.cells[(field.key, None, None)] == names[field.key][1]


def test_sheet_names_are_valid_for_excel():
    assert sheet_name_for("a/b[c]:d*e?f\\g") == "a b c d e f g"
    assert len(sheet_name_for("长" * 40)) == 31
    assert sheet_name_for("_tianbao") == "Form"
    assert sheet_name_for("''") == "Form"


def test_attachments_point_to_the_web_form(every_kind):
    _, ws = open_form(template(every_kind))

    assert "Upload this file on the web form." in texts(ws)
    assert "tb_plan_file" not in ws.parent.defined_names


def test_a_form_without_columns_still_lays_out_items_and_tables():
    data = copy.deepcopy(EVERY_KIND)
    data["columns"] = []
    data["sections"][0]["items"][0]["texts"] = {}
    definition = Definition.model_validate(data)
    _, ws = open_form(template(definition))

    assert [c.value for c in ws[7]][1:5] == ["No.", "Item", "Figure", "Unit"]
    assert read(template(definition), definition).ok
