"""Calculated fields in the official workbook: a locked Excel formula over the input cells
that gives the server's value, recomputed on import whatever the file holds."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from excel_formula import evaluate
from excel_helpers import (
    EVERY_KIND,
    edit_form,
    fill_workbook,
    needs_soffice,
    read,
    ref_of,
    sample_values,
    soffice_convert,
    template,
    user_cell,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from forms.calculated import calculate
from forms.definition import Definition, FieldKind

EXTRA = [
    {"key": "rect_rate", "kind": "percent", "label": "整改率", "unit": "%",
     "formula": "round(rectified / found * 100, 2)"},
    {"key": "still_open", "kind": "integer", "label": "未整改", "unit": "处",
     "formula": "found - rectified"},
    {"key": "per_rate", "kind": "decimal", "label": "持证率×投入",
     "formula": "if(rate >= 50, rate * investment / 100, -investment)"},
]


@pytest.fixture(scope="module")
def calc_def() -> Definition:
    data = {**EVERY_KIND}
    sections = [dict(s) for s in data["sections"]]
    items = [dict(i) for i in sections[0]["items"]]
    items[0] = {**items[0], "fields": list(items[0]["fields"]) + EXTRA}
    sections[0] = {**sections[0], "items": items}
    return Definition.model_validate({**data, "sections": sections})


def form_sheet(data: bytes, **options):
    book = openpyxl.load_workbook(io.BytesIO(data), **options)
    return next(ws for ws in book.worksheets if ws["A1"].value == "tb:cols")


def formulas(data: bytes) -> dict[str, tuple[str, str]]:
    """key → (cell, formula) of the calculated fields."""
    ws = form_sheet(data)
    return {key: (ref_of(data, key), ws[ref_of(data, key)].value)
            for key in ("rect_rate", "still_open", "per_rate")}


def server_value_in_cell(definition, key, values):
    """What the cell should show for the server's value (percent cells hold fractions)."""
    value = calculate(definition, values)[key]
    if value is None:
        return ""
    return value / 100 if definition.field(key).kind is FieldKind.PERCENT else Decimal(value)


def test_calculated_cells_are_locked_formulas_over_the_input_cells(calc_def):
    data = template(calc_def)
    ws = form_sheet(data)
    found, rectified = ref_of(data, "found"), ref_of(data, "rectified")
    cell, formula = formulas(data)["rect_rate"]
    assert formula == (f'=IF(COUNT({found},{rectified})<2,"",'
                       f'IFERROR(ROUND(ROUND(({rectified}/{found}*100),2),2)/100,""))')
    assert ws[cell].protection.locked
    assert not ws[found].protection.locked
    assert ws[cell].number_format == "0.0#%"
    assert ws[cell].comment.text == (
        "Calculated from the other figures by a formula: nothing to fill in.")


def test_a_consolidated_rate_over_fewer_units_is_its_value_not_a_formula_of_the_totals(
        calc_def):
    """Totals of 10 found and 5 rectified, but the rate counts only the units that gave
    both (5 of 5): the cell holds 100 %, said so, rather than =5/10."""
    values = {**calculate(calc_def, {"found": 10, "rectified": 5}),
              "rect_rate": Decimal("100.00"), "still_open": 0}
    data = template(calc_def, values=values)
    ws = form_sheet(data)
    cell = ref_of(data, "rect_rate")
    assert ws[cell].value == 1  # a number (a fraction: 100 %), not a formula
    assert "units that gave every input" in ws[cell].comment.text
    assert str(formulas(data)["per_rate"][1]).startswith("=")  # the same values: a formula


def test_the_cached_result_is_the_servers_value(calc_def):
    values = {"found": 8, "rectified": 6, "rate": Decimal("87.5"), "investment": Decimal("2")}
    data = template(calc_def, values=calculate(calc_def, values))
    ws = form_sheet(data, data_only=True)
    assert ws[ref_of(data, "rect_rate")].value == pytest.approx(0.75)
    assert ws[ref_of(data, "still_open")].value == 2
    assert ws[ref_of(data, "per_rate")].value == pytest.approx(1.75)


cell_values = st.none() | st.integers(min_value=0, max_value=10**6)


@settings(max_examples=200, deadline=None)
@given(found=cell_values, rectified=cell_values,
       rate=st.none() | st.decimals(min_value=0, max_value=100, places=1),
       investment=st.none() | st.decimals(min_value=0, max_value=10**4, places=2))
def test_property_the_formula_gives_the_servers_value(calc_def, formula_cells, found, rectified,
                                                      rate, investment):
    typed = {"found": found, "rectified": rectified, "rate": rate, "investment": investment}
    refs, texts = formula_cells
    cells = {refs[k]: user_cell(calc_def.field(k), v) for k, v in typed.items()}
    for key, formula in texts.items():
        got = evaluate(formula, cells)
        want = server_value_in_cell(calc_def, key, typed)
        if want == "":
            assert got == "", (key, typed)
        else:
            assert Decimal(got) == pytest.approx(want, abs=Decimal("1e-12")), (key, typed)


@pytest.fixture(scope="module")
def formula_cells(calc_def):
    data = template(calc_def)
    refs = {k: ref_of(data, k) for k in ("found", "rectified", "rate", "investment")}
    return refs, {k: f for k, (_, f) in formulas(data).items()}


def test_an_uploaded_value_for_a_calculated_field_is_ignored(calc_def):
    values = sample_values(calc_def)
    values.update(found=10, rectified=4)
    data = fill_workbook(template(calc_def), calc_def, {k: v for k, v in values.items()
                                                        if not calc_def.field(k).is_calculated})
    rate_cell, open_cell = ref_of(data, "rect_rate"), ref_of(data, "still_open")

    def overwrite(ws):
        ws[rate_cell] = 0.99  # typed over the formula: 99 %
        ws[open_cell] = "很多"  # not even a number: no error, it is not read

    result = read(edit_form(data, overwrite), calc_def)
    assert result.issues == []
    assert result.values["rect_rate"] == Decimal("40.00")
    assert result.values["still_open"] == 6


@needs_soffice
def test_libreoffice_recalculates_the_formula_to_the_servers_value(calc_def, tmp_path):
    values = {"found": 7, "rectified": 3, "rate": Decimal("40"), "investment": Decimal("1.5")}
    data = fill_workbook(template(calc_def), calc_def, values)  # no cached results
    recalculated = soffice_convert(data, "xlsx", tmp_path)
    ws = form_sheet(recalculated, data_only=True)
    assert ws[ref_of(data, "rect_rate")].value == pytest.approx(float(Decimal("42.86") / 100))
    assert ws[ref_of(data, "still_open")].value == 4
    assert ws[ref_of(data, "per_rate")].value == pytest.approx(-1.5)
