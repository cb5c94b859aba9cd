"""The dashboard of the demo's 池店镇 and 四平市工信局 on a desktop and on a phone, and
their 晾晒通报 printed to PDF by LibreOffice in two pages or fewer.

The demo runs on a server of its own (its own SQLite file), loaded on today's date the
way ``make run`` loads it. Screenshots at 1280 and 360 px are saved under
test-artifacts/screenshots.
"""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect
from reporting_setup import sign_in

pytestmark = pytest.mark.browser

ACCOUNTS = {"chidian-hz": ("池店镇", "chidian-progress"),
            "siping-hz": ("四平市工信局", "siping-summary")}
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.parametrize("width", [1280, 360])
@pytest.mark.parametrize("account", list(ACCOUNTS))
def test_the_dashboard_of_the_demo_offices(demo_server, demo_page, screenshot, account,
                                          width):
    name, assignment = ACCOUNTS[account]
    page = demo_page(width)
    sign_in(page, account, demo_server.password)
    page.goto("/")
    page.get_by_role("link", name="统计看板").first.click()
    page.goto(f"/review/dashboard?assignment={assignment}")
    expect(page.get_by_role("heading", name="统计看板")).to_be_visible()
    expect(page.locator(".page-subtitle")).to_contain_text(name)
    chart = page.locator("figure svg[aria-labelledby^='chart-timeliness']")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["width"] <= width and box["height"] > 50
    assert page.evaluate("document.documentElement.scrollWidth "
                         "<= document.documentElement.clientWidth")
    table = page.locator("table[data-table='periods']")
    expect(table).to_be_visible()
    # A number opens the list of the units behind it, with as many rows.
    cell = table.locator("tbody tr").first.locator("td[data-measure='owed'] a")
    owed = int(cell.inner_text())
    assert owed > 0
    screenshot(page, f"dashboard-{account}-{width}")
    cell.click()
    page.wait_for_load_state()
    expect(page.locator("table[data-table='units'] tbody tr[data-unit]")).to_have_count(
        min(owed, 50))
    screenshot(page, f"dashboard-units-{account}-{width}")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: the "
                    "briefing cannot be printed to PDF here")
@pytest.mark.parametrize("account", list(ACCOUNTS))
def test_the_briefing_prints_in_two_pages_or_fewer(demo_server, demo_page, account,
                                                   tmp_path):
    name, assignment = ACCOUNTS[account]
    page = demo_page(1280)
    sign_in(page, account, demo_server.password)
    page.goto(f"/review/dashboard?assignment={assignment}")
    # LibreOffice prints the PDF within the request: seconds on a quiet machine, more
    # beside parallel test workers (bounded by the server's own PDF time-out).
    page.set_default_timeout(120_000)
    with page.expect_download() as download:
        page.locator("a[data-briefing='pdf']").click()
    path = tmp_path / "briefing.pdf"
    download.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    assert 1 <= pages <= 2, pages
    with page.expect_download() as download:
        page.locator("a[data-briefing='xlsx']").click()
    assert download.value.suggested_filename.endswith(".xlsx")
