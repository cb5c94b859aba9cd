"""Schemathesis against the JSON API, in process (WSGI): no server error, answers as documented.

Every operation of the OpenAPI document gets a bounded number of generated
requests, each sent with the token of a consolidator or of a submitter. Path
parameters are either generated or drawn from the real assignment, units,
periods and template of a small world (some reports draft, submitted,
approved), so the fuzzing reaches the workflow and not only 404s.
"""

from __future__ import annotations

import io

import pytest
import schemathesis
from event_samples import png
from hazards import FOUND, hazards_definition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from forms.definition import Definition
from forms.loader import CATALOG_DIR
from server.api import openapi
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import events, reporting, tokens
from server.services import templates as template_service

pytestmark = pytest.mark.slow  # a minute or two: `make test-fast` leaves it out

HEADER = {"reporter": "张三", "phone": "13800000000"}  # required on every report
KEY = "hazards-fuzz"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, ignored_auth]
EXAMPLES = 20  # per operation: the whole run stays well under two minutes
DEFINITION = {
    **hazards_definition(fields=(
        FOUND,
        {"key": "rectified", "kind": "integer", "label": "整改隐患", "unit": "处", "min": 0},
        {"key": "note", "kind": "text", "label": "说明"},
    )),
    "rules": [{"key": "r1", "expr": "rectified <= found", "message": "整改数不能大于排查数"}],
}
# Real path parameters, used instead of generated ones for most requests: reports in
# every state, a consolidating town, a unit out of the assignment, the template.
EVENTS = "accidents-fuzz"
NO_FILE = "0" * 32
REAL = [
    {"assignment": KEY, "unit": "VA1", "period": "2024Q2", "key": "hazards", "n": 1,
     "token": NO_FILE},
    {"assignment": KEY, "unit": "VA1", "period": "2024Q3", "key": "hazards", "n": 1,
     "token": NO_FILE},
    {"assignment": KEY, "unit": "VA2", "period": "2024Q2", "key": "hazards", "n": 2,
     "token": NO_FILE},
    {"assignment": KEY, "unit": "VA2", "period": "2024Q4", "key": "hazards", "n": 1,
     "token": NO_FILE},
    {"assignment": KEY, "unit": "TA", "period": "2024Q2", "key": "nothing", "n": 1,
     "token": NO_FILE},
    {"assignment": KEY, "unit": "VB1", "period": "2024Q2", "key": "hazards", "n": 1,
     "token": NO_FILE},
    # An event report of VA1 (with a photo) and the next, not yet filed, one.
    {"assignment": EVENTS, "unit": "VA1", "period": "event-1", "key": "cangyuan-accidents",
     "n": 1, "token": NO_FILE},
    {"assignment": EVENTS, "unit": "VA1", "period": "event-2", "key": "cangyuan-accidents",
     "n": 1, "token": NO_FILE},
]


@pytest.fixture
def fuzz_tokens(app, session, tree, make_user) -> dict[str, str]:
    """The world: VA1 approved and VA2 submitted for 2024Q2, VA1 drafting 2024Q3."""
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(DEFINITION), origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment = assignment_service.create_assignment(session, key=KEY, template=template,
                                                          root=tree["TA"])
    people = {
        "consolidator": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]),
        "submitter": make_user("va1", Role.SUBMITTER, tree["VA1"]),
        "neighbour": make_user("va2", Role.SUBMITTER, tree["VA2"]),
    }
    with unit_of_work(session):
        for who, period, values in (("submitter", "2024Q2", {"found": 5, "rectified": 3}),
                                    ("neighbour", "2024Q2", {"found": 2, "rectified": 2}),
                                    ("submitter", "2024Q3", {"found": 7, "rectified": 4})):
            user = people[who]
            view = reporting.load(session, user, assignment.key, user.unit.code, period)
            reporting.save(session, user, view, {**HEADER, **values})
            if period == "2024Q2":
                reporting.submit(session, user, view)
        va1 = reporting.load(session, people["consolidator"], KEY, "VA1", "2024Q2")
        reporting.approve(session, people["consolidator"], va1)
    with unit_of_work(session):
        template_service.load_files(session, [CATALOG_DIR / "003_cangyuan_accidents.yaml"])
        assignment_service.create_assignment(
            session, key=EVENTS, template=template_service.get_version(
                session, "cangyuan-accidents", 1), root=tree["TA"])
        user = people["submitter"]
        view = reporting.load(session, user, EVENTS, "VA1", "event-1")
        events.save_event(session, user, view, {**HEADER, "kind": "fire", "deaths": 0,
                                                 "injured": 1, "description": "起火"},
                          {"at": "2024-07-01T08:00"},
                          uploads=[events.Upload(io.BytesIO(png()), "现场.png")])
    with unit_of_work(session):
        return {role: tokens.create(session, people[role], "fuzz")[1]
                for role in ("consolidator", "submitter")}


OPERATIONS = [f"{op.method.upper()} {op.path}" for op in openapi.OPERATIONS]


def strategy(operation):
    """Valid requests, and requests that break the documented constraints (expected 4xx)."""
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                     operation.as_strategy(GenerationMode.NEGATIVE))


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_answers_as_documented(app, fuzz_tokens, label):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema.find_operation_by_label(label)

    @given(case=strategy(operation), data=st.data())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case, data):
        if case.path_parameters and data.draw(st.integers(0, 3), label="generated") > 0:
            real = data.draw(st.sampled_from(REAL), label="real identifiers")
            case.path_parameters = {name: real.get(name, value)  # a message: its drawn id
                                    for name, value in case.path_parameters.items()}
        role = data.draw(st.sampled_from(sorted(fuzz_tokens)), label="role")
        case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_tokens[role]}"},
                               checks=CHECKS)

    call()
