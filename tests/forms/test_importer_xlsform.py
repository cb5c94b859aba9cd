"""Reading XLSForms into draft definitions, and round trips with the XLSForm export."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from pyxform.xls2xform import convert

from exports.xlsform import xlsform_bytes
from forms.definition import Definition, FieldKind, Severity
from forms.importers import MESSAGES, ImportRefused, import_document
from forms.importers.xlsform import read
from forms.loader import load_catalog, load_definition
from forms.rules import parse, to_xpath

ZH, EN = "label::Chinese (zh)", "label::English (en)"
SURVEY = [
    ["type", "name", ZH, EN, "hint::Chinese (zh)", "required", "constraint",
     "constraint_message::Chinese (zh)", "constraint_message::English (en)", "relevant",
     "calculation", "appearance", "default"],
    ["begin group", "hazards", "（一） 隐患排查", "（一） Hazards"],
    ["begin group", "inspection", "1 开展隐患排查", "1 Inspections"],
    ["integer", "found", "排查隐患", "Hazards found", "单位：处", "yes", ". >= 0"],
    ["integer", "fixed", "整改隐患", "Hazards fixed", "", "true",
     ". >= 0 and . <= ${found}", "整改数不能大于排查数", "No more fixed than found"],
    ["decimal", "rate", "整改率", "Rate", "", "", ". >= 0 and . <= 100"],
    ["note", "explain", "数据均为累计", "Cumulative figures"],
    ["end group"],
    ["select_one level", "level", "风险等级", "Risk level", "", "yes"],
    ["select_multiple kinds", "kinds", "行业类别", "Industries"],
    ["select_one yn", "closed", "是否闭环", "Closed", "", "", "", "", "", "${found} > 0"],
    ["text", "notes", "情况说明", "Remarks", "", "", "string-length(.) <= 200", "", "", "",
     "", "multiline"],
    ["date", "checked_on", "检查日期", "Checked on"],
    ["calculate", "share", "", "", "", "", "", "", "", "", "${fixed} div ${found}"],
    ["end group"],
    ["begin repeat", "visits", "检查记录", "Visits"],
    ["text", "place", "检查地点", "Place", "", "yes"],
    ["integer", "people", "参加人数", "People", "", "", ". >= 1"],
    ["select_one level", "visit_level", "风险等级", "Risk level"],
    ["end repeat"],
    ["image", "photo", "现场照片", "Photo"],
    ["text", "extra", "备注", "Extra", "", "", "regex(., '^[A-Z]+$')", "", "", "", "", "",
     "无"],
    ["geopoint", "where", "位置", "Location"],
]
CHOICES = [
    ["list_name", "name", ZH, EN],
    ["level", "major", "重大", "Major"],
    ["level", "general", "一般", "General"],
    ["kinds", "mining", "矿山", "Mining"],
    ["kinds", "chemicals", "危险化学品", "Chemicals"],
    ["yn", "yes", "是", "Yes"],
    ["yn", "no", "否", "No"],
    ["spare", "a", "甲", "A"],
]
SETTINGS = [["form_title", "form_id", "version"], ["隐患排查情况表", "Town_Hazards", "7"]]


def workbook(survey=SURVEY, choices=CHOICES, settings=SETTINGS, extra_sheet=None) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in (("survey", survey), ("choices", choices), ("settings", settings),
                       (extra_sheet, [["anything"]])):
        if name is None or rows is None:
            continue
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def completed(data: dict) -> Definition:
    """The draft with what an XLSForm never says (source plan, schedule) filled in."""
    return Definition.model_validate({
        "schedule": {"frequency": "quarterly", "due": {"rule": "after_end", "months": 1,
                                                       "day": 5},
                     "first": "2024Q2", "last": "2026Q4"},
        **data, "source": {"issuer": "某镇人民政府", "title": "《方案》"}})


def unplaced(result) -> list[tuple[str, int | None, str]]:
    return [(u.source.sheet, u.source.row, u.code) for u in result.unplaced]


def test_an_xlsform_becomes_sections_items_fields_tables_and_rules():
    result = read(workbook(), "hazards.xlsx")
    definition = completed(result.data)
    assert (definition.key, definition.title) == ("town_hazards", "隐患排查情况表")
    assert len(definition.sections) == 2  # the group, then the questions after it
    section = definition.sections[0]
    assert (section.key, section.number, section.title, section.title_en) == (
        "hazards", "（一）", "隐患排查", "Hazards")
    assert [(i.key, i.number, i.title) for i in section.items] == [
        ("inspection", "1", "开展隐患排查"), ("level", "2", "风险等级"), ("kinds", "3", "行业类别"),
        ("closed", "4", "是否闭环"), ("notes", "5", "情况说明"), ("checked_on", "6", "检查日期")]
    inspection = section.items[0]
    assert inspection.note == "数据均为累计"
    found, fixed, rate = inspection.fields
    assert (found.kind, found.label, found.label_en, found.help, found.required, found.min) == (
        FieldKind.INTEGER, "排查隐患", "Hazards found", "单位：处", True, Decimal(0))
    assert fixed.required and fixed.min == 0 and fixed.max is None
    assert (rate.kind, rate.min, rate.max) == (FieldKind.DECIMAL, 0, 100)
    [rule] = definition.rules
    assert (rule.expr, rule.message, rule.message_en, rule.severity) == (
        "fixed <= found", "整改数不能大于排查数", "No more fixed than found", Severity.ERROR)
    level = definition.field("level")
    assert level.kind is FieldKind.CHOICE and level.required
    assert [(c.value, c.label, c.label_en) for c in level.choices] == [
        ("major", "重大", "Major"), ("general", "一般", "General")]
    assert definition.field("kinds").kind is FieldKind.MULTICHOICE
    assert definition.field("closed").kind is FieldKind.YESNO
    notes = definition.field("notes")
    assert (notes.kind, notes.max_length) == (FieldKind.LONGTEXT, 200)
    assert definition.field("checked_on").kind is FieldKind.DATE


def test_questions_outside_groups_make_a_section_of_their_own():
    definition = completed(read(workbook(), "hazards.xlsx").data)
    visits = definition.field("visits")
    assert visits.kind is FieldKind.TABLE and visits.label == "检查记录"
    assert [(c.key, c.kind, c.required) for c in visits.columns] == [
        ("place", FieldKind.TEXT, True), ("people", FieldKind.INTEGER, False),
        ("visit_level", FieldKind.CHOICE, False)]
    assert visits.columns[1].min == 1
    assert [c.value for c in visits.columns[2].choices] == ["major", "general"]
    assert definition.field("photo").kind is FieldKind.ATTACHMENT
    loose = definition.sections[-1]
    assert loose.title == "隐患排查情况表"
    assert [i.key for i in loose.items] == ["visits", "photo", "extra"]


def test_what_cannot_be_placed_is_reported_by_sheet_and_row():
    result = read(workbook(extra_sheet="notes"), "hazards.xlsx")
    found = unplaced(result)
    assert ("survey", 14, "xlsform_calculate") in found  # share: calculate
    assert ("survey", 22, "xlsform_constraint") in found  # extra: regex
    assert ("survey", 22, "xlsform_ignored_column") in found  # extra: default
    assert ("survey", 23, "xlsform_unsupported_type") in found  # geopoint
    assert ("choices", 8, "xlsform_unused_choice") in found  # list "spare"
    assert ("notes", None, "xlsform_ignored_sheet") in found
    by_code = {u.code: u.params for u in result.unplaced}
    assert by_code["xlsform_calculate"]["expression"] == "${fixed} div ${found}"
    assert by_code["xlsform_unsupported_type"] == {"type": "geopoint"}
    assert len(found) == 6
    # closed: its relevant is a condition of the rule language, so it applies when
    assert completed(result.data).field("closed").applies_when == "found > 0"
    for item in result.unplaced:  # every report reads as a sentence once translated
        assert "%(" not in MESSAGES[item.code] % item.params
    # Everything placed is a proposal pointing at its row.
    fields = {p.source.row for p in result.proposals if p.what == "field"}
    assert fields == {4, 5, 6, 9, 10, 11, 12, 13, 16, 21, 22}
    assert {p.source.row for p in result.proposals if p.what == "column"} == {17, 18, 19}


def test_rules_xpath_cannot_share_are_unplaced_and_the_rest_kept():
    survey = [SURVEY[0], ["integer", "a", "甲"], ["integer", "b", "乙", "", "", "",
              ". >= 0 and . <= ${a} and . mod 2 = 0 and ${a} != ''"]]
    result = read(workbook(survey, CHOICES[:1], SETTINGS), "f.xlsx")
    definition = completed(result.data)
    assert definition.field("b").min == 0
    assert [(r.expr, r.message) for r in definition.rules] == [
        ("b <= a", "b <= a"), ("filled(a)", "filled(a)")]  # no message: the rule itself
    assert [(u.code, u.params) for u in result.unplaced] == [
        ("xlsform_constraint", {"expression": ". mod 2 = 0"})]


def test_a_file_that_is_not_an_xlsform_is_refused():
    with pytest.raises(ImportRefused) as refused:
        read(b"not a workbook", "x.xlsx")
    assert refused.value.code == "unreadable"
    with pytest.raises(ImportRefused) as refused:
        read(workbook(survey=None, extra_sheet="other"), "x.xlsx")
    assert refused.value.code == "xlsform_no_survey"


def test_a_damaged_or_empty_xlsform_is_refused():
    good = workbook()
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(damaged, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            target.writestr(name, content[:60] if name.startswith("xl/worksheets/") else content)
    with pytest.raises(ImportRefused) as refused:
        read(damaged.getvalue(), "x.xlsx")
    assert refused.value.code == "unreadable"
    with pytest.raises(ImportRefused) as refused:
        read(workbook(survey=[["type", "name", "label"]]), "x.xlsx")
    assert refused.value.code == "empty"


def test_import_document_reaches_the_reader_by_kind():
    result = import_document(workbook(), "form.xlsx", kind="xlsform")
    assert result.data["key"] == "town_hazards"


def test_hand_written_xlsform_round_trip_keeps_types_labels_choices_constraints():
    original = workbook()
    definition = completed(read(original, "hazards.xlsx").data)
    again = xlsform_bytes(definition)
    convert(again, file_type=".xlsx")  # pyxform takes it without errors
    before, after = rows_by_name(original), rows_by_name(again)
    types = {"integer", "decimal", "text", "date", "image", "begin repeat", "begin group",
             "note", "select_one level", "select_multiple kinds"}
    for name, row in before.items():
        if row["type"] not in types or name in ("extra", "explain"):
            continue
        mine = after[name]
        expected_type = "file" if row["type"] == "image" else row["type"]
        assert mine["type"].split()[0] == expected_type.split()[0], name
        if row["type"].startswith("select"):  # list names follow the field, choices stay
            assert options(again, mine["type"].split()[1]) == options(
                original, row["type"].split()[1]), name
        assert mine["label::中文 (zh)"] == row[ZH], name
        assert mine["label::English (en)"] == row[EN], name
        assert bool(mine.get("required")) == (row.get("required") in ("yes", "true")), name
        if row.get("constraint"):
            assert canonical(mine["constraint"], name) == canonical(row["constraint"], name)
    assert after["closed"]["type"] == "select_one yesno"
    assert options(again, "yesno") == options(original, "yn")
    assert after["fixed"]["constraint_message::中文 (zh)"] == "整改数不能大于排查数"
    assert after["inspection_note"]["type"] == "note"  # the item's note, renamed
    assert after["inspection_note"]["label::中文 (zh)"] == "数据均为累计"


@pytest.mark.parametrize("definition", load_catalog(), ids=lambda d: d.key)
def test_catalogue_round_trip_through_xlsform_keeps_the_form(definition):
    result = read(xlsform_bytes(definition), f"{definition.key}.xlsx")
    assert result.unplaced == []
    back = completed(result.data)
    assert back.key == definition.key and back.title == definition.title
    # Not carried by XLSForm (yet).
    kept_out = {"cumulative", "cumulative_span", "cumulative_severity", "aggregation",
                "target", "basis", "unit", "unit_en", "min_rows", "max_rows", "max_size_mb"}
    assert [f.model_dump(exclude=kept_out) for f in back.fields()] == [
        f.model_dump(exclude=kept_out) for f in definition.fields()]
    assert [(s.key, s.number, s.title, s.applies_when, s.applies_basis,
             [(i.key, i.number, i.title, i.applies_when, i.applies_basis) for i in s.items])
            for s in back.sections] == [
        (s.key, s.number, s.title, s.applies_when, s.applies_basis,
         [(i.key, i.number, i.title, i.applies_when, i.applies_basis) for i in s.items])
        for s in definition.sections]
    assert sorted((xpath(r.expr), r.severity, r.message) for r in back.rules) == sorted(
        (xpath(r.expr), r.severity, r.message) for r in definition.rules)
    assert back.is_event == definition.is_event  # an event report stays one
    assert back.event_rules == definition.event_rules


def test_applicability_survives_xlsform_and_back():
    """Conditions on answers travel as XLSForm's relevant, unit tags in Tianbao's column."""
    definition = load_definition(Path(__file__).with_name("applies.yaml"))
    data = xlsform_bytes(definition)
    convert(data, file_type=".xlsx")  # pyxform takes the relevant expressions
    rows = rows_by_name(data)
    assert rows["committee_members"]["relevant"] == "${has_committee} = 'yes'"  # as ODK stores it
    assert rows["major_plan"]["relevant"] == "${level} = 'major'"
    assert rows["chem"]["tianbao_applies_when"] == "unit_has('危化')"
    assert "relevant" not in rows["chem"]
    result = read(data, "applies.xlsx")
    assert result.unplaced == []
    back = completed(result.data)
    assert back.field("committee_members").applies_when == "has_committee == true"
    assert back.field("major_plan").applies_when == "level == 'major'"
    assert back.sections[1].applies_when == "unit_has('危化')"
    assert [f.applies_when for f in back.fields()] == [
        f.applies_when for f in definition.fields()]


def test_relevant_on_a_group_or_question_becomes_its_applicability():
    survey = [SURVEY[0], ["begin group", "sec", "一 节", "", "", "", "", "", "", "",
                          "", "", ""],
              ["integer", "found", "排查"],
              ["begin group", "more", "1 详情", "", "", "", "", "", "", "${found} > 0"],
              ["text", "why", "原因", "", "", "", "", "", "", "${found} > 5 or ${found} < 1"],
              ["text", "self", "自身", "", "", "", "", "", "", "${self} != ''"],
              ["end group"], ["end group"]]
    result = read(workbook(survey, CHOICES[:1], SETTINGS), "f.xlsx")
    definition = completed(result.data)
    assert definition.sections[0].items[1].applies_when == "found > 0"
    assert definition.field("why").applies_when == "found > 5 or found < 1"
    assert definition.field("self").applies_when is None  # would hide itself
    assert [(u.source.row, u.code) for u in result.unplaced] == [(6, "xlsform_relevant")]
    assert result.unplaced[0].params == {"expression": "${self} != ''", "name": "self"}
    assert "%(" not in MESSAGES["xlsform_relevant"] % result.unplaced[0].params


def rows_by_name(data: bytes) -> dict[str, dict[str, str]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data))["survey"]
    rows = list(sheet.iter_rows(values_only=True))
    headers = [h.replace("Chinese (zh)", "中文 (zh)") if h else h for h in rows[0]]
    out = {}
    for row in rows[1:]:
        record = {h: v for h, v in zip(headers, row, strict=False) if h and v}
        if record.get("name"):
            out[record["name"]] = {**record, ZH: record.get("label::中文 (zh)")}
    return out


def options(data: bytes, list_name: str) -> list[tuple]:
    """The (name, Chinese label, English label) of each choice of *list_name*."""
    sheet = openpyxl.load_workbook(io.BytesIO(data))["choices"]
    return [tuple(r[1:4]) for r in list(sheet.iter_rows(values_only=True))[1:]
            if r[0] == list_name]


def canonical(constraint: str, name: str) -> set[str]:
    """A constraint's conditions, each in one spelling."""
    from forms.importers.xlsform import _conjuncts, _tokens

    return {c.replace(" ", "").replace("${" + name + "}", ".")
            for c in _conjuncts(_tokens(constraint))}


def xpath(expr: str) -> str:
    return to_xpath(parse(expr), lambda key: key)


def test_groups_inside_a_repeat_give_their_questions_as_columns():
    survey = [SURVEY[0], ["begin repeat", "rows", "明细"], ["begin group", "who", "人员"],
              ["text", "name", "姓名"], ["end group"], ["integer", "age", "年龄"],
              ["begin repeat", "inner", "子表"], ["text", "x", "甲"], ["end repeat"],
              ["end repeat"]]
    result = read(workbook(survey, CHOICES[:1], SETTINGS), "f.xlsx")
    table = completed(result.data).field("rows")
    assert [c.key for c in table.columns] == ["name", "age"]
    assert [(u.source.row, u.code) for u in result.unplaced] == [(7, "xlsform_not_a_column")]


def test_rules_of_every_shape_survive_export_and_import():
    rules = ["not a > b or filled(c)", "sum(a, b, 2) <= max(c, 1.5)", "0 <= d <= 100",
             "-(a + b) < abs(c) and true", "a / b * 100 >= 50", "min(a, b) == c"]
    fields = [{"key": k, "kind": "integer", "label": k} for k in "abcd"]
    definition = completed({
        "key": "shapes", "title": "规则", "sections": [{"key": "s", "title": "节", "items": [
            {"key": "i", "number": "1", "title": "项", "fields": fields}]}],
        "rules": [{"key": f"r{n}", "expr": r, "message": f"规则{n}"}
                  for n, r in enumerate(rules)]})
    result = read(xlsform_bytes(definition), "shapes.xlsx")
    assert result.unplaced == []
    back = completed(result.data)
    assert sorted((xpath(r.expr), r.message) for r in back.rules) == sorted(
        (xpath(r), f"规则{n}") for n, r in enumerate(rules))


def test_an_xlsform_is_recognised_by_its_survey_sheet_without_being_told():
    """An administrator drops an .xlsx: an XLSForm goes to the XLSForm reader, a plan's
    table to the table reader, with no --from needed."""
    from forms.importers import _has_survey_sheet

    form = openpyxl.Workbook()
    form.active.title = "survey"
    form.active.append(["type", "name", "label"])
    form.active.append(["integer", "found", "排查隐患数"])
    table = openpyxl.Workbook()
    table.active.append(["序号", "项目名称", "推进情况"])
    as_bytes = []
    for book in (form, table):
        buffer = io.BytesIO()
        book.save(buffer)
        as_bytes.append(buffer.getvalue())
    assert _has_survey_sheet(as_bytes[0]) and not _has_survey_sheet(as_bytes[1])
    assert not _has_survey_sheet(b"not a zip")
    result = import_document(as_bytes[0], "form.xlsx")
    fields = [f for s in result.data["sections"] for i in s["items"] for f in i["fields"]]
    assert [f["label"] for f in fields] == ["排查隐患数"]


def test_a_calculated_field_is_an_xlsform_calculation_and_comes_back_as_its_formula():
    [chidian] = [d for d in load_catalog() if d.key == "chidian-progress"]
    data = xlsform_bytes(chidian)
    convert(data, file_type=".xlsx")  # pyxform takes the calculation
    rate = rows_by_name(data)["i09_rectified_rate"]
    assert rate["calculation"] == (
        "round(${i09_hazards_rectified} div ${i09_hazards_found} * 100, 2)")
    assert rate["read_only"] == "yes"
    back = completed(read(data, "chidian.xlsx").data)
    assert back.field("i09_rectified_rate").formula == chidian.field(
        "i09_rectified_rate").formula


def test_a_calculation_without_a_formula_counterpart_is_reported():
    [chidian] = [d for d in load_catalog() if d.key == "chidian-progress"]
    data = xlsform_bytes(chidian)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["survey"]
    headers = [c.value for c in sheet[1]]
    column = headers.index("calculation") + 1
    for row in sheet.iter_rows(min_row=2):
        if row[headers.index("name")].value == "i09_rectified_rate":
            sheet.cell(row[0].row, column).value = "concat(${i09_hazards_found}, '处')"
    out = io.BytesIO()
    book.save(out)
    result = read(out.getvalue(), "chidian.xlsx")
    assert [u.code for u in result.unplaced] == ["xlsform_calculate"]
    back = completed(result.data)
    assert back.field("i09_rectified_rate").formula is None  # a plain number to type
    assert back.field("i08_certified_rate").formula is not None
