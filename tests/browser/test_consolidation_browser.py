"""A town's consolidated figures on a phone: open a total, see its parts, follow one.

The town 池店镇 (code CT) has the 21-item progress template; last quarter its villages
溜石村 and 浯潭村 reported and were approved, so the town's figures add them up.
Screenshots of the figures page at 360 px (closed and with a total open) and at
1280 px go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from reporting_setup import file_report, fits_the_screen, in_time, progress_periods, sign_in

from server.db import db_session, unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services.accounts import create_user
from server.services.units import create_unit

pytestmark = pytest.mark.browser

PASSWORD = "consolidation-test-7"
ASSIGNMENT = "ct-chidian"
TOWN, TOWN_USER = "CT", "ct-town"
VILLAGES = {"CT-V1": ("溜石村", "ct-v1", 8), "CT-V2": ("浯潭村", "ct-v2", 5)}


@pytest.fixture(scope="module")
def quarter(live_server) -> str:
    """Last quarter, reported and approved by both villages (found 8 and 5 hazards)."""
    with live_server.app.app_context():
        session = db_session()
        with unit_of_work(session):
            template, begun = progress_periods(session)
            town = create_unit(session, TOWN, "池店镇", "town", contact_name="张三",
                               contact_phone="13800000001")
            reviewer = create_user(session, TOWN_USER, PASSWORD, Role.CONSOLIDATOR, town)
            previous = begun[-2]
            assignment = assignment_service.create_assignment(
                session, key=ASSIGNMENT, template=template, root=town, first=previous)
            for code, (name, username, found) in VILLAGES.items():
                village = create_unit(session, code, name, "village", town)
                reporter = create_user(session, username, PASSWORD, Role.SUBMITTER, village)
                file_report(session, reporter, ASSIGNMENT, code, previous, {
                    "reporter": name + "报送人", "phone": "13800000002",
                    "i09_hazards_found": str(found), "i09_hazards_rectified": "1",
                    "i01_progress": f"{name}已督促企业开展自查。"},
                    now=in_time(assignment, previous), approver=reviewer)
            return previous


def test_on_a_phone_a_total_opens_onto_its_parts_and_leads_to_a_report(phone, page, quarter,
                                                                     screenshot):
    sign_in(phone, TOWN_USER, PASSWORD)
    phone.goto("/consolidation/")
    phone.locator(f'tr[data-unit="{TOWN}"] a[href$="/{quarter}"]').click()
    expect(phone).to_have_url(re.compile(
        re.escape(f"/consolidation/{ASSIGNMENT}/{TOWN}/{quarter}") + "$"))
    found = phone.locator('details.cons-parts[data-field="i09_hazards_found"]')
    expect(found.locator("[data-total]")).to_have_text("13 处")
    parts = found.locator(".cons-part-list li")
    expect(parts.first).to_be_hidden()
    screenshot(phone, "consolidation-figures-360")
    assert fits_the_screen(phone), "the figures page scrolls sideways on a phone"

    found.locator("summary").click()
    expect(parts).to_have_count(2)
    # Parts come in tree order, which follows the units' ids (whatever other tests made
    # before): each village's part is found by its unit, not by its place in the list.
    first, second = (found.locator(f'.cons-part-list li[data-unit="{code}"]')
                     for code in VILLAGES)
    expect(first).to_be_visible()
    expect(first).to_contain_text("溜石村")
    expect(first.locator("[data-value]")).to_have_text("8 处")
    expect(second).to_contain_text("浯潭村")
    expect(second.locator("[data-value]")).to_have_text("5 处")
    # Text fields list each village's words.
    expect(phone.locator('[data-field="i01_progress"] li')).to_have_count(2)
    screenshot(phone, "consolidation-figures-open-360")
    assert fits_the_screen(phone), "an open total makes the page scroll sideways"

    second.get_by_role("link", name="浯潭村").click()
    expect(phone).to_have_url(re.compile(
        re.escape(f"/review/{ASSIGNMENT}/CT-V2/{quarter}") + "$"))
    expect(phone.locator("#field-i09_hazards_found")).to_contain_text("5")
    expect(phone.locator(".review-summary")).to_contain_text("审核通过")

    # The same page on a desktop, figures beside the lists of units and checks.
    sign_in(page, TOWN_USER, PASSWORD)
    page.goto(f"/consolidation/{ASSIGNMENT}/{TOWN}/{quarter}")
    page.locator('details.cons-parts[data-field="i09_hazards_found"] summary').click()
    screenshot(page, "consolidation-figures-1280")
    assert fits_the_screen(page)


def test_the_town_sees_its_targets_and_the_phase_on_a_phone(phone, quarter, screenshot):
    """The plan's targets judged on the town's figures, readable on a 360 px screen."""
    sign_in(phone, TOWN_USER, PASSWORD)
    phone.goto(f"/consolidation/{ASSIGNMENT}/{TOWN}/{quarter}")
    panel = phone.locator("section.targets")
    expect(panel.locator("h2")).to_have_text("辖区目标")
    checks = panel.locator('li[data-field="i09_principal_checks"]')
    expect(checks).to_contain_text("每季度至少 1 次")
    # Neither village reported a principal's check: a quarter went by without one.
    expect(checks).to_have_attribute("data-status", "missed")
    expect(checks.locator(".target-text")).to_contain_text("未完成")
    expect(phone.locator(".current-phase")).to_contain_text("当前阶段")
    screenshot(phone, "consolidation-targets-360")
    assert fits_the_screen(phone), "the targets make the page scroll sideways"


def test_a_large_total_fetches_its_parts_a_page_at_a_time(page, quarter, monkeypatch):
    """With more parts than a page, opening a total fetches them, then the next page."""
    from server.services import parts as parts_service

    monkeypatch.setattr(parts_service, "PAGE", 1)
    sign_in(page, TOWN_USER, PASSWORD)
    page.goto(f"/consolidation/{ASSIGNMENT}/{TOWN}/{quarter}")
    found = page.locator('details.cons-parts[data-field="i09_hazards_found"]')
    expect(found.locator("[data-parts-url]")).to_have_count(1)
    parts = found.locator(".cons-part-list li")
    expect(parts).to_have_count(0)
    found.locator("summary").click()
    expect(parts).to_have_count(1)
    first = parts.nth(0).locator("a").first.inner_text().strip()
    found.locator("a.cons-parts-more").click()
    expect(parts).to_have_count(2)
    # Both villages, each once, in the tree's order (which one is first depends on the
    # order their units were made in, so it is read, not assumed).
    names = [parts.nth(i).locator("a").first.inner_text().strip() for i in range(2)]
    assert names[0] == first and sorted(names) == sorted(["溜石村", "浯潭村"])
    expect(parts.filter(has_text="浯潭村").locator("[data-value]")).to_have_text("5 处")
    expect(found.locator("a.cons-parts-more")).to_have_count(0)
