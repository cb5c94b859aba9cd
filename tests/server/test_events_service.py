"""The events service on both databases: numbering, refusals that change nothing, the
list of events that arrived with its Beijing-day filters, and the export."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from event_helpers import assign_accidents, event_people
from event_samples import jpeg, png
from sqlalchemy import func, select

from exports import event_list
from server.db import unit_of_work
from server.models.reporting import Report, Revision, StoredFile
from server.services import assignments as assignment_service
from server.services import events, reporting
from server.services.errors import InvalidReport, NotAllowed, NotVisible

NOW = datetime(2024, 8, 10, 4, tzinfo=UTC)
VALUES = {"reporter": "李四", "phone": "13800000000", "kind": "fire", "deaths": "0",
          "injured": "2", "description": "起火"}


@pytest.fixture
def world(session, tree, make_user):
    assign_accidents(session, tree["TA"])
    return event_people(make_user, tree)


def file_event(session, user, unit: str, at: str, *, uploads=(), submit=True):
    assignment = assignment_service.get_assignment(session, "accidents")
    key = reporting.next_event_key(session, assignment, user.unit)
    view = reporting.load(session, user, "accidents", unit, key)
    with unit_of_work(session):
        events.save_event(session, user, view, VALUES, {"at": at}, uploads=uploads, now=NOW)
        if submit:
            reporting.submit(session, user, view, now=NOW)
    return view


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_events_are_numbered_per_unit(session, world):
    assert file_event(session, world["va1"], "VA1", "2024-07-01T08:00").period == "event-1"
    assert file_event(session, world["va1"], "VA1", "2024-07-02T08:00").period == "event-2"
    assert file_event(session, world["va2"], "VA2", "2024-07-03T08:00").period == "event-1"
    assert count(session, Report) == 3 and count(session, Revision) == 3


def test_a_refused_event_changes_nothing(session, world):
    assignment = assignment_service.get_assignment(session, "accidents")
    view = reporting.load(session, world["va1"], "accidents", "VA1", "event-1")
    uploads = [events.Upload(io.BytesIO(jpeg()), "好.jpg"),
               events.Upload(io.BytesIO(png()), "坏.jpg")]  # the second one lies
    with pytest.raises(InvalidReport) as refused, unit_of_work(session):
        events.save_event(session, world["va1"], view, VALUES, {"at": "2024-07-01T08:00"},
                          uploads=uploads, now=NOW)
    assert [i.code for i in refused.value.issues] == ["attachment_extension"]
    assert count(session, StoredFile) == 0 and count(session, Report) == 0
    assert reporting.next_event_key(session, assignment, world["va1"].unit) == "event-1"


def test_only_the_units_own_accounts_file_its_events(session, world):
    view = reporting.load(session, world["ta"], "accidents", "VA1", "event-1")
    with pytest.raises(NotAllowed), unit_of_work(session):
        events.save_event(session, world["ta"], view, VALUES, {"at": "2024-07-01T08:00"},
                          uploads=[events.Upload(io.BytesIO(png()), "a.png")], now=NOW)
    assert count(session, StoredFile) == 0
    with pytest.raises(NotVisible):
        reporting.load(session, world["va2"], "accidents", "VA1", "event-1")


def test_the_list_filters_by_the_day_of_the_event_in_beijing(session, world):
    file_event(session, world["va1"], "VA1", "2024-07-31T23:30")  # 15:30 UTC on the 31st
    file_event(session, world["va1"], "VA1", "2024-08-01T00:30")  # still 31 July in UTC
    file_event(session, world["va2"], "VA2", "2024-08-02T10:00", submit=False)  # not arrived
    july = events.arrived(session, world["ta"], since=date(2024, 7, 1), until=date(2024, 7, 31))
    assert [r.report.period for r in july] == ["event-1"]
    august = events.arrived(session, world["ta"], since=date(2024, 8, 1))
    assert [r.report.period for r in august] == ["event-2"]
    assert [r.report.unit.code for r in events.arrived(session, world["va2"])] == []
    assert len(events.arrived(session, world["va1"])) == 2  # a unit sees its own


def test_the_export_totals_per_month_of_the_event_time(session, world):
    file_event(session, world["va1"], "VA1", "2024-07-31T23:30")
    file_event(session, world["va2"], "VA2", "2024-08-01T00:30")
    view = file_event(session, world["va2"], "VA2", "2024-08-05T09:00")
    with unit_of_work(session):
        reporting.return_report(session, world["ta"],
                                reporting.load(session, world["ta"], "accidents", "VA2",
                                               view.period), "请补充")
    found = events.export(session, world["ta"], "accidents")
    assert [(r.unit_code, r.key, r.status_code) for r in found.rows] == [
        ("VA1", "event-1", "submitted"), ("VA2", "event-1", "submitted"),
        ("VA2", "event-2", "returned")]
    totals = event_list.totals(found.definition, found.rows)
    injured = [f.key for f in event_list.summed_fields(found.definition)].index("injured")
    assert [(p.key, n, sums[injured]) for p, n, sums in totals] == [
        ("2024-07", 1, 2), ("2024-08", 1, 2)]  # the returned one is not counted
    with pytest.raises(NotVisible):
        events.export(session, world["ta"], "nothing")


def test_the_first_and_last_days_a_calendar_has_are_bounds_like_any(session, world):
    file_event(session, world["va1"], "VA1", "2024-07-01T08:00")
    found = events.arrived(session, world["ta"], since=date.min, until=date.max)
    assert [r.report.period for r in found] == ["event-1"]
