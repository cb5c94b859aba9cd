"""The reviewer's desk in a real browser, at 1280 and 360 px.

The town reviews a village's report with the decisions always at the top of the page,
writes a comment on one field and returns the report; the village sees the comment at
that field of its form and in a list at the top. From the completeness matrix the town
then approves two other villages' reports in one go.
"""

from __future__ import annotations

import pytest
from conftest import SCREENSHOTS
from playwright.sync_api import expect
from reporting_setup import (
    LAST_QUARTER,
    PASSWORD,
    file_report,
    fits_the_screen,
    person,
    progress_periods,
)

from server.db import db_session, unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services.accounts import create_user
from server.services.units import create_unit

pytestmark = pytest.mark.browser

ASSIGNMENT, TOWN = "rd-chidian", "RD"
VILLAGES = {"RD-V1": "前埔村", "RD-V2": "后埔村", "RD-V3": "东埔村", "RD-V4": "西埔村"}
TOWN_USER = "rd-town"
COMMENT = "企业数与台账不符，请按台账重新核对后再报。"


@pytest.fixture(scope="module")
def current(live_server) -> str:
    """Every village submitted the running quarter's report."""
    with live_server.app.app_context():
        session = db_session()
        with unit_of_work(session):
            template, begun = progress_periods(session)
            town = create_unit(session, TOWN, "东海镇", "town", contact_name="张三",
                               contact_phone="13800000031")
            create_user(session, TOWN_USER, PASSWORD, Role.CONSOLIDATOR, town)
            current = begun[-1]
            assignment_service.create_assignment(session, key=ASSIGNMENT, template=template,
                                                 root=town, first=current)
            for n, (code, name) in enumerate(VILLAGES.items()):
                village = create_unit(session, code, name, "village", town,
                                      contact_name="周九", contact_phone=f"1380000004{n}")
                reporter = create_user(session, code.lower(), PASSWORD, Role.SUBMITTER,
                                       village)
                file_report(session, reporter, ASSIGNMENT, code, current,
                            {"reporter": "周九", "phone": "13800000027", **LAST_QUARTER})
    return current


@pytest.mark.parametrize(("width", "village"), [(1280, "RD-V1"), (360, "RD-V2")])
def test_a_comment_on_a_field_reaches_the_village_at_that_field(
        chromium, live_server, current, screenshot, width, village):
    review = f"/review/{ASSIGNMENT}/{village}/{current}"
    with (person(chromium, live_server.url, TOWN_USER, width) as town,
          person(chromium, live_server.url, village.lower(), width) as unit):
        town.goto(review)
        bar = town.locator(".review-actions")
        expect(bar).to_be_visible()
        expect(bar.locator("button[form=return-form]")).to_have_text("退回修改")
        assert fits_the_screen(town)
        # the decisions stay at hand at the bottom of the long page
        town.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        top = bar.bounding_box()["y"]
        assert 0 <= top < 5, f"the action bar scrolled away (at {top})"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        town.screenshot(path=str(SCREENSHOTS / f"review-desk-sticky-{width}.png"))
        screenshot(town, f"review-desk-{width}")
        row = town.locator("#field-i01_enterprises")
        row.locator("summary", has_text="对此项提意见").click()
        row.locator("textarea").fill(COMMENT)
        screenshot(town, f"review-desk-field-comment-{width}")
        bar.locator("button[form=return-form]").click()
        expect(town.locator(".review-summary")).to_contain_text("已退回")
        expect(town.locator("#field-i01_enterprises")).to_contain_text(COMMENT)

        unit.goto(f"/reports/{ASSIGNMENT}/{village}/{current}")
        listed = unit.locator(".returned-comment .field-comment-list a")
        expect(listed).to_have_count(1)
        expect(listed).to_have_attribute("href", "#field-i01_enterprises")
        expect(unit.locator("#field-i01_enterprises .reviewer-field-comment")) \
            .to_contain_text(COMMENT)
        expect(unit.locator("#field-i05_trainees .reviewer-field-comment")).to_have_count(0)
        listed.click()
        expect(unit.locator("#comment-i01_enterprises")).to_be_in_viewport()
        assert fits_the_screen(unit)
        screenshot(unit, f"returned-field-comment-{width}")


def test_a_batch_approval_from_the_matrix(chromium, live_server, current, screenshot):
    with (person(chromium, live_server.url, TOWN_USER, 1280) as town,
          person(chromium, live_server.url, TOWN_USER, 360) as phone):
        town.goto(f"/review/?assignment={ASSIGNMENT}")
        for code in ("RD-V3", "RD-V4"):
            town.locator(f"input[name=report][value='{code}|{current}']").check()
        screenshot(town, "matrix-batch-1280")
        phone.goto(f"/review/?assignment={ASSIGNMENT}")
        expect(phone.locator("#batch-form")).to_be_visible()
        screenshot(phone, "matrix-batch-360")
        town.get_by_role("button", name="审核通过已勾选的报表").click()
        expect(town.locator(".alert")).to_contain_text("已审核通过 2 份报表")
        expect(town.locator("tr.is-approved")).to_have_count(2)
        screenshot(town, "matrix-batch-result-1280")
        town.goto(f"/review/{ASSIGNMENT}/RD-V3/{current}")
        expect(town.locator(".review-summary")).to_contain_text("审核通过")
