"""Event reports over the API: file, list, read, update, attach and read attachments."""

from __future__ import annotations

import io

import pytest
from api_helpers import api_get, api_request, problem, token_for
from event_helpers import assign_accidents, event_people
from event_samples import pdf, png
from sqlalchemy import func, select

from server.models.reporting import StoredFile

VALUES = {"reporter": "李四", "phone": "13800000000", "kind": "explosion", "deaths": 0,
          "injured": 1, "description": "粉尘爆炸"}


@pytest.fixture
def tokens(session, tree, make_user):
    assign_accidents(session, tree["TA"])
    users = event_people(make_user, tree)
    return {name: token_for(session, user) for name, user in users.items()}


def create(client, token, **event):
    body = {"values": VALUES, "event": {"at": "2024-07-01T09:30", "location": "二号车间",
                                        **event}}
    return api_request(client, "POST", "/events/accidents", token, json=body)


def test_a_unit_files_updates_and_submits_an_event(client, tokens):
    created = create(client, tokens["va1"], latitude="23.15", longitude=99.25)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["period"] == "event-1" and body["status"] == "draft" and body["revision"] == 1
    assert body["event"]["at"] == "2024-07-01T01:30:00+00:00"
    assert body["event"]["latitude"] == "23.15" and body["event"]["attachments"] == []
    assert not body["late"]
    second = create(client, tokens["va1"]).get_json()
    assert second["period"] == "event-2"

    path = "/reports/accidents/VA1/event-1"
    updated = api_request(client, "PUT", path, tokens["va1"], headers={"If-Match": '"1"'},
                          json={"values": {**VALUES, "injured": 2}})
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["values"]["injured"] == 2
    assert updated.get_json()["event"]["location"] == "二号车间"  # kept when left out
    submitted = api_request(client, "POST", path + "/submit", tokens["va1"])
    assert submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"

    listed = api_get(client, "/events", tokens["ta"]).get_json()["events"]
    assert [(e["unit"]["code"], e["period"]) for e in listed] == [("VA1", "event-1")]
    assert api_get(client, "/events?since=2024-07-02", tokens["ta"]).get_json()["events"] == []
    assert api_get(client, "/events", tokens["va2"]).get_json()["events"] == []


def test_attachments_are_added_checked_and_read_within_scope(client, tokens, session):
    create(client, tokens["va1"])
    path = "/reports/accidents/VA1/event-1"
    added = api_request(client, "POST", path + "/attachments", tokens["va1"],
                        headers={"If-Match": '"1"'},
                        data={"file": (io.BytesIO(png()), "现场.png")},
                        content_type="multipart/form-data")
    assert added.status_code == 200, added.get_json()
    attachment = added.get_json()["event"]["attachments"][0]
    assert attachment["content_type"] == "image/png" and attachment["name"] == "现场.png"

    link = f"{path}/attachments/{attachment['id']}"
    read = api_get(client, link, tokens["va1"])
    assert read.status_code == 200 and read.data == png()
    assert read.headers["Content-Disposition"].startswith("attachment")
    assert read.headers["X-Content-Type-Options"] == "nosniff"
    assert api_get(client, link, tokens["ta"]).status_code == 200
    problem(api_get(client, link, tokens["va2"]), 404, "not_found")
    problem(api_get(client, f"/reports/accidents/VA2/event-1/attachments/{attachment['id']}",
                    tokens["va2"]), 404, "not_found")

    before = session.scalar(select(func.count()).select_from(StoredFile))
    renamed = api_request(client, "POST", path + "/attachments", tokens["va1"],
                          headers={"If-Match": '"2"', "Accept-Language": "en"},
                          data={"file": (io.BytesIO(png()), "report.pdf")},
                          content_type="multipart/form-data")
    body = problem(renamed, 422, "invalid")
    assert body["issues"][0]["code"] == "attachment_extension"
    assert "PNG" in body["issues"][0]["message"]
    assert session.scalar(select(func.count()).select_from(StoredFile)) == before
    # keeping only some attachments in a PUT removes the others from the event
    with_pdf = api_request(client, "POST", path + "/attachments", tokens["va1"],
                           headers={"If-Match": '"2"'},
                           data={"file": (io.BytesIO(pdf()), "通报.pdf")},
                           content_type="multipart/form-data").get_json()
    assert len(with_pdf["event"]["attachments"]) == 2
    kept = api_request(client, "PUT", path, tokens["va1"], headers={"If-Match": '"3"'},
                       json={"values": VALUES, "event": {"at": "2024-07-01T09:30",
                                                         "attachments": [attachment["id"]]}})
    assert [a["name"] for a in kept.get_json()["event"]["attachments"]] == ["现场.png"]


def test_refusals(client, tokens):
    assert create(client, tokens["va1"], at="2999-01-01T00:00").get_json()["issues"][0][
        "code"] == "event_time_future"
    no_event = api_request(client, "POST", "/events/accidents", tokens["va1"],
                           json={"values": VALUES})
    assert problem(no_event, 422, "invalid")["issues"][0]["code"] == "event_time_required"
    problem(create(client, tokens["ta"]), 404, "not_found")  # the town does not report
    problem(api_request(client, "POST", "/events/nothing", tokens["va1"], json={}), 404,
            "not_found")
    problem(api_get(client, "/events?since=yesterday", tokens["ta"]), 400, "bad_request")


def test_the_consolidation_downloads_of_an_event_period_are_its_events(client, tokens):
    create(client, tokens["va1"])
    create(client, tokens["va1"], at="2024-08-03T10:00")
    for key in ("event-1", "event-2"):
        assert api_request(client, "POST", f"/reports/accidents/VA1/{key}/submit",
                           tokens["va1"]).status_code == 200
    flat = api_get(client, "/consolidations/accidents/TA/2024-08/flat.csv", tokens["ta"])
    assert flat.status_code == 200 and flat.mimetype == "text/csv"
    rows = flat.data.decode("utf-8-sig").splitlines()[1:]
    assert len(rows) == 1 and "2024-08-03 10:00" in rows[0]
    book = api_get(client, "/consolidations/accidents/TA/event/merged.xlsx", tokens["ta"])
    assert book.status_code == 200 and book.data[:2] == b"PK"
    problem(api_get(client, "/consolidations/accidents/TA/2024-08/merged.xlsx", tokens["va1"]),
            403, "forbidden")
    problem(api_get(client, "/consolidations/accidents/TB/2024-08/flat.csv", tokens["ta"]),
            404, "not_found")
