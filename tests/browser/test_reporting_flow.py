"""A quarter's reporting in a real browser.

On a desktop, the village fills the 21-item form, is stopped by a cumulative figure
lower than last quarter (it would need a 说明), fixes it and submits; the town sees
its completeness matrix change, reviews the report beside last quarter and approves
it. On a phone, the other village sends last quarter's report late: it is accepted
and flagged, and the town returns it with a comment.

Screenshots of my reports, the form, the matrix and the review page at 360 px and
1280 px go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from reporting_setup import (
    ASSIGNMENT,
    OTHER,
    OTHER_USER,
    TOWN_USER,
    VILLAGE,
    VILLAGE_USER,
    Flow,
    fits_the_screen,
    person,
    prepare,
    submit,
)

from forms.periods import Period

pytestmark = pytest.mark.browser

PHONE, DESKTOP = 360, 1280
MATRIX = f"/review/?assignment={ASSIGNMENT}"


@pytest.fixture(scope="module")
def flow(live_server) -> Flow:
    return prepare(live_server.app)


def form_path(unit: str, period: str) -> str:
    return f"/reports/{ASSIGNMENT}/{unit}/{period}"


def cell(page, unit: str, period: str):
    return page.locator(f'td.matrix-cell[data-unit="{unit}"][data-period="{period}"]')


def count(page, status: str, period: str):
    return page.locator(f'tbody.counts td[data-period="{period}"][data-count="{status}"]')


def shown(page, screenshot, name: str, width: int) -> None:
    """Keep a screenshot of the page and check it does not scroll sideways."""
    screenshot(page, f"{name}-{width}")
    assert fits_the_screen(page), f"{page.url} scrolls sideways at {width} px"


def test_the_village_fixes_a_lower_figure_and_the_town_approves(chromium, live_server, flow,
                                                              screenshot):
    quarter = Period.parse(flow.current).label("zh_CN")
    last_quarter = Period.parse(flow.previous).label("zh_CN")
    with (person(chromium, live_server.url, TOWN_USER, DESKTOP) as town,
          person(chromium, live_server.url, VILLAGE_USER, DESKTOP) as village):
        # Nothing is in yet for the running quarter.
        town.goto(MATRIX)
        expect(cell(town, VILLAGE, flow.current)).to_have_attribute("data-status", "not_started")
        expect(cell(town, VILLAGE, flow.previous)).to_have_attribute("data-status", "approved")
        expect(cell(town, VILLAGE, flow.previous)).not_to_have_attribute("data-late", "")
        expect(count(town, "submitted", flow.current)).to_have_text("0")

        # The village finds the quarter at the top of its reports.
        village.goto("/reports/")
        expect(village.locator("tbody tr").first).to_contain_text(quarter)
        shown(village, screenshot, "reporting-my-reports", DESKTOP)
        village.locator("a.task-link").first.click()
        expect(village).to_have_url(re.compile(re.escape(form_path(VILLAGE, flow.current)) + "$"))
        expect(village.locator("article.report-item")).to_have_count(21)
        enterprises = village.locator("#f_i01_enterprises")
        beside = village.locator("#field-i01_enterprises .cumulative-note")
        expect(beside).to_contain_text(last_quarter)
        expect(beside).to_contain_text("12")

        # A figure below last quarter's is flagged at its field once saved.
        enterprises.fill("10")
        expect(village.locator("#increment-i01_enterprises")).to_have_text("-2")
        village.locator("#f_i05_trainees").fill("180")
        village.locator("#f_i01_progress").fill("本季度新督促3家企业对照标准规范开展自查。")
        village.locator(".report-actions button[value=save]").click()
        flagged = village.locator("#field-i01_enterprises")
        message = f"为累计数，却从{last_quarter}的 12 降至 10。"
        expect(flagged).to_contain_text(message)
        expect(village.locator(".issue-summary")).to_contain_text(message)

        # Submitting is refused until the figure is corrected or explained beside it.
        submit(village)
        expect(flagged).to_contain_text(message)
        expect(village.locator("#note-i01_enterprises")).to_be_visible()
        expect(village.locator(".report-meta")).to_contain_text("草稿")

        # Corrected, it goes through.
        enterprises.fill("15")
        expect(village.locator("#increment-i01_enterprises")).to_have_text("+3")
        shown(village, screenshot, "reporting-form", DESKTOP)
        submit(village)
        expect(village.locator(".readonly-banner")).to_be_visible()
        expect(village.locator(".report-meta")).to_contain_text("已报送")
        expect(village.locator("#field-i01_enterprises")).not_to_contain_text("降至")

        # The town's matrix shows it; the other village is still missing.
        town.reload()
        expect(cell(town, VILLAGE, flow.current)).to_have_attribute("data-status", "submitted")
        expect(cell(town, OTHER, flow.current)).to_have_attribute("data-status", "not_started")
        expect(count(town, "submitted", flow.current)).to_have_text("1")
        shown(town, screenshot, "review-matrix", DESKTOP)

        # Reviewed beside last quarter, then approved.
        cell(town, VILLAGE, flow.current).locator("a").click()
        figures = town.locator("#field-i01_enterprises")
        expect(figures).to_contain_text("15")
        expect(figures).to_contain_text("12")
        expect(figures.locator(".increment")).to_have_text("3")
        shown(town, screenshot, "review-report", DESKTOP)
        town.locator("form[action$='/approve'] button[type=submit]").click()
        expect(town.locator(".review-summary")).to_contain_text("审核通过")

        town.goto(MATRIX)
        expect(cell(town, VILLAGE, flow.current)).to_have_attribute("data-status", "approved")
        expect(count(town, "submitted", flow.current)).to_have_text("0")

        # Approved means locked for the village.
        village.reload()
        expect(village.locator(".report-meta")).to_contain_text("审核通过")
        expect(village.locator(".report-actions")).to_have_count(0)


def test_on_a_phone_a_late_report_is_accepted_flagged_and_returned(chromium, live_server,
                                                                   flow, screenshot):
    with (person(chromium, live_server.url, OTHER_USER, PHONE) as village,
          person(chromium, live_server.url, TOWN_USER, PHONE) as town):
        # The other village has not sent last quarter's report: it comes first, overdue.
        village.goto("/reports/")
        first = village.locator("tbody tr").first
        expect(first).to_contain_text(Period.parse(flow.previous).label("zh_CN"))
        expect(first.locator(".badge-late")).to_be_visible()
        shown(village, screenshot, "reporting-my-reports", PHONE)
        first.locator("a.task-link").click()
        expect(village).to_have_url(re.compile(re.escape(form_path(OTHER, flow.previous)) + "$"))
        # A first report: nothing to compare with, every figure counts in full.
        expect(village.locator("#f_reporter")).to_have_value("王五")
        village.locator("#f_i01_enterprises").fill("4")
        expect(village.locator("#increment-i01_enterprises")).to_have_text("+4")
        village.locator("#f_i01_progress").fill("已督促4家企业开展自查。")
        shown(village, screenshot, "reporting-form", PHONE)
        submit(village)
        expect(village.locator(".report-meta")).to_contain_text("已报送")
        expect(village.locator(".report-meta .badge-late")).to_be_visible()

        town.goto(MATRIX)
        late = cell(town, OTHER, flow.previous)
        expect(late).to_have_attribute("data-status", "submitted")
        expect(late).to_have_attribute("data-late", "")
        shown(town, screenshot, "review-matrix", PHONE)
        late.locator("a").click()
        shown(town, screenshot, "review-report", PHONE)
        comment = "推进情况请补充具体措施。"
        town.locator("form[action$='/return'] textarea").fill(comment)
        town.locator("form[action$='/return'] button[type=submit]").click()
        expect(town.locator(".review-summary")).to_contain_text("已退回")

        village.reload()
        expect(village.locator(".returned-comment")).to_contain_text(comment)
        expect(village.locator(".report-actions button[value=confirm]")).to_be_visible()


def test_the_rectification_rate_follows_the_figures_as_they_are_typed(chromium, live_server,
                                                                      flow):
    with person(chromium, live_server.url, OTHER_USER, PHONE) as village:
        village.goto(form_path(OTHER, flow.current))
        rate = village.locator("#f_i09_rectified_rate")
        expect(rate).to_have_attribute("readonly", "")
        expect(village.locator("#field-i09_rectified_rate")).to_contain_text(
            "自动计算：round(「其中已整改」 / 「企业自查发现事故隐患」 * 100, 2)")
        village.locator("#f_i09_hazards_found").fill("８")  # full-width, as phones type it
        expect(rate).to_have_value("")  # nothing rectified typed yet: no rate
        village.locator("#f_i09_hazards_rectified").fill("6")
        expect(rate).to_have_value("75")
        village.locator("#f_i09_hazards_rectified").fill("5")
        expect(rate).to_have_value("62.5")
        village.locator("#f_i09_hazards_found").fill("0")
        expect(rate).to_have_value("")  # a division by zero leaves it empty
