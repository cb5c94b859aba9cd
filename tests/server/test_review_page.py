"""The review page: a report beside the previous period, its issues, the decisions and the
audit trail."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hazards import FOUND, hazards_definition
from pages import EN, text
from sqlalchemy import select

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Report, ReportEvent, Role, Status
from server.services import assignments as assignment_service
from server.services import reporting
from server.services import templates as template_service
from server.services.errors import ReportLocked

PAGE = "/review/hazards-ta/VA1/2024Q3"
ON_TIME = datetime(2024, 7, 1, 2, tzinfo=UTC)

DEFINITION = hazards_definition(fields=(
    {**FOUND, "label_en": "Hazards found", "cumulative_severity": "warning"},
    {"key": "rectified", "kind": "integer", "label": "整改隐患",
     "label_en": "Hazards rectified", "unit": "处", "min": 0, "cumulative": True},
))
HEADER = {"reporter": "张三", "phone": "13800000000"}


@pytest.fixture
def world(session, tree, make_user):
    """VA1 submitted 2024Q2 (found 5, rectified 2) and 2024Q3 (found 4: lower, explained)."""
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(DEFINITION),
                                 origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment_service.create_assignment(session, key="hazards-ta", template=template,
                                             root=tree["TA"])
    users = {
        "clerk": make_user("clerk", Role.SUBMITTER, tree["VA1"]),
        "ta": make_user("ta", Role.CONSOLIDATOR, tree["TA"]),
        "tb": make_user("tb", Role.CONSOLIDATOR, tree["TB"]),
    }
    clerk = users["clerk"]
    with unit_of_work(session):
        q2 = reporting.load(session, clerk, "hazards-ta", "VA1", "2024Q2")
        reporting.save(session, clerk, q2, {**HEADER, "found": 5, "rectified": 2})
        reporting.submit(session, clerk, q2, now=ON_TIME)
        q3 = reporting.load(session, clerk, "hazards-ta", "VA1", "2024Q3")
        reporting.save(session, clerk, q3, {**HEADER, "found": 4, "rectified": 3},
                       remarks="二季度数据已核实", explanations={"found": "上季度多报了一处"})
        reporting.submit(session, clerk, q3)
    return users


def report(session) -> Report:
    session.expire_all()
    return session.scalar(select(Report).where(Report.period == "2024Q3"))


def events(session) -> list[tuple[str, str, str]]:
    found = session.scalars(select(ReportEvent).join(Report).where(Report.period == "2024Q3")
                            .order_by(ReportEvent.id))
    return [(e.action, e.actor.username, e.comment) for e in found]


def test_review_page_shows_this_period_beside_the_previous_with_issues(world, browser):
    browser.login_ok("ta")
    response = browser.get(PAGE, headers=EN)
    assert response.status_code == 200
    page = text(response)
    row = re.search(r'<tr id="field-found".*?</tr>', page, re.S).group(0)
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
             for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # This period, its issue at the field, the previous period, the increase.
    assert cells[0].startswith("4 处")
    assert "Hazards found is cumulative but went down from 5 in 2024 Q2 to 4." in cells[0]
    # The unit's 说明 is beside the figure it explains.
    assert "The unit's explanation: 上季度多报了一处" in cells[0]
    assert cells[1] == "5 处"
    assert cells[2] == "-1"
    assert 'class="has-warning"' in row
    rectified = re.search(r'<tr id="field-rectified".*?</tr>', page, re.S).group(0)
    assert "1</span>" in rectified  # rectified grew from 2 to 3
    assert "Remarks from the unit" in page and "二季度数据已核实" in page
    assert "Validation finds errors: 0, warnings: 1." in page


def test_return_needs_a_comment_and_changes_nothing_without_one(world, browser, session):
    browser.login_ok("ta")
    refused = browser.post(PAGE + "/return", {"comment": "  ", "revision": "1"},
                           token_from=PAGE, headers=EN)
    assert refused.status_code == 400
    assert "Say what needs to be corrected: a comment is required." in text(refused)
    assert report(session).status == Status.SUBMITTED
    assert [e[0] for e in events(session)] == ["saved", "submitted"]

    done = browser.post(PAGE + "/return", {"comment": "请核实排查数", "revision": "1"},
                        token_from=PAGE)
    assert done.status_code == 302
    assert report(session).status == Status.RETURNED
    assert events(session)[-1] == ("returned", "ta", "请核实排查数")


def test_approve_locks_the_report(world, browser, session):
    browser.login_ok("ta")
    page = browser.get(PAGE).get_data(as_text=True)
    seen = re.search(r'id="approve-revision" name="revision" type="hidden" value="(\d+)"',
                     page).group(1)
    assert "I have read the unit's explanations of the marked figures" in text(
        browser.get(PAGE, headers=EN))
    # An approval that does not acknowledge the explained figure is refused.
    refused = browser.post(PAGE + "/approve", {"revision": seen}, token_from=PAGE, headers=EN)
    assert refused.status_code == 400
    assert "Acknowledge the explained figures before approving" in text(refused)
    assert report(session).status == Status.SUBMITTED
    response = browser.post(PAGE + "/approve", {"revision": seen, "acknowledge": "y"},
                            token_from=PAGE)
    assert response.status_code == 302
    assert report(session).status == Status.APPROVED
    assert events(session)[-1] == ("approved", "ta", "已确认说明的数字：排查隐患")
    clerk = world["clerk"]
    view = reporting.load(session, clerk, "hazards-ta", "VA1", "2024Q3")
    with pytest.raises(ReportLocked, match="approved and locked"), unit_of_work(session):
        reporting.save(session, clerk, view, {**HEADER, "found": 6, "rectified": 3})
    assert report(session).revision == 1


def test_unapprove_needs_a_reason(world, browser, session):
    browser.login_ok("ta")
    browser.post(PAGE + "/approve", {"revision": "1", "acknowledge": "y"}, token_from=PAGE)
    refused = browser.post(PAGE + "/unapprove", {"comment": "", "revision": "1"},
                           token_from=PAGE, headers=EN)
    assert refused.status_code == 400
    assert "A reason is required to withdraw an approval." in text(refused)
    assert report(session).status == Status.APPROVED

    done = browser.post(PAGE + "/unapprove", {"comment": "数据需复核", "revision": "1"},
                        token_from=PAGE)
    assert done.status_code == 302
    assert report(session).status == Status.SUBMITTED


def test_every_action_appears_in_the_audit_trail(world, browser, session):
    browser.login_ok("ta")
    browser.post(PAGE + "/return", {"comment": "请核实排查数", "revision": "1"}, token_from=PAGE)
    clerk = world["clerk"]
    with unit_of_work(session):
        view = reporting.load(session, clerk, "hazards-ta", "VA1", "2024Q3")
        reporting.save(session, clerk, view, {**HEADER, "found": 5, "rectified": 3})
        reporting.submit(session, clerk, view)
    browser.post(PAGE + "/approve", {"revision": "2"}, token_from=PAGE)
    browser.post(PAGE + "/unapprove", {"comment": "数据需复核", "revision": "2"}, token_from=PAGE)

    assert events(session) == [
        ("saved", "clerk", ""), ("submitted", "clerk", ""), ("returned", "ta", "请核实排查数"),
        ("saved", "clerk", ""), ("submitted", "clerk", ""), ("approved", "ta", ""),
        ("unapproved", "ta", "数据需复核"),
    ]
    page = text(browser.get(PAGE, headers=EN))
    trail = page[page.index("Audit trail"):]
    for shown in ("Returned", "请核实排查数", "Approved", "Approval withdrawn", "数据需复核",
                  "Saved", "Submitted"):
        assert shown in trail


def test_a_decision_on_an_outdated_page_is_refused(world, browser, session):
    browser.login_ok("ta")
    browser.post(PAGE + "/return", {"comment": "请核实", "revision": "1"}, token_from=PAGE)
    clerk = world["clerk"]
    with unit_of_work(session):
        view = reporting.load(session, clerk, "hazards-ta", "VA1", "2024Q3")
        reporting.save(session, clerk, view, {**HEADER, "found": 9, "rectified": 3})
        reporting.submit(session, clerk, view)
    # Approving what was on the screen before the resubmission (revision 1) is refused.
    refused = browser.post(PAGE + "/approve", {"revision": "1"}, token_from=PAGE, headers=EN)
    assert refused.status_code == 400
    assert "This report changed since you opened it (now revision 2)" in text(refused)
    assert report(session).status == Status.SUBMITTED


def test_decisions_not_possible_in_the_current_state_are_refused(world, browser, session):
    browser.login_ok("ta")
    refused = browser.post(PAGE + "/unapprove", {"comment": "why", "revision": "1"},
                           token_from=PAGE, headers=EN)
    assert refused.status_code == 400
    assert "This action is not possible while the report is submitted." in text(refused)
    assert report(session).status == Status.SUBMITTED


def test_another_towns_consolidator_gets_404(world, browser, session):
    browser.login_ok("tb")
    assert browser.get(PAGE).status_code == 404
    response = browser.post(PAGE + "/approve", {"revision": "1"}, token_from="/")
    assert response.status_code == 404
    assert report(session).status == Status.SUBMITTED


def test_the_submitter_gets_403_on_their_own_report(world, browser, session):
    browser.login_ok("clerk")
    assert browser.get(PAGE).status_code == 403
    response = browser.post(PAGE + "/approve", {"revision": "1"}, token_from="/")
    assert response.status_code == 403
    assert report(session).status == Status.SUBMITTED


def test_a_report_not_started_shows_whom_to_call(world, browser, session, tree):
    tree["VA2"].contact_name, tree["VA2"].contact_phone = "李四", "13900000000"
    session.commit()
    browser.login_ok("ta")
    response = browser.get("/review/hazards-ta/VA2/2024Q3", headers=EN)
    assert response.status_code == 200
    page = text(response)
    assert "has not started this report yet" in page
    assert 'href="tel:13900000000"' in page and "李四" in page
    assert "/approve" not in page


def test_the_merged_workbook_lists_the_explanation_beside_the_flagged_figure(world, browser):
    import io

    import openpyxl

    browser.login_ok("ta")
    response = browser.get("/consolidation/hazards-ta/TA/2024Q3/merged.xlsx?submitted=1",
                           headers=EN)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    rows = list(book["Validation issues"].iter_rows(values_only=True))
    assert rows[0][-1] == "The unit's explanation"
    found = [r for r in rows[1:] if r[0] == "VA1" and r[3] == "found"]
    assert [r[-1] for r in found] == ["上季度多报了一处"]
