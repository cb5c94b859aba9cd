"""The Excel round trip over the API: download the official form, fill it, upload it back.

Workbooks are filled as a person does in Excel, typing into the input cells
(found through the template's ``tb_<field>`` defined names).
"""

from __future__ import annotations

import io

import openpyxl
from api_helpers import problem
from api_reports_world import HEADER, api_fixture, path, world_fixture  # noqa: F401
from sqlalchemy import func, select

from exports.limits import DEFAULT_LIMITS
from server.models import Report, Revision, StoredFile
from server.services.workbooks import XLSX_TYPE

FILLED = {**HEADER, "found": 5, "rectified": 2}


def download(client, unit: str = "VA1") -> bytes:
    response = client.get(path(unit) + "/workbook.xlsx")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX_TYPE
    return response.data


def fill(data: bytes, values: dict) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = {}
    for name, defined in book.defined_names.items():
        if name.startswith("tb_"):
            (sheet, ref), = list(defined.destinations)
            cells[name[3:]] = (sheet, ref.replace("$", ""))
    for key, value in values.items():
        sheet, ref = cells[key]
        book[sheet][ref].value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, unit: str = "VA1", filename: str = "filled.xlsx"):
    return client.post(path(unit) + "/workbook", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_download_fill_upload_saves_a_draft_from_excel(api, session):
    client = api("va1")
    response = client.get(path() + "/workbook.xlsx")
    assert "attachment" in response.headers["Content-Disposition"]

    response = upload(client, fill(download(client), FILLED), filename="VA1.xlsx")

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["saved"], body["result"], body["issues"]) == (True, "saved", [])
    assert body["summary"].startswith("Saved as draft revision 1")
    assert body["report"]["status"] == "draft" and body["report"]["revision"] == 1
    assert {k: body["report"]["values"][k] for k in FILLED} == FILLED
    assert response.headers["ETag"] == '"1"'
    revision = session.scalar(select(Revision))
    assert revision.source == "excel" and revision.author.username == "va1"
    assert session.get(StoredFile, revision.file_id).filename == "VA1.xlsx"
    # The next download carries the draft.
    again = openpyxl.load_workbook(io.BytesIO(download(client)))
    (sheet, ref), = list(again.defined_names["tb_found"].destinations)
    assert again[sheet][ref.replace("$", "")].value == 5


def test_warnings_are_saved_and_listed_at_their_cells(api, session):
    client = api("va1")
    body = upload(client, fill(download(client), {**FILLED, "found": "5处"})).get_json()
    assert body["saved"] is True
    warning, = body["issues"]
    assert (warning["field"], warning["code"], warning["severity"]) == (
        "found", "unit_stripped", "warning")
    assert warning["sheet"] and warning["cell"]
    assert body["report"]["values"]["found"] == 5


def test_errors_in_the_workbook_save_nothing_and_are_listed_at_their_cells(api, session):
    client = api("va1")
    response = upload(client, fill(download(client), {**FILLED, "found": "很多"}))
    body = problem(response, 422, "invalid")
    assert (body["saved"], body["result"]) == (False, "not_saved")
    issue = next(i for i in body["issues"] if i["field"] == "found")
    assert issue["code"] == "not_a_number" and issue["cell"]
    assert body["report"]["revision"] == 0
    assert count(session, Report) == 0


def test_a_broken_file_is_refused_with_its_issue(api, session):
    response = upload(api("va1"), b"this is not a workbook", filename="report.xlsx")
    body = problem(response, 422, "invalid")
    assert body["result"] == "refused" and body["saved"] is False
    assert [i["code"] for i in body["issues"]] == ["not_a_spreadsheet"]
    assert "report.xlsx" in body["issues"][0]["message"]
    assert count(session, Report) == 0


def test_another_units_workbook_is_refused(api, session):
    admin = api("admin")
    response = upload(admin, fill(download(admin, "VA2"), FILLED), unit="VA1")
    body = problem(response, 422, "invalid")
    assert [i["code"] for i in body["issues"]] == ["wrong_unit"]
    assert count(session, Report) == 0


def test_an_oversized_file_is_refused_with_413(api, app, session):
    client = api("va1")
    too_big = b"PK\x03\x04" + b"x" * DEFAULT_LIMITS.max_bytes
    body = problem(upload(client, too_big), 413, "too_large")
    assert [i["code"] for i in body["issues"]] == ["file_too_large"]
    # Beyond the request limit, the request itself is refused.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    problem(upload(client, b"PK\x03\x04" + b"x" * 100_000), 413, "too_large")
    assert count(session, Report) == 0


def test_an_upload_without_a_file_is_a_bad_request(api):
    client = api("va1")
    problem(client.post(path() + "/workbook", data={}, content_type="multipart/form-data"),
            400, "bad_request")
    problem(client.post(path() + "/workbook", json={"file": "x"}), 400, "bad_request")


def test_a_locked_report_refuses_an_upload(api, session):
    clerk = api("va1")
    workbook = fill(download(clerk), FILLED)
    assert upload(clerk, workbook).status_code == 200
    assert clerk.post(path() + "/submit").status_code == 200
    assert api("ta-hz").post(path() + "/approve").status_code == 200
    body = problem(upload(clerk, fill(workbook, {"found": 9})), 422, "invalid")
    assert body["result"] == "refused"
    assert "approved" in body["issues"][0]["message"]
    assert count(session, Revision) == 1


def test_workbooks_outside_the_scope_do_not_exist(api, session):
    problem(api("va1").get(path("VA2") + "/workbook.xlsx"), 404, "not_found")
    problem(api("tb-hz").get(path("VA1") + "/workbook.xlsx"), 404, "not_found")
    workbook = fill(download(api("admin"), "VA2"), FILLED)
    problem(upload(api("va1"), workbook, unit="VA2"), 404, "not_found")
    assert count(session, Report) == 0
