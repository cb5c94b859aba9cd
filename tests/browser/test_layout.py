"""The layout in a real browser: language, role navigation, phone screens."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

ADMIN_ENTRIES = ("单位", "账号")
NAV = "nav.main-nav"


def nav_labels(page) -> list[str]:
    return [text.strip() for text in page.locator(f"{NAV} a").all_inner_texts()]


def horizontal_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_login_page_renders_in_chinese(page, screenshot):
    page.goto("/auth/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_label("用户名").is_visible()
    assert page.get_by_label("密码").is_visible()
    assert "填报" in page.title()
    screenshot(page, "login-1280")


def test_admin_logs_in_and_sees_the_administration_entries(page, log_in, screenshot):
    log_in(page, "admin")
    labels = nav_labels(page)
    for entry in ADMIN_ENTRIES:
        assert entry in labels
    assert page.get_by_role("button", name="退出登录").is_visible()
    assert page.locator(".account-name").inner_text() == "admin"
    screenshot(page, "admin-home-1280")

    page.locator(NAV).get_by_text("单位").click()
    page.wait_for_load_state()
    assert page.locator(f"{NAV} a[aria-current=page]").inner_text().strip() == "单位"
    screenshot(page, "admin-units-1280")


def test_language_switch_turns_the_interface_english_and_back(page, log_in):
    log_in(page, "admin")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Units" in nav_labels(page) and "Accounts" in nav_labels(page)
    assert page.get_by_role("button", name="Log out").is_visible()
    assert page.get_by_role("button", name="English").get_attribute("aria-pressed") == "true"

    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "单位" in nav_labels(page)


def test_submitter_does_not_see_administration_entries(page, log_in, screenshot):
    log_in(page, "village")
    labels = nav_labels(page)
    for entry in (*ADMIN_ENTRIES, "模板", "任务分配"):
        assert entry not in labels
    assert page.locator(".account-unit").inner_text() == "池店村"
    screenshot(page, "submitter-home-1280")


def test_logout_returns_to_the_login_page(page, log_in):
    log_in(page, "village")
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state()
    assert "/auth/login" in page.url
    assert page.get_by_label("用户名").is_visible()


def test_phone_login_page_fits_360_pixels(phone, screenshot):
    phone.goto("/auth/login")
    assert horizontal_overflow(phone) <= 360
    username = phone.get_by_label("用户名").bounding_box()
    assert username["height"] >= 44
    assert username["width"] >= 300  # inputs take the whole width of a phone
    screenshot(phone, "login-360")


def test_phone_menu_collapses_and_opens_with_usable_tap_targets(phone, log_in, screenshot):
    log_in(phone, "admin")
    assert horizontal_overflow(phone) <= 360
    toggle = phone.get_by_role("button", name="菜单")
    assert toggle.is_visible()
    assert not phone.locator(NAV).is_visible()
    screenshot(phone, "admin-home-360")

    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert phone.locator(NAV).is_visible()
    for link in phone.locator(f"{NAV} a").all():
        assert link.bounding_box()["height"] >= 44
    for button in phone.locator(".site-header button").all():
        assert button.bounding_box()["height"] >= 44
    assert horizontal_overflow(phone) <= 360
    screenshot(phone, "admin-menu-360")


def test_phone_pages_with_tables_do_not_scroll_sideways(phone, log_in, screenshot):
    log_in(phone, "admin")
    for path, name in (("/admin/units", "admin-units-360"), ("/admin/users", "admin-users-360"),
                       ("/auth/account", "account-360"), ("/no-such-page", "not-found-360")):
        phone.goto(path)
        assert horizontal_overflow(phone) <= 360, path
        screenshot(phone, name)


def test_long_unit_names_wrap_inside_the_phone_menu(phone, log_in, screenshot):
    log_in(phone, "town")
    phone.get_by_role("button", name="菜单").click()
    unit = phone.locator(".account-unit")
    assert unit.inner_text() == "晋江市池店镇人民政府安全生产委员会办公室"
    assert unit.bounding_box()["x"] + unit.bounding_box()["width"] <= 360
    assert horizontal_overflow(phone) <= 360
    screenshot(phone, "consolidator-menu-360")


def test_english_phone_layout_fits_too(phone, log_in, screenshot):
    log_in(phone, "admin")
    phone.get_by_role("button", name="菜单").click()
    phone.get_by_role("button", name="English").click()
    phone.wait_for_load_state()
    phone.get_by_role("button", name="Menu").click()
    assert horizontal_overflow(phone) <= 360
    screenshot(phone, "admin-menu-360-en")
    phone.get_by_role("button", name="中文").click()  # leave the account as the others expect it


def test_printing_leaves_out_the_navigation(page, log_in):
    log_in(page, "admin")
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".site-footer").is_visible()
    assert page.locator("main h1").is_visible()
