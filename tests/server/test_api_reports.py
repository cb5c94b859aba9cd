"""The report endpoints of the JSON API: read, save with If-Match, the workflow, the history.

Scripts send typed JSON values, read back the same values and issues, and get
the same refusals as the web pages, as problem details: 404 outside the scope,
403 for the wrong role, 409 for a stale revision or a locked report, 422 with
issues for bad values.
"""

from __future__ import annotations

import io

from api_helpers import problem
from api_reports_world import HEADER, KEY, PERIOD, api_fixture, path, world_fixture  # noqa: F401
from sqlalchemy import func, select

from server.models import Report, ReportEvent, Revision
from server.services import files, reporting

COMPLETE = {**HEADER, "found": 5, "rectified": 2}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def save(client, values=None, revision: int = 0, unit: str = "VA1", headers=None, **body):
    return client.put(path(unit), revision=revision, headers=headers,
                      json={"values": values or COMPLETE, **body})


def saved_and_submitted(client, values=None) -> dict:
    saved = ok(save(client, values))
    return ok(client.post(path() + "/submit", revision=saved["revision"]))


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def by_field(issues: list[dict]) -> set[tuple]:
    return {(i["field"], i["code"], i["severity"]) for i in issues}


# -- GET ----------------------------------------------------------------------------------


def test_a_report_not_started_answers_its_form_and_revision_0(api):
    response = api("va1").get(path())
    body = ok(response)
    assert response.headers["ETag"] == '"0"'
    assert body == {
        "assignment": KEY, "unit": {"code": "VA1", "name": "Unit VA1"}, "period": PERIOD,
        "template": "hazards", "version": 1, "status": "not_started", "revision": 0,
        "due": "2024-10-05", "due_moved_from": None, "due_note": "",
        "late": True, "submitted_at": None, "values": {},
        "increments": {"found": None}, "calculated": [], "issues": [], "remarks": "",
        "applies": {}, "skipped": [], "explanations": {}, "flagged": [],
        "targets": [], "phase": None, "phases": [],
    }


def test_reports_outside_the_scope_do_not_exist(api):
    problem(api("va1").get(path("VA2")), 404, "not_found")  # a sibling village
    problem(api("tb-hz").get(path("VA1")), 404, "not_found")  # another town's village
    problem(api("ta-hz").get(path("VB1")), 404, "not_found")
    problem(api("va1").get(path(period="2031Q1")), 404, "not_found")
    problem(api("va1").get(path(assignment="nothing")), 404, "not_found")
    # The consolidator above and the administrator see it.
    assert ok(api("ta-hz").get(path()))["unit"]["code"] == "VA1"
    assert ok(api("admin").get(path()))["status"] == "not_started"


# -- PUT ----------------------------------------------------------------------------------


def test_put_reads_typed_values_like_the_web_form_and_saves_an_api_revision(api, session):
    values = {**HEADER, "found": "1,234", "rectified": 12, "checked_on": "2024-09-30",
              "rate": "85.5", "teams": [{"name": "一组", "members": "３"},
                                        {"name": "", "members": None}]}
    response = save(api("va1"), values, remarks="按季度报送")
    body = ok(response)
    assert response.headers["ETag"] == '"1"'
    assert body["status"] == "draft" and body["revision"] == 1
    assert body["remarks"] == "按季度报送"
    assert body["values"] == {**HEADER, "found": 1234, "rectified": 12,
                              "checked_on": "2024-09-30", "rate": 85.5,
                              "teams": [{"name": "一组", "members": 3}], "plan_file": None}
    revision = session.scalar(select(Revision))
    assert (revision.number, revision.source, revision.author.username) == (1, "api", "va1")
    # GET answers the same.
    assert ok(api("va1").get(path()))["values"] == body["values"]


def test_put_reports_what_it_guessed_and_what_a_submission_would_refuse(api):
    body = ok(save(api("va1"), {"found": "3家", "rectified": 4}))
    assert body["values"]["found"] == 3
    assert {("found", "unit_stripped", "warning"), ("rectified", "rule_failed", "error"),
            ("reporter", "required", "error")} <= by_field(body["issues"])
    stripped = next(i for i in body["issues"] if i["code"] == "unit_stripped")
    assert stripped["message"] == "Hazards found: “3家” was read as 3; enter the number only."
    assert stripped["params"]["unit"] == "家"


def test_table_cell_issues_name_their_row_and_column(api, session):
    response = save(api("va1"), {**COMPLETE, "teams": [{"name": "一组", "members": 2},
                                                       {"name": "二组", "members": "many"}]})
    body = problem(response, 422, "invalid")
    issue, = body["issues"]
    assert (issue["field"], issue["row"], issue["column"], issue["code"]) == (
        "teams", 1, "members", "not_a_number")
    assert count(session, Report) == 0


def test_put_refuses_values_of_the_wrong_type_and_saves_nothing(api, session):
    client = api("va1")
    for bad, code in ((["5"], "not_a_number"), ("many", "not_a_number"),
                      (True, "not_a_number"), (2.5, "not_an_integer"), (-1, "below_min")):
        body = problem(save(client, {**COMPLETE, "found": bad}), 422, "invalid")
        assert ("found", code, "error") in by_field(body["issues"]), bad
    body = problem(save(client, {**COMPLETE, "checked_on": "30/09/2024"}), 422, "invalid")
    assert by_field(body["issues"]) == {("checked_on", "bad_date", "error")}
    body = problem(save(client, {**COMPLETE, "teams": "一组"}), 422, "invalid")
    assert by_field(body["issues"]) == {("teams", "bad_table", "error")}
    assert count(session, Report) == 0


def test_put_refuses_unknown_fields(api, session):
    body = problem(save(api("va1"), {**COMPLETE, "foumd": 5}), 422, "invalid")
    issue, = body["issues"]
    assert (issue["field"], issue["code"]) == ("foumd", "unknown_field")
    assert issue["message"] == "foumd is not a field of this report."
    assert count(session, Report) == 0


def test_put_answers_malformed_bodies_with_400(api, session):
    client = api("va1")
    headers = {"If-Match": '"0"', "Content-Type": "application/json"}
    problem(client.put(path(), data="{values: 1", headers=headers), 400, "bad_request")
    problem(client.put(path(), json=[COMPLETE], revision=0), 400, "bad_request")
    problem(client.put(path(), json={"found": 5}, revision=0), 400, "bad_request")
    problem(client.put(path(), json={"values": [5]}, revision=0), 400, "bad_request")
    problem(client.put(path(), json={"values": COMPLETE, "remarks": 7}, revision=0), 400,
            "bad_request")
    problem(client.put(path(), json={"values": COMPLETE}, headers={"If-Match": "latest"}),
            400, "bad_request")
    assert count(session, Report) == 0


def test_put_without_if_match_is_refused_with_428(api, session):
    response = api("va1").put(path(), json={"values": COMPLETE})
    problem(response, 428, "precondition_required")
    assert count(session, Report) == 0


def test_put_from_a_stale_revision_is_refused_with_the_current_one(api, session):
    client = api("va1")
    ok(save(client, COMPLETE, revision=0))
    colleague = ok(save(client, {**COMPLETE, "found": 6}, revision=1))
    assert colleague["revision"] == 2

    body = problem(save(client, {**COMPLETE, "found": 7}, revision=1), 409, "stale_revision")
    assert body["current_revision"] == 2
    assert "now revision 2" in body["detail"]
    assert ok(client.get(path()))["values"]["found"] == 6
    # Weak or unquoted ETags name the revision too.
    assert ok(client.put(path(), json={"values": COMPLETE},
                         headers={"If-Match": 'W/"2"'}))["revision"] == 3
    assert ok(client.put(path(), json={"values": COMPLETE},
                         headers={"If-Match": "3"}))["revision"] == 4


def test_put_outside_the_scope_is_404_and_creates_nothing(api, session):
    problem(save(api("va1"), unit="VA2"), 404, "not_found")
    problem(save(api("tb-hz"), unit="VA1"), 404, "not_found")
    assert count(session, Report) == 0


def test_consolidators_do_not_fill_in_a_villages_report(api, session):
    body = problem(save(api("ta-hz")), 403, "forbidden")
    assert body["detail"] == "Only the unit's own accounts can fill in this report."
    assert count(session, Report) == 0


def test_a_submitted_report_cannot_be_saved_and_an_approved_one_is_locked(api, session):
    clerk = api("va1")
    saved_and_submitted(clerk)
    problem(save(clerk, revision=1), 409, "invalid_state")
    ok(api("ta-hz").post(path() + "/approve"))
    body = problem(save(clerk, {**COMPLETE, "found": 9}, revision=1), 409, "locked")
    assert "approved and locked" in body["detail"]
    assert ok(clerk.get(path()))["values"]["found"] == 5
    assert count(session, Revision) == 1


def test_attachments_are_kept_removed_or_refused_but_never_replaced(api, session, world):
    stored = files.store(session, io.BytesIO(b"%PDF plan"), "方案.pdf", "application/pdf",
                         unit=world["va1"].unit, user=world["va1"], limit=None)
    view = reporting.load(session, world["va1"], KEY, "VA1", PERIOD)
    reporting.save(session, world["va1"], view, {**COMPLETE,
                                                 "plan_file": files.attachment_value(stored)})
    client = api("va1")
    kept = ok(save(client, {**COMPLETE, "found": 6}, revision=1))
    assert kept["values"]["plan_file"]["name"] == "方案.pdf"
    echoed = ok(save(client, kept["values"], revision=2))
    assert echoed["values"]["plan_file"] == kept["values"]["plan_file"]

    forged = {"id": "f" * 32, "name": "other.pdf"}
    body = problem(save(client, {**COMPLETE, "plan_file": forged}, revision=3), 422, "invalid")
    assert by_field(body["issues"]) == {("plan_file", "attachment_not_in_api", "error")}

    removed = ok(save(client, {**COMPLETE, "plan_file": None}, revision=3))
    assert removed["values"]["plan_file"] is None


# -- submit -------------------------------------------------------------------------------


def test_submit_sends_the_latest_revision(api, session):
    client = api("va1")
    ok(save(client, COMPLETE))
    body = ok(client.post(path() + "/submit"))
    assert body["status"] == "submitted" and body["revision"] == 1
    assert body["submitted_at"] and body["late"] is True  # 2024Q3 was due on 2024-10-05
    assert session.scalar(select(Report)).status == "submitted"


def test_submit_with_remarks_records_them_in_a_revision_first(api, session):
    client = api("va1")
    ok(save(client, {**COMPLETE, "found": 5}))
    body = ok(client.post(path() + "/submit", json={"remarks": "按时报送"}, revision=1))
    assert (body["status"], body["revision"], body["remarks"]) == ("submitted", 2, "按时报送")
    session.expire_all()
    latest = session.scalar(select(Revision).where(Revision.number == 2))
    assert latest.source == "api" and latest.values["found"] == 5


def test_submit_with_errors_is_refused_with_the_issues(api, session):
    client = api("va1")
    ok(save(client, {"found": 2, "rectified": 3}))
    body = problem(client.post(path() + "/submit"), 422, "invalid")
    assert {("reporter", "required", "error"), ("phone", "required", "error"),
            ("rectified", "rule_failed", "error")} <= by_field(body["issues"])
    rule = next(i for i in body["issues"] if i["code"] == "rule_failed")
    assert rule["message"] == "More rectified than found"
    assert session.scalar(select(Report)).status == "draft"


def test_submit_refusals(api, session):
    client = api("va1")
    problem(client.post(path() + "/submit"), 409, "invalid_state")  # nothing saved yet
    ok(save(client, COMPLETE))
    problem(client.post(path() + "/submit", data="{remarks", content_type="application/json"),
            400, "bad_request")
    body = problem(client.post(path() + "/submit", revision=0), 409, "stale_revision")
    assert body["current_revision"] == 1
    problem(api("ta-hz").post(path() + "/submit"), 403, "forbidden")
    problem(api("va2").post(path() + "/submit"), 404, "not_found")
    problem(api("tb-hz").post(path() + "/submit"), 404, "not_found")
    assert session.scalar(select(Report)).status == "draft"
    ok(client.post(path() + "/submit"))
    problem(client.post(path() + "/submit"), 409, "invalid_state")  # twice


# -- review -------------------------------------------------------------------------------


def test_return_needs_a_comment_and_a_consolidator_above(api, session):
    saved_and_submitted(api("va1"))
    reviewer = api("ta-hz")
    body = problem(reviewer.post(path() + "/return", json={}), 422, "invalid")
    assert [(i["field"], i["code"]) for i in body["issues"]] == [("comment", "required")]
    problem(reviewer.post(path() + "/return", json={"comment": ["fix"]}), 400, "bad_request")
    problem(reviewer.post(path() + "/return", json={"comment": "x"}, revision=3), 409,
            "stale_revision")
    problem(api("va1").post(path() + "/return", json={"comment": "x"}), 403, "forbidden")
    problem(api("tb-hz").post(path() + "/return", json={"comment": "x"}), 404, "not_found")
    assert session.scalar(select(Report)).status == "submitted"

    body = ok(reviewer.post(path() + "/return", json={"comment": "第2项请核实"}))
    assert body["status"] == "returned"
    problem(reviewer.post(path() + "/return", json={"comment": "again"}), 409, "invalid_state")
    event = session.scalar(select(ReportEvent).where(ReportEvent.action == "returned"))
    assert (event.comment, event.actor.username) == ("第2项请核实", "ta-hz")


def test_approve_locks_and_refuses_a_second_time(api, session):
    saved_and_submitted(api("va1"))
    problem(api("va1").post(path() + "/approve"), 403, "forbidden")  # submitter approving
    problem(api("tb-hz").post(path() + "/approve"), 404, "not_found")
    problem(api("ta-hz").post(path() + "/approve", data="[", content_type="application/json"),
            400, "bad_request")
    problem(api("ta-hz").post(path() + "/approve", revision=0), 409, "stale_revision")
    body = ok(api("ta-hz").post(path() + "/approve", revision=1))
    assert body["status"] == "approved"
    again = problem(api("admin").post(path() + "/approve"), 409, "invalid_state")
    assert again["detail"] == "This action is not possible while the report is approved."


def test_approve_needs_a_submitted_report(api):
    problem(api("ta-hz").post(path() + "/approve"), 409, "invalid_state")
    ok(save(api("va1")))
    problem(api("ta-hz").post(path() + "/approve"), 409, "invalid_state")


def test_unapprove_needs_a_reason(api, session):
    saved_and_submitted(api("va1"))
    reviewer = api("ta-hz")
    problem(reviewer.post(path() + "/unapprove", json={"reason": "x"}), 409, "invalid_state")
    ok(reviewer.post(path() + "/approve"))
    body = problem(reviewer.post(path() + "/unapprove", json={"reason": "  "}), 422, "invalid")
    assert body["issues"][0]["field"] == "reason"
    problem(api("va1").post(path() + "/unapprove", json={"reason": "x"}), 403, "forbidden")
    problem(api("tb-hz").post(path() + "/unapprove", json={"reason": "x"}), 404, "not_found")
    problem(reviewer.post(path() + "/unapprove", data="reason=x",
                          content_type="application/x-www-form-urlencoded"), 400, "bad_request")
    problem(reviewer.post(path() + "/unapprove", json={"reason": "x"}, revision=0), 409,
            "stale_revision")
    assert session.scalar(select(Report)).status == "approved"
    assert ok(reviewer.post(path() + "/unapprove", json={"reason": "数据需更正"}))[
        "status"] == "submitted"


# -- the whole cycle and its history ------------------------------------------------------


def test_the_whole_cycle_over_the_api_is_in_the_history(api):
    clerk, reviewer = api("va1"), api("ta-hz")
    first = ok(save(clerk, {**COMPLETE, "found": 4}))
    ok(clerk.post(path() + "/submit", revision=first["revision"]))
    ok(reviewer.post(path() + "/return", json={"comment": "排查数偏低"}, revision=1))
    second = ok(save(clerk, {**COMPLETE, "found": 8}, revision=1))
    ok(clerk.post(path() + "/submit", revision=second["revision"]))
    ok(reviewer.post(path() + "/approve", revision=2))
    final = ok(reviewer.post(path() + "/unapprove", json={"reason": "需补充附件"}))
    assert (final["status"], final["revision"]) == ("submitted", 2)

    history = ok(clerk.get(path() + "/history"))
    assert [(r["number"], r["author"], r["source"], r["values"]["found"])
            for r in history["revisions"]] == [(1, "va1", "api", 4), (2, "va1", "api", 8)]
    assert all(r["created_at"] for r in history["revisions"])
    assert [(e["action"], e["actor"], e["revision"], e["comment"])
            for e in history["events"]] == [
        ("saved", "va1", 1, ""), ("submitted", "va1", 1, ""),
        ("returned", "ta-hz", 1, "排查数偏低"),
        ("saved", "va1", 2, ""), ("submitted", "va1", 2, ""),
        ("approved", "ta-hz", 2, ""), ("unapproved", "ta-hz", 2, "需补充附件"),
    ]


def test_history_of_a_report_not_started_is_empty_and_scoped(api):
    assert ok(api("va1").get(path() + "/history")) == {"revisions": [], "events": []}
    problem(api("va2").get(path() + "/history"), 404, "not_found")
    problem(api("tb-hz").get(path() + "/history"), 404, "not_found")


# -- language -----------------------------------------------------------------------------


def test_messages_follow_accept_language_chinese_by_default(api):
    client = api("va1")
    english = problem(save(client, {"found": "many"}), 422, "invalid")
    chinese = problem(save(client, {"found": "many"}, headers={"Accept-Language": "zh-CN"}),
                      422, "invalid")
    assert english["issues"][0]["message"] == "Hazards found must be a number, not “many”."
    assert chinese["issues"][0]["message"] == "排查隐患应为数字，而不是“many”。"
    assert chinese["detail"] != english["detail"]


def test_every_report_endpoint_needs_a_token(client, world):
    for method, suffix in (("GET", ""), ("PUT", ""), ("POST", "/submit"), ("POST", "/return"),
                           ("POST", "/approve"), ("POST", "/unapprove"), ("GET", "/history"),
                           ("GET", "/workbook.xlsx"), ("POST", "/workbook")):
        response = client.open(path() + suffix, method=method, json={})
        body = problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), body


# -- corrections and outliers: a 说明 beside the figure -----------------------------------


def test_a_lower_figure_needs_its_explanation_and_the_reviewers_acknowledgement(api, session):
    clerk, reviewer = api("va1"), api("ta-hz")
    q2 = path(period="2024Q2")
    ok(clerk.put(q2, revision=0, json={"values": {**COMPLETE, "found": 9}}))
    ok(clerk.post(q2 + "/submit"))
    ok(reviewer.post(q2 + "/approve"))  # nothing flagged: no acknowledgement needed

    body = ok(save(clerk, {**COMPLETE, "found": 7}))
    assert body["flagged"] == ["found"] and body["explanations"] == {}
    assert ("found", "cumulative_decreased", "warning") in by_field(body["issues"])
    refused = problem(clerk.post(path() + "/submit", json={"remarks": "见说明"}), 422,
                      "invalid")
    assert refused["detail"] == ("Explain each marked figure in the note beside it before "
                                 "submitting.")
    assert [i["field"] for i in refused["issues"]] == ["found"]
    problem(clerk.put(path(), revision=1, json={"values": COMPLETE, "explanations": ["x"]}),
            400, "bad_request")

    body = ok(clerk.put(path(), revision=1, json={
        "values": {**COMPLETE, "found": 7}, "explanations": {"found": " 二季度重复统计 2 处 "}}))
    assert body["explanations"] == {"found": "二季度重复统计 2 处"}
    ok(clerk.post(path() + "/submit"))

    refused = problem(reviewer.post(path() + "/approve"), 422, "invalid")
    assert refused["detail"].startswith("Acknowledge the explained figures before approving")
    problem(reviewer.post(path() + "/approve", json={"acknowledged": "yes"}), 400, "bad_request")
    body = ok(reviewer.post(path() + "/approve", json={"acknowledged": True}))
    assert body["status"] == "approved" and body["explanations"]["found"] == "二季度重复统计 2 处"
    history = ok(clerk.get(path() + "/history"))
    assert history["revisions"][-1]["explanations"] == {"found": "二季度重复统计 2 处"}
    assert history["events"][-1]["action"] == "approved"
    assert history["events"][-1]["comment"] == "Explained figures acknowledged: 排查隐患"


def test_a_tenfold_jump_is_flagged_like_a_correction(api, session):
    clerk, reviewer = api("va1"), api("ta-hz")
    q2 = path(period="2024Q2")
    ok(clerk.put(q2, revision=0, json={"values": {**COMPLETE, "found": 3}}))
    ok(clerk.post(q2 + "/submit"))
    body = ok(save(clerk, {**COMPLETE, "found": 31}))
    assert body["flagged"] == ["found"]
    jump = next(i for i in body["issues"] if i["field"] == "found")
    assert jump["code"] == "outlier_jump" and "10 times" in jump["message"]
    problem(clerk.post(path() + "/submit"), 422, "invalid")
    ok(clerk.put(path(), revision=1, json={"values": {**COMPLETE, "found": 31},
                                           "explanations": {"found": "开展专项排查"}}))
    ok(clerk.post(path() + "/submit"))
    problem(reviewer.post(path() + "/approve"), 422, "invalid")
    assert ok(reviewer.post(path() + "/approve", json={"acknowledged": True}))["status"] == \
        "approved"
