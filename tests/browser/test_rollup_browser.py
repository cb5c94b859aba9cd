"""Like-for-like figures on the consolidation page, on a desktop and on a phone.

The town 示例镇 (code RT) has four villages under the 21-item progress template. Last
quarter three of them were approved; this quarter one is approved, one is submitted but
not approved, one has not reported and one never has. The town's cumulative total
carries the two missing villages' approved figures forward, says who is in it beside the
total, and a switch shows the strict view. Screenshots at 1280 and 360 px are saved in
the test's temporary folder.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from reporting_setup import file_report, fits_the_screen, in_time, progress_periods, sign_in

from server.db import db_session, unit_of_work
from server.models import Role
from server.models.accounts import utcnow
from server.services import assignments as assignment_service
from server.services.accounts import create_user
from server.services.units import create_unit

pytestmark = pytest.mark.browser

PASSWORD = "rollup-browser-7"
ASSIGNMENT = "rt-chidian"
TOWN, TOWN_USER = "RT", "rt-town"
# code: (name, found last quarter, found this quarter, this quarter's status)
VILLAGES = {
    "RT-V1": ("东风村", 8, 11, "approved"),
    "RT-V2": ("西湖村", 5, 9, "submitted"),
    "RT-V3": ("南山村", 4, None, None),
    "RT-V4": ("北岭村", None, None, None),
}
FIELD = "i09_hazards_found"


@pytest.fixture(scope="module")
def quarter(live_server) -> str:
    with live_server.app.app_context():
        session = db_session()
        with unit_of_work(session):
            template, begun = progress_periods(session)
            town = create_unit(session, TOWN, "示例镇", "town", contact_name="张三",
                               contact_phone="13800000001")
            reviewer = create_user(session, TOWN_USER, PASSWORD, Role.CONSOLIDATOR, town)
            previous, current = begun[-2], begun[-1]
            assignment = assignment_service.create_assignment(
                session, key=ASSIGNMENT, template=template, root=town, first=previous)
            for code, (name, before, now, status) in VILLAGES.items():
                village = create_unit(session, code, name, "village", town)
                reporter = create_user(session, code.lower(), PASSWORD, Role.SUBMITTER,
                                       village)
                for period, found, final in ((previous, before, "approved"),
                                             (current, now, status)):
                    if found is None:
                        continue
                    file_report(session, reporter, ASSIGNMENT, code, period, {
                        "reporter": name + "报送人", "phone": "13800000002",
                        FIELD: str(found), "i09_hazards_rectified": "1"},
                        now=min(in_time(assignment, period), utcnow()),
                        approver=reviewer if final == "approved" else None)
            return current


COVERAGE = "4 个单位：1 个本期已计入，2 个沿用上期，1 个从未报送"


@pytest.mark.parametrize("device", ["page", "phone"])
def test_carried_forward_parts_and_coverage_beside_the_total(device, request, quarter,
                                                              tmp_path):
    screen = request.getfixturevalue(device)
    width = 1280 if device == "page" else 360
    sign_in(screen, TOWN_USER, PASSWORD)
    screen.goto(f"/consolidation/{ASSIGNMENT}/{TOWN}/{quarter}")
    found = screen.locator(f'details.cons-parts[data-field="{FIELD}"]')
    # 11 this quarter, plus 西湖村's 5 and 南山村's 4 carried forward from last quarter.
    expect(found.locator("[data-total]")).to_have_text("20 处")
    coverage = screen.locator(f'#field-{FIELD} .cons-coverage')
    expect(coverage).to_be_visible()
    expect(coverage).to_contain_text(COVERAGE)
    expect(screen.locator("#coverage-overall")).to_contain_text(COVERAGE)
    # Like for like: the same three villages stood at 17 last quarter.
    expect(screen.locator(f"#field-{FIELD} [data-increment]")).to_have_text("+3")
    expect(screen.locator(f"#field-{FIELD} [data-previous]")).to_have_text("17 处")

    found.locator("summary").click()
    parts = found.locator(".cons-part-list li")
    expect(parts).to_have_count(3)
    carried = found.locator(".cons-part-list li.is-carried")
    expect(carried).to_have_count(2)
    for i in range(2):
        expect(carried.nth(i).locator(".cons-carried")).to_be_visible()
        expect(carried.nth(i).locator(".cons-carried")).to_contain_text("沿用")
    expect(carried.nth(0)).to_contain_text("西湖村")
    path = tmp_path / f"rollup-figures-{width}.png"
    screen.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    assert fits_the_screen(screen), f"the figures page scrolls sideways at {width} px"

    # The strict view: this quarter's reports only.
    screen.locator("#cons-strict").check()
    screen.get_by_role("button", name="查看", exact=True).click()
    expect(found.locator("[data-total]")).to_have_text("11 处")
    expect(screen.locator(f'#field-{FIELD} .cons-coverage')).to_contain_text(
        "4 个单位：1 个本期已计入，3 个未计入")
    screen.screenshot(path=str(tmp_path / f"rollup-strict-{width}.png"), full_page=True)
    assert fits_the_screen(screen)
