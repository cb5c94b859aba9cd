"""The completeness matrix and the 催报 list, as consolidators and administrators see them."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from urllib.parse import quote

import pytest
from hazards import hazards_definition
from pages import EN
from python_calamine import CalamineWorkbook

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role, Status
from server.services import assignments as assignment_service
from server.services import reporting
from server.services import review as review_service
from server.services import templates as template_service

ON_TIME = datetime(2024, 7, 1, 2, tzinfo=UTC)
LATE = datetime(2024, 7, 10, 2, tzinfo=UTC)  # after the 2024Q2 deadline of 2024-07-05
AFTERWARDS = datetime(2024, 11, 1, 2, tzinfo=UTC)  # 2024Q2 and 2024Q3 are overdue

DEFINITION = hazards_definition()
VALUES = {"reporter": "张三", "phone": "13800000000", "found": 5}


@pytest.fixture
def world(session, tree, make_unit, make_user):
    """Town TA with five villages, one per state in 2024Q2; town TB with one draft."""
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(DEFINITION),
                                 origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment_service.create_assignment(session, key="hazards-cy", template=template,
                                             root=tree["CY"], kinds=["village"])
    units = dict(tree)
    for code in ("VA3", "VA4", "VA5"):
        units[code] = make_unit(code, tree["TA"], name=f"Village {code}",
                                contact_name=f"Contact {code}", contact_phone="0595-8500123")
    units["VA5"].name = "=SUM(A1:A2) 村"
    units["VA4"].contact_phone = None
    session.commit()
    users = {
        "ta": make_user("ta", Role.CONSOLIDATOR, tree["TA"]),
        "tb": make_user("tb", Role.CONSOLIDATOR, tree["TB"]),
        "cy": make_user("cy", Role.CONSOLIDATOR, tree["CY"]),
        "boss": make_user("boss", Role.ADMIN),
    }
    for code in ("VA1", "VA2", "VA3", "VA4", "VB1"):
        users[code] = make_user(code.lower(), Role.SUBMITTER, units[code])

    def act(code, *, submit_at=None):
        view = reporting.load(session, users[code], "hazards-cy", code, "2024Q2")
        reporting.save(session, users[code], view, VALUES)
        if submit_at:
            reporting.submit(session, users[code], view, now=submit_at)
        return view

    with unit_of_work(session):
        reporting.approve(session, users["ta"], act("VA1", submit_at=ON_TIME))
        act("VA2", submit_at=LATE)
        reporting.return_report(session, users["ta"], act("VA3", submit_at=ON_TIME), "请补充")
        act("VA4")
        act("VB1")
    return {"units": units, "users": users, "assignment": assignment_service.get_assignment(
        session, "hazards-cy")}


def cells(response) -> dict[tuple[str, str], tuple[str, bool]]:
    page = response.get_data(as_text=True)
    found = re.findall(r'data-unit="([^"]+)" data-period="([^"]+)" data-status="([^"]+)"'
                       r'( data-late)?', page)
    return {(unit, period): (status, bool(late)) for unit, period, status, late in found}


def counts(response, period: str) -> dict[str, int]:
    page = response.get_data(as_text=True)
    found = re.findall(rf'data-period="{period}" data-count="([a-z_]+)">(\d+)<', page)
    return {name: int(number) for name, number in found}


def test_matrix_counts_and_statuses_after_reports_in_every_state(world, session):
    matrix = review_service.completeness(session, world["users"]["ta"], world["assignment"],
                                         world["units"]["TA"], now=AFTERWARDS)
    assert matrix.periods == ["2024Q4", "2024Q3", "2024Q2"]  # newest first, begun by now
    assert [u.code for u in matrix.rows] == ["VA1", "VA2", "VA3", "VA4", "VA5"]
    column = matrix.counts["2024Q2"]
    assert {s: column.count(s) for s in review_service.COUNTED} == {
        Status.APPROVED: 1, Status.SUBMITTED: 1, Status.RETURNED: 1, Status.DRAFT: 1,
        Status.NOT_STARTED: 1}
    # VA2 submitted late; VA3, VA4 and VA5 are still open after the deadline.
    assert column.late == 4
    assert matrix.counts["2024Q3"].count(Status.NOT_STARTED) == 5
    assert matrix.counts["2024Q3"].late == 5
    assert matrix.counts["2024Q4"].late == 0  # due 2025-01-05
    va = world["units"]
    assert matrix.cell(va["VA1"], "2024Q2") == review_service.Cell(Status.APPROVED, False)
    assert matrix.cell(va["VA2"], "2024Q2") == review_service.Cell(Status.SUBMITTED, True)
    assert matrix.cell(va["VA5"], "2024Q2") == review_service.Cell(Status.NOT_STARTED, True)
    assert matrix.cell(va["VA5"], "2024Q4") == review_service.Cell(Status.NOT_STARTED, False)


def test_matrix_page_shows_each_cell_as_a_labelled_badge_with_counts(world, browser):
    browser.login_ok("ta")
    response = browser.get("/review/?assignment=hazards-cy&all_periods=y", headers=EN)
    assert response.status_code == 200
    shown = cells(response)
    assert shown[("VA1", "2024Q2")] == ("approved", False)
    assert shown[("VA2", "2024Q2")] == ("submitted", True)
    assert shown[("VA3", "2024Q2")] == ("returned", True)
    assert shown[("VA4", "2024Q2")] == ("draft", True)
    assert shown[("VA5", "2024Q2")] == ("not_started", True)
    assert {unit for unit, _period in shown} == {"VA1", "VA2", "VA3", "VA4", "VA5"}
    assert counts(response, "2024Q2") == {"approved": 1, "submitted": 1, "returned": 1,
                                          "draft": 1, "not_started": 1, "late": 4}
    page = response.get_data(as_text=True)
    # Never colour alone: every state is written out.
    for word in ("Approved", "Submitted", "Returned", "Draft", "Not started", "Late"):
        assert word in page
    assert 'href="/review/hazards-cy/VA2/2024Q2"' in page
    assert 'href="/review/hazards-cy/2024Q2/chase?unit=TA"' in page
    assert 'href="/review/uploads"' in page  # several workbooks at once


def test_county_sees_every_village_indented_under_its_town(world, browser):
    browser.login_ok("cy")
    response = browser.get("/review/?all_periods=y", headers=EN)
    assert {unit for unit, _p in cells(response)} == {"VA1", "VA2", "VA3", "VA4", "VA5", "VB1"}
    assert counts(response, "2024Q2")["draft"] == 2
    page = response.get_data(as_text=True)
    assert re.search(r'data-unit="VB1">\s*<th[^>]*>\s*<span class="unit-name depth-1"', page)


def test_filters_pick_rows_but_counts_cover_all_units(world, browser):
    browser.login_ok("ta")
    returned = browser.get("/review/?assignment=hazards-cy&status=returned&all_periods=y",
                           headers=EN)
    assert {unit for unit, _p in cells(returned)} == {"VA3"}
    assert counts(returned, "2024Q2")["approved"] == 1
    not_started = browser.get("/review/?assignment=hazards-cy&status=not_started")
    # Every village still lacks a report for a later quarter.
    assert {u for u, _p in cells(not_started)} == {"VA1", "VA2", "VA3", "VA4", "VA5"}


def test_late_and_unit_filters(world, browser, session, make_unit):
    make_unit("CO1", world["units"]["VA1"], kind="company")
    browser.login_ok("cy")
    direct = browser.get("/review/?assignment=hazards-cy&unit=TA&direct=y")
    assert {u for u, _p in cells(direct)} == {"VA1", "VA2", "VA3", "VA4", "VA5"}
    tb = browser.get("/review/?assignment=hazards-cy&unit=TB&late=y")
    assert {u for u, _p in cells(tb)} == {"VB1"}


def test_late_only_on_a_single_period(world, session):
    ta = world["users"]["ta"]
    filters = review_service.MatrixFilters(late_only=True)
    before_q3_due = datetime(2024, 9, 1, tzinfo=UTC)  # only 2024Q2 and Q3 have begun
    matrix = review_service.completeness(session, ta, world["assignment"], world["units"]["TA"],
                                         filters, now=before_q3_due)
    assert [u.code for u in matrix.rows] == ["VA2", "VA3", "VA4", "VA5"]


def test_another_towns_consolidator_gets_404(world, browser):
    browser.login_ok("tb")
    assert browser.get("/review/?assignment=hazards-cy&unit=TA").status_code == 404
    assert browser.get("/review/hazards-cy/2024Q2/chase?unit=TA").status_code == 404
    assert browser.get("/review/hazards-cy/2024Q2/chase.xlsx?unit=TA").status_code == 404
    own = browser.get("/review/?assignment=hazards-cy")
    assert {u for u, _p in cells(own)} == {"VB1"}


def test_unknown_assignment_and_period_are_404(world, browser):
    browser.login_ok("ta")
    assert browser.get("/review/?assignment=nope").status_code == 404
    assert browser.get("/review/hazards-cy/2031Q1/chase").status_code == 404
    assert browser.get("/review/nope/2024Q2/chase").status_code == 404


def test_submitters_may_not_use_the_review_pages(world, browser):
    browser.login_ok("va1")
    assert browser.get("/review/").status_code == 403
    assert browser.get("/review/hazards-cy/2024Q2/chase").status_code == 403


def test_administrator_chooses_the_unit(world, browser):
    browser.login_ok("boss")
    default = browser.get("/review/?assignment=hazards-cy")
    assert {u for u, _p in cells(default)} == {"VA1", "VA2", "VA3", "VA4", "VA5", "VB1"}
    town = browser.get("/review/?assignment=hazards-cy&unit=TB")
    assert {u for u, _p in cells(town)} == {"VB1"}


def test_empty_states(browser, make_user, tree):
    make_user("ta", Role.CONSOLIDATOR, tree["TA"])
    browser.login_ok("ta")
    page = browser.get("/review/", headers=EN).get_data(as_text=True)
    assert "Nothing to review yet" in page


# -- the 催报 list ---------------------------------------------------------------------------


def test_chase_list_has_exactly_the_late_and_missing_units(world, session):
    entries = review_service.chase_list(session, world["users"]["ta"], world["assignment"],
                                        world["units"]["TA"], "2024Q2", now=LATE)
    assert [(e.unit.code, e.status) for e in entries] == [
        ("VA3", Status.RETURNED), ("VA4", Status.DRAFT), ("VA5", Status.NOT_STARTED)]
    assert {e.days_overdue for e in entries} == {5}
    assert entries[0].unit.contact_phone == "0595-8500123"
    assert entries[0].parent_name == "Unit TA"


def test_chase_page_lists_contacts_with_phone_links(world, browser):
    browser.login_ok("ta")
    page = browser.get("/review/hazards-cy/2024Q2/chase", headers=EN).get_data(as_text=True)
    assert 'href="tel:0595-8500123"' in page and "Contact VA3" in page
    assert "No phone on record" in page  # VA4
    assert "Village VA3" in page and "Unit VA1" not in page and "Unit VA2" not in page


def test_chase_page_facts_read_as_chinese(world, browser):
    # Not "截止 2024年7月5日. 逾期天数：5 列出…": each fact on its own, no ASCII full stop.
    browser.login_ok("ta")
    page = browser.get("/review/hazards-cy/2024Q2/chase",
                       headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    block = re.search(r'class="cluster chase-facts">(.*?)</p>', page, re.S).group(1)
    facts = [f.strip() for f in re.split(r"<[^>]+>", block) if f.strip()]
    assert facts[0] == "截止 2024年7月5日" and re.fullmatch(r"逾期天数：\d+", facts[1])
    assert "日." not in page


def test_chase_download_reads_back_with_the_same_rows(world, browser):
    browser.login_ok("ta")
    response = browser.get("/review/hazards-cy/2024Q2/chase.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" + quote("催报名单-hazards-cy-2024Q2.xlsx") in disposition
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.data)) \
        .get_sheet_by_index(0).to_python()
    assert rows[1] == ["单位代码", "单位名称", "上级单位", "状态", "截止日期", "逾期天数",
                       "联系人", "联系电话"]
    body = rows[2:]
    assert [r[0] for r in body] == ["VA3", "VA4", "VA5"]
    assert [r[3] for r in body] == ["已退回", "草稿", "未填报"]
    due = body[0][4]
    assert (due.date() if isinstance(due, datetime) else due) == date(2024, 7, 5)
    assert body[0][6:] == ["Contact VA3", "0595-8500123"]
    assert body[1][7] == ""  # VA4 has no phone
    # A name starting with "=" stays the text it is, not a formula.
    assert body[2][1] == "=SUM(A1:A2) 村"


def test_chase_download_in_english(world, browser):
    browser.login_ok("ta")
    response = browser.get("/review/hazards-cy/2024Q2/chase.xlsx", headers=EN)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.data)) \
        .get_sheet_by_index(0).to_python()
    assert rows[0][0] == "Chase list of Unit TA: Hazard checks, 2024 Q2"
    assert rows[1][0] == "Unit code" and rows[2][3] == "returned"
