"""Applicability in the official workbook: locked and greyed where the unit's tags rule a
part out, a note where it depends on answers, and ignored on upload."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from excel_helpers import edit_form, read, template

from forms.loader import load_definition

DEF = load_definition(Path(__file__).resolve().parents[1] / "forms" / "applies.yaml")


def form_sheet(data: bytes):
    book = openpyxl.load_workbook(io.BytesIO(data))
    return next(ws for ws in book.worksheets if ws["A1"].value == "tb:cols")


def cells_with(ws, text: str) -> list:
    return [c for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and text in c.value]


def comments(ws) -> str:
    return "\n".join(c.comment.text for row in ws.iter_rows() for c in row if c.comment)


def test_a_section_outside_the_units_tags_is_locked_and_greyed():
    ws = form_sheet(template(DEF, tags={"有限空间"}))
    off = cells_with(ws, "Not applicable")
    assert len(off) == 3  # the section title and its two inputs
    assert any("危险化学品" in c.value for c in off)
    for cell in off:
        assert cell.protection.locked
        assert cell.fill.fgColor.rgb.endswith("D9D9D9")
    assert ws.protection.sheet


def test_a_unit_with_the_tag_gets_open_inputs():
    data = template(DEF, tags={"危化"})
    assert cells_with(form_sheet(data), "Not applicable") == []
    # An unknown unit (no tags given) is asked everything, too.
    assert cells_with(form_sheet(template(DEF)), "Not applicable") == []


def test_answer_dependent_rows_get_a_note():
    notes = comments(form_sheet(template(DEF, tags=set())))
    assert "“是否成立安全生产委员会”：是" in notes
    assert "“风险等级”：重大" in notes
    english = comments(form_sheet(template(DEF, tags=set(), locale="en")))
    assert "“是否成立安全生产委员会”：Yes" in english


def test_cells_that_do_not_apply_are_ignored_on_upload():
    data = template(DEF, tags=set())
    ws = form_sheet(data)
    off = [c.coordinate for c in cells_with(ws, "Not applicable") if "危险化学品" not in c.value]

    def type_in(sheet):
        for ref in off:
            sheet[ref].value = "不涉及"
            sheet[ref].data_type = "s"

    result = read(edit_form(data, type_in), DEF)
    # The pure reader reads every cell; the upload drops what does not apply to the unit.
    assert {i.field for i in result.errors} == {"chem_sites", "chem_rate"}
    held = result.drop({"chem_sites", "chem_rate"})
    assert sorted(held) == ["chem_rate", "chem_sites"]
    assert result.errors == [] and "chem_sites" not in result.values


def test_a_formula_over_a_figure_that_does_not_apply_is_not_applicable_itself():
    """A rate of chemical sites per hazard, asked of everyone: for a unit without 危化 its
    input is 不适用, so the rate is too (the server's value is empty), never #VALUE!."""
    data = DEF.model_dump(mode="json", exclude_none=True)
    data["sections"][0]["items"][0]["fields"].append(
        {"key": "chem_share", "kind": "percent", "label": "危化场所占比",
         "formula": "round(chem_sites / found * 100, 2)"})
    definition = type(DEF).model_validate(data)
    without = form_sheet(template(definition, tags={"有限空间"}))
    # The section's title and two inputs, as above, and now the rate.
    assert len(cells_with(without, "Not applicable")) == 4
    assert not [c for row in without.iter_rows() for c in row if c.data_type == "f"]
    with_tag = form_sheet(template(definition, tags={"危化"}))
    formulas = [c for row in with_tag.iter_rows() for c in row if c.data_type == "f"]
    assert len(formulas) == 1 and not cells_with(with_tag, "Not applicable")
