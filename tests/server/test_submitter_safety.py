"""The submitter's safety net: every problem at once, a confirmed submission, withdrawal
(撤回) before review, drafts that save themselves, and a returned report that opens with
the reviewer's comment. Through HTTP, as a village's reporting contact uses it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import test_reporting_form as form_tests
from api_helpers import api_get, api_post, problem, token_for
from pages import text
from sqlalchemy import func, select
from test_reporting_form import COMPLETE, Q2, Q3, form_of, send, stored

from server.db import unit_of_work
from server.models import Role
from server.models.reporting import Report, ReportEvent, ReportValue, Revision, Source, Status
from server.services import reporting

ZH = {"Accept-Language": "zh-CN"}
# The village VA1 owing the sample report to town TA, and its signed-in browser.
village, signed_in = form_tests.village, form_tests.signed_in


def revisions(session) -> list[Revision]:
    session.expire_all()
    return list(session.scalars(select(Revision).order_by(Revision.number)))


def summary(html: str) -> list[str]:
    """The lines of the problem summary at the top of the form, as read."""
    start = html.index('id="issues"')
    part = html[start:html.index("</ul>", start)]
    return [re.sub(r"<[^>]+>", "", item).strip()
            for item in re.findall(r"<li[^>]*>(.*?)</li>", part, re.S)]


@pytest.fixture
def reviewer(session, tree, make_user):
    return make_user("ta-review", role=Role.CONSOLIDATOR, unit=tree["TA"])


def submitted_q2(browser, session, **values):
    response = send(browser, Q2, "submit", **{**COMPLETE, "f_found": "5", "f_rectified": "2",
                                              **values})
    assert response.status_code == 302, text(response)
    assert stored(session).status == Status.SUBMITTED


# -- all problems at once ----------------------------------------------------------------------


def test_a_save_with_five_mistakes_lists_all_five_at_once_with_item_numbers(signed_in, session):
    response = send(signed_in, Q2, headers=ZH, f_found="abc", f_rectified="2", f_rate="150",
                    f_start="明天", f_done=[], **{"f_roster-0-f_phone": "13900000001"})
    assert response.status_code == 422
    lines = summary(text(response))
    # What cannot be read, a bound, a missing required answer and a table cell: together.
    assert "第1项 排查隐患：排查隐患应为数字，而不是“abc”。" in lines
    assert any(line.startswith("第2项 持证率：") and "100" in line for line in lines)
    assert any(line.startswith("第2项 开始日期：") and "明天" in line for line in lines)
    assert "第2项 是否完成：是否完成为必填项。" in lines
    assert any(line.startswith("第2项 成员名单 第 1 行 姓名：") for line in lines)
    # The rule that needs the unreadable figure is not judged, and says so.
    assert "第1项 整改隐患：未检查：整改隐患，因为排查隐患无法识别。" in lines
    errors = [line for line in lines if "未检查" not in line]
    assert len(errors) == 5
    assert stored(session) is None  # nothing was saved
    # Each line links to its field; the page opens at the summary, focused.
    html = text(response)
    assert 'href="#field-found"' in html and 'href="#field-done"' in html
    assert re.search(r'id="issues" tabindex="-1"[^>]*data-focus', html)
    assert re.search(r'<form[^>]*action="/reports/sample/VA1/2024Q2#issues"', html)


def test_a_rule_and_a_missing_answer_come_with_the_type_error_in_english(signed_in, session):
    response = send(signed_in, Q2, "confirm", headers={"Accept-Language": "en"},
                    f_found="3", f_rectified="5", f_rate="abc", f_done=[])
    assert response.status_code == 422
    lines = summary(text(response))
    assert "Item 1 Hazards rectified: Rectified cannot exceed found" in lines
    assert any("是否完成 is required." in line for line in lines)
    assert any(line.startswith("Item 2 持证率:") for line in lines)


def test_the_api_refuses_a_save_with_every_problem_in_one_answer(client, session, village):
    token = token_for(session, village)
    response = client.put("/api/v1/reports/sample/VA1/2024Q2", json={"values": {
        "found": "abc", "rectified": 2, "rate": 150}},
        headers={"Authorization": f"Bearer {token}", "If-Match": '"0"'})
    body = problem(response, 422, "invalid")
    codes = {(i["field"], i["code"]) for i in body["issues"]}
    assert {("found", "not_a_number"), ("rate", "above_max"), ("done", "required"),
            ("rectified", "rule_not_checked")} <= codes


# -- a confirmed submission --------------------------------------------------------------------


def test_submit_asks_to_confirm_and_shows_the_open_warnings(signed_in, session):
    submitted_q2(signed_in, session, f_found="5", f_rectified="2")
    # Q3: rectified goes down (a warning that needs a note), the rest is complete.
    response = send(signed_in, Q3, "confirm", headers=ZH, f_found="6", f_rectified="1",
                    **{k: v for k, v in COMPLETE.items()})
    assert response.status_code == 200
    html = text(response)
    assert "确认提交报表？" in html and "确认提交" in html
    assert "还有 1 条警告未处理：" in html and "整改隐患" in html
    session.expire_all()
    q3 = session.scalar(select(Report).where(Report.period == "2024Q3"))
    assert (q3.status, q3.revision) == (Status.DRAFT, 1)  # saved, not sent


def test_confirming_submits_the_revision_that_was_shown(signed_in, session):
    response = send(signed_in, Q2, "confirm", headers=ZH, f_found="5", f_rectified="2",
                    **COMPLETE)
    assert response.status_code == 200 and "没有未处理的警告。" in text(response)
    assert stored(session).status == Status.DRAFT
    confirm = signed_in.post(Q2 + "/submit", {"revision": "1"}, token_from=Q2)
    assert confirm.status_code == 302
    assert stored(session).status == Status.SUBMITTED


def test_a_confirmation_of_an_older_revision_is_refused(signed_in, session):
    send(signed_in, Q2, "confirm", f_found="5", f_rectified="2", **COMPLETE)
    send(signed_in, Q2, "save", f_found="7")  # changed in another tab: revision 2
    refused = signed_in.post(Q2 + "/submit", {"revision": "1"}, token_from=Q2)
    assert refused.status_code == 302
    assert stored(session).status == Status.DRAFT
    assert "修改" in text(signed_in.get(Q2, headers=ZH))  # the stale message is flashed


def test_a_confirmation_with_errors_keeps_the_draft_and_lists_them(signed_in, session):
    response = send(signed_in, Q2, "confirm", headers=ZH, f_found="3", f_rectified="5",
                    f_done=[])
    assert response.status_code == 422
    html = text(response)
    assert "在改正错误之前不能提交" in html and "确认提交报表" not in html
    assert stored(session).status == Status.DRAFT and stored(session).revision == 1


# -- withdrawal ----------------------------------------------------------------------------


def withdraw_form(browser) -> dict:
    html = text(browser.get(Q2))
    match = re.search(r'action="/reports/sample/VA1/2024Q2/withdraw".*?name="revision"[^>]*'
                      r'value="(\d+)"', html, re.S)
    assert match, "no withdraw button"
    return {"revision": match.group(1)}


def test_a_submitted_report_is_withdrawn_before_review_and_the_history_says_who(
        signed_in, session, village):
    submitted_q2(signed_in, session)
    response = signed_in.post(Q2 + "/withdraw", withdraw_form(signed_in), token_from=Q2)
    assert response.status_code == 302
    report = stored(session)
    assert report.status == Status.DRAFT
    event = session.scalar(select(ReportEvent).where(ReportEvent.action == "withdrawn"))
    assert event.actor_id == village.id and event.revision == report.revision
    history = text(signed_in.get(Q2 + "/history", headers=ZH))
    assert "填报单位撤回" in history and "va1" in history
    assert 'class="report-form"' in text(signed_in.get(Q2))  # editable again


def test_withdrawal_is_refused_once_the_reviewer_approved(signed_in, session, reviewer):
    submitted_q2(signed_in, session)
    token = withdraw_form(signed_in)
    with unit_of_work(session):
        view = reporting.load(session, reviewer, "sample", "VA1", "2024Q2")
        reporting.approve(session, reviewer, view)
    assert "/withdraw" not in text(signed_in.get(Q2))  # no button any more
    refused = signed_in.post(Q2 + "/withdraw", token, token_from=Q2 + "/history")
    assert refused.status_code == 302
    assert stored(session).status == Status.APPROVED
    assert session.scalar(select(func.count()).select_from(ReportEvent)
                          .where(ReportEvent.action == "withdrawn")) == 0


def test_only_the_units_own_accounts_withdraw(session, village, reviewer, signed_in):
    submitted_q2(signed_in, session)
    with unit_of_work(session), pytest.raises(reporting.NotAllowed):
        view = reporting.load(session, reviewer, "sample", "VA1", "2024Q2")
        reporting.withdraw(session, reviewer, view)


def test_the_api_withdraws_and_is_documented(client, session, village, signed_in):
    token = token_for(session, village)
    path = "/reports/sample/VA1/2024Q2/withdraw"
    problem(api_post(client, path, token), 409, "invalid_state")  # nothing submitted yet
    submitted_q2(signed_in, session)
    response = api_post(client, path, token)
    assert response.status_code == 200 and response.get_json()["status"] == "draft"
    spec = api_get(client, "/openapi.json", None).get_json()
    assert "post" in spec["paths"]["/reports/{assignment}/{unit}/{period}/withdraw"]


# -- drafts that save themselves -----------------------------------------------------------------


def autosave(browser, path=Q2, **changes):
    data = {**form_of(browser, path), **changes}
    data.pop("action", None)
    return browser.post(path + "/autosave", data, token_from=path)


def test_autosave_keeps_the_draft_and_says_when(signed_in, session, monkeypatch):
    monkeypatch.setattr(reporting, "utcnow", lambda: datetime(2024, 7, 1, 2, 42, tzinfo=UTC))
    response = autosave(signed_in, f_found="4")
    assert response.status_code == 200
    body = response.get_json()
    assert body["changed"] is True and body["revision"] == 1
    assert body["time"] == "10:42" and body["message"] == "已自动保存 10:42"  # Shanghai time
    assert stored(session).values["found"] == 4
    assert [r.source for r in revisions(session)] == [Source.AUTOSAVE]


def test_autosaves_in_a_row_update_one_revision_and_skip_what_did_not_change(signed_in,
                                                                            session):
    autosave(signed_in, f_found="4")
    second = autosave(signed_in, f_found="5").get_json()
    assert second["revision"] == 1 and second["changed"] is True
    assert len(revisions(session)) == 1 and stored(session).values["found"] == 5
    same = autosave(signed_in).get_json()
    assert same["changed"] is False and len(revisions(session)) == 1
    # An explicit save is a revision of its own; the next autosave starts a new one.
    send(signed_in, Q2, "save", f_found="6")
    autosave(signed_in, f_found="7")
    assert [(r.number, r.source) for r in revisions(session)] == [
        (1, Source.AUTOSAVE), (2, Source.WEB), (3, Source.AUTOSAVE)]


def test_autosave_respects_the_revision_and_refuses_what_cannot_be_read(signed_in, session):
    send(signed_in, Q2, "save", f_found="6")
    stale = autosave(signed_in, f_found="8", revision="0")
    assert stale.status_code == 409 and stale.get_json()["code"] == "stale_revision"
    unreadable = autosave(signed_in, f_found="abc")
    assert unreadable.status_code == 422 and unreadable.get_json()["code"] == "invalid"
    assert stored(session).values["found"] == 6 and len(revisions(session)) == 1


def test_autosave_of_a_submitted_report_is_refused(signed_in, session):
    submitted_q2(signed_in, session)
    data = {"revision": "1", "f_found": "9"}
    refused = signed_in.post(Q2 + "/autosave", data, token_from=Q2 + "/history")
    assert refused.status_code == 409
    assert stored(session).values["found"] == 5


# -- the page: the form first, a returned report opens with the comment ----------------------


def test_the_form_comes_before_the_excel_panel(signed_in):
    html = text(signed_in.get(Q2, headers=ZH))
    assert html.index('class="report-form"') < html.index("workbook-panel")
    assert re.search(r'<details class="card workbook-panel workbook-compact', html)
    assert 'id="autosave-status"' in html and "提交…" in html


def test_a_returned_report_opens_with_the_comment_and_the_fields_it_names(signed_in, session,
                                                                         reviewer):
    submitted_q2(signed_in, session)
    with unit_of_work(session):
        view = reporting.load(session, reviewer, "sample", "VA1", "2024Q2")
        reporting.return_report(session, reviewer, view, "整改隐患与台账不符，请核对。")
    html = text(signed_in.get(Q2, headers=ZH))
    comment = html.index("returned-comment")
    assert comment < html.index('class="card report-meta"') < html.index('class="report-form"')
    named = html[comment:html.index("</div>", comment)]
    assert '<a href="#field-rectified">整改隐患</a>' in named
    assert 'href="#field-found"' not in named


def figures(session) -> dict[str, tuple[str, int | None]]:
    """The stored figures of the report (status, value times 10**6) by field."""
    session.expire_all()
    return {v.field_key: (v.status, v.micros) for v in session.scalars(select(ReportValue))}


def test_the_stored_figures_follow_autosaves_and_a_withdrawal(signed_in, session):
    autosave(signed_in, f_found="4")
    autosave(signed_in, f_found="5")  # the same autosave revision, brought up to date
    assert figures(session)["found"] == ("draft", 5_000_000)
    send(signed_in, Q2, "submit", f_found="5", f_rectified="2", **COMPLETE)
    assert figures(session)["found"] == ("submitted", 5_000_000)
    signed_in.post(Q2 + "/withdraw", withdraw_form(signed_in), token_from=Q2)
    assert figures(session)["found"] == ("draft", 5_000_000)
