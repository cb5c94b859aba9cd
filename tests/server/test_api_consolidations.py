"""``/api/v1/consolidations/…``: figures with provenance, the switch, downloads, refusals."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from hazards import FOUND, hazards_definition

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import reporting, tokens
from server.services import templates as template_service

HEADER = {"reporter": "张三", "phone": "13800000000"}  # required on every report
KEY = "hazards-cy"
DEFINITION = {
    **hazards_definition(fields=(
        FOUND,
        {"key": "situation", "kind": "longtext", "label": "工作情况", "label_en": "Situation"},
    )),
}


def url(unit: str = "TA", period: str = "2024Q2", suffix: str = "", *,
        assignment: str = KEY) -> str:
    return f"/api/v1/consolidations/{assignment}/{unit}/{period}{suffix}"


@pytest.fixture
def people(session, tree, make_user):
    """The form assigned to county CY: towns TA and TB report, and so do their villages.

    For 2024Q2: VA1 approved (4 found), VA2 submitted (3 found), VB1 not started; TA
    submitted its own report with 9 found, more than its villages' 4 + 3.
    """
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(DEFINITION), origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment_service.create_assignment(session, key=KEY, template=template, root=tree["CY"])
    users = {
        "va1": make_user("va1", Role.SUBMITTER, tree["VA1"]),
        "va2": make_user("va2", Role.SUBMITTER, tree["VA2"]),
        "ta": make_user("ta", Role.SUBMITTER, tree["TA"]),
        "ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]),
        "tb-hz": make_user("tb-hz", Role.CONSOLIDATOR, tree["TB"]),
        "cy-hz": make_user("cy-hz", Role.CONSOLIDATOR, tree["CY"]),
        "admin": make_user("admin", Role.ADMIN),
    }
    with unit_of_work(session):
        for name, found, text in (("va1", 4, "排查企业4家"), ("va2", 3, "排查企业3家"),
                                  ("ta", 9, "全镇排查")):
            user = users[name]
            view = reporting.load(session, user, KEY, user.unit.code, "2024Q2")
            reporting.save(session, user, view, {**HEADER, "found": found, "situation": text},
                           remarks="镇本级另有排查" if name == "ta" else None)
            reporting.submit(session, user, view)
        approved = reporting.load(session, users["ta-hz"], KEY, "VA1", "2024Q2")
        reporting.approve(session, users["ta-hz"], approved)
    return users


@pytest.fixture
def as_user(client, session, people):
    """``as_user("ta-hz").get(url)``: requests with that account's token, reading English."""

    class Caller:
        def __init__(self, headers: dict[str, str]) -> None:
            self.headers = headers

        def get(self, path: str, **kwargs):
            return client.get(path, headers={**self.headers, **kwargs.pop("headers", {})},
                              **kwargs)

    def make(username: str) -> Caller:
        with unit_of_work(session):
            _token, secret = tokens.create(session, people[username], "test")
        return Caller({"Authorization": f"Bearer {secret}", "Accept-Language": "en"})

    return make


def test_figures_count_approved_children_with_their_parts(as_user):
    response = as_user("ta-hz").get(url())

    assert response.status_code == 200
    body = response.get_json()
    assert (body["assignment"], body["unit"], body["period"]) == (
        KEY, {"code": "TA", "name": "Unit TA"}, "2024Q2")
    assert body["include_submitted"] is False
    assert body["values"]["found"] == 4  # VA2 is submitted, not yet approved
    assert body["provenance"]["found"] == [
        {"unit": "VA1", "name": "Unit VA1", "value": 4, "revision": 1, "explanation": ""}]
    children = {c["unit"]["code"]: c for c in body["children"]}
    assert set(children) == {"VA1", "VA2"}
    assert (children["VA1"]["status"], children["VA1"]["included"]) == ("approved", True)
    assert (children["VA2"]["status"], children["VA2"]["included"]) == ("submitted", False)
    assert [m["unit"]["code"] for m in body["missing"]] == ["VA2"]
    assert body["previous_period"] is None
    assert body["values"]["situation"] == "Unit VA1：排查企业4家"


def test_the_switch_counts_submitted_reports_too(as_user):
    body = as_user("ta-hz").get(url() + "?include_submitted=true").get_json()

    assert body["include_submitted"] is True
    assert body["values"]["found"] == 7
    assert body["missing"] == []
    assert sorted(p["unit"] for p in body["provenance"]["found"]) == ["VA1", "VA2"]


def test_a_figure_that_differs_from_the_children_is_a_mismatch(as_user):
    body = as_user("cy-hz").get(url("CY") + "?include_submitted=1").get_json()

    assert {c["unit"]["code"] for c in body["children"]} == {"TA", "TB"}
    mismatch = next(m for m in body["mismatches"] if m["field"] == "found")
    assert mismatch["unit"]["code"] == "TA"
    assert (mismatch["reported"], mismatch["computed"], mismatch["difference"]) == (9, 7, 2)
    assert mismatch["depth"] == 1


def test_a_bad_switch_is_a_bad_request(as_user):
    response = as_user("ta-hz").get(url() + "?include_submitted=maybe")

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "bad_request"
    assert "include_submitted" in response.get_json()["detail"]


@pytest.mark.parametrize("path", [url(), url(suffix="/merged.xlsx"), url(suffix="/flat.csv")])
def test_submitters_may_not_consolidate(as_user, path):
    response = as_user("ta").get(path)

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


@pytest.mark.parametrize("who, path", [
    ("tb-hz", url()),  # another town's consolidator
    ("ta-hz", url("CY")),  # above the account's unit
    ("ta-hz", url(assignment="nothing")),
    ("ta-hz", url(period="2031Q1")),
    ("admin", url("VA1")),  # reports, but has no children
    ("tb-hz", url(suffix="/merged.xlsx")),
    ("tb-hz", url(suffix="/flat.csv")),
])
def test_out_of_scope_or_unknown_is_not_found(as_user, who, path):
    response = as_user(who).get(path)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "not_found"


def test_a_token_is_required(client, people):
    response = client.get(url())

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_merged_workbook_downloads_with_every_unit(as_user):
    response = as_user("ta-hz").get(url(suffix="/merged.xlsx") + "?include_submitted=true")

    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    cells = {str(cell) for sheet in workbook.worksheets
             for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None}
    assert {"Unit VA1", "Unit VA2"} <= cells


def test_the_flat_data_is_csv_with_a_row_per_unit_and_field(as_user):
    response = as_user("ta-hz").get(url(suffix="/flat.csv"))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    flat = "\n".join(",".join(row) for row in rows[1:])
    assert "VA1" in flat and "VA2" not in flat  # VA2 counts only once approved

    response = as_user("ta-hz").get(url(suffix="/flat.csv?include_submitted=true"))
    assert "VA2" in response.data.decode("utf-8-sig")
    assert any("4" in row for row in rows if "VA1" in row)
