"""The bell in a real browser: the unread count, the list, opening a message."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.db import db_session, unit_of_work
from server.models import User
from server.services import outbox

pytestmark = pytest.mark.browser


def test_the_bell_shows_unread_messages_and_opens_the_report(live_server, page, log_in):
    with live_server.app.app_context():
        session = db_session()
        village = session.scalar(select(User).where(User.username == "village"))
        with unit_of_work(session):
            outbox.enqueue(session, channel="app", recipient=str(village.id), user_id=village.id,
                           subject="已退回待修改：测试报表，2026年第二季度",
                           text="town 退回了池店村 2026年第二季度的报告：第3项有误",
                           kind="report-returned", link="/reports/", step="browser-bell")
    log_in(page, "village")
    bell = page.locator("a.bell")
    expect(bell).to_have_attribute("data-unread", "1")
    expect(bell).to_contain_text("1 条未读")
    bell.click()
    expect(page.get_by_role("heading", name="通知")).to_be_visible()
    expect(page.get_by_text("第3项有误")).to_be_visible()
    page.get_by_role("button", name="已退回待修改：测试报表，2026年第二季度").click()
    page.wait_for_load_state()
    assert page.url.endswith("/reports/")
    expect(page.locator("a.bell")).to_have_attribute("data-unread", "0")
    expect(page.locator("a.bell .bell-count")).to_have_count(0)
