"""Columns the unit fills: 004's 推进措施 and 责任部门 are the county's own entries.

The plan's measures stay visible as guidance; what the unit types is saved,
printed and consolidated, listed by unit.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pages import text

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import consolidation, reporting
from server.services.templates import get_version, load_files

CATALOG = Path(__file__).resolve().parents[2] / "forms" / "catalog"
PERIOD = "2024H1"
HEADER = {"reporter": "王五", "phone": "13900000009"}
NARRATIVE = {"completed_progress": "已完成", "problems_progress": "无",
             "next_steps_progress": "继续推进"}


@pytest.fixture
def world(session, tree, make_user):
    with unit_of_work(session):
        load_files(session, [CATALOG / "004_siping_summary.yaml"])
        assignment_service.create_assignment(
            session, key="siping", template=get_version(session, "siping-summary", 1),
            root=tree["TA"])
    return {"va1": make_user("va1", unit=tree["VA1"]), "va2": make_user("va2", unit=tree["VA2"]),
            "ta": make_user("ta", Role.CONSOLIDATOR, tree["TA"])}


def task_with_measures(definition: Definition):
    return next(item for _, item in definition.items() if "measures" in item.texts)


def send_in(session, world, who: str, values: dict) -> None:
    with unit_of_work(session):
        view = reporting.load(session, world[who], "siping", who.upper(), PERIOD)
        reporting.save(session, world[who], view, {**HEADER, **NARRATIVE, **values})
        reporting.submit(session, world[who], view)
    with unit_of_work(session):
        view = reporting.load(session, world["ta"], "siping", who.upper(), PERIOD)
        reporting.approve(session, world["ta"], view)


def test_the_form_shows_the_plans_measures_as_guidance_for_the_countys_own(world, browser,
                                                                          session):
    definition = get_version(session, "siping-summary", 1).definition
    task = task_with_measures(definition)
    browser.login_ok("va1")
    page = text(browser.get(f"/reports/siping/VA1/{PERIOD}"))
    assert f'name="f_{task.key}_measures"' in page
    assert f'name="f_{task.key}_department"' in page
    assert "方案要求：" + task.texts["measures"][:20] in page
    assert 'name="f_completed_measures"' not in page  # a narrative row has no measures


def test_the_units_entries_are_saved_printed_and_consolidated_by_unit(world, browser, session):
    definition = get_version(session, "siping-summary", 1).definition
    key = task_with_measures(definition).key
    send_in(session, world, "va1", {f"{key}_measures": "建立县级五化清单", f"{key}_department":
                                    "安全生产股"})
    send_in(session, world, "va2", {f"{key}_measures": "召开专题会议部署"})

    browser.login_ok("va1")
    printed = text(browser.get(f"/reports/siping/VA1/{PERIOD}/print"))
    assert "建立县级五化清单" in printed and "安全生产股" in printed
    workbook = load_workbook(io.BytesIO(
        browser.get(f"/reports/siping/VA1/{PERIOD}/workbook.xlsx").get_data()))
    sheet = workbook.worksheets[0]
    headers = {c.value: c.column for row in sheet.iter_rows() for c in row
               if c.value in ("推进措施", "责任部门")}
    cells = {c.value: c.column for row in sheet.iter_rows() for c in row
             if c.value in ("建立县级五化清单", "安全生产股")}
    assert cells == {"建立县级五化清单": headers["推进措施"], "安全生产股": headers["责任部门"]}

    figures = consolidation.figures(session, world["ta"], "siping", "TA", PERIOD)
    measures = figures.values[f"{key}_measures"]
    assert "建立县级五化清单" in measures and "召开专题会议部署" in measures
    assert [name for name, _ in figures.result.lists[f"{key}_measures"]] == [
        world["va1"].unit.name, world["va2"].unit.name]
    assert figures.values[f"{key}_department"].endswith("安全生产股")
