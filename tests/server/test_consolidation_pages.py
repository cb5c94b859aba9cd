"""The consolidation pages: the overview, a unit's figures with their parts, and downloads.

The county CY has towns TA (villages VA1, VA2) and TB (village VB1); every unit below
CY reports, so TA and TB consolidate their villages and CY consolidates the towns'
own reports. In 2024Q3 VA1 is approved, VA2 only submitted, TA's own report is
approved with a number that differs from its villages' sum.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from urllib.parse import quote

import openpyxl
import pytest
from hazards import FOUND, hazards_definition
from pages import EN, text
from sqlalchemy import select
from werkzeug.http import parse_options_header

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role, User
from server.services import assignments as assignment_service
from server.services import consolidation, merged, reporting
from server.services import templates as template_service

ON_TIME = datetime(2024, 7, 1, 2, tzinfo=UTC)  # before the 2024Q2 deadline
Q3_ON_TIME = datetime(2024, 10, 2, 2, tzinfo=UTC)  # before the 2024Q3 deadline
KEY = "hazards-cy"
TA_PAGE = f"/consolidation/{KEY}/TA/2024Q3"
CY_PAGE = f"/consolidation/{KEY}/CY/2024Q3"

DEFINITION = hazards_definition(last="2027Q4", fields=(
    {**FOUND, "label_en": "Hazards found"},
    {"key": "measures", "kind": "longtext", "label": "工作措施", "label_en": "Measures"},
))
HEADER = {"reporter": "张三", "phone": "13800000000"}


@pytest.fixture
def world(session, tree, make_user):
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(DEFINITION), origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment_service.create_assignment(session, key=KEY, template=template, root=tree["CY"])
    tree["VA2"].contact_name, tree["VA2"].contact_phone = "李四", "0595-8500222"
    session.commit()
    users = {
        "cy": make_user("cy", Role.CONSOLIDATOR, tree["CY"]),
        "ta": make_user("ta", Role.CONSOLIDATOR, tree["TA"]),
        "tb": make_user("tb", Role.CONSOLIDATOR, tree["TB"]),
        "boss": make_user("boss", Role.ADMIN),
        "va1": make_user("va1", Role.SUBMITTER, tree["VA1"]),
        "va2": make_user("va2", Role.SUBMITTER, tree["VA2"]),
    }
    return {"users": users, "tree": tree}


def send(session, world, who: str, unit: str, period: str, values: dict, *,
         approve_by: str | None = None, at: datetime = Q3_ON_TIME, remarks: str = "") -> None:
    users = world["users"]
    view = reporting.load(session, users[who], KEY, unit, period)
    with unit_of_work(session):
        reporting.save(session, users[who], view, {**HEADER, **values}, remarks=remarks)
        reporting.submit(session, users[who], view, now=at)
        if approve_by:
            reporting.approve(session, users[approve_by],
                              reporting.load(session, users[approve_by], KEY, unit, period))


@pytest.fixture
def reported(world, session):
    """2024Q2: VA1 found 2 (approved). 2024Q3: VA1 found 5 (approved), VA2 found 3
    (submitted only), TA's own report says 10 (approved by the county)."""
    send(session, world, "va1", "VA1", "2024Q2", {"found": 2, "measures": "排查了仓库"},
         approve_by="ta", at=ON_TIME)
    send(session, world, "va1", "VA1", "2024Q3", {"found": 5, "measures": "夜查两次"},
         approve_by="ta")
    send(session, world, "va2", "VA2", "2024Q3", {"found": 3, "measures": "整改了消防通道"})
    send(session, world, "ta", "TA", "2024Q3", {"found": 10, "measures": "镇里汇总"},
         approve_by="cy", remarks="镇里自查另发现5处")
    return world


def field_block(page: str, key: str) -> str:
    match = re.search(rf'<div class="cons-field" id="field-{key}".*?</dd>\s*</div>', page, re.S)
    assert match, f"no field {key} on the page"
    return match.group(0)


def parts(block: str) -> dict[str, str]:
    """Unit code → the value shown for it in a total's parts."""
    found = re.findall(r'<li data-unit="([^"]+)"[^>]*>.*?data-value>(.*?)</span>', block, re.S)
    return {code: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", value)).strip()
            for code, value in found}


def total(block: str) -> str:
    value = re.search(r"data-total>(.*?)</span>\s*(?:<span|</summary>)", block, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", value)).strip()


# -- the overview -------------------------------------------------------------------------


def test_overview_lists_the_units_each_account_consolidates(reported, session, browser,
                                                           other_browser):
    browser.login_ok("cy")
    page = text(browser.get("/consolidation/", headers=EN))
    assert f'data-assignment="{KEY}"' in page
    rows = re.findall(r'<tr data-unit="([^"]+)"', page)
    assert rows == ["CY", "TA", "TB"]  # the villages consolidate nothing
    assignment = assignment_service.get_assignment(session, KEY)
    latest = assignment_service.open_periods(assignment, date.today())[-1]
    assert f'href="/consolidation/{KEY}/TA/{latest}"' in page

    other_browser.login_ok("ta")
    page = text(other_browser.get("/consolidation/", headers=EN))
    assert re.findall(r'<tr data-unit="([^"]+)"', page) == ["TA"]


def test_overview_says_so_when_there_is_nothing_to_consolidate(world, browser, make_user,
                                                               make_unit):
    make_user("lonely", Role.CONSOLIDATOR, make_unit("ELSE", kind="county"))
    browser.login_ok("lonely")
    response = browser.get("/consolidation/", headers=EN)
    assert response.status_code == 200
    assert "Nothing to consolidate yet" in text(response)


def test_the_navigation_leads_consolidators_to_the_overview(world, browser):
    browser.login_ok("ta")
    page = text(browser.get("/review/", headers=EN))
    assert 'href="/consolidation/">Consolidation</a>' in page


# -- who may see what ------------------------------------------------------------------


def test_submitters_are_refused_and_other_towns_see_nothing(reported, browser, other_browser):
    browser.login_ok("va1")
    assert browser.get("/consolidation/").status_code == 403
    assert browser.get(TA_PAGE).status_code == 403
    assert browser.get(TA_PAGE + "/merged.xlsx").status_code == 403
    other_browser.login_ok("tb")
    assert other_browser.get(TA_PAGE).status_code == 404
    assert other_browser.get(TA_PAGE + "/merged.xlsx").status_code == 404
    assert other_browser.get(TA_PAGE + "/data.csv").status_code == 404
    assert other_browser.get(f"/consolidation/{KEY}/TA/series.xlsx").status_code == 404


def test_unknown_periods_and_units_that_consolidate_nothing_are_not_found(reported, browser):
    browser.login_ok("ta")
    assert browser.get(f"/consolidation/{KEY}/TA/2023Q1").status_code == 404
    assert browser.get(f"/consolidation/{KEY}/VA1/2024Q3").status_code == 404
    assert browser.get("/consolidation/nope/TA/2024Q3").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(reported, client):
    response = client.get(TA_PAGE)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# -- the figures --------------------------------------------------------------------------


def test_a_total_counts_approved_reports_and_lists_its_parts(reported, browser):
    browser.login_ok("ta")
    response = browser.get(TA_PAGE, headers=EN)
    assert response.status_code == 200
    page = text(response)
    found = field_block(page, "found")
    assert total(found) == "5 处"
    assert parts(found) == {"VA1": "5 处"}
    assert "revision 1" in found
    assert f'href="/review/{KEY}/VA1/2024Q3"' in found
    # Last period's figure and what is new this period.
    assert re.search(r"data-previous>\s*2 处", found)
    assert re.search(r"data-increment>\+3<", found)
    # VA2 submitted but is not approved: not counted, listed with whom to call.
    missing = re.search(r'<section class="card" id="missing".*?</section>', page, re.S).group(0)
    assert 'data-unit="VA2"' in missing and "0595-8500222" in missing and "李四" in missing
    assert 'data-unit="VA1"' not in missing
    assert "switch-banner" not in page


def test_overdue_children_are_listed_as_late(reported, session, browser):
    tree = reported["tree"]
    tree["VB1"].contact_phone = "0595-8500333"
    session.commit()
    browser.login_ok("tb")
    page = text(browser.get(f"/consolidation/{KEY}/TB/2024Q3", headers=EN))
    late = re.search(r'<section class="card" id="late".*?</section>', page, re.S).group(0)
    entry = re.search(r'<li data-unit="VB1">.*?</li>', late, re.S).group(0)
    assert "Not started" in entry and "Late" in entry and "0595-8500333" in entry
    assert re.search(r'data-count="late">1<', page)


def test_the_switch_counts_submitted_reports_and_marks_them(reported, browser):
    browser.login_ok("ta")
    page = text(browser.get(TA_PAGE + "?submitted=1", headers=EN))
    assert 'id="switch-banner"' in page
    assert "Submitted reports that are not approved yet are counted." in page
    found = field_block(page, "found")
    assert total(found) == "8 处"
    assert parts(found) == {"VA1": "5 处", "VA2": "3 处"}
    va2 = re.search(r'<li data-unit="VA2" class="is-unapproved">.*?</li>', found, re.S)
    assert va2 and "not approved yet" in va2.group(0)
    assert not re.search(r'<li data-unit="VA1" class="is-unapproved">', found)
    # The switch is kept when moving to another period, and can be turned off.
    assert f'href="/consolidation/{KEY}/TA/2024Q2?submitted=1"' in page
    assert f'href="{TA_PAGE}">Count approved reports only' in page


def test_text_fields_show_each_units_text(reported, browser):
    browser.login_ok("ta")
    measures = field_block(text(browser.get(TA_PAGE + "?submitted=1", headers=EN)), "measures")
    entries = re.findall(r'<li data-unit="([^"]+)".*?<span class="longtext">(.*?)</span>',
                         measures, re.S)
    assert entries == [("VA1", "夜查两次"), ("VA2", "整改了消防通道")]


def test_a_consolidating_child_links_to_its_own_figures_and_mismatches_show(reported, browser):
    browser.login_ok("cy")
    page = text(browser.get(CY_PAGE, headers=EN))
    found = field_block(page, "found")
    # TA's own approved report (10) is what the county counts; TB has not reported.
    assert total(found) == "10 处"
    assert parts(found) == {"TA": "10 处"}
    assert f'href="/consolidation/{KEY}/TA/2024Q3"' in found
    assert f'href="/review/{KEY}/TA/2024Q3"' in found  # its report, too
    # TA reported 10 while its approved villages add up to 5.
    row = re.search(r'<tr data-unit="TA" data-field="found">.*?</tr>', page, re.S)
    assert row, "the mismatch of TA is not listed"
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                     row.group(0), re.S)]
    assert cells == ["Unit TA", "Hazards found", "10", "5", "+5"]
    assert f'href="/review/{KEY}/TA/2024Q3"' in row.group(0)


def test_the_office_report_is_linked_when_the_unit_reports(reported, browser):
    browser.login_ok("ta")
    page = text(browser.get(TA_PAGE, headers=EN))
    own = re.search(r'<section class="card cons-own".*?</section>', page, re.S).group(0)
    assert "The office's own report" in own
    assert f'href="/reports/{KEY}/TA/2024Q3"' in own


def test_no_child_has_reported_yet(world, browser):
    browser.login_ok("ta")
    response = browser.get(f"/consolidation/{KEY}/TA/2024Q4", headers=EN)
    assert response.status_code == 200
    page = text(response)
    assert "No unit has reported yet" in page
    assert 'id="field-found"' not in page
    assert f"/review/{KEY}/2024Q4/chase?unit=TA" in page


def test_only_unapproved_reports_offer_the_switch(world, session, browser):
    send(session, world, "va2", "VA2", "2024Q3", {"found": 3})
    browser.login_ok("ta")
    page = text(browser.get(TA_PAGE, headers=EN))
    assert "1 report is submitted but not approved yet, so nothing is counted." in page
    assert f'href="{TA_PAGE}?submitted=1"' in page


def test_a_period_that_has_not_begun(world, browser):
    browser.login_ok("ta")
    response = browser.get(f"/consolidation/{KEY}/TA/2027Q4", headers=EN)
    assert response.status_code == 200
    page = text(response)
    assert "This period has not begun" in page
    assert "2027 Q4 begins on Oct 1, 2027." in page


def test_the_period_picker_goes_to_the_chosen_period(reported, browser):
    browser.login_ok("ta")
    page = text(browser.get(TA_PAGE, headers=EN))
    assert '<option value="2024Q3" selected>' in page
    response = browser.get(f"/consolidation/{KEY}/TA/?period=2024Q2&submitted=1")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/consolidation/{KEY}/TA/2024Q2?submitted=1")


def test_the_review_matrix_links_to_the_figures(reported, browser):
    browser.login_ok("ta")
    page = text(browser.get(f"/review/?assignment={KEY}&all_periods=1", headers=EN))
    assert f'href="/consolidation/{KEY}/TA/2024Q3"' in page


def test_administrators_see_every_unit(reported, browser):
    browser.login_ok("boss")
    assert browser.get(CY_PAGE).status_code == 200
    assert browser.get(TA_PAGE).status_code == 200


def test_the_page_reads_in_chinese_by_default(reported, browser):
    browser.login_ok("ta")
    page = text(browser.get(TA_PAGE + "?submitted=1"))
    assert "本期新增" in page
    assert "隐患排查情况表" in page


# -- downloads ----------------------------------------------------------------------------


def test_the_merged_workbook_holds_the_total(reported, browser, tmp_path):
    browser.login_ok("ta")
    response = browser.get(TA_PAGE + "/merged.xlsx?submitted=1", headers=EN)
    assert response.status_code == 200
    assert response.mimetype == ("application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    assert int(response.headers["Content-Length"]) == len(response.data)
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    summary = book.worksheets[0]
    numbers = [c for row in summary.iter_rows(values_only=True) for c in row
               if isinstance(c, int | float) and not isinstance(c, bool)]
    assert 8 in numbers  # VA1's 5 and VA2's 3, with the switch on
    assert 13 not in numbers  # TA's own 10 is not part of its villages' sum


def test_the_merged_workbook_without_the_switch_counts_approved_only(reported, browser):
    browser.login_ok("ta")
    response = browser.get(TA_PAGE + "/merged.xlsx", headers=EN)
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    numbers = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row
               if isinstance(c, int | float) and not isinstance(c, bool)]
    assert 5 in numbers and 8 not in numbers


def test_the_csv_starts_with_a_bom_and_lists_each_unit(reported, browser):
    browser.login_ok("ta")
    response = browser.get(TA_PAGE + "/data.csv?submitted=1", headers=EN)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    found = {(r[0], r[7]): r[9] for r in rows[1:]}
    assert found[("VA1", "found")] == "5"
    assert found[("VA2", "found")] == "3"


def test_file_names_follow_the_language(reported, app, session, browser):
    browser.login_ok("ta")
    user = session.scalar(select(User).where(User.username == "ta"))
    for language, locale in (("zh-CN", "zh_CN"), ("en", "en")):
        response = browser.get(TA_PAGE + "/merged.xlsx", headers={"Accept-Language": language})
        disposition = response.headers["Content-Disposition"]
        kind, options = parse_options_header(disposition)
        with app.test_request_context():
            figures = consolidation.figures(session, user, KEY, "TA", "2024Q3")
            expected = merged.merged_filename(figures, locale)
        assert kind == "attachment" and options["filename"] == expected
        if not expected.isascii():  # RFC 5987: the UTF-8 name beside an ASCII fallback
            assert f"filename*=UTF-8''{quote(expected)}" in disposition


def test_the_series_workbook_has_a_column_per_period(reported, browser):
    browser.login_ok("ta")
    response = browser.get(f"/consolidation/{KEY}/TA/series.xlsx", headers=EN)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    cells = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row
             if c is not None]
    assert "2024 Q3" in cells and "2027 Q4" in cells


# -- the parts behind a total, on demand ----------------------------------------------------


def test_the_parts_of_a_total_load_a_page_at_a_time(reported, browser, session, make_user):
    browser.login_ok("ta")
    url = f"/consolidation/{KEY}/TA/2024Q3/parts/found"
    fragment = browser.get(url + "?fragment=1", headers=EN).get_data(as_text=True)
    assert "<html" not in fragment and parts(fragment) == {"VA1": "5 处"}
    assert 'data-total="1"' in fragment
    # With the switch, the submitted report of VA2 is a part too.
    both = browser.get(url + "?fragment=1&submitted=1", headers=EN).get_data(as_text=True)
    assert parts(both) == {"VA1": "5 处", "VA2": "3 处"}
    # Without JavaScript: a page of its own, with a way back to the figures.
    page = browser.get(url, headers=EN).get_data(as_text=True)
    assert "<html" in page and "Units behind" in page and parts(page) == {"VA1": "5 处"}


def test_more_parts_than_a_page_link_to_the_next_page(reported, browser, session, tree,
                                                      make_unit, make_user):
    from server.services import parts as parts_service

    for n in range(3):
        village = make_unit(f"VX{n}", tree["TA"], kind="village")
        make_user(f"vx{n}", Role.SUBMITTER, village)
        reported["users"][f"vx{n}"] = session.scalar(select(User).where(User.username == f"vx{n}"))
        send(session, reported, f"vx{n}", f"VX{n}", "2024Q3", {"found": n + 1}, approve_by="ta")
    browser.login_ok("ta")
    url = f"/consolidation/{KEY}/TA/2024Q3/parts/found"
    original = parts_service.PAGE
    parts_service.PAGE = 2
    try:
        first = browser.get(url + "?fragment=1", headers=EN).get_data(as_text=True)
        more = re.search(r'class="cons-parts-more" href="([^"]+)"', first).group(1)
        second = browser.get(more.replace("&amp;", "&"), headers=EN).get_data(as_text=True)
        # The figures page lists none of the four inline: the total opens onto them.
        page = browser.get(TA_PAGE, headers=EN).get_data(as_text=True)
    finally:
        parts_service.PAGE = original
    assert 'data-total="4"' in first and "2 of 4" in first
    assert {**parts(first), **parts(second)} == {"VA1": "5 处", "VX0": "1 处", "VX1": "2 处",
                                                 "VX2": "3 处"}
    assert "cons-parts-more" not in second
    block = field_block(page, "found")
    assert parts(block) == {} and f'data-parts-url="{url}"' in block
    assert total(block) == "11 处"
    # A small total still lists its parts inline.
    assert parts(browser.get(TA_PAGE, headers=EN).get_data(as_text=True)) != {}


def test_the_parts_follow_the_scope_of_the_figures(reported, browser, other_browser):
    other_browser.login_ok("tb")  # TB's consolidator may not see TA's villages
    assert other_browser.get(f"/consolidation/{KEY}/TA/2024Q3/parts/found").status_code == 404
    browser.login_ok("ta")
    for url in (f"/consolidation/{KEY}/TA/2024Q3/parts/nothing",
                f"/consolidation/{KEY}/TA/1999Q1/parts/found",
                f"/consolidation/{KEY}/VA1/2024Q3/parts/found"):
        assert browser.get(url).status_code == 404, url
