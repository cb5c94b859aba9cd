"""Moving units and closing periods from the command line and the API (see rollup_tree).

The same services as the web pages, with the same refusals: a period closes only once
every report owed is approved, reopening needs a reason and is recorded, a move that
would alter a closed period is refused until it is reopened, and only administrators
move units.
"""

from __future__ import annotations

import pytest
from api_helpers import api_request, make_token  # noqa: F401  (fixture)
from rollup_tree import KEY, build, roll_up
from sqlalchemy import select

from server.cli import cli
from server.models import PeriodClosure, Unit


@pytest.fixture
def rolled(session, make_unit, make_user):
    world = build(session, make_unit, make_user)
    roll_up(session, world)
    return world


@pytest.fixture
def run(app, monkeypatch):
    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(cli, list(args))


def parent_of(session, code: str) -> str | None:
    session.expire_all()
    unit = session.scalar(select(Unit).where(Unit.code == code))
    return unit.parent.code if unit.parent else None


def closures(session) -> list[tuple]:
    session.expire_all()
    return [(c.unit.code, c.period, c.closed_by.username,
             c.reopened_by.username if c.reopened_by else None, c.reopen_reason)
            for c in session.scalars(select(PeriodClosure).order_by(PeriodClosure.id))]


def test_close_reopen_and_move_from_the_command_line(rolled, session, run):
    # Not ready: T2's village V3 is not approved.
    result = run("periods", "close", KEY, "T2", "2024Q3", "--as", "t2-hz")
    assert result.exit_code == 1 and "1 of 2 reports owed are approved" in result.output
    # Not theirs: T2's consolidator cannot close T1.
    result = run("periods", "close", KEY, "T1", "2024Q3", "--as", "t2-hz")
    assert result.exit_code == 1 and "Only a consolidator of this unit" in result.output
    result = run("periods", "close", KEY, "T1", "2099Q1", "--as", "t1-hz")
    assert result.exit_code == 1 and "2099Q1" in result.output
    result = run("periods", "close", KEY, "T1", "2024Q3", "--as", "t1-hz")
    assert result.exit_code == 0, result.output
    assert closures(session) == [("T1", "2024Q3", "t1-hz", None, "")]

    # A move that would alter the closed period is refused, naming it and who closed it.
    result = run("units", "move", "V1", "--to", "T2", "--on", "2024-07-01")
    assert result.exit_code == 1 and "closed for" in result.output and "t1-hz" in result.output
    assert parent_of(session, "V1") == "T1"
    assert run("units", "move", "V1", "--to", "NOPE").exit_code == 1

    # Reopening needs a reason; it is recorded with who.
    assert run("periods", "reopen", KEY, "T1", "2024Q3", "--as", "t1-hz").exit_code == 2
    result = run("periods", "reopen", KEY, "T1", "2024Q3", "--as", "t1-hz", "--reason", "  ")
    assert result.exit_code == 1 and "reason is required" in result.output
    result = run("periods", "reopen", KEY, "T1", "2024Q3", "--as", "t1-hz",
                 "--reason", "V1 划归 T2")
    assert result.exit_code == 0, result.output
    assert closures(session) == [("T1", "2024Q3", "t1-hz", "t1-hz", "V1 划归 T2")]

    result = run("units", "move", "V1", "--to", "T2", "--on", "2024-07-01")
    assert result.exit_code == 0, result.output
    assert "from 2024-07-01 on" in result.output and parent_of(session, "V1") == "T2"


def test_close_reopen_and_move_through_the_api(rolled, session, client, make_token):  # noqa: F811
    users = rolled["users"]
    town, other, admin = (make_token(users[name]) for name in ("t1-hz", "t2-hz", "boss"))
    base = f"/consolidations/{KEY}"

    def call(method, path, token, **kwargs):
        return api_request(client, method, path, token, **kwargs)

    assert call("POST", f"{base}/T2/2024Q3/close", other).status_code == 409
    assert call("POST", f"{base}/T1/2024Q3/close", other).status_code == 404  # not in scope
    answer = call("POST", f"{base}/T1/2024Q3/close", town)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["closed"]["closed_by"] == "t1-hz"
    assert call("POST", f"{base}/T1/2024Q3/close", town).status_code == 409  # already

    # Moving units: administrators only; a move into the closed period answers 423.
    move = "/units/V1/move"
    assert call("POST", move, town, json={"parent": "T2"}).status_code == 403
    refused = call("POST", move, admin, json={"parent": "T2", "on": "2024-07-01"})
    assert refused.status_code == 423 and refused.get_json()["code"] == "period_closed"
    assert call("POST", move, admin, json={"parent": "T2", "on": "July"}).status_code == 400
    assert call("POST", move, admin, json={"parent": "NOPE"}).status_code == 422
    assert call("POST", "/units/NOPE/move", admin, json={"parent": "T2"}).status_code == 404
    assert parent_of(session, "V1") == "T1"

    # Reopening: a reason is required, then it is recorded.
    assert call("POST", f"{base}/T1/2024Q3/reopen", town, json={"reason": " "}).status_code \
        == 422
    answer = call("POST", f"{base}/T1/2024Q3/reopen", town, json={"reason": "V1 划归 T2"})
    assert answer.status_code == 200 and answer.get_json()["closed"] is None
    assert closures(session) == [("T1", "2024Q3", "t1-hz", "t1-hz", "V1 划归 T2")]

    moved = call("POST", move, admin, json={"parent": "T2", "on": "2024-07-01"})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["parent"] == "T2" and parent_of(session, "V1") == "T2"
    # Periods from the move on (2024-07-01 is 2024Q3's first day) count it under T2.
    q3 = call("GET", f"{base}/T2/2024Q3", make_token(users["co1-hz"])).get_json()
    assert "V1" in [c["unit"]["code"] for c in q3["children"]]
