"""The whole submitter cycle through HTTP on the Chidian 21-item progress table (plan 000).

A village's reporting contact logs in, finds the quarterly report in their
list, saves a draft, is refused a submission with errors, fixes them, submits,
and then finds the report read-only, its history and its printed form.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pages import text
from sqlalchemy import select

from server.db import unit_of_work
from server.models.reporting import Report, Status
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.templates import get_version, load_files

CATALOG = Path(__file__).resolve().parents[2] / "forms" / "catalog" / "000_chidian_progress.yaml"
FORM = "/reports/chidian/VA1/2024Q2"


@pytest.fixture
def chidian(session, tree, make_user, monkeypatch):
    """Chidian's progress table assigned to town TA; it is 10 July 2024 in Shanghai."""
    monkeypatch.setattr(reporting, "utcnow", lambda: datetime(2024, 7, 10, 2, tzinfo=UTC))
    with unit_of_work(session):
        load_files(session, [CATALOG])
        assignment_service.create_assignment(session, key="chidian", root=tree["TA"],
                                             template=get_version(session, "chidian-progress", 1))
    return make_user("cd-village", unit=tree["VA1"])


def current_revision(html: str) -> str:
    return re.search(r'name="revision"[^>]*value="(\d+)"', html).group(1)


def test_the_submitter_cycle(browser, chidian, session):
    browser.login_ok(chidian)

    # The task list: the quarter is owed, late since 5 July, and links to the form.
    tasks = text(browser.get("/reports/"))
    assert "池店镇工贸行业安全生产治本攻坚三年行动21项重点工作推进情况表" in tasks
    assert "2024年第二季度" in tasks and "2024年7月5日" in tasks
    assert "逾期 5 天" in tasks and "badge-late" in tasks
    assert f'href="{FORM}"' in tasks

    # The form: six sections (工程), 21 numbered items, the six printed columns' inputs.
    form = text(browser.get(FORM))
    assert len(re.findall(r'<span class="item-number">', form)) == 21
    assert len(re.findall(r'<span class="section-number">', form)) == 6
    assert "（六）" in form and "实施科技赋能助力本质安全提升工程" in form
    assert 'name="f_i09_hazards_found"' in form and 'name="f_i01_progress"' in form

    # Save a draft: revision 1.
    draft = {"revision": current_revision(form), "f_reporter": "王五", "f_phone": "13900000009",
             "f_i09_hazards_found": "8", "f_i09_hazards_rectified": "9",
             "f_i01_progress": "已督促 3 家企业落实标准规范。", "action": "save"}
    saved = browser.post(FORM, draft)
    assert saved.status_code == 200  # stays on the page: the rule already fails in the draft
    assert "已整改隐患数不能大于自查发现隐患数" in text(saved)
    report = session.scalar(select(Report))
    assert (report.status, report.revision) == (Status.DRAFT, 1)

    # Submit with errors: refused, with the messages at their fields, in Chinese…
    refused = browser.post(FORM, {**draft, "revision": "1", "f_phone": "", "action": "submit"})
    assert refused.status_code == 422
    html = text(refused)
    assert "联系电话为必填项。" in html
    assert "已整改隐患数不能大于自查发现隐患数" in html
    session.expire_all()
    assert session.scalar(select(Report.status)) == Status.DRAFT

    # … and in English for an English reader.
    english = browser.post(FORM, {**draft, "revision": "2", "f_phone": "", "action": "submit"},
                           headers={"Accept-Language": "en"})
    assert english.status_code == 422
    assert "Phone is required." in text(english)
    assert "Hazards rectified cannot exceed hazards found" in text(english)

    # Fix and submit: accepted, and late (the due date was 5 July).
    done = browser.post(FORM, {**draft, "revision": "3", "f_i09_hazards_rectified": "6",
                               "action": "submit"})
    assert done.status_code == 302
    session.expire_all()
    report = session.scalar(select(Report))
    assert report.status == Status.SUBMITTED and report.late and report.revision == 4
    assert report.values["i09_hazards_rectified"] == 6

    # The report is now read-only, and the list shows it submitted.
    page = text(browser.get(FORM))
    assert 'class="report-form"' not in page and "已报送" in page
    assert "已督促 3 家企业落实标准规范。" in page
    tasks = text(browser.get("/reports/"))
    assert tasks.index("2024年第三季度") < tasks.index("2024年第二季度")  # open work first

    # History: four revisions by the village account, the last change is the fix.
    history = text(browser.get(FORM + "/history"))
    assert history.count("cd-village") >= 4
    assert "其中已整改" in history and re.search(r"<del>9", history) is None
    assert re.search(r'diff-before">\s*9 处', history) and re.search(r'diff-after">\s*6 处',
                                                                      history)

    # The printed form: the official columns in order, the figures and the seal line.
    printed = text(browser.get(FORM + "/print"))
    headers = re.findall(r'<th scope="col">([^<]+)</th>', printed)
    assert headers == ["序号", "项目名称", "具体内容", "实施措施", "推进情况", "备注"]
    assert "<li>企业自查发现事故隐患：8 处</li>" in printed
    assert "报送单位（盖章）" in printed and "负责人签字" in printed
