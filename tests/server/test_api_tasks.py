"""GET /tasks: what a submitter's unit owes, what a consolidator oversees, page by page.

The form is assigned for 2024Q2–2024Q4 only, so every period has begun and its
deadline has passed whatever the day the tests run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from api_helpers import problem, token_for
from hazards import hazards_definition

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import reporting
from server.services import templates as template_service

KEY = "hazards-ta"
HEADER = {"reporter": "张三", "phone": "13800000000"}
DUE = {"2024Q2": "2024-07-05", "2024Q3": "2024-10-05", "2024Q4": "2025-01-05"}


@pytest.fixture
def world(session, tree, make_user):
    """VA1 submitted 2024Q2 on time and has a draft of 2024Q3; VA2 has done nothing."""
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(hazards_definition(
            last="2024Q4")), origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment_service.create_assignment(session, key=KEY, template=template, root=tree["TA"])
    users = {
        "va1": make_user("va1", Role.SUBMITTER, tree["VA1"]),
        "va2": make_user("va2", Role.SUBMITTER, tree["VA2"]),
        "ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]),
        "tb-hz": make_user("tb-hz", Role.CONSOLIDATOR, tree["TB"]),
        "cy-hz": make_user("cy-hz", Role.CONSOLIDATOR, tree["CY"]),
        "admin": make_user("admin", Role.ADMIN),
    }
    clerk = users["va1"]
    with unit_of_work(session):
        q2 = reporting.load(session, clerk, KEY, "VA1", "2024Q2")
        reporting.save(session, clerk, q2, {**HEADER, "found": 3})
        on_time = assignment_service.due_date(q2.assignment, "2024Q2")
        reporting.submit(session, clerk, q2, now=_noon(on_time))
        q3 = reporting.load(session, clerk, KEY, "VA1", "2024Q3")
        reporting.save(session, clerk, q3, {**HEADER, "found": 4})
    return users


def _noon(day: date) -> datetime:
    """Noon in Shanghai on *day*."""
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)


@pytest.fixture
def tasks(client, session, world):
    """``tasks("va1", status="draft")``: the answer to GET /tasks as that account."""
    tokens: dict[str, str] = {}

    def get(username: str, **query):
        if username not in tokens:
            tokens[username] = token_for(session, world[username])
        return client.get("/api/v1/tasks", query_string=query,
                          headers={"Authorization": f"Bearer {tokens[username]}",
                                   "Accept-Language": "en"})

    return get


def rows(response) -> list[tuple]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [(t["unit"]["code"], t["period"], t["status"]) for t in response.get_json()["items"]]


def test_a_submitter_gets_what_the_unit_owes_most_urgent_first(tasks):
    response = tasks("va1")
    body = response.get_json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 50)
    assert rows(response) == [("VA1", "2024Q3", "draft"), ("VA1", "2024Q4", "not_started"),
                              ("VA1", "2024Q2", "submitted")]
    draft, not_started, submitted = body["items"]
    assert draft == {
        "assignment": KEY, "unit": {"code": "VA1", "name": "Unit VA1"}, "period": "2024Q3",
        "due": DUE["2024Q3"], "due_moved_from": None, "due_note": "",
        "status": "draft", "late": True, "overdue": True,
        "revision": 1, "links": {"report": f"/api/v1/reports/{KEY}/VA1/2024Q3"}, "phase": None,
    }
    assert (not_started["revision"], not_started["overdue"]) == (0, True)
    # Submitted on time: neither late nor overdue.
    assert (submitted["late"], submitted["overdue"], submitted["revision"]) == (False, False, 1)


def test_the_link_of_a_task_opens_its_report(tasks, client, session, world):
    link = tasks("va1").get_json()["items"][0]["links"]["report"]
    token = token_for(session, world["va1"])
    report = client.get(link, headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (report["period"], report["status"], report["revision"]) == ("2024Q3", "draft", 1)


def test_a_submitters_tasks_filter_by_status_period_and_assignment(tasks):
    assert rows(tasks("va1", status="draft")) == [("VA1", "2024Q3", "draft")]
    assert rows(tasks("va1", period="2024Q2")) == [("VA1", "2024Q2", "submitted")]
    assert rows(tasks("va1", period=" 2024q2")) == [("VA1", "2024Q2", "submitted")]
    assert rows(tasks("va1", status="approved")) == []
    assert rows(tasks("va1", assignment="other")) == []
    assert len(rows(tasks("va1", assignment=KEY))) == 3
    assert len(rows(tasks("va2"))) == 3


def test_a_consolidator_oversees_the_units_below_newest_period_first(tasks):
    response = tasks("ta-hz")
    assert response.get_json()["total"] == 6
    assert rows(response) == [
        ("VA1", "2024Q4", "not_started"), ("VA2", "2024Q4", "not_started"),
        ("VA1", "2024Q3", "draft"), ("VA2", "2024Q3", "not_started"),
        ("VA1", "2024Q2", "submitted"), ("VA2", "2024Q2", "not_started"),
    ]
    # The county above sees the same units; the administrator too.
    assert rows(tasks("cy-hz")) == rows(response)
    assert rows(tasks("admin")) == rows(response)
    # The other town oversees none of them.
    assert tasks("tb-hz").get_json() == {"items": [], "page": 1, "per_page": 50, "total": 0}


def test_a_consolidators_tasks_filter_in_the_query(tasks):
    not_started = tasks("ta-hz", status="not_started")
    assert not_started.get_json()["total"] == 4
    assert rows(not_started) == [("VA1", "2024Q4", "not_started"),
                                 ("VA2", "2024Q4", "not_started"),
                                 ("VA2", "2024Q3", "not_started"),
                                 ("VA2", "2024Q2", "not_started")]
    assert rows(tasks("ta-hz", status="submitted")) == [("VA1", "2024Q2", "submitted")]
    assert rows(tasks("ta-hz", period="2024Q3")) == [("VA1", "2024Q3", "draft"),
                                                      ("VA2", "2024Q3", "not_started")]
    assert rows(tasks("ta-hz", period="2024Q3", status="draft")) == [
        ("VA1", "2024Q3", "draft")]
    assert rows(tasks("ta-hz", assignment="other")) == []


def test_pages_of_a_consolidators_tasks_follow_each_other(tasks):
    everything = rows(tasks("ta-hz"))
    pages = [tasks("ta-hz", page=n, per_page=4) for n in (1, 2, 3)]
    assert [len(rows(p)) for p in pages] == [4, 2, 0]
    assert rows(pages[0]) + rows(pages[1]) == everything
    assert all(p.get_json()["total"] == 6 for p in pages)
    assert 'rel="next"' in pages[0].headers["Link"]
    assert 'rel="prev"' in pages[1].headers["Link"] and 'rel="next"' not in pages[1].headers[
        "Link"]
    filtered = [rows(tasks("ta-hz", status="not_started", page=n, per_page=3)) for n in (1, 2)]
    assert filtered[0] + filtered[1] == rows(tasks("ta-hz", status="not_started"))
    # A submitter's list is paged the same way.
    assert rows(tasks("va1", page=2, per_page=2)) == [("VA1", "2024Q2", "submitted")]


def test_bad_filters_and_pages_are_bad_requests(tasks):
    body = problem(tasks("ta-hz", status="lost"), 400, "bad_request")
    assert "not_started" in body["detail"]
    problem(tasks("va1", period="Q3-2024"), 400, "bad_request")
    problem(tasks("va1", page=0), 400, "bad_request")
    problem(tasks("ta-hz", per_page=501), 400, "bad_request")


def test_tasks_need_a_token(client, world):
    problem(client.get("/api/v1/tasks"), 401, "unauthorized")
