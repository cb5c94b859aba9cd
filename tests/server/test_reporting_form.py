"""The report form through HTTP: what a village's reporting contact sees and can do.

The form is submitted the way a browser would: every input as the page shows
it, with the person's changes on top.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from form_reader import FormReader
from pages import text
from sqlalchemy import func, select

from server.db import unit_of_work
from server.models import Role
from server.models.reporting import Report, Revision, Status
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.templates import get_version, load_files

SAMPLE = Path(__file__).resolve().parents[1] / "forms" / "sample.yaml"
Q2 = "/reports/sample/VA1/2024Q2"
Q3 = "/reports/sample/VA1/2024Q3"


@pytest.fixture
def village(session, tree, make_user):
    """A submitter of village VA1, which owes the sample report to town TA."""
    tree["VA1"].contact_name, tree["VA1"].contact_phone = "王五", "13900000009"
    session.commit()
    with unit_of_work(session):
        load_files(session, [SAMPLE])
        assignment_service.create_assignment(session, key="sample",
                                             template=get_version(session, "sample", 1),
                                             root=tree["TA"])
    return make_user("va1", unit=tree["VA1"])


@pytest.fixture
def signed_in(browser, village):
    return browser.login_ok(village)


def form_of(browser, path, **headers) -> dict:
    page = browser.get(path, headers=headers)
    assert page.status_code == 200
    return FormReader(page.get_data(as_text=True)).fields


def send(browser, path, action="save", headers=None, **changes):
    """Submit the form on *path* as shown, with *changes*, pressing *action*."""
    data = {**form_of(browser, path), **changes, "action": action}
    return browser.post(path, data, headers=headers or {})


def block(html: str, anchor: str) -> str:
    """The markup from the element with id *anchor* up to the next one of its kind."""
    start = html.index(f'id="{anchor}"')
    kinds = "item|section" if anchor.startswith("item-") else "field|item|section"
    for match in re.finditer(rf'id="((?:{kinds})-[^"]*)"', html[start + 1:]):
        if not match.group(1).startswith(anchor + "-"):
            return html[start:start + 1 + match.start()]
    return html[start:]


def stored(session) -> Report | None:
    session.expire_all()
    return session.scalar(select(Report))


def revision_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Revision))


COMPLETE = {"f_reporter": "王五", "f_phone": "13900000009", "f_done": "yes"}


# -- what the form shows -----------------------------------------------------------------------


def test_form_is_built_from_the_definition(signed_in):
    html = text(signed_in.get(Q2))
    assert "示例推进情况表" in html and "2024年第二季度" in html
    assert "（一）" in html and "隐患排查" in html and "排查整治隐患" in html
    # Typed inputs: phones get a numeric keypad, numbers show their unit.
    assert re.search(r'<input[^>]*inputmode="numeric"[^>]*name="f_found"', html)
    assert re.search(r'<input[^>]*inputmode="decimal"[^>]*name="f_investment"', html)
    assert '<span class="unit">处</span>' in block(html, "field-found")
    assert '<span class="unit">万元</span>' in block(html, "field-investment")
    assert re.search(r'name="f_start"[^>]*type="date"', html)
    assert re.search(r'<input[^>]*name="f_phone"[^>]*type="tel"', html)
    assert '<option value="red">红</option>' in html
    assert re.search(r'name="f_sectors" type="checkbox" value="dust"', html)
    assert re.search(r'name="f_done" type="radio" value="yes"', html)
    assert re.search(r'name="f_plan_file-file" type="file"', html)
    assert 'name="f_roster-0-f_name"' in html
    # The plan's wording is there on demand, and the footer note of the official form.
    assert "<details" in block(html, "item-i01") and "全面排查" in block(html, "item-i01")
    assert "注：相关数据均为累计。" in html


def test_a_new_report_starts_with_the_units_contact(signed_in):
    fields = form_of(signed_in, Q2)
    assert fields["f_reporter"] == "王五" and fields["f_phone"] == "13900000009"
    assert fields["revision"] == "0"
    assert "Unit VA1" in text(signed_in.get(Q2))  # 报送单位 comes from the account's unit


def test_saving_a_draft_makes_revision_one(signed_in, session):
    response = send(signed_in, Q2, f_found="5", f_rectified="3")
    assert response.status_code == 302 and response.location.endswith(Q2)
    report = stored(session)
    assert (report.status, report.revision) == (Status.DRAFT, 1)
    assert report.values["found"] == 5 and report.values["rectified"] == 3
    page = text(signed_in.get(Q2, headers={"Accept-Language": "zh-CN"}))
    assert "已暂存为草稿（第 1 版），尚未提交。" in page
    assert form_of(signed_in, Q2)["revision"] == "1"


def test_a_number_with_a_unit_is_accepted_with_a_warning(signed_in, session):
    response = send(signed_in, Q2, f_found="１２家")
    assert response.status_code == 200
    assert stored(session).values["found"] == 12
    assert "“12家”已按 12 读取" in block(text(response), "field-found")


def test_text_in_a_number_field_is_refused_and_nothing_is_saved(signed_in, session):
    response = send(signed_in, Q2, f_found="abc", f_reporter="赵六")
    assert response.status_code == 422
    html = text(response)
    assert "排查隐患应为数字，而不是“abc”。" in block(html, "field-found")
    assert 'href="#field-found"' in html  # the summary at the top links to the field
    assert stored(session) is None and revision_count(session) == 0
    fields = FormReader(html).fields  # what was typed is still there
    assert fields["f_found"] == "abc" and fields["f_reporter"] == "赵六"


def test_submit_with_errors_keeps_the_draft_and_says_why_in_chinese(signed_in, session):
    response = send(signed_in, Q2, "submit", f_found="3", f_rectified="5")
    assert response.status_code == 422
    html = text(response)
    assert "是否完成为必填项。" in block(html, "field-done")
    assert "整改隐患数不能大于排查隐患数" in block(html, "field-rectified")
    report = stored(session)
    assert (report.status, report.revision) == (Status.DRAFT, 1)  # saved, not submitted
    assert FormReader(html).fields["revision"] == "1"


def test_submit_errors_in_english(signed_in, session):
    english = {"Accept-Language": "en"}
    response = send(signed_in, Q2, "submit", headers=english, f_found="3", f_rectified="5")
    assert response.status_code == 422
    html = text(response)
    assert "是否完成 is required." in block(html, "field-done")
    assert "Rectified cannot exceed found" in block(html, "field-rectified")
    assert "but the report was not submitted" in html


def test_a_complete_report_is_submitted_and_becomes_read_only(signed_in, session, monkeypatch):
    monkeypatch.setattr(reporting, "utcnow", lambda: datetime(2024, 7, 3, 2, tzinfo=UTC))
    response = send(signed_in, Q2, "submit", f_found="3", f_rectified="2", **COMPLETE)
    assert response.status_code == 302
    report = stored(session)
    assert report.status == Status.SUBMITTED and not report.late
    html = text(signed_in.get(Q2))
    assert "已报送" in html and 'class="report-form"' not in html
    assert "readonly-banner" in html
    # Posting anyway changes nothing.
    refused = signed_in.post(Q2, {"revision": "1", "f_found": "9", "action": "save"})
    assert refused.status_code == 403
    assert stored(session).values["found"] == 3 and revision_count(session) == 1


def test_a_late_submission_is_accepted_and_marked(signed_in, session, monkeypatch):
    monkeypatch.setattr(reporting, "utcnow", lambda: datetime(2024, 7, 5, 16, 30, tzinfo=UTC))
    response = send(signed_in, Q2, "submit", f_found="3", **COMPLETE)
    assert response.status_code == 302
    assert stored(session).late  # 00:30 on 6 July in Shanghai, the day after the due date
    assert "逾期" in text(signed_in.get(Q2))


def submit_q2(browser, **values):
    response = send(browser, Q2, "submit", **{**COMPLETE, **values})
    assert response.status_code == 302, text(response)


def test_a_cumulative_figure_lower_than_last_period_is_flagged_at_its_field(signed_in, session):
    submit_q2(signed_in, f_found="12", f_rectified="5")
    html = text(signed_in.get(Q3))
    found = block(html, "field-found")
    assert "上期（2024年第二季度）" in found and "<strong>12</strong>" in found
    assert 'data-base="12"' in found  # the increment is computed while typing

    response = send(signed_in, Q3, "submit", f_found="10", f_rectified="6", **COMPLETE)
    assert response.status_code == 422
    assert "排查隐患为累计数，却从2024年第二季度的 12 降至 10。" in block(text(response),
                                                                 "field-found")

    response = send(signed_in, Q3, "submit", f_found="13", f_rectified="6", **COMPLETE)
    assert response.status_code == 302
    session.expire_all()
    q3 = session.scalar(select(Report).where(Report.period == "2024Q3"))
    assert q3.status == Status.SUBMITTED and q3.values["found"] == 13
    # 本期新增 beside the figure: 13 now against 12 last quarter.
    assert re.search(r'id="increment-found"[^>]*>\+1<', text(signed_in.get(Q3)))


def test_a_corrected_figure_needs_a_note_beside_it_not_the_remarks(signed_in, session):
    submit_q2(signed_in, f_found="12", f_rectified="5")
    # rectified is cumulative within the year: a lower figure is a correction to explain.
    response = send(signed_in, Q3, "submit", f_found="12", f_rectified="4", **COMPLETE)
    assert response.status_code == 422
    html = text(response)
    rectified = block(html, "field-rectified")
    assert "整改隐患为累计数" in rectified
    assert 'name="note-rectified"' in rectified and "本项说明" in rectified
    assert "请在每个标记数字旁的说明中作出解释" in html
    # only the flagged figure asks for a note: found's box waits, hidden, for a lower figure
    assert re.search(r'id="note-box-found"[^>]*\shidden>', html)
    assert not re.search(r'id="note-box-rectified"[^>]*\shidden>', html)

    # The general remarks do not explain one figure.
    response = send(signed_in, Q3, "submit", f_found="12", f_rectified="4",
                    remarks="见说明。", **COMPLETE)
    assert response.status_code == 422

    response = send(signed_in, Q3, "submit", f_found="12", f_rectified="4",
                    **{"note-rectified": "上季度多报 1 处，已更正。"}, **COMPLETE)
    assert response.status_code == 302
    session.expire_all()
    q3 = session.scalar(select(Report).where(Report.period == "2024Q3"))
    assert q3.status == "submitted"
    assert q3.explanations == {"rectified": "上季度多报 1 处，已更正。"}
    assert "上季度多报 1 处，已更正。" in block(text(signed_in.get(Q3)), "field-rectified")


def test_a_returned_report_shows_the_consolidators_comment(signed_in, session, tree, make_user,
                                                           village):
    submit_q2(signed_in, f_found="3")
    town = make_user("ta", Role.CONSOLIDATOR, tree["TA"])
    view = reporting.load(session, town, "sample", "VA1", "2024Q2")
    with unit_of_work(session):
        reporting.return_report(session, town, view, "请补充推进情况说明。")
    html = text(signed_in.get(Q2))
    assert "请补充推进情况说明。" in html and "returned-comment" in html
    assert 'class="report-form"' in html  # editable again
    assert send(signed_in, Q2, "submit").status_code == 302


def test_a_second_person_editing_the_same_revision_is_told_and_nothing_is_lost(
        browser, other_browser, village, make_user, tree, session):
    colleague = make_user("va1b", unit=tree["VA1"])
    browser.login_ok(village)
    other_browser.login_ok(colleague)
    assert send(browser, Q2, f_found="5").status_code == 302
    mine, theirs = form_of(browser, Q2), form_of(other_browser, Q2)  # both at revision 1

    assert browser.post(Q2, {**mine, "f_found": "6", "action": "save"}).status_code == 302
    response = other_browser.post(Q2, {**theirs, "f_found": "8", "f_reporter": "李雷",
                                       "action": "save"}, headers={"Accept-Language": "en"})
    assert response.status_code == 409
    html = text(response)
    # Who saved in between, and that this person's changes were not saved.
    assert "This report was changed by va1 while you were editing" in html
    assert "What you typed is still below, not saved." in html
    fields = FormReader(html).fields
    assert fields["f_found"] == "8" and fields["f_reporter"] == "李雷"  # still on screen
    report = stored(session)
    assert report.revision == 2 and report.values["found"] == 6  # the first save stands


def test_choices_dates_and_answers_come_back_as_saved(signed_in, session):
    response = send(signed_in, Q2, f_level="blue", f_sectors=["dust", "space"],
                    f_start="2024-06-01", f_done="no", f_rate="85.5", f_investment="1,200.50")
    assert response.status_code == 302
    values = stored(session).values
    assert values["level"] == "blue" and values["sectors"] == ["dust", "space"]
    assert values["start"] == "2024-06-01" and values["done"] is False
    assert Decimal(str(values["rate"])) == Decimal("85.5")
    assert Decimal(str(values["investment"])) == Decimal("1200.5")
    fields = form_of(signed_in, Q2)
    assert fields["f_level"] == "blue" and fields["f_sectors"] == ["dust", "space"]
    assert fields["f_start"] == "2024-06-01" and fields["f_done"] == ["no"]
    assert fields["f_investment"] == "1200.5"


# -- repeating tables --------------------------------------------------------------------------


def test_rows_are_added_without_javascript_and_nothing_is_saved(signed_in, session):
    page = text(signed_in.get(Q2))
    # Three empty rows (the table's maximum), plus the hidden row the script copies.
    assert len(re.findall(r'name="f_roster-\d+-f_name"', page)) == 3
    response = send(signed_in, Q2, "add-rows:roster", **{"f_roster-0-f_name": "张三"})
    assert response.status_code == 200 and stored(session) is None
    assert FormReader(text(response)).fields["f_roster-0-f_name"] == "张三"


def test_table_rows_are_saved_blank_rows_dropped_and_removed_rows_left_out(signed_in, session):
    response = send(signed_in, Q2, **{
        "f_roster-0-f_name": "张三", "f_roster-0-f_phone": "13800000001",
        "f_roster-1-f_name": "李四", "f_roster-1-remove": "y",
        "f_roster-2-f_name": "王五",
    })
    assert response.status_code == 302
    assert stored(session).values["roster"] == [
        {"name": "张三", "phone": "13800000001"}, {"name": "王五", "phone": None}]
    fields = form_of(signed_in, Q2)
    assert fields["f_roster-1-f_name"] == "王五" and fields["f_roster-2-f_name"] == ""


def test_a_bad_cell_is_shown_in_its_row_and_column(signed_in, session):
    response = send(signed_in, Q2, **{
        "f_roster-0-f_name": "", "f_roster-0-f_phone": "",
        "f_roster-1-f_name": "张三", "f_roster-1-f_phone": "12345",
    })
    assert response.status_code == 422
    html = text(response)
    cell = html[html.index('id="cell-roster-1-phone"'):]
    assert "电话不是有效的电话号码：“12345”。" in cell[:cell.index("</td>")]
    assert 'href="#cell-roster-1-phone"' in html
    assert stored(session) is None


def test_a_missing_cell_blocks_the_submission_at_its_cell(signed_in):
    response = send(signed_in, Q2, "submit", **COMPLETE, **{"f_roster-0-f_phone": "13800000001"})
    assert response.status_code == 422
    html = text(response)
    cell = html[html.index('id="cell-roster-0-name"'):]
    assert "姓名为必填项。" in cell[:cell.index("</td>")]
