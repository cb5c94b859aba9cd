"""History (revisions, audit trail, differences) and the printed form of a report."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import update

from server.db import unit_of_work
from server.models import Role
from server.models.reporting import Revision
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.templates import get_version, load_files

SAMPLE = Path(__file__).resolve().parents[1] / "forms" / "sample.yaml"
FORM = "/reports/sample/VA1/2024Q2"
COMPLETE = {"reporter": "王五", "phone": "13900000009", "done": "是"}


@pytest.fixture
def people(session, tree, make_user):
    with unit_of_work(session):
        load_files(session, [SAMPLE])
        assignment_service.create_assignment(session, key="sample",
                                             template=get_version(session, "sample", 1),
                                             root=tree["TA"])
    return make_user("va1", unit=tree["VA1"]), make_user("ta", Role.CONSOLIDATOR, tree["TA"])


def save(session, user, **values):
    view = reporting.load(session, user, "sample", "VA1", "2024Q2")
    with unit_of_work(session):
        reporting.save(session, user, view, values, remarks=values.pop("remarks", None))
    return view


def page(browser, path, **headers) -> str:
    response = browser.get(path, headers=headers)
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def worked(session, people):
    """Three revisions, submitted, returned with a comment, resubmitted, approved, unapproved."""
    village, town = people
    save(session, village, found=5, reporter="王五")
    save(session, village, found=7, reporter="王五", roster=[{"name": "张三"}])
    view = save(session, village, **COMPLETE, found=7, roster=[{"name": "张三"}, {"name": "李四"}],
                remarks="已核实")
    with unit_of_work(session):
        reporting.submit(session, village, view)
        view = reporting.load(session, town, "sample", "VA1", "2024Q2")
        reporting.return_report(session, town, view, "请补充整改情况。")
        view = reporting.load(session, village, "sample", "VA1", "2024Q2")
        reporting.submit(session, village, view)
        view = reporting.load(session, town, "sample", "VA1", "2024Q2")
        reporting.approve(session, town, view)
        reporting.unapprove(session, town,
                            reporting.load(session, town, "sample", "VA1", "2024Q2"),
                            "数字需复核")
    return village, town


def test_history_lists_revisions_with_author_time_and_source(browser, session, worked):
    session.execute(update(Revision).where(Revision.number == 1)
                    .values(created_at=datetime(2024, 7, 3, 2, 5, tzinfo=UTC)))
    session.commit()
    browser.login_ok(worked[0])
    html = page(browser, FORM + "/history")
    table = squeeze(html[html.index('class="table revisions-table"'):])
    assert re.search(r"3 va1 \S+ \S+ 网页填报", table)
    assert "1 va1 2024/7/3 10:05 网页填报" in table  # Asia/Shanghai time


def test_the_audit_trail_has_every_action_with_its_comment(browser, worked):
    browser.login_ok(worked[0])
    trail = squeeze(page(browser, FORM + "/history").split('id="events-title"')[1])
    for words in ("已保存 · va1", "已报送 · va1", "已退回 · ta", "请补充整改情况。",
                  "审核通过 · ta", "撤销审核 · ta", "数字需复核"):
        assert words in trail
    assert trail.index("撤销审核") < trail.index("审核通过 · ta")  # newest first


def test_the_default_difference_is_the_previous_against_the_latest(browser, worked):
    browser.login_ok(worked[0])
    diff = page(browser, FORM + "/history").split('id="revisions-title"')[0]
    assert "第 2 版至第 3 版的变动。" in diff
    text = squeeze(diff)
    assert "是否完成 2 其他 — 是" in text  # label, item, before (nothing) and after
    assert "新增第 2 行： 姓名 李四" in text
    assert "说明 — 已核实" in text  # the remarks changed too
    assert "排查隐患" not in text  # unchanged between revisions 2 and 3


def test_any_two_revisions_can_be_compared(browser, worked):
    browser.login_ok(worked[0])
    text = squeeze(page(browser, FORM + "/history?a=1&b=2"))
    assert re.search(r"排查隐患 1 排查整治隐患 5 处 7 处", text)
    assert "新增第 1 行： 姓名 张三" in text
    everything = squeeze(page(browser, FORM + "/history?a=0&b=1"))
    assert "截至第 1 版填报的全部内容。" in everything and "王五" in everything
    same = page(browser, FORM + "/history?a=2&b=2")
    assert "两个版本的内容相同。" in same


def test_nonsense_revision_numbers_fall_back_to_the_default(browser, worked):
    browser.login_ok(worked[0])
    html = page(browser, FORM + "/history?a=abc&b=99")
    assert "第 2 版至第 3 版的变动。" in html


def test_history_before_anything_is_saved(browser, people):
    browser.login_ok(people[0])
    html = page(browser, FORM + "/history")
    assert "尚未保存任何内容" in html and "<table" not in html


def test_history_in_english(browser, worked):
    browser.login_ok(worked[0])
    html = page(browser, FORM + "/history", **{"Accept-Language": "en"})
    assert "Changes from revision 2 to revision 3." in html and "Web form" in html
    assert "Row 2 added:" in html


# -- print -------------------------------------------------------------------------------------


def test_the_printed_form_has_header_table_notes_and_seal_line(browser, worked):
    browser.login_ok(worked[0])
    html = page(browser, FORM + "/print")
    assert 'class="official-form print-landscape"' in html
    assert "<h1 class=\"official-title\">示例推进情况表</h1>" in html and "2024年第二季度" in html
    header = squeeze(html[html.index('class="official-header"'):html.index("<table")])
    assert "报送单位： Unit VA1" in header and "报送人： 王五" in header
    assert "联系电话： 13900000009" in header
    columns = re.findall(r'<th scope="col">([^<]+)</th>', html.split("<tbody>")[0])
    assert columns == ["序号", "项目名称", "具体内容", "推进情况"]
    assert re.search(r'<tr class="section-row"><th colspan="4"[^>]*>（一）隐患排查</th>', html)
    assert "<li>排查隐患：7 处</li>" in html  # indicators inside the 推进情况 cell, with units
    assert "全面排查" in html  # the static text of the 具体内容 column
    assert "注：相关数据均为累计。" in html
    assert "报送单位（盖章）" in html and "负责人签字" in html and "日期" in html
    assert "data-print" in html


def test_a_blank_form_can_be_printed_before_filling_in(browser, people):
    browser.login_ok(people[0])
    html = page(browser, FORM + "/print")
    assert "报送单位（盖章）" in html and 'class="blank"' in html
