"""My reports: every report a unit owes, its status and deadline, most urgent first."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest

from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.templates import get_version, load_files

SAMPLE = Path(__file__).resolve().parents[1] / "forms" / "sample.yaml"
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def today(monkeypatch):
    """Noon of 10 July 2024 in Shanghai: 2024Q2 was due on 5 July, 2024Q3 has begun."""
    monkeypatch.setattr(reporting, "utcnow", lambda: datetime(2024, 7, 10, 4, tzinfo=UTC))


@pytest.fixture
def template(session):
    with unit_of_work(session):
        load_files(session, [SAMPLE])
    return get_version(session, "sample", 1)


@pytest.fixture
def assigned(session, tree, template):
    with unit_of_work(session):
        return assignment_service.create_assignment(session, key="sample", template=template,
                                                    root=tree["TA"])


def page(browser, user, **headers) -> str:
    browser.login_ok(user)
    response = browser.get("/reports/", headers=headers)
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def rows(html: str) -> list[str]:
    """The table rows of the list, as text."""
    found = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in found]


def test_open_reports_come_first_with_status_due_date_and_days(browser, tree, make_user,
                                                               assigned, today):
    html = page(browser, make_user("va1", unit=tree["VA1"]))
    listed = rows(html)
    assert len(listed) == 2
    assert "2024年第二季度" in listed[0] and "未填报" in listed[0] and "逾期" in listed[0]
    assert "2024年7月5日" in listed[0] and "逾期 5 天" in listed[0]
    assert "2024年第三季度" in listed[1] and "2024年10月5日" in listed[1]
    assert "还剩 87 天" in listed[1]
    assert 'href="/reports/sample/VA1/2024Q2"' in html


def test_days_left_in_english(browser, tree, make_user, assigned, today):
    html = page(browser, make_user("va1", unit=tree["VA1"]), **ENGLISH)
    assert "5 days late" in html and "Due in 87 days" in html


def test_submitted_reports_move_below_and_keep_their_late_flag(browser, session, tree,
                                                               make_user, assigned, today):
    user = make_user("va1", unit=tree["VA1"])
    view = reporting.load(session, user, "sample", "VA1", "2024Q2")
    with unit_of_work(session):
        reporting.save(session, user, view, {"reporter": "王五", "phone": "13900000009",
                                             "done": "是"})
        reporting.submit(session, user, view)
    html = page(browser, user)
    todo, done = html.split('id="done-title"')
    assert "2024年第三季度" in todo and "2024年第二季度" not in todo
    assert "2024年第二季度" in done and "已报送" in done and "badge-late" in done
    assert "2024年7月10日" in done  # when it was submitted


def test_a_draft_shows_as_draft(browser, session, tree, make_user, assigned, today):
    user = make_user("va1", unit=tree["VA1"])
    with unit_of_work(session):
        reporting.save(session, user, reporting.load(session, user, "sample", "VA1", "2024Q3"),
                       {"found": 1})
    listed = rows(page(browser, user))
    assert "草稿" in listed[1] and "2024年第三季度" in listed[1]


def test_a_unit_without_assignment_is_told_what_happens_next(browser, tree, make_user,
                                                             assigned, today):
    html = page(browser, make_user("vb1", unit=tree["VB1"]))
    assert "管理员尚未给本单位分配报表" in html
    assert "<table" not in html


def test_an_administrator_without_unit_gets_an_explanation(browser, make_user, assigned):
    html = page(browser, make_user("root", Role.ADMIN), **ENGLISH)
    assert "Administrators do not report themselves" in html
    assert "<table" not in html


def test_a_consolidator_without_own_report_is_pointed_to_review(browser, tree, make_user,
                                                                assigned, today):
    html = page(browser, make_user("ta", Role.CONSOLIDATOR, tree["TA"]), **ENGLISH)
    assert "Your office has no report of its own to submit" in html
    assert "follow the units below yours" in html


def test_a_consolidator_sees_the_report_of_its_own_office(browser, session, tree, make_user,
                                                          template, today):
    with unit_of_work(session):
        assignment_service.create_assignment(session, key="county", template=template,
                                             root=tree["CY"], kinds=["town"])
    listed = rows(page(browser, make_user("ta", Role.CONSOLIDATOR, tree["TA"])))
    assert len(listed) == 2 and "示例推进情况表" in listed[0]
