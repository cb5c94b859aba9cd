"""A report's view reads its assignment as this process's shared plan, checked against the
rows on every request (server.services.plans): what an administrator changes, through the
pages or straight in the database, is what the next request answers; the plan costs no
statement of its own."""

from __future__ import annotations

from datetime import date

import pytest
from api_reports_world import (  # noqa: F401
    DEFINITION,
    HEADER,
    KEY,
    PERIOD,
    api_fixture,
    path,
    world_fixture,
)
from sqlalchemy import select, update
from statement_count import recorded

from forms.definition import Definition
from server.db import database, unit_of_work
from server.models.reporting import Assignment, AssignmentVersion
from server.services import assignments as assignment_service
from server.services import plans, reporting
from server.services import templates as template_service


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def fingerprint(session, assignment_id: int) -> str:
    return session.scalar(select(plans.fingerprint(assignment_id)))


def test_a_report_s_read_asks_nothing_more_of_its_assignment(app, api, session, tree, world):
    # A second assignment, after the first: each plan is read, and checked, as its own row's.
    with unit_of_work(session):
        assignment_service.create_assignment(
            session, key="hazards-tb", template=template_service.get_version(session, "hazards", 1),
            root=tree["TB"])
    for user, report in (("va1", path()), ("vb1", path("VB1", assignment="hazards-tb"))):
        client = api(user)
        ok(client.get(report))  # this process reads the plan once
        with recorded(database(app).engine) as seen:
            ok(client.get(report))
        assert not any("FROM assignments" in s.split("WHERE")[0].split("(")[0] for s in seen)
        # The token; the unit, its reports and the plan's check.
        assert len(seen) == 2, "\n".join(seen)


def test_the_next_request_answers_the_assignment_as_it_now_stands(app, api, session, world):
    """Changed in the database by any means (here a plain UPDATE, which no ORM event sees),
    the assignment's window, versions and due dates reach the next request."""
    client = api("va1")
    assert ok(client.get(path()))["due"] == "2024-10-05"
    assignment = assignment_service.get_assignment(session, KEY)
    with unit_of_work(session):
        session.execute(update(Assignment).where(Assignment.id == assignment.id)
                        .values(last_period="2024Q2"))
    assert client.get(path()).status_code == 404  # 2024Q3 is no longer one of its periods
    with unit_of_work(session):
        session.execute(update(Assignment).where(Assignment.id == assignment.id)
                        .values(last_period="2024Q4"))
    assert ok(client.get(path()))["version"] == 1
    # Version 2 of the form from 2024Q3 on: a new report of the period is of version 2.
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(
            {**DEFINITION, "version": 2, "title": "隐患排查（第二版）"}), origin="upload")
        second = template_service.get_version(session, "hazards", 2)
        session.execute(AssignmentVersion.__table__.insert().values(
            assignment_id=assignment.id, template_version_id=second.id, from_period="2024Q3"))
    assert ok(client.get(path()))["version"] == 2
    assert ok(client.get(path(period="2024Q2")))["version"] == 1


def test_a_due_date_moved_to_a_working_day_uses_the_administrators_days(app, api, session,
                                                                       world):
    """The plan holds no session: the working days are the request's."""
    from server.services import workdays

    client = api("va1")
    assert ok(client.get(path()))["due"] == "2024-10-05"
    assignment = assignment_service.get_assignment(session, KEY)
    with unit_of_work(session):
        assignment.shift_to_workday = True
        workdays.set_day(session, date(2024, 10, 8), workday=False, reason="测试假日",
                         reason_en="A test holiday")
    answer = ok(client.get(path()))
    # 10月5日 falls in the National Day holiday; the 8th is declared off too.
    assert answer["due"] == "2024-10-09" and answer["due_moved_from"] == "2024-10-05"


def test_the_fingerprint_follows_every_column_and_version(session, tree, world):
    assignment = assignment_service.get_assignment(session, KEY)
    seen = {fingerprint(session, assignment.id)}
    assert fingerprint(session, assignment.id) in seen  # the same rows, the same text
    changes = {"template_key": "other", "root_unit_id": tree["VA1"].id,
               "unit_kinds": "village,company", "include_root": True, "first_period": "2024Q1",
               "last_period": "2025Q4", "active": False, "due_phase": "review",
               "phases": [{"key": "x", "name": "x", "start": "2024-01-01",
                           "end": "2024-02-01"}],
               "reminder_policy": {"days_before": [1]}, "shift_to_workday": True,
               "consolidating_unit_id": tree["TB"].id, "key": "renamed"}
    for column, value in changes.items():
        with unit_of_work(session):
            session.execute(update(Assignment).where(Assignment.id == assignment.id)
                            .values({column: value}))
        now = fingerprint(session, assignment.id)
        assert now not in seen, column
        seen.add(now)
    with unit_of_work(session):
        session.execute(update(AssignmentVersion)
                        .where(AssignmentVersion.assignment_id == assignment.id)
                        .values(from_period="2024Q3"))
    assert fingerprint(session, assignment.id) not in seen


def test_a_plan_read_for_another_database_is_not_served(app, api, session, world):
    """A plan kept under the same key for other rows (another database, a restored backup)
    is read again: its fingerprint is not the rows'."""
    client = api("va1")
    ok(client.get(path()))
    kept = plans.PLANS.get(KEY)
    stale = plans.AssignmentPlan(**{**kept.__dict__, "last_period": "2024Q2",
                                    "fingerprint": "another database"})
    plans.PLANS.keep(stale)
    assert ok(client.get(path()))["period"] == PERIOD
    assert plans.PLANS.get(KEY).fingerprint == kept.fingerprint


@pytest.mark.parametrize("missing", ["no-such-plan"])
def test_an_unknown_assignment_is_not_found(api, world, missing):
    assert api("va1").get(path(assignment=missing)).status_code == 404
    assert plans.PLANS.get(missing) is None


def test_a_view_loads_the_assignment_row_only_when_asked(app, session, world):
    view = reporting.load(session, world["va1"], KEY, "VA1", PERIOD)
    assert isinstance(view.plan, plans.AssignmentPlan)
    assert view.assignment.key == KEY and view.assignment is view.assignment
    assert view.assignment.consolidating_unit.code == "TA"
