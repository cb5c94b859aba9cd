"""Templates filled in, then opened and saved again by LibreOffice Calc as .xlsx, .xls
and .ods, read back with the same values (what happens when a user saves in WPS or
LibreOffice, or picks another format in "Save as")."""

from __future__ import annotations

import io

import openpyxl
import pytest
from excel_helpers import (
    edit_form,
    fill_workbook,
    marked_cells,
    needs_soffice,
    read,
    ref_of,
    sample_values,
    soffice_convert,
    template,
)

from exports.annotate import annotate_workbook
from forms.definition import FieldKind
from forms.loader import catalog_files, load_definition

pytestmark = needs_soffice

FORMATS = ["xlsx", "xls", "ods"]


def _largest_catalogue_definition():
    definitions = [load_definition(p) for p in catalog_files()]
    by_key = {d.key: d for d in definitions}
    if "chidian-progress" in by_key:
        return by_key["chidian-progress"]
    return max(definitions, key=lambda d: len(list(d.fields())))


def expected(definition, values):
    return {f.key: values.get(f.key) for f in definition.fields()
            if f.kind is not FieldKind.ATTACHMENT}


@pytest.fixture(scope="module")
def every_kind_filled(every_kind):
    values = sample_values(every_kind)
    data = fill_workbook(template(every_kind), every_kind, values)
    found = ref_of(data, "found")
    first, _ = ref_of(data, "roster").split(":")

    def edit(ws):
        ws[found] = "=10+2"  # a formula: LibreOffice saves its result
        top = ws[first].row
        ws.insert_rows(top + 1)  # a row added inside the table
        ws.cell(top + 1, ws[first].column + 1).value = "新增成员"

    values["found"] = 12
    values["roster"].insert(1, {c.key: None for c in every_kind.field("roster").columns}
                            | {"name": "新增成员"})
    return edit_form(data, edit), values


@pytest.fixture(scope="module")
def converted(every_kind_filled, tmp_path_factory):
    data, _ = every_kind_filled
    workdir = tmp_path_factory.mktemp("soffice")
    return {fmt: soffice_convert(data, fmt, workdir) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_kind_survives_a_libreoffice_save(every_kind, every_kind_filled, converted, fmt):
    _, values = every_kind_filled

    result = read(converted[fmt], every_kind, filename=f"filled.{fmt}")

    assert result.format == fmt
    assert result.issues == []
    assert result.values == expected(every_kind, values)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_largest_catalogue_template_survives_a_libreoffice_save(fmt, tmp_path):
    definition = _largest_catalogue_definition()
    values = sample_values(definition)
    period = definition.schedule.first_period.key
    data = fill_workbook(template(definition, period=period), definition, values)

    result = read(soffice_convert(data, fmt, tmp_path), definition, filename=f"f.{fmt}")

    assert result.issues == []
    assert result.values == expected(definition, values)


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_uploads_in_other_formats_are_annotated_on_a_fresh_template(every_kind, fmt,
                                                                    tmp_path):
    data = template(every_kind)
    found, rate = ref_of(data, "found"), ref_of(data, "rate")

    def edit(ws):
        ws[found] = "很多"
        ws[rate] = "12家"
        ws[found].data_type = ws[rate].data_type = "s"

    upload = soffice_convert(edit_form(data, edit), fmt, tmp_path)
    result = read(upload, every_kind, filename=f"filled.{fmt}")

    annotated = annotate_workbook(upload, result, secret=b"test-secret-for-workbooks")

    assert annotated.regenerated
    assert annotated.filename == "filled (problems marked).xlsx"
    book = openpyxl.load_workbook(io.BytesIO(annotated.data))
    form = book[result.sheet]
    assert set(marked_cells(form)) == {found, rate}
    assert form[found].value == "很多"  # the user's entry is kept to be corrected
    again = read(annotated.data, every_kind)
    assert {i.field for i in again.issues} == {"found", "rate"}


def test_an_ods_with_content_far_away_is_refused_without_reading_it(every_kind, tmp_path):
    def far(ws):
        ws["XFD1048576"] = "x"

    upload = soffice_convert(edit_form(template(every_kind), far), "ods", tmp_path)
    result = read(upload, every_kind, filename="far.ods")

    (issue,) = result.issues
    assert issue.code == "sheet_too_large"
