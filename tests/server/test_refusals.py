"""One way to refuse: the services' refusals as each channel answers them, and the
request boundary that commits a request's work once, or nothing of it.

* the API answers every refusal class with its status and code (problem details);
* the pages show a refused action's reason above the page shown again, with what
  the person typed, and change nothing;
* a request that fails after a service added rows leaves nothing behind, and a GET
  never writes;
* a server error says nothing was saved only when nothing was committed; a PUT
  repeated after a lost answer gets the revision it already made.
"""

from __future__ import annotations

import re

import pytest
from api_reports_world import HEADER, KEY, PERIOD, api_fixture, path, world_fixture  # noqa: F401
from flask import has_request_context
from pages import EN
from pages import text as text_of
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from forms.issues import error
from server.api import reports as api_reports
from server.api import serializers
from server.db import Base, commit_attempted, unit_of_work
from server.models import LoginAttempt, Report, Revision, Status
from server.reporting import form_views
from server.services import reporting
from server.services.errors import (
    InvalidInput,
    InvalidReport,
    InvalidState,
    NotAllowed,
    NotVisible,
    ReportLocked,
    StaleRevision,
)

FORM = f"/reports/{KEY}/VA1/{PERIOD}"
REVIEW = f"/review/{KEY}/VA1/{PERIOD}"
COMPLETE = {**HEADER, "found": 5, "rectified": 2}


def flashed(response) -> str:
    """The messages shown above the page."""
    found = re.search(r'<div class="flashes">(.*?)</div>\s*</div>', text_of(response), re.S)
    return found.group(1) if found else ""


def count(session: Session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def saved(session: Session, world, values=None, *, submit=False, approve=False) -> None:
    """VA1's report saved (and submitted, approved) through the services, committed."""
    clerk, town = world["va1"], world["ta-hz"]
    with unit_of_work(session):
        view = reporting.load(session, clerk, KEY, "VA1", PERIOD)
        reporting.save(session, clerk, view, values or COMPLETE)
        if submit or approve:
            reporting.submit(session, clerk, view)
        if approve:
            reporting.approve(session, town, reporting.load(session, town, KEY, "VA1", PERIOD))


# -- the API: one handler for every refusal ------------------------------------------------


@pytest.mark.parametrize(("refusal", "status", "code", "extras"), [
    (NotAllowed(), 403, "forbidden", {}),
    (NotVisible(what="x"), 404, "not_found", {}),
    (ReportLocked(), 409, "locked", {}),
    (InvalidState(state="submitted"), 409, "invalid_state", {"status_now": "submitted"}),
    (StaleRevision(current=3), 409, "stale_revision", {"current_revision": 3}),
    (InvalidInput("Say why.", field="reason", issue="required"), 422, "invalid",
     {"issues": [{"field": "reason", "code": "required", "severity": "error",
                  "message": "Say why.", "params": {}}]}),
])
def test_each_refusal_class_has_its_status_and_code_in_the_api(api, monkeypatch, refusal,
                                                               status, code, extras):
    def refuse(*_args, **_kwargs):
        raise refusal

    monkeypatch.setattr(api_reports.reporting, "load", refuse)
    response = api("va1").get(path())
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert (body["status"], body["code"]) == (status, code)
    if code == "not_found":  # answered like an unknown address: nothing about what was asked
        assert body["detail"] == (
            "The resource does not exist, or it is outside your account's scope.")
    else:
        assert body["detail"] == str(refusal)
    for name, value in extras.items():
        assert body[name] == value


def test_invalid_report_lists_its_issues(api, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise InvalidReport("Not saved.", [error("found", "required", label="Found")])

    monkeypatch.setattr(api_reports.reporting, "load", refuse)
    body = api("va1").get(path()).get_json()
    assert (body["status"], body["code"], body["detail"]) == (422, "invalid", "Not saved.")
    assert [(i["field"], i["code"], i["message"]) for i in body["issues"]] == [
        ("found", "required", "Found is required.")]


def test_the_api_and_the_pages_word_a_locked_report_the_same(api, world, browser, session):
    saved(session, world, approve=True)
    detail = api("va1").put(path(), json={"values": COMPLETE},
                            headers={"If-Match": '"1"'}).get_json()["detail"]
    browser.login_ok(world["va1"])
    page = browser.post(FORM, {"revision": "1", "f_found": "9", "action": "save"}, headers=EN)
    assert detail == str(ReportLocked().message) and detail in flashed(page)


# -- the pages: the message above the page shown again, nothing changed ----------------------


def test_saving_a_locked_report_shows_why_and_changes_nothing(world, browser, session):
    saved(session, world, approve=True)
    browser.login_ok(world["va1"])
    response = browser.post(FORM, {"revision": "1", "f_found": "9", "action": "save"},
                            headers=EN)
    assert response.status_code == 403
    assert "This report is approved and locked." in flashed(response)
    assert "readonly-banner" in text_of(response)  # the report's page, read-only
    assert count(session, Revision) == 1


def test_a_stale_save_keeps_what_was_typed_beside_the_reason(world, browser, session):
    saved(session, world)
    saved(session, world, {**COMPLETE, "found": 6})  # someone else: now revision 2
    browser.login_ok(world["va1"])
    response = browser.post(FORM, {"revision": "1", "f_found": "8", "f_rectified": "1",
                                   "action": "save"}, headers=EN)
    assert response.status_code == 409
    assert "was changed by va1 while you were editing" in flashed(response)
    page = text_of(response)
    assert re.search(r'name="f_found"[^>]*value="8"', page)  # still on screen
    assert "stale-help" in page
    assert count(session, Revision) == 2


def test_a_consolidator_filling_in_a_villages_report_is_refused(world, browser, session):
    browser.login_ok(world["ta-hz"])
    response = browser.post(FORM, {"revision": "0", "f_found": "1", "action": "save"},
                            token_from="/reports/", headers=EN)
    assert response.status_code == 403
    assert "Only the unit's own accounts can fill in this report." in flashed(response)
    assert count(session, Report) == 0


def test_a_stale_review_decision_is_flashed_on_the_review_page(world, browser, session):
    saved(session, world, submit=True)
    browser.login_ok(world["ta-hz"])
    response = browser.post(REVIEW + "/approve", {"revision": "0"}, token_from=REVIEW,
                            headers=EN)
    assert response.status_code == 400
    assert "This report changed since you opened it (now revision 1)" in flashed(response)
    assert "Audit trail" in text_of(response)  # the review page again
    session.expire_all()
    assert session.scalar(select(Report.status)) == Status.SUBMITTED


def test_a_missing_comment_is_shown_at_the_comment(world, browser, session):
    saved(session, world, submit=True)
    browser.login_ok(world["ta-hz"])
    response = browser.post(REVIEW + "/return", {"revision": "1", "comment": " "},
                            token_from=REVIEW, headers=EN)
    assert response.status_code == 400
    assert "a comment is required" not in flashed(response)
    assert re.search(r'class="field-errors"[^>]*>\s*<li>Say what needs to be corrected',
                     text_of(response))


# -- the request boundary ------------------------------------------------------------------


def test_a_request_failing_after_the_service_added_rows_leaves_nothing(world, api, app,
                                                                        browser, session,
                                                                        monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken(*_args, **_kwargs):
        raise RuntimeError("after the save")

    monkeypatch.setattr(form_views, "flash", broken)  # the web form, once saved
    browser.login_ok(world["va1"])
    page = browser.post(FORM, {"revision": "0", "f_found": "3", "action": "save"}, headers=EN)
    assert page.status_code == 500
    assert "Nothing was saved by it." in text_of(page)
    monkeypatch.setattr(serializers, "report", broken)  # the API, once saved
    body = api("va1").put(path(), json={"values": COMPLETE}, headers={"If-Match": '"0"'})
    assert body.status_code == 500 and "Nothing was saved by it." in body.get_json()["detail"]
    assert count(session, Report) == count(session, Revision) == 0


def test_a_refusal_after_a_service_added_rows_undoes_them(world, api, session):
    saved(session, world, {"found": 2, "rectified": 3})  # errors: cannot be submitted
    response = api("va1").post(path() + "/submit", json={"remarks": "请审核"})
    assert response.status_code == 422  # the remarks were saved first, then refused
    session.expire_all()
    report = session.scalar(select(Report))
    assert (report.revision, report.remarks, report.status) == (1, "", Status.DRAFT)
    assert count(session, Revision) == 1


def dump(session: Session) -> dict[str, list]:
    """Every row of every table (when a token was last used is authentication's own)."""
    session.expire_all()
    rows = {}
    for table in Base.metadata.sorted_tables:
        found = [tuple(r) for r in session.execute(text(f'SELECT * FROM "{table.name}"'))]
        if table.name == "api_tokens":
            last_used = list(table.columns.keys()).index("last_used_at")
            found = [r[:last_used] + r[last_used + 1:] for r in found]
        rows[table.name] = sorted(found, key=repr)
    return rows


def test_a_get_leaves_the_database_unchanged(world, api, browser, session, monkeypatch):
    saved(session, world, submit=True)
    client = api("ta-hz")
    browser.login_ok(world["ta-hz"])
    before = dump(session)
    # Even a view that wrote something by mistake: a GET's work is never committed.
    real_issues = form_views.reporting.issues_for

    def writing(*args, **kwargs):
        form_views.db_session().add(LoginAttempt(username="x", ip="1.2.3.4"))
        return real_issues(*args, **kwargs)

    monkeypatch.setattr(form_views.reporting, "issues_for", writing)
    for page in (FORM, REVIEW, FORM + "/history", "/reports/", "/review/"):
        assert browser.get(page).status_code == 200, page
    for url in (path(), path() + "/history", "/api/v1/tasks"):
        assert client.get(url).status_code == 200, url
    assert dump(session) == before


# -- honest answers after faults ---------------------------------------------------------------


class LostAnswers:
    """While on, a request's commit goes through, then the connection dies before it answers."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.real = Session.commit

    def on(self) -> None:
        real = self.real

        def commit_then_fail(session):
            real(session)
            if has_request_context() and commit_attempted():
                raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

        self.monkeypatch.setattr(Session, "commit", commit_then_fail)

    def off(self) -> None:
        self.monkeypatch.setattr(Session, "commit", self.real)


@pytest.fixture
def lost_answers(app, monkeypatch) -> LostAnswers:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return LostAnswers(monkeypatch)


def test_a_failure_while_committing_does_not_claim_nothing_was_saved(api, session,
                                                                    lost_answers):
    client = api("va1")
    lost_answers.on()
    failed = client.put(path(), json={"values": COMPLETE, "remarks": "按时"},
                        headers={"If-Match": '"0"'})
    assert failed.status_code == 500
    body = failed.get_json()
    assert body["code"] == "server_error" and "Nothing was saved" not in body["detail"]
    assert "cannot tell whether the change was saved" in body["detail"]
    lost_answers.off()  # the connection is back

    assert client.get(path()).get_json()["revision"] == 1  # it was saved after all
    # Repeating the PUT is safe: the same values from revision 0 answer the revision made.
    again = client.put(path(), json={"values": COMPLETE, "remarks": "按时"},
                       headers={"If-Match": '"0"'})
    assert again.status_code == 200 and again.headers["ETag"] == '"1"'
    assert again.get_json()["revision"] == 1
    assert count(session, Revision) == 1
    # Other values from an old revision are still a conflict.
    other = client.put(path(), json={"values": {**COMPLETE, "found": 6}},
                       headers={"If-Match": '"0"'})
    assert other.status_code == 409 and other.get_json()["code"] == "stale_revision"


def test_the_error_page_after_a_failed_commit_says_the_outcome_is_unknown(world, browser,
                                                                         session,
                                                                         lost_answers):
    browser.login_ok(world["va1"])
    token = browser.csrf_token(FORM)
    lost_answers.on()
    response = browser.client.post(FORM, data={"revision": "0", "f_found": "3",
                                               "action": "save", "csrf_token": token},
                                   headers=EN)
    assert response.status_code == 500
    page = text_of(response)
    assert "cannot tell whether your change was saved" in page
    assert "Nothing was saved" not in page
    assert count(session, Revision) == 1
