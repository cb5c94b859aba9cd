"""An administrator adds a unit through the unit picker, on a phone and on a desktop, and
finds the addition on the audit page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# How the parent town (T01, 晋江市池店镇人民政府…) is typed: its code in lower case on the
# desktop, the pinyin initials of its name (jjscdz…) on the phone.
CASES = [
    pytest.param("page", 1280, "t01", "T01V90", "新建一村", id="1280-lower-case-code"),
    pytest.param("phone", 360, "jjscdz", "T01V91", "新建二村", id="360-pinyin-initials"),
]


@pytest.mark.parametrize(("screen", "width", "typed", "code", "name"), CASES)
def test_admin_adds_a_unit_with_the_picker_and_sees_it_audited(
        request, log_in, screenshot, screen, width, typed, code, name):
    page = request.getfixturevalue(screen)
    log_in(page, "admin")
    page.goto("/admin/units")
    page.get_by_role("link", name="添加单位").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="新建单位")).to_be_visible()

    parent = page.get_by_label("上级单位", exact=True)
    parent.click()
    parent.press_sequentially(typed, delay=30)
    # The picker's suggestions: the town, offered by name with its code as the value.
    suggestions = page.locator("#parent-options option")
    expect(suggestions.first).to_have_attribute("value", "T01")
    assert "池店镇" in suggestions.first.get_attribute("label")
    page.get_by_label("代码").fill(code)
    page.get_by_label("名称").fill(name)
    page.get_by_label("类型").select_option("village")
    page.get_by_label("联系人").fill("赵六")
    screenshot(page, f"admin-unit-new-{width}")
    page.get_by_role("button", name="添加单位").click()
    page.wait_for_load_state()

    assert page.url.endswith(f"/admin/units/{code}"), page.url
    expect(page.locator(".flashes")).to_contain_text(f"已添加{name}（{code}）")
    expect(page.get_by_role("navigation", name="所在层级")).to_contain_text("池店镇")
    screenshot(page, f"admin-unit-added-{width}")

    page.goto("/admin/audit")
    expect(page.get_by_role("heading", name="审计日志")).to_be_visible()
    newest = page.locator("table.audit-table tbody tr").first
    expect(newest).to_contain_text("添加单位")
    expect(newest).to_contain_text(f"{code} {name}")
    expect(newest).to_contain_text("admin")
    expect(newest.locator("td").nth(6)).to_have_text("127.0.0.1")
    screenshot(page, f"admin-audit-{width}")
    # Nothing scrolls sideways: neither the page nor the table's frame.
    assert page.evaluate("""() => {
        const root = document.documentElement, wrap = document.querySelector('.table-wrap');
        return root.scrollWidth <= root.clientWidth && wrap.scrollWidth <= wrap.clientWidth;
    }"""), "the audit page scrolls sideways"
    header = page.locator("table.audit-table thead")
    if width == 360:  # on a phone each event is a card, every value named
        expect(header).to_be_hidden()
        box = newest.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        ip = newest.locator("td").nth(6)
        assert page.evaluate("(cell) => getComputedStyle(cell, '::before').content",
                             ip.element_handle()) == '"IP 地址："'
    else:
        expect(header).to_be_visible()

    # The filter by unit takes the picker too: the new unit's subtree, found by its code.
    unit_filter = page.get_by_label("单位", exact=True)
    unit_filter.fill(code.lower())
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    rows = page.locator("table.audit-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("添加单位")
