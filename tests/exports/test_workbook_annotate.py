"""An upload with errors comes back with exactly the problem cells marked."""

from __future__ import annotations

import io

import openpyxl
from excel_helpers import (
    SECRET,
    edit_form,
    fill_workbook,
    marked_cells,
    read,
    ref_of,
    sample_values,
    template,
)

from exports.annotate import annotate_workbook
from forms.validation import validate

TRANSLATIONS = {
    "%(label)s must be a number, not “%(value)s”.": "%(label)s必须是数字，不能是“%(value)s”。",
    "Problems": "问题清单",
    "Cell": "单元格",
    "Error": "错误",
    "%(name)s (problems marked)": "%(name)s（已标注问题）",
}


def translate(msgid: str) -> str:
    return TRANSLATIONS.get(msgid, msgid)


def upload_with_problems(definition):
    data = template(definition, table_rows=4)
    found, rate = ref_of(data, "found"), ref_of(data, "rate")
    first = ref_of(data, "roster").split(":")[0]

    def edit(ws):
        ws[found] = "很多"
        ws[found].data_type = "s"
        ws[rate] = "12家"
        ws[rate].data_type = "s"
        row, col = ws[first].row, ws[first].column
        ws.insert_rows(row)  # the user added a row: the problem cell moves with it
        ws.cell(row + 1, col + 1).value = "张三"
        ws.cell(row + 1, col + 2).value = "123"
        ws.cell(row + 1, col + 2).data_type = "s"

    data = edit_form(data, edit)
    mobile = f"{chr(ord(first[0]) + 2)}{int(first[1:]) + 1}"
    return data, {"found": found, "rate": rate, "mobile": mobile}


def test_the_problem_cells_carry_comments_and_nothing_else_is_marked(every_kind):
    data, cells = upload_with_problems(every_kind)
    result = read(data, every_kind, filename="池店镇.xlsx")
    assert not result.ok

    annotated = annotate_workbook(data, result, secret=SECRET, translate=translate)

    assert not annotated.regenerated
    assert annotated.filename == "池店镇（已标注问题）.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(annotated.data))
    marks = marked_cells(book[result.sheet])
    assert set(marks) == set(cells.values())
    assert marks[cells["found"]] == "排查隐患必须是数字，不能是“很多”。"
    assert "12家" in marks[cells["rate"]]
    assert "123" in marks[cells["mobile"]]
    assert book[result.sheet][cells["found"]].fill.fgColor.rgb.endswith("FFC7CE")  # error
    assert book[result.sheet][cells["rate"]].fill.fgColor.rgb.endswith("FFEB9C")  # warning


def test_a_first_sheet_lists_every_problem_with_a_link(every_kind):
    data, cells = upload_with_problems(every_kind)
    result = read(data, every_kind)

    annotated = annotate_workbook(data, result, secret=SECRET, translate=translate)

    book = openpyxl.load_workbook(io.BytesIO(annotated.data))
    listing = book.worksheets[0]
    assert listing.title == "问题清单"
    assert book.active.title == "问题清单"
    rows = list(listing.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(result.issues) == 3
    linked = {listing.cell(r, 1).hyperlink.location for r in range(2, 5)}
    assert linked == {f"'{result.sheet}'!{ref}" for ref in cells.values()}


def test_the_annotated_workbook_can_be_fixed_and_uploaded_again(every_kind):
    data, cells = upload_with_problems(every_kind)
    result = read(data, every_kind)
    annotated = annotate_workbook(data, result, secret=SECRET).data

    def fix(ws):
        ws[cells["found"]] = 12
        ws[cells["rate"]] = 0.12
        ws[cells["mobile"]] = "13800000000"

    fixed = read(edit_form(annotated, fix), every_kind)

    assert fixed.ok and fixed.issues == []
    assert fixed.values["found"] == 12
    assert fixed.values["roster"] == [{"role": None, "name": "张三", "mobile": "13800000000",
                                      "since": None, "share": None, "count": None}]


def test_validation_issues_can_be_annotated_too(every_kind):
    values = sample_values(every_kind)
    values.update(found=3, rectified=5)
    data = fill_workbook(template(every_kind), every_kind, values)
    result = read(data, every_kind)
    located = result.locate(validate(every_kind, result.values))

    annotated = annotate_workbook(data, result, secret=SECRET, issues=located)

    book = openpyxl.load_workbook(io.BytesIO(annotated.data))
    marks = marked_cells(book[result.sheet])
    assert marks == {ref_of(data, "rectified"): "整改隐患数不能大于排查隐患数"}


def test_a_refused_upload_has_nothing_to_annotate(every_kind):
    result = read(b"not a workbook", every_kind)

    assert annotate_workbook(b"not a workbook", result, secret=SECRET) is None


def test_an_xlsx_openpyxl_cannot_load_is_annotated_on_a_fresh_template(every_kind):
    data, cells = upload_with_problems(every_kind)
    result = read(data, every_kind)

    annotated = annotate_workbook(b"garbage", result, secret=SECRET)

    assert annotated.regenerated
    book = openpyxl.load_workbook(io.BytesIO(annotated.data))
    marks = marked_cells(book[result.sheet])
    # The fresh template has no inserted row: the table cell is one row higher.
    mobile = f"{cells['mobile'][0]}{int(cells['mobile'][1:]) - 1}"
    assert set(marks) == {cells["found"], cells["rate"], mobile}
    assert read(annotated.data, every_kind).values["roster"][0]["mobile"] == "123"


def test_annotating_again_replaces_the_earlier_problem_list(every_kind):
    data, _ = upload_with_problems(every_kind)
    first = annotate_workbook(data, read(data, every_kind), secret=SECRET,
                              translate=translate).data

    second = annotate_workbook(first, read(first, every_kind), secret=SECRET,
                               translate=translate).data

    names = openpyxl.load_workbook(io.BytesIO(second)).sheetnames
    assert names.count("问题清单") == 1
    assert len(names) == len(openpyxl.load_workbook(io.BytesIO(first)).sheetnames)


def test_the_upload_is_loaded_in_the_sandbox_and_rebuilt_when_over_its_budget(
        every_kind, monkeypatch):
    import exports.annotate as annotate
    from exports import sandbox

    data, cells = upload_with_problems(every_kind)
    result = read(data, every_kind)
    loads_here = []
    monkeypatch.setattr(annotate.openpyxl, "load_workbook", _counting(loads_here))
    # Too little memory for openpyxl to open anything: the child fails, the parent goes on.
    monkeypatch.setattr(annotate, "BUDGET", sandbox.Budget(memory_bytes=1, cpu_seconds=2,
                                                           wall_seconds=4.0))

    annotated = annotate_workbook(data, result, secret=SECRET, translate=translate)

    assert annotated.regenerated
    # Only Tianbao's own fresh template was opened in this process, never the upload.
    assert loads_here and all(d != data for d in loads_here)
    book = openpyxl.load_workbook(io.BytesIO(annotated.data))
    assert book.sheetnames[0] == "问题清单"
    assert cells["found"] in marked_cells(book[result.sheet])


def _counting(seen: list):
    real = openpyxl.load_workbook

    def load(source, *args, **kwargs):
        seen.append(source.getvalue() if hasattr(source, "getvalue") else source)
        return real(source, *args, **kwargs)

    return load
