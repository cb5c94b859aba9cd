"""A correction explained, not blocked, in a real browser.

The village enters a cumulative figure lower than last quarter's: the form opens
the 说明 box beside it as the figure is typed, refuses the submission without one
and takes it with one.
The town sees the note beside the figure on the review page, acknowledges it and
approves.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from reporting_setup import (
    LAST_QUARTER,
    PASSWORD,
    file_report,
    in_time,
    person,
    progress_periods,
    submit,
)

from server.db import db_session, unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services.accounts import create_user
from server.services.units import create_unit

pytestmark = pytest.mark.browser

ASSIGNMENT, TOWN, VILLAGE = "bx-chidian", "BX", "BX-V1"
TOWN_USER, VILLAGE_USER = "bx-town", "bx-village"
NOTE = "上季度将2家已关停企业计入，本季度核减。"


@pytest.fixture(scope="module")
def current(live_server) -> str:
    """The running quarter; last quarter's report (12 enterprises) is approved."""
    with live_server.app.app_context():
        session = db_session()
        with unit_of_work(session):
            template, begun = progress_periods(session)
            town = create_unit(session, TOWN, "西滨镇", "town", contact_name="张三",
                               contact_phone="13800000021")
            village = create_unit(session, VILLAGE, "东石村", "village", town,
                                  contact_name="周九", contact_phone="13800000027")
            reviewer = create_user(session, TOWN_USER, PASSWORD, Role.CONSOLIDATOR, town)
            reporter = create_user(session, VILLAGE_USER, PASSWORD, Role.SUBMITTER, village)
            previous, current = begun[-2], begun[-1]
            assignment = assignment_service.create_assignment(
                session, key=ASSIGNMENT, template=template, root=town, first=previous)
            file_report(session, reporter, ASSIGNMENT, VILLAGE, previous,
                        {"reporter": "周九", "phone": "13800000027", **LAST_QUARTER},
                        now=in_time(assignment, previous), approver=reviewer)
    return current


def test_a_lower_figure_with_a_note_is_submitted_and_the_town_acknowledges_it(
        chromium, live_server, current):
    form = f"/reports/{ASSIGNMENT}/{VILLAGE}/{current}"
    with (person(chromium, live_server.url, VILLAGE_USER, 1280) as village,
          person(chromium, live_server.url, TOWN_USER, 1280) as town):
        village.goto(form)
        box = village.locator("#note-box-i01_enterprises")
        expect(box).to_be_hidden()
        # The note box opens as the lower figure is typed, before anything is saved,
        # and closes again for a figure that needs no note.
        village.locator("#f_i01_enterprises").fill("10")
        expect(box).to_be_visible()
        village.locator("#f_i01_enterprises").fill("14")
        expect(box).to_be_hidden()
        village.locator("#f_i01_enterprises").fill("10")
        expect(box).to_be_visible()
        village.locator("#f_i05_trainees").fill("180")
        village.locator("#f_i01_progress").fill("核减已关停企业。")
        submit(village)

        # Refused: the form asks for a 说明 beside the flagged figure.
        flagged = village.locator("#field-i01_enterprises")
        expect(flagged).to_contain_text("降至 10")
        note = village.locator("#note-i01_enterprises")
        expect(note).to_be_visible()
        expect(flagged).to_contain_text("本项说明")
        expect(village.locator(".report-meta")).to_contain_text("草稿")
        expect(village.locator("body")).to_contain_text("请在每个标记数字旁的说明中作出解释")

        note.fill(NOTE)
        submit(village)
        expect(village.locator(".report-meta")).to_contain_text("已报送")
        expect(village.locator("#field-i01_enterprises")).to_contain_text(NOTE)

        town.goto(f"/review/{ASSIGNMENT}/{VILLAGE}/{current}")
        row = town.locator("#field-i01_enterprises")
        expect(row).to_contain_text("10")
        expect(row.locator(".figure-note")).to_contain_text(NOTE)
        approve = town.locator("form[action$='/approve']")
        approve.locator("button[type=submit]").click()
        expect(town.locator("body")).to_contain_text("审核通过前请确认已阅说明")
        expect(town.locator(".review-summary")).not_to_contain_text("审核通过")
        town.locator("form[action$='/approve']").get_by_label(
            "我已阅读该单位对标记数字的说明").check()
        town.locator("form[action$='/approve'] button[type=submit]").click()
        expect(town.locator(".review-summary")).to_contain_text("审核通过")
        expect(town.locator("body")).to_contain_text("已确认说明的数字")
