"""Calculated fields (a rectification rate) and tallies (has the village set up a task
force?) everywhere a report lives: the web form, the API, the consolidation page, the
merged workbook and the CSV.

Town TA consolidates villages VA1 (found 10, rectified 10, has a task force, sectors
dust + space) and VA2 (found 30, rectified 0, no task force, sector dust); both approved.
Their rates are 100 % and 0 %: the town's is 25 %, not their sum or mean.
"""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from api_helpers import api_get, api_put, token_for
from form_reader import FormReader
from hazards import FOUND, hazards_definition
from pages import EN, text

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import reporting
from server.services import templates as template_service

KEY = "hazards-ta"
HEADER = {"reporter": "张三", "phone": "13800000000"}
DEFINITION = hazards_definition(fields=(
    FOUND,
    {"key": "rectified", "kind": "integer", "label": "已整改", "label_en": "Rectified",
     "unit": "处", "min": 0},
    {"key": "rate", "kind": "percent", "label": "整改率", "label_en": "Rectification rate",
     "unit": "%", "formula": "round(rectified / found * 100, 2)"},
    {"key": "task_force", "kind": "yesno", "label": "已成立工作专班",
     "label_en": "Task force set up"},
    {"key": "sectors", "kind": "multichoice", "label": "涉及行业", "label_en": "Sectors",
     "choices": [{"value": "dust", "label": "粉尘涉爆", "label_en": "Dust"},
                 {"value": "space", "label": "有限空间", "label_en": "Confined spaces"}]},
))
FORM = f"/reports/{KEY}/VA1/2024Q2"
FIGURES = f"/consolidation/{KEY}/TA/2024Q2"
API = f"/consolidations/{KEY}/TA/2024Q2"


@pytest.fixture
def world(session, tree, make_user):
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(DEFINITION), origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment_service.create_assignment(session, key=KEY, template=template,
                                             root=tree["TA"])
    return {"va1": make_user("va1", Role.SUBMITTER, tree["VA1"]),
            "va2": make_user("va2", Role.SUBMITTER, tree["VA2"]),
            "ta": make_user("ta", Role.CONSOLIDATOR, tree["TA"])}


@pytest.fixture
def reported(world, session):
    for name, values in (
        ("va1", {"found": 10, "rectified": 10, "rate": 5, "task_force": True,
                 "sectors": ["dust", "space"]}),
        ("va2", {"found": 30, "rectified": 0, "task_force": False, "sectors": ["dust"]}),
    ):
        user = world[name]
        with unit_of_work(session):
            view = reporting.load(session, user, KEY, user.unit.code, "2024Q2")
            reporting.save(session, user, view, {**HEADER, **values})
            reporting.submit(session, user, view)
        with unit_of_work(session):
            reporting.approve(session, world["ta"],
                              reporting.load(session, world["ta"], KEY, user.unit.code, "2024Q2"))
    return world


def stored_values(session, who, world):
    view = reporting.load(session, world[who], KEY, world[who].unit.code, "2024Q2")
    return view.report.values


# -- the web form ---------------------------------------------------------------------------


def test_the_web_form_shows_the_rate_read_only_with_its_formula(world, browser):
    browser.login_ok("va1")
    html = text(browser.get(FORM))
    rate = re.search(r'<input[^>]*name="f_rate"[^>]*>', html).group(0)
    assert "readonly" in rate
    assert 'data-inputs="f_found f_rectified"' in rate
    assert '["field", "rectified"]' in rate  # the parsed formula for the script
    assert "自动计算：round(「已整改」 / 「排查隐患」 * 100, 2)" in html
    assert "js/calculated.js" in html


def test_a_posted_rate_is_ignored_and_recomputed(world, browser, session):
    browser.login_ok("va1")
    fields = FormReader(browser.get(FORM).get_data(as_text=True)).fields
    response = browser.post(FORM, {**fields, "f_found": "8", "f_rectified": "6",
                                   "f_rate": "99", "action": "save"})
    assert response.status_code == 302
    assert stored_values(session, "va1", world)["rate"] == 75
    page = FormReader(browser.get(FORM).get_data(as_text=True)).fields
    assert page["f_rate"] == "75"
    # An empty divisor leaves the rate empty rather than failing.
    browser.post(FORM, {**page, "f_found": "0", "f_rectified": "0", "action": "save"})
    assert stored_values(session, "va1", world).get("rate") is None


# -- the API --------------------------------------------------------------------------------


def test_the_api_marks_calculated_values_and_ignores_posted_ones(world, client, session):
    token = token_for(session, world["va1"])
    path = f"/reports/{KEY}/VA1/2024Q2"
    response = api_put(client, path, token, headers={"If-Match": '"0"'},
                       json={"values": {**HEADER, "found": 4, "rectified": 1, "rate": 100}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["values"]["rate"] == 25
    assert body["calculated"] == ["rate"]


def test_the_api_consolidation_recomputes_the_rate_and_tallies_answers(reported, client,
                                                                        session):
    body = api_get(client, API, token_for(session, reported["ta"]), headers=EN).get_json()
    assert body["values"]["found"] == 40 and body["values"]["rectified"] == 10
    assert body["values"]["rate"] == 25  # never 100 (the sum) or 50 (the mean)
    assert body["calculated"] == ["rate"]
    assert "rate" not in body["provenance"] and "task_force" not in body["values"]
    tally = {t["option"]: (t["label"], t["count"], [u["unit"] for u in t["units"]])
             for t in body["tallies"]["task_force"]}
    assert tally == {"yes": ("Yes", 1, ["VA1"]), "no": ("No", 1, ["VA2"]),
                     "": ("Not answered", 0, [])}
    sectors = {t["option"]: [u["unit"] for u in t["units"]] for t in body["tallies"]["sectors"]}
    assert sectors == {"dust": ["VA1", "VA2"], "space": ["VA1"], "": []}


def test_the_openapi_document_describes_calculated_values_and_tallies(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    consolidation = schemas["Consolidation"]["properties"]
    assert "tallies" in consolidation and "calculated" in consolidation
    assert "never summed" in consolidation["calculated"]["description"]
    assert "ignored" in schemas["Report"]["properties"]["calculated"]["description"]
    assert {"option", "label", "count", "units"} <= set(schemas["TallyCount"]["properties"])
    # The definition format itself: a field's formula, and "count" among the aggregations.
    assert "read-only" in schemas["FieldDef"]["properties"]["formula"]["description"]
    assert "count" in schemas["Aggregation"]["enum"]


# -- the consolidation page ----------------------------------------------------------------


def field_block(page: str, key: str) -> str:
    match = re.search(rf'<div class="cons-field" id="field-{key}".*?</dd>\s*</div>', page, re.S)
    assert match, key
    return match.group(0)


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_page_shows_the_recomputed_rate_and_who_answered_what(reported, browser):
    browser.login_ok("ta")
    page = text(browser.get(FIGURES))
    rate = plain(field_block(page, "rate"))
    assert "25 %" in rate
    assert "按汇总后的数据计算：round(「已整改」 / 「排查隐患」 * 100, 2)" in rate
    tally = field_block(page, "task_force")
    summary = plain(re.search(r'<p class="cons-tally-summary".*?</p>', tally, re.S).group(0))
    assert summary == "是：1 个单位 · 否：1 个单位 · 未填：0 个单位"
    yes = re.search(r'<details[^>]*data-option="yes".*?</details>', tally, re.S).group(0)
    no = re.search(r'<details[^>]*data-option="no".*?</details>', tally, re.S).group(0)
    assert re.findall(r'data-unit="([^"]+)"', yes) == ["VA1"]
    assert re.findall(r'data-unit="([^"]+)"', no) == ["VA2"]
    sectors = plain(field_block(page, "sectors"))
    assert "粉尘涉爆：2 个单位 · 有限空间：1 个单位" in sectors


def test_the_page_in_english(reported, browser):
    browser.login_ok("ta")
    page = text(browser.get(FIGURES, headers=EN))
    assert "Yes: 1 unit · No: 1 unit · Not answered: 0 units" in plain(
        field_block(page, "task_force"))
    assert ("Calculated from the consolidated figures: round(“Rectified” / “排查隐患” * 100, 2)"
            in plain(field_block(page, "rate")))


# -- the merged workbook and the CSV --------------------------------------------------------


def test_the_merged_workbook_has_the_rate_as_a_formula_and_the_answers_counted(
        reported, client, session):
    token = token_for(session, reported["ta"])
    data = api_get(client, API + "/merged.xlsx", token).get_data()
    book = openpyxl.load_workbook(io.BytesIO(data))
    summary = book["汇总"]  # the official form, after the compact 汇总表
    formulas = [c for row in summary.iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=")]
    [rate] = formulas
    cells = {c.value: c.coordinate for row in summary.iter_rows() for c in row
             if c.value in (40, 10)}
    assert rate.value == (f'=IF(COUNT({cells[40]},{cells[10]})<2,"",'
                          f'IFERROR(ROUND(ROUND(({cells[10]}/{cells[40]}*100),2),2)/100,""))')
    cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True)["汇总"]
    assert cached[rate.coordinate].value == pytest.approx(0.25)
    tallies = book["各选项单位数"]
    rows = [[c.value for c in row] for row in tallies.iter_rows(min_row=2)]
    assert ["task_force", "已成立工作专班", "是", 1, "Unit VA1"] in rows
    assert ["task_force", "已成立工作专班", "否", 1, "Unit VA2"] in rows
    assert ["sectors", "涉及行业", "粉尘涉爆", 2, "Unit VA1、Unit VA2"] in rows


def test_the_csv_has_each_units_answer_and_rate_and_the_tally_rows(reported, client, session):
    token = token_for(session, reported["ta"])
    body = api_get(client, API + "/flat.csv", token).get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    by = {(r[0], r[7], r[8]): r for r in rows[1:]}
    assert by[("VA1", "rate", "整改率")][9] == "100"
    assert by[("VA2", "rate", "整改率")][9] == "0"
    assert by[("VA2", "task_force", "已成立工作专班")][9] == "否"
    assert by[("TA", "task_force", "已成立工作专班：是")][9] == "1"
    assert by[("TA", "task_force", "已成立工作专班：未填")][9] == "0"
    assert by[("TA", "sectors", "涉及行业：粉尘涉爆")][9] == "2"


def test_the_units_a_rate_is_over_come_from_the_roll_up_as_from_the_stored_rows(
        reported, session, tree):
    """The large page names who a rate is computed over from the roll-up's own pass over
    the period's vectors; the statement over the stored rows (asked for more names than
    the roll-up keeps) gives the same units."""
    from server.services import consolidation, rollup

    figures = consolidation.figures(session, reported["ta"], KEY, "TA", "2024Q2")
    assert figures.rolled.over is not None and "rate" in figures.rolled.over
    names = [tree["VA1"].name, tree["VA2"].name]
    assert consolidation.calculated_over(session, figures, "rate", limit=1) == (2, names[:1])
    assert consolidation.calculated_over(session, figures, "rate") == (2, names)
    assert consolidation.calculated_over(session, figures, "rate",
                                         limit=rollup.OVER_LISTED + 1) == (2, names)
