"""Batch approval from the review matrix: the ticked submitted reports without errors and
without explained figures are approved in one POST, each checked in scope and audited; the
others are refused with a reason per report; closed periods are refused."""

from __future__ import annotations

import re
from html import unescape

import test_review_matrix as matrix_base
from sqlalchemy import select

from server.db import unit_of_work
from server.models import PeriodClosure, Report, ReportEvent, Status
from server.services import assignments as assignment_service
from server.services import reporting
from server.services import review as review_service
from server.services import templates as template_service

world = matrix_base.world
MATRIX = "/review/?assignment=hazards-cy&unit=TA&all_periods=y"
BATCH = "/review/hazards-cy/batch-approve"


def status(session, code: str, period: str = "2024Q2") -> str:
    session.expire_all()
    return session.scalar(select(Report.status).join(Report.unit)
                          .where(Report.period == period,
                                 Report.unit.has(code=code)))


def submit_va4(session, world):
    with unit_of_work(session):
        view = reporting.load(session, world["users"]["VA4"], "hazards-cy", "VA4", "2024Q2")
        reporting.submit(session, world["users"]["VA4"], view)


def test_the_matrix_offers_ticks_for_submitted_reports(world, browser, session):
    submit_va4(session, world)
    browser.login_ok("ta")
    page = unescape(browser.get(MATRIX).get_data(as_text=True))
    ticks = [v for v in ("VA1", "VA2", "VA3", "VA4")
             if f'name="report" value="{v}|2024Q2"' in page]
    assert ticks == ["VA2", "VA4"]  # submitted ones only
    assert 'value="VA2|2024Q2" data-approvable' in page
    assert 'name="approvable" value="VA2|2024Q2"' in page
    assert 'id="batch-form"' in page and 'form="batch-form"' in page


def test_the_ticked_reports_that_qualify_are_approved_and_audited(world, browser, session):
    submit_va4(session, world)
    browser.login_ok("ta")
    answer = browser.post(BATCH, {"report": ["VA2|2024Q2", "VA4|2024Q2", "VA3|2024Q2",
                                             "VB1|2024Q2", "VA1|2024Q2", "nonsense"]},
                          token_from=MATRIX)
    page = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200
    assert status(session, "VA2") == Status.APPROVED and status(session, "VA4") == Status.APPROVED
    assert status(session, "VA3") == Status.RETURNED and status(session, "VB1") == Status.DRAFT
    rows = {row.split('data-unit="', 1)[1].split('"', 1)[0]: row
            for row in page.split("<tr class=")[1:]}
    assert "is-approved" in rows["VA2"] and "is-approved" in rows["VA4"]
    assert "is-refused" in rows["VA3"] and "已退回" in rows["VA3"]
    assert "is-refused" in rows["VB1"] and "is-refused" in rows["VA1"]
    # each approval is in the report's own history, by the reviewer, like a single one
    for code in ("VA2", "VA4"):
        events = session.scalars(select(ReportEvent).join(Report).where(
            Report.unit.has(code=code), ReportEvent.action == "approved")).all()
        assert [e.actor.username for e in events] == ["ta"]


def test_approve_all_that_can_be_approved(world, browser, session):
    browser.login_ok("ta")
    page = unescape(browser.get(MATRIX).get_data(as_text=True))
    assert "审核通过全部 1 份可通过的报表" in page and 'name="every"' in page
    answer = browser.post(BATCH, {"every": "1", "approvable": ["VA2|2024Q2"]},
                          token_from=MATRIX)
    assert answer.status_code == 200 and status(session, "VA2") == Status.APPROVED


def test_batch_approval_needs_the_csrf_token_and_the_scope(world, browser, session, client):
    browser.login_ok("ta")
    assert browser.client.post(BATCH, data={"report": "VA2|2024Q2"}).status_code == 400
    assert status(session, "VA2") == Status.SUBMITTED
    other = type(browser)(browser.client.application.test_client()).login_ok("tb")
    answer = other.post(BATCH, {"report": "VA2|2024Q2"}, token_from="/review/")
    assert status(session, "VA2") == Status.SUBMITTED
    assert answer.status_code == 200 and "is-refused" in answer.get_data(as_text=True)
    assert "is-approved" not in answer.get_data(as_text=True)


def test_a_closed_period_is_refused(world, session):
    ta = world["users"]["ta"]
    with unit_of_work(session):
        session.add(PeriodClosure(assignment_id=world["assignment"].id,
                                  unit_id=world["units"]["TA"].id, period="2024Q2",
                                  closed_by_id=ta.id))
    with unit_of_work(session):
        outcomes = review_service.batch_approve(session, ta, "hazards-cy", [("VA2", "2024Q2")])
    assert [(o.unit, o.approved) for o in outcomes] == [("VA2", False)]
    assert outcomes[0].reason
    assert status(session, "VA2") == Status.SUBMITTED


def chosen_assignment(page: str) -> str:
    """The assignment the matrix shows (its chase links name it)."""
    return re.search(r'href="/review/([^/"]+)/[^/"]+/chase', page).group(1)


def test_the_matrix_stays_on_what_the_account_chose_last(world, browser, session):
    """Adding an assignment (whose key sorts first) does not move the consolidator's view."""
    browser.login_ok("ta")
    first = unescape(browser.get("/review/").get_data(as_text=True))
    assert chosen_assignment(first) == "hazards-cy"
    browser.get("/review/?assignment=hazards-cy&unit=TA")
    with unit_of_work(session):
        template = template_service.get_version(session, "hazards", 1)
        assignment_service.create_assignment(session, key="aaa-new", template=template,
                                             root=world["units"]["TA"])
    page = unescape(browser.get("/review/").get_data(as_text=True))
    assert chosen_assignment(page) == "hazards-cy"
    # choosing the new one is remembered in turn
    browser.get("/review/?assignment=aaa-new")
    assert chosen_assignment(unescape(browser.get("/review/").get_data(as_text=True))) \
        == "aaa-new"
    # another account starts from the first, as before
    other = type(browser)(browser.client.application.test_client()).login_ok("cy")
    assert chosen_assignment(unescape(other.get("/review/").get_data(as_text=True))) \
        == "aaa-new"
