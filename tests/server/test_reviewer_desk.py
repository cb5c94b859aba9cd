"""The reviewer's desk: decisions at the top of the review page, comments on single fields
that the unit sees at those fields, and a review page worded for reviewers."""

from __future__ import annotations

import re
from html import unescape

import pytest
import test_review_page as base
from api_helpers import api_get, api_request, token_for
from pages import EN, text
from sqlalchemy import select

from server.db import unit_of_work
from server.models import FieldComment, ReportEvent, Status
from server.services import reporting
from server.services import review as review_service
from server.services.errors import InvalidInput, NotVisible

world = base.world
PAGE, FORM = base.PAGE, "/reports/hazards-ta/VA1/2024Q3"


def returned(browser, **comments):
    data = {"comment": comments.pop("comment", ""), "revision": "1",
            **{f"field_comment-{k}": v for k, v in comments.items()}}
    return browser.post(PAGE + "/return", data, token_from=PAGE)


def field_block(page: str, key: str) -> str:
    """The form's block of one field, up to the next field."""
    return page.split(f'id="field-{key}"', 1)[1].split('class="report-field ', 1)[0]


def test_the_decisions_sit_at_the_top_and_the_page_speaks_to_reviewers(world, browser):
    browser.login_ok("ta")
    page = unescape(text(browser.get(PAGE)))
    bar = page.index('class="review-actions')
    assert bar < page.index("<h2>") and bar < page.index('id="field-found"')
    actions = page[bar:page.index("</div>", bar)]
    assert 'action="/review/hazards-ta/VA1/2024Q3/approve"' in actions
    assert 'form="return-form"' in actions and 'name="acknowledge"' in actions
    assert 'id="return-form"' in page and 'name="field_comment-found"' in page
    # no submitter wording: nothing to fill in with Excel or to submit here
    assert "用 Excel 填报" not in page and "请在本页提交" not in page
    assert "上传填好的工作簿" not in page and 'name="workbook"' not in page
    assert "/reports/hazards-ta/VA1/2024Q3/workbook.xlsx" in page


def test_a_comment_on_a_field_reaches_the_unit_at_that_field(world, browser, other_browser,
                                                             session, client):
    browser.login_ok("ta")
    done = returned(browser, comment="请核实", found="排查数比上季度少，请附整改台账")
    assert done.status_code == 302
    report = base.report(session)
    assert report.status == Status.RETURNED
    assert [(c.field_key, c.comment) for c in session.scalars(select(FieldComment))] \
        == [("found", "排查数比上季度少，请附整改台账")]
    other_browser.login_ok("clerk")
    form = unescape(text(other_browser.get(FORM)))
    assert "排查数比上季度少，请附整改台账" in field_block(form, "found")
    assert "排查数比上季度少" not in field_block(form, "rectified")
    top = form.split('class="alert alert-warning returned-comment"', 1)[1].split("</div>", 1)[0]
    assert 'href="#field-found"' in top and "请核实" in top
    history = unescape(text(other_browser.get(FORM + "/history")))
    assert "排查数比上季度少，请附整改台账" in history
    # the API's report document and history carry them too
    token = token_for(session, world["clerk"])
    document = api_get(client, "/reports/hazards-ta/VA1/2024Q3", token).get_json()
    assert document["field_comments"] == [{"field": "found", "label": "排查隐患",
                                           "comment": "排查数比上季度少，请附整改台账"}]
    events = api_get(client, "/reports/hazards-ta/VA1/2024Q3/history", token).get_json()
    assert [e["field_comments"][0]["field"] for e in events["events"]
            if e["action"] == "returned"] == ["found"]
    # resubmitted: the comments leave the form, the history keeps them
    with unit_of_work(session):
        view = reporting.load(session, world["clerk"], "hazards-ta", "VA1", "2024Q3")
        reporting.submit(session, world["clerk"], view)
    form = unescape(text(other_browser.get(FORM)))
    assert "排查数比上季度少" not in form
    assert "排查数比上季度少" in unescape(text(other_browser.get(FORM + "/history")))


def test_field_comments_alone_are_enough_and_unknown_fields_are_refused(world, browser,
                                                                        session):
    browser.login_ok("ta")
    nothing = returned(browser, found="  ")
    assert nothing.status_code == 400 and base.report(session).status == Status.SUBMITTED
    done = browser.post(PAGE + "/return", {
        "comment": "", "revision": "1", "field_comment-found": "请核实",
        "field_comment-rectified": ""}, token_from=PAGE)
    assert done.status_code == 302  # one field comment and no general comment: returned
    assert base.report(session).status == Status.RETURNED
    view = reporting.load(session, world["ta"], "hazards-ta", "VA1", "2024Q3")
    with pytest.raises(InvalidInput):
        reporting.clean_field_comments(view.definition, {"no_such_field": "x"})


def test_a_refused_return_keeps_the_typed_field_comments(world, browser, session):
    browser.login_ok("ta")
    page = unescape(text(browser.post(PAGE + "/return", {
        "comment": "x" * 2001, "revision": "1", "field_comment-found": "排查数请核实"},
        token_from=PAGE)))
    assert "排查数请核实" in page and base.report(session).status == Status.SUBMITTED


def test_field_comments_are_scoped_like_the_report(world, browser, session, client):
    browser.login_ok("tb")
    assert returned(browser, comment="x", found="y").status_code == 404
    with pytest.raises(NotVisible):
        view = reporting.load(session, world["tb"], "hazards-ta", "VA1", "2024Q3")
        review_service.decide(session, world["tb"], view, "return", "x",
                              field_comments={"found": "y"})
    session.rollback()
    assert session.scalars(select(ReportEvent).where(ReportEvent.action == "returned")).all() \
        == []
    # over the API, a return names fields by key
    token = token_for(session, world["ta"])
    answer = api_request(client, "POST", "/reports/hazards-ta/VA1/2024Q3/return", token,
                         json={"field_comments": {"found": "请核实排查数"}})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["field_comments"][0]["comment"] == "请核实排查数"
    bad = api_request(client, "POST", "/reports/hazards-ta/VA1/2024Q3/return", token,
                      json={"field_comments": ["found"]})
    assert bad.status_code == 400


def test_the_english_page_has_the_same_desk(world, browser):
    browser.login_ok("ta")
    page = unescape(text(browser.get(PAGE, headers=EN)))
    assert "Comment on this field" in page and "Return for correction" in page
    assert re.search(r'class="review-actions', page)


def test_a_report_with_explained_figures_is_left_out_of_a_batch_approval(world, session):
    """Its 说明 need the reviewer's acknowledgement on the report's own page."""
    with unit_of_work(session):
        outcomes = review_service.batch_approve(session, world["ta"], "hazards-ta",
                                                [("VA1", "2024Q3")])
    assert [(o.unit, o.approved) for o in outcomes] == [("VA1", False)]
    assert "说明" in outcomes[0].reason or "explained" in outcomes[0].reason
    assert base.report(session).status == Status.SUBMITTED
