"""Template definitions written as XLSForms that ODK's own converter accepts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest
from pyxform.xls2xform import convert

from exports.xlsform import xlsform_bytes
from forms.definition import Definition
from forms.loader import load_catalog, load_definition, parse_definition

SAMPLE = """
key: town-hazards
version: 4
title: 某镇隐患排查整治推进情况表
title_en: Hazard inspection progress
source: {issuer: 某镇人民政府, title: 《方案》}
schedule: {frequency: quarterly, due: {rule: after_end, months: 1, day: 5}, first: 2024Q2,
           last: 2026Q4}
sections:
  - key: s1
    number: （一）
    title: 隐患排查整治
    title_en: Hazards
    items:
      - key: i01
        number: "1"
        title: 开展隐患排查
        note: 数据均为累计
        fields:
          - {key: found, kind: integer, label: 排查隐患, label_en: Found, min: 0, required: true,
             help: 单位：处, help_en: In places}
          - {key: fixed, kind: integer, label: 整改隐患, min: 0}
          - {key: rate, kind: percent, label: "=1+1", min: 0, max: 100}
          - {key: level, kind: choice, label: 等级, choices: [{value: major, label: 重大,
             label_en: Major}, {value: general, label: 一般}]}
          - {key: closed, kind: yesno, label: 是否闭环}
          - {key: remarks, kind: longtext, label: 说明}
          - {key: photo, kind: attachment, label: 照片}
          - key: visits
            kind: table
            label: 检查记录
            columns:
              - {key: place, kind: text, label: 地点, required: true, max_length: 20}
              - {key: people, kind: integer, label: 人数, min: 1}
      - {key: i02, number: "2", title: 其他工作}
rules:
  - {key: r1, expr: "fixed <= found", message: 整改数不能大于排查数, message_en: Too many fixed}
  - {key: r2, expr: "rate >= 50", severity: warning, message: 整改率偏低}
"""


def sheet_rows(data: bytes, name: str) -> list[dict[str, str]]:
    rows = list(openpyxl.load_workbook(io.BytesIO(data))[name].iter_rows(values_only=True))
    return [{h: v for h, v in zip(rows[0], row, strict=True) if v is not None}
            for row in rows[1:]]


@pytest.fixture
def sample() -> Definition:
    return parse_definition(SAMPLE)


@pytest.mark.parametrize("definition", load_catalog(), ids=lambda d: d.key)
def test_every_catalogue_template_converts_with_pyxform(definition):
    result = convert(xlsform_bytes(definition), file_type=".xlsx")
    assert result.warnings == []
    assert f'id="{definition.key}"' in result.xform
    assert f'version="{definition.version}"' in result.xform
    for field in definition.fields():
        assert f"/{field.key}" in result.xform


def test_sections_items_fields_and_tables_become_groups_questions_and_repeats(sample):
    data = xlsform_bytes(sample)
    survey = {r.get("name"): r for r in sheet_rows(data, "survey")}
    types = [r["type"] for r in sheet_rows(data, "survey")]
    assert types[:4] == ["begin group", "text", "text", "end group"]  # the header
    assert survey["s1"]["label::中文 (zh)"] == "（一） 隐患排查整治"
    assert survey["s1"]["label::English (en)"] == "（一） Hazards"
    assert survey["i01"]["type"] == "begin group"
    assert survey["i02"]["type"] == "note"
    assert survey["i01_note"]["label::中文 (zh)"] == "数据均为累计"
    assert (survey["found"]["type"], survey["found"]["required"]) == ("integer", "yes")
    assert survey["found"]["hint::中文 (zh)"] == "单位：处"
    assert survey["found"]["hint::English (en)"] == "In places"
    assert (survey["rate"]["type"], survey["rate"]["tianbao_kind"]) == ("decimal", "percent")
    assert survey["level"]["type"] == "select_one level"
    assert survey["closed"]["type"] == "select_one yesno"
    assert (survey["remarks"]["type"], survey["remarks"]["appearance"]) == ("text", "multiline")
    assert survey["photo"]["type"] == "file"
    assert survey["visits"]["type"] == "begin repeat"
    assert survey["place"]["constraint"] == "string-length(.) <= 20"
    assert survey["people"]["constraint"] == ". >= 1"
    assert "end repeat" in types
    choices = [(r["list_name"], r["name"], r["label::中文 (zh)"], r.get("label::English (en)"))
               for r in sheet_rows(data, "choices")]
    assert choices == [("level", "major", "重大", "Major"), ("level", "general", "一般", None),
                       ("yesno", "yes", "是", "Yes"), ("yesno", "no", "否", "No")]
    [settings] = sheet_rows(data, "settings")
    assert settings == {"form_title": "某镇隐患排查整治推进情况表", "form_id": "town-hazards",
                        "version": "4", "default_language": "中文 (zh)"}


def test_bounds_and_rules_become_constraints_and_warnings_keep_their_own_column(sample):
    survey = {r.get("name"): r for r in sheet_rows(xlsform_bytes(sample), "survey")}
    fixed = survey["fixed"]  # the rule sits on the last field it reads
    assert fixed["constraint"] == "(. >= 0) and (. <= ${found})"
    assert fixed["constraint_message::中文 (zh)"] == "整改数不能大于排查数"
    assert fixed["constraint_message::English (en)"] == "Too many fixed"
    assert survey["found"]["constraint"] == ". >= 0"
    rate = survey["rate"]
    assert rate["constraint"] == ". >= 0 and . <= 100"  # a warning must not block
    assert json.loads(rate["tianbao_rules"]) == [
        {"key": "r2", "expr": "rate >= 50", "severity": "warning", "message": "整改率偏低"}]
    phone = survey["phone"]["constraint"]
    assert phone.startswith("string-length(.) <= 30 and regex(., '^")


def test_user_text_is_never_written_as_a_formula(sample):
    data = xlsform_bytes(sample)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["survey"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "=1+1"]
    assert len(cells) == 1 and cells[0].data_type == "s"


def test_choice_comparisons_export_and_unit_tag_rules_are_left_to_the_server():
    applies = load_definition(Path(__file__).resolve().parents[1] / "forms" / "applies.yaml")
    data = applies.model_dump(exclude_none=True)
    data["rules"] = [
        {"key": "r_level", "expr": "level != 'major' or found >= 1",
         "message": "重大风险须有排查记录"},
        {"key": "r_tag", "expr": "not unit_has('危化') or found >= 1",
         "message": "危化企业须有排查记录"},
    ]
    definition = Definition.model_validate(data)
    result = convert(xlsform_bytes(definition), file_type=".xlsx")
    assert result.warnings == []
    rows = sheet_rows(xlsform_bytes(definition), "survey")
    constraints = "\n".join(row.get("constraint", "") for row in rows)
    assert "(. != 'major') or (${found} >= 1)" in constraints  # on level, the later field
    assert "unit_has" not in constraints and "危化" not in constraints


def test_an_event_report_asks_when_where_and_for_files():
    [accidents] = [d for d in load_catalog() if d.key == "cangyuan-accidents"]
    survey = {r.get("name"): r for r in sheet_rows(xlsform_bytes(accidents), "survey")}
    assert survey["event"]["tianbao_kind"] == "event"
    assert json.loads(survey["event"]["tianbao_rules"]) == {"totals": "month"}
    assert (survey["event_at"]["type"], survey["event_at"]["required"],
            survey["event_at"]["constraint"]) == ("dateTime", "yes", ". <= now()")
    assert survey["event_coordinates"]["type"] == "geopoint"
    assert survey["event_attachments"]["type"] == "begin repeat"
    assert survey["event_file"]["type"] == "file"
