"""A hazard-checks form assigned to town TA, with its people, for the report API tests.

Fields of every kind the API must read: integers with a rule between them, a
date, a percent, a repeating table, an attachment; the header's reporter and phone.
"""

from __future__ import annotations

import pytest
from api_helpers import token_for
from hazards import FOUND, hazards_definition

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import templates as template_service

KEY = "hazards-ta"
PERIOD = "2024Q3"
HEADER = {"reporter": "张三", "phone": "13800000000"}

DEFINITION = {
    **hazards_definition(fields=(
        {**FOUND, "label_en": "Hazards found"},
        {"key": "rectified", "kind": "integer", "label": "整改隐患",
         "label_en": "Hazards rectified", "unit": "处", "min": 0},
        {"key": "checked_on", "kind": "date", "label": "检查日期", "label_en": "Checked on"},
        {"key": "rate", "kind": "percent", "label": "整改率", "label_en": "Rectified share",
         "min": 0, "max": 100},
        {"key": "teams", "kind": "table", "label": "检查组", "label_en": "Inspection teams",
         "columns": [
             {"key": "name", "kind": "text", "label": "组名", "label_en": "Team"},
             {"key": "members", "kind": "integer", "label": "人数", "label_en": "Members",
              "min": 0},
         ]},
        {"key": "plan_file", "kind": "attachment", "label": "整治方案", "label_en": "Plan"},
    )),
    "rules": [{"key": "r1", "expr": "rectified <= found",
               "message": "整改数不能大于排查数", "message_en": "More rectified than found"}],
}


def path(unit: str = "VA1", period: str = PERIOD, assignment: str = KEY) -> str:
    return f"/api/v1/reports/{assignment}/{unit}/{period}"


@pytest.fixture(name="world")
def world_fixture(session, tree, make_user):
    """The form assigned to the villages of TA (VA1, VA2); TB's village VB1 is elsewhere."""
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(DEFINITION),
                                 origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment_service.create_assignment(session, key=KEY, template=template, root=tree["TA"])
    return {
        "va1": make_user("va1", Role.SUBMITTER, tree["VA1"]),
        "va2": make_user("va2", Role.SUBMITTER, tree["VA2"]),
        "vb1": make_user("vb1", Role.SUBMITTER, tree["VB1"]),
        "ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]),
        "tb-hz": make_user("tb-hz", Role.CONSOLIDATOR, tree["TB"]),
        "admin": make_user("admin", Role.ADMIN),
    }


class Api:
    """A script calling the API as one account, reading English."""

    def __init__(self, client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = {"Accept-Language": "en", **headers}

    def _call(self, method: str, url: str, *, revision=None, headers=None, **kwargs):
        sent = {**self.headers, **(headers or {})}
        if revision is not None:
            sent["If-Match"] = f'"{revision}"'
        return self.client.open(url, method=method, headers=sent, **kwargs)

    def get(self, url: str, **kwargs):
        return self._call("GET", url, **kwargs)

    def put(self, url: str, **kwargs):
        return self._call("PUT", url, **kwargs)

    def post(self, url: str, **kwargs):
        return self._call("POST", url, **kwargs)


@pytest.fixture(name="api")
def api_fixture(app, session, world):
    """``api("va1")``: the API as that account, with a personal token of its own."""
    tokens: dict[str, str] = {}

    def make(username: str) -> Api:
        if username not in tokens:
            tokens[username] = token_for(session, world[username])
        return Api(app.test_client(), {"Authorization": f"Bearer {tokens[username]}"})

    return make
