"""Reading what people actually type into the template, and finding it again."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from excel_helpers import (
    cache_formula_results,
    edit_form,
    fill_workbook,
    read,
    sample_values,
    template,
)
from excel_helpers import (
    ref_of as at,
)

from forms.definition import Severity
from forms.validation import validate


def typed_in(definition, entries: dict[str, object]) -> bytes:
    """A template with raw *entries* typed into the cells of the given fields."""
    data = template(definition)
    refs = {key: at(data, key) for key in entries}

    def edit(ws):
        for key, value in entries.items():
            ws[refs[key]].value = value
            if isinstance(value, str):
                ws[refs[key]].data_type = "s"

    return edit_form(data, edit)


@pytest.mark.parametrize(("typed", "value"), [
    ("１２", 12),            # full-width digits
    ("1,200", 1200),         # thousands separator
    ("  35 ", 35),           # number stored as text, with spaces
    ("35", 35),
    (35.0, 35),
    ("１，２００", 1200),
])
def test_numbers_are_read_however_they_were_typed(every_kind, typed, value):
    result = read(typed_in(every_kind, {"found": typed}), every_kind)

    assert result.issues == []
    assert result.values["found"] == value


def test_a_number_with_its_unit_is_accepted_with_a_warning_at_its_cell(every_kind):
    data = typed_in(every_kind, {"found": "12家"})
    result = read(data, every_kind)

    assert result.ok
    assert result.values["found"] == 12
    (issue,) = result.issues
    assert issue.severity is Severity.WARNING
    assert issue.code == "unit_stripped"
    assert (issue.sheet, issue.cell, issue.field, issue.label) == (
        "全类型测试表", at(data, "found"), "found", "排查隐患")
    assert issue.render() == "排查隐患: “12家” was read as 12; enter the number only."


def test_percent_typed_as_text_or_as_a_percent_cell(every_kind):
    as_text = read(typed_in(every_kind, {"rate": "85%"}), every_kind)
    as_number = read(typed_in(every_kind, {"rate": 0.855}), every_kind)

    assert as_text.values["rate"] == Decimal(85)
    assert as_number.values["rate"] == Decimal("85.5")


def test_dates_as_date_cells_text_and_serial_numbers(every_kind):
    for typed in (datetime(2024, 6, 30), "2024-06-30", "2024年6月30日", 45473.0):
        result = read(typed_in(every_kind, {"start": typed}), every_kind)
        assert result.values["start"] == date(2024, 6, 30), typed


def test_choices_by_label_value_or_english_label(every_kind):
    for typed in ("低风险, 一般", "blue", "Low", " 低风险, 一般 "):
        result = read(typed_in(every_kind, {"level": typed}), every_kind)
        assert result.values["level"] == "blue", typed


def test_yes_no_and_several_choices(every_kind):
    result = read(typed_in(every_kind, {"done": "否", "sectors": "冶金，粉尘涉爆"}), every_kind)

    assert result.values["done"] is False
    assert result.values["sectors"] == ["dust", "metal"]


def test_trailing_spaces_are_trimmed_and_phone_numbers_stay_text(every_kind):
    result = read(typed_in(every_kind, {"reporter": "张三   ", "phone": "0595-85123456"}),
                  every_kind)

    assert result.values["reporter"] == "张三"
    assert result.values["phone"] == "0595-85123456"


def test_a_phone_number_excel_turned_into_a_number_is_read_as_digits(every_kind):
    result = read(typed_in(every_kind, {"phone": 13812345678.0}), every_kind)

    assert result.values["phone"] == "13812345678"
    assert result.issues == []


def test_formulas_are_read_through_their_cached_results(every_kind):
    data = template(every_kind)
    found, investment = at(data, "found"), at(data, "investment")

    def edit(ws):
        ws[found] = "=10+2"
        ws[investment] = "=0.1+0.2"

    data = cache_formula_results(edit_form(data, edit), {found: 12, investment: 0.1 + 0.2})
    result = read(data, every_kind)

    assert result.values["found"] == 12
    assert result.values["investment"] == Decimal("0.3")


def test_bad_values_are_errors_at_their_cells_with_the_field_label(every_kind):
    data = typed_in(every_kind, {"found": "很多", "rate": "abc", "level": "中等"})
    result = read(data, every_kind)

    assert not result.ok
    by_field = {i.field: i for i in result.issues}
    assert set(by_field) == {"found", "rate", "level"}
    assert by_field["found"].cell == at(data, "found")
    assert by_field["found"].code == "not_a_number"
    assert by_field["level"].code == "bad_choice"
    assert by_field["found"].render_located() == (
        f"全类型测试表!{at(data, 'found')} (排查隐患): 排查隐患 must be a number, not “很多”.")
    assert result.values["found"] is None


def test_english_messages_use_the_english_labels(every_kind):
    result = read(typed_in(every_kind, {"found": "many"}), every_kind)
    (issue,) = result.issues

    assert issue.render(locale="en") == "Hazards found must be a number, not “many”."
    assert issue.field_label(locale="en") == "Hazards found"


def test_table_rows_inserted_inside_and_right_after_the_block_are_read(every_kind):
    data = template(every_kind, table_rows=3)
    first, last = at(data, "roster").split(":")

    def edit(ws):
        top, bottom = ws[first].row, ws[last].row
        name = ws[first].column + 1  # columns: role, name, mobile, since, share, count
        ws.cell(top, name).value = "甲"
        ws.insert_rows(top + 1)  # inside the block
        ws.cell(top + 1, name).value = "乙"
        ws.cell(top + 2, name).value = "丙"
        ws.insert_rows(bottom + 2, 2)  # right after the (shifted) block
        ws.cell(bottom + 2, name).value = "丁"
        ws.cell(bottom + 3, name).value = "戊"
        ws.cell(bottom + 3, name + 3).value = 0.5

    result = read(edit_form(data, edit), every_kind)

    assert result.issues == []
    names = [row["name"] for row in result.values["roster"]]
    assert names == ["甲", "乙", "丙", "丁", "戊"]
    assert result.values["roster"][-1]["share"] == Decimal(50)


def test_rows_inserted_between_items_shift_nothing(every_kind):
    data = template(every_kind)
    found = at(data, "found")
    row = int(found[1:])

    def edit(ws):
        ws.insert_rows(row, 3)
        ws[f"{found[0]}{row + 3}"] = 7

    result = read(edit_form(data, edit), every_kind)

    assert result.values["found"] == 7
    assert result.cell_of("found") == f"{found[0]}{row + 3}"
    assert result.issues == []


def test_content_in_an_added_row_outside_tables_is_reported(every_kind):
    data = template(every_kind)
    row = int(at(data, "found")[1:])

    def edit(ws):
        ws.insert_rows(row)
        ws.cell(row, 4).value = "我的备注"

    result = read(edit_form(data, edit), every_kind)

    (issue,) = result.issues
    assert issue.code == "extra_row_ignored"
    assert issue.severity is Severity.WARNING
    assert issue.cell == f"D{row}"


def test_a_deleted_field_row_is_an_error_naming_the_field(every_kind):
    data = template(every_kind)
    row = int(at(data, "rectified")[1:])

    result = read(edit_form(data, lambda ws: ws.delete_rows(row)), every_kind)

    assert not result.ok
    (issue,) = result.errors
    assert (issue.code, issue.field, issue.cell) == ("field_missing", "rectified", None)
    assert "整改隐患" in issue.render()


def test_a_copied_field_row_is_read_once_with_a_warning(every_kind):
    data = template(every_kind)
    found = at(data, "found")
    row = int(found[1:])

    def edit(ws):
        ws.insert_rows(row + 1)
        for col in range(1, 9):
            ws.cell(row + 1, col).value = ws.cell(row, col).value
        ws[found] = 5
        ws[f"{found[0]}{row + 1}"] = 9

    result = read(edit_form(data, edit), every_kind)

    assert result.values["found"] == 5
    (issue,) = result.issues
    assert issue.code == "field_duplicated"
    assert issue.cell == f"{found[0]}{row + 1}"


def test_validation_issues_are_located_at_their_cells(every_kind):
    values = sample_values(every_kind)
    values.update(found=3, rectified=5, done=None)
    data = fill_workbook(template(every_kind), every_kind, values)
    result = read(data, every_kind)

    located = result.locate(validate(every_kind, result.values))

    by_code = {i.code: i for i in located}
    assert by_code["rule_failed"].cell == at(data, "rectified")
    assert by_code["required"].cell == at(data, "done")
    assert by_code["required"].label == "是否完成"


def test_table_cell_problems_point_at_the_row_and_column(every_kind):
    values = {"roster": [{"name": "甲", "mobile": "13800000000"},
                         {"name": "乙", "mobile": "12345"}]}
    data = template(every_kind, table_rows=5)
    first = at(data, "roster").split(":")[0]
    data = fill_workbook(data, every_kind, values)

    result = read(data, every_kind)

    (issue,) = result.issues
    assert (issue.code, issue.row, issue.column) == ("bad_phone", 1, "mobile")
    assert issue.cell == f"E{int(first[1:]) + 1}"
    assert issue.field_label() == "成员名单, row 2"
