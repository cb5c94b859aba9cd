"""Rolling up through the web form: an office's report prefilled from the units below it,
filled in again on request, checked against them, and submitted upward, over four levels.

The tree is described in rollup_tree: CITY > CO1 > (D1) > T1 > V1, (G1) > V2, where the
units in brackets do not report.
"""

from __future__ import annotations

import html
import re

import pytest
from pages import EN
from rollup_tree import KEY, build, ordered, save, send

from exports.workbook_reader import read_workbook
from server.db import unit_of_work
from server.models.reporting import Source
from server.services import reporting
from server.services.workbooks import resolver, signing_key

HEADER_FORM = {"f_reporter": "赵六", "f_phone": "13900000000"}


@pytest.fixture
def world(session, make_unit, make_user):
    return build(session, make_unit, make_user)


@pytest.fixture
def villages(world, session):
    """2024Q3: V1 found 5 (approved), V2 found 3 (approved), V3 found 4 (submitted only)."""
    send(session, world, "v1", "V1", "2024Q3", {"found": 5, "rectified": 2,
                                                "measures": "夜查两次"}, approve_by="t1-hz")
    send(session, world, "v2", "V2", "2024Q3", {"found": 3, "rectified": 1,
                                                "measures": "整改了消防通道"}, approve_by="t1-hz")
    send(session, world, "v3", "V3", "2024Q3", {"found": 4})
    return world


def page_of(browser, unit: str, period: str = "2024Q3") -> str:
    response = browser.get(f"/reports/{KEY}/{unit}/{period}", headers=EN)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def input_value(page: str, key: str) -> str:
    match = re.search(rf'<input[^>]*name="f_{key}"[^>]*>', page)
    assert match, f"no input for {key}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def textarea(page: str, key: str) -> str:
    match = re.search(rf'<textarea[^>]*name="f_{key}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no text area for {key}"
    return match.group(1).strip("\r\n")


def village_texts(world) -> str:
    """The text the villages' approved reports make: one line per village, headed by its name."""
    texts = {"V1": "夜查两次", "V2": "整改了消防通道"}
    return "\n".join(f"Unit {code}：{texts[code]}" for code in ordered(world, "V1", "V2"))


def form_data(page: str, action: str = "save", **changes) -> dict:
    """What the browser sends back for the shown form, with *changes* typed in."""
    data = {**HEADER_FORM, "action": action,
            "revision": re.search(r'name="revision"[^>]*value="(\d*)"', page).group(1)}
    for key in ("found", "rectified", "posts"):
        if f'name="f_{key}"' in page:
            data[f"f_{key}"] = input_value(page, key)
    data["f_measures"] = textarea(page, "measures")
    data.update({f"f_{k}": v for k, v in changes.items()})
    return data


def sources(session, world, unit: str, period: str = "2024Q3") -> list[str]:
    view = reporting.load(session, world["users"]["boss"], KEY, unit, period)
    return [r.source for r in reversed(reporting.revisions(session, view.report))]


# -- the prefill --------------------------------------------------------------------------------


def test_a_new_office_report_starts_from_its_approved_children(villages, browser):
    browser.login_ok("t1")
    page = page_of(browser, "T1")
    banner = re.search(r'<div class="alert alert-info prefill-banner".*?</div>', page, re.S)
    assert banner, "the prefill is not announced"
    assert "Filled in from the 2 reports of the units below (approved only)." in banner.group(0)
    assert input_value(page, "found") == "8"
    assert input_value(page, "rectified") == "3"
    assert textarea(page, "measures") == village_texts(villages)
    assert 'id="refill"' not in page  # nothing saved yet: the form itself is the fill-in


def test_the_workbook_of_a_new_office_report_is_filled_in_like_its_form(villages, browser,
                                                                         session):
    town = villages["units"]["T1"]
    town.contact_name, town.contact_phone = "钱七", "13900000007"
    session.commit()
    browser.login_ok("t1")
    page = page_of(browser, "T1")
    download = browser.get(f"/reports/{KEY}/T1/2024Q3/workbook.xlsx")
    assert download.status_code == 200
    read = read_workbook(download.data, "T1.xlsx", secret=signing_key("test-secret-key"),
                         resolve=resolver(session))
    assert not read.refused
    assert (read.values["found"], read.values["rectified"]) == (8, 3)
    assert (input_value(page, "found"), input_value(page, "rectified")) == ("8", "3")
    assert read.values["measures"] == textarea(page, "measures") == village_texts(villages)
    assert read.values["reporter"] == input_value(page, "reporter") == "钱七"
    assert read.values["phone"] == input_value(page, "phone") == "13900000007"


def test_only_approved_children_are_counted_in_the_prefill(villages, browser):
    browser.login_ok("t2")
    page = page_of(browser, "T2")
    assert "1 unit below has no approved report for this period yet" in page
    assert input_value(page, "found") == ""


def test_units_without_units_below_and_readers_get_no_prefill(villages, browser,
                                                               other_browser):
    browser.login_ok("v3")
    page = page_of(browser, "V3")
    assert "prefill-banner" not in page and 'id="refill"' not in page
    other_browser.login_ok("co1-hz")  # may read T1's report, not fill it in
    page = page_of(other_browser, "T1")
    assert "prefill-banner" not in page and 'id="refill"' not in page


def test_saving_the_prefilled_form_keeps_the_edited_narrative(villages, browser, session):
    browser.login_ok("t1")
    page = page_of(browser, "T1")
    response = browser.post(f"/reports/{KEY}/T1/2024Q3",
                            form_data(page, measures="全镇夜查两次，整改消防通道一处。",
                                      action="save"))
    assert response.status_code == 302
    view = reporting.load(session, villages["users"]["t1"], KEY, "T1", "2024Q3")
    assert view.values["found"] == 8
    assert view.values["measures"] == "全镇夜查两次，整改消防通道一处。"
    page = page_of(browser, "T1")
    assert "prefill-banner" not in page
    # the draft holds the children's figures already: filling in again would change nothing
    assert 'id="refill"' not in page
    assert "differs_from_children" not in page and "add up to" not in page


# -- filling in again -----------------------------------------------------------------------------


def test_refill_replaces_numbers_and_empty_texts_but_keeps_the_offices_text(villages, browser,
                                                                            session):
    save(session, villages, "t1", "T1", "2024Q3", {"found": 6, "measures": "我镇自己的总结"})
    browser.login_ok("t1")
    page = page_of(browser, "T1")
    refill = re.search(r'<form[^>]*id="refill".*?</form>', page, re.S).group(0)
    assert "Fill in again from the units below" in refill
    revision = re.search(r'name="revision"[^>]*value="(\d+)"', refill).group(1)
    response = browser.post(f"/reports/{KEY}/T1/2024Q3/refill", {"revision": revision},
                            token_from=f"/reports/{KEY}/T1/2024Q3", headers=EN)
    assert response.status_code == 302
    page = page_of(browser, "T1")
    assert "Filled in again from 2 approved reports of the units below (revision 2)." in page
    view = reporting.load(session, villages["users"]["t1"], KEY, "T1", "2024Q3")
    assert view.values["found"] == 8  # the number is replaced
    assert view.values["rectified"] == 3  # was empty
    assert view.values["measures"] == "我镇自己的总结"  # never overwritten
    assert view.values["reporter"] == "王五"  # the office's own contact stays
    assert sources(session, villages, "T1") == [Source.WEB, Source.CONSOLIDATION]


def test_refill_from_a_stale_page_changes_nothing(villages, browser, session):
    save(session, villages, "t1", "T1", "2024Q3", {"found": 6})
    browser.login_ok("t1")
    stale = re.search(r'id="refill".*?name="revision"[^>]*value="(\d+)"', page_of(browser, "T1"),
                      re.S).group(1)
    save(session, villages, "t1", "T1", "2024Q3", {"found": 7})  # someone else saved meanwhile
    browser.post(f"/reports/{KEY}/T1/2024Q3/refill", {"revision": stale},
                 token_from=f"/reports/{KEY}/T1/2024Q3", headers=EN)
    page = page_of(browser, "T1")
    assert "was changed by t1 while you were editing" in page
    view = reporting.load(session, villages["users"]["t1"], KEY, "T1", "2024Q3")
    assert view.values["found"] == 7 and view.revision == 2


def test_refill_is_refused_to_readers_and_after_submission(villages, browser, other_browser,
                                                           session):
    send(session, villages, "t1", "T1", "2024Q3", {"found": 8, "rectified": 3})
    browser.login_ok("t1")
    assert 'id="refill"' not in page_of(browser, "T1")  # submitted: read-only
    browser.post(f"/reports/{KEY}/T1/2024Q3/refill", {"revision": "1"},
                 token_from=f"/reports/{KEY}/T1/2024Q3", headers=EN)
    assert "submitted and waits for review" in page_of(browser, "T1")
    other_browser.login_ok("t2-hz")  # another town: the report does not exist for them
    response = other_browser.post(f"/reports/{KEY}/T1/2024Q3/refill", {"revision": "1"},
                                  token_from="/reports/")
    assert response.status_code == 404
    assert sources(session, villages, "T1") == [Source.WEB]


# -- the difference from the children's sum ------------------------------------------------------


def test_a_number_that_differs_from_the_children_is_flagged_at_its_field(villages, browser,
                                                                         session):
    save(session, villages, "t1", "T1", "2024Q3", {"found": 10, "rectified": 3})
    browser.login_ok("t1")
    page = page_of(browser, "T1")
    warnings = re.search(r'<ul class="field-warnings" id="field-found-warnings">(.*?)</ul>',
                         page, re.S)
    assert warnings, "no warning at the field"
    assert "Hazards found is 10 but the units below add up to 8." in warnings.group(1)
    assert 'id="field-rectified-warnings"' not in page


def test_the_level_above_sees_the_difference_when_reviewing(villages, browser, session):
    send(session, villages, "t1", "T1", "2024Q3", {"found": 10, "rectified": 3})
    browser.login_ok("co1-hz")
    response = browser.get(f"/review/{KEY}/T1/2024Q3", headers=EN)
    assert response.status_code == 200
    assert "but the units below add up to 8" in html.unescape(response.get_data(as_text=True))


def test_submitting_an_override_needs_an_explanation(villages, browser, session):
    browser.login_ok("t1")
    page = page_of(browser, "T1")
    response = browser.post(f"/reports/{KEY}/T1/2024Q3",
                            form_data(page, found="10", action="submit"), headers=EN)
    assert response.status_code == 422
    shown = html.unescape(response.get_data(as_text=True))
    assert "Explain the warnings in the remarks before submitting." in shown
    assert "but the units below add up to 8" in shown


# -- four levels --------------------------------------------------------------------------------


def approve(session, world, reviewer: str, unit: str) -> None:
    user = world["users"][reviewer]
    with unit_of_work(session):
        reporting.approve(session, user, reporting.load(session, user, KEY, unit, "2024Q3"))


def file_prefilled(browser, unit: str) -> str:
    """The office opens its new report, keeps what was filled in and submits it."""
    page = page_of(browser, unit)
    response = browser.post(f"/reports/{KEY}/{unit}/2024Q3", form_data(page, action="submit"),
                            headers=EN)
    assert response.status_code == 302, response.get_data(as_text=True)
    return page


def test_village_town_county_city_roll_up_through_the_forms(villages, session, app, browser):
    # One person per office, each with a browser (a cookie jar) of their own.
    t1, co1, city = (type(browser)(app.test_client()).login_ok(name)
                     for name in ("t1", "co1", "city"))
    send(session, villages, "t2", "T2", "2024Q3", {"found": 0})  # V3 is not approved
    approve(session, villages, "co1-hz", "T2")

    page = file_prefilled(t1, "T1")
    assert "Filled in from the 2 reports" in page
    approve(session, villages, "co1-hz", "T1")

    page = file_prefilled(co1, "CO1")
    assert "Filled in from the 2 reports" in page
    assert input_value(page, "found") == "8"  # T1's 8 and T2's 0
    approve(session, villages, "city-hz", "CO1")

    page = file_prefilled(city, "CITY")
    assert "Filled in from the 1 report of the units below (approved only)." in page
    assert input_value(page, "found") == "8"
    city_report = reporting.load(session, villages["users"]["city"], KEY, "CITY", "2024Q3")
    assert city_report.status == "submitted"
    assert city_report.values["found"] == 8
    # Each level lists its children's texts: the city's list holds the county's, which
    # holds the town's, which lists the villages'.
    assert city_report.values["measures"] == f"Unit CO1：Unit T1：{village_texts(villages)}"



def test_refill_is_offered_only_when_there_is_something_to_refill_from(world, browser,
                                                                        session):
    """With no approved report below (V3 only submitted), nothing is offered and a refill
    sent anyway makes no revision; once the children's figures are in, neither."""
    send(session, world, "v3", "V3", "2024Q3", {"found": 4})
    save(session, world, "t1", "T1", "2024Q3", {"found": 6})
    browser.login_ok("t1")
    assert 'id="refill"' not in page_of(browser, "T1")
    browser.post(f"/reports/{KEY}/T1/2024Q3/refill", {"revision": "1"},
                 token_from=f"/reports/{KEY}/T1/2024Q3", headers=EN)
    assert "nothing to fill in from" in page_of(browser, "T1")
    view = reporting.load(session, world["users"]["t1"], KEY, "T1", "2024Q3")
    assert view.revision == 1 and view.values["found"] == 6
    # one approved child: offered; filled in once, it is not offered again and refused
    send(session, world, "v1", "V1", "2024Q3", {"found": 5, "rectified": 2},
         approve_by="t1-hz")
    assert 'id="refill"' in page_of(browser, "T1")
    assert browser.post(f"/reports/{KEY}/T1/2024Q3/refill", {"revision": "1"},
                        token_from=f"/reports/{KEY}/T1/2024Q3").status_code == 302
    assert 'id="refill"' not in page_of(browser, "T1")
    browser.post(f"/reports/{KEY}/T1/2024Q3/refill", {"revision": "2"},
                 token_from=f"/reports/{KEY}/T1/2024Q3", headers=EN)
    assert "would change nothing" in page_of(browser, "T1")
    session.expire_all()
    view = reporting.load(session, world["users"]["t1"], KEY, "T1", "2024Q3")
    assert view.revision == 2 and view.values["found"] == 5
