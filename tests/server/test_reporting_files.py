"""Attachments: uploaded with the form, kept in the database, downloadable only within scope."""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.db import unit_of_work
from server.models import Role
from server.models.reporting import Report, StoredFile
from server.services import assignments as assignment_service
from server.services.templates import get_version, load_files

SAMPLE = Path(__file__).resolve().parents[1] / "forms" / "sample.yaml"
FORM = "/reports/sample/VA1/2024Q2"
PDF = b"%PDF-1.4 plan of the village\n" * 10


@pytest.fixture
def village(session, tree, make_user):
    with unit_of_work(session):
        load_files(session, [SAMPLE])
        assignment_service.create_assignment(session, key="sample",
                                             template=get_version(session, "sample", 1),
                                             root=tree["TA"])
    return make_user("va1", unit=tree["VA1"])


def upload(browser, data: bytes, name: str = "方案.pdf", revision: str = "0", **extra):
    fields = {"revision": revision, "action": "save",
              "f_plan_file-file": (io.BytesIO(data), name), **extra}
    return browser.post(FORM, fields)


def attachment(session) -> dict | None:
    session.expire_all()
    return session.scalar(select(Report)).values.get("plan_file")


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_an_attachment_is_stored_and_downloaded_by_its_unit(browser, village, session):
    browser.login_ok(village)
    assert upload(browser, PDF).status_code == 302
    value = attachment(session)
    assert value["name"] == "方案.pdf" and value["size"] == len(PDF)
    assert len(value["id"]) == 32  # an unguessable token, not a row number
    page = unescape(browser.get(FORM).get_data(as_text=True))
    link = f"{FORM}/files/{value['id']}"
    assert f'href="{link}"' in page and "方案.pdf" in page

    download = browser.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_file_stays_when_the_form_is_saved_again(browser, village, session):
    browser.login_ok(village)
    upload(browser, PDF)
    token = attachment(session)["id"]
    assert browser.post(FORM, {"revision": "1", "f_found": "3", "action": "save"}).status_code \
        == 302
    assert attachment(session)["id"] == token


def test_removing_or_replacing_keeps_the_old_file_in_the_history(browser, village, session):
    browser.login_ok(village)
    upload(browser, PDF)
    first = attachment(session)["id"]
    assert upload(browser, b"second version", "方案-v2.pdf", revision="1").status_code == 302
    second = attachment(session)["id"]
    assert second != first
    assert browser.post(FORM, {"revision": "2", "f_plan_file-remove": "y",
                               "action": "save"}).status_code == 302
    assert attachment(session) is None
    # Earlier revisions still refer to both files, so nothing is lost.
    assert browser.get(f"{FORM}/files/{first}").data == PDF
    assert browser.get(f"{FORM}/files/{second}").data == b"second version"


def test_a_file_over_the_fields_limit_is_refused_and_nothing_saved(browser, village, session):
    browser.login_ok(village)
    response = upload(browser, b"x" * (1024 * 1024 + 1), f_reporter="王五")
    assert response.status_code == 422
    html = unescape(response.get_data(as_text=True))
    field = html[html.index('id="field-plan_file"'):]
    assert "方案文件：文件超过 1 MB。" in field[:field.index("</div>")]
    assert "报表未保存，文件“方案.pdf”未保留，请重新选择。" in html
    assert re.search(r'name="f_reporter"[^>]*value="王五"', html)  # what was typed stays
    assert count(session, Report) == 0 and count(session, StoredFile) == 0


def test_an_empty_file_is_refused(browser, village, session):
    browser.login_ok(village)
    response = upload(browser, b"")
    assert response.status_code == 422
    assert count(session, StoredFile) == 0


def test_a_request_over_the_servers_limit_is_refused(app, browser, village, session):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    browser.login_ok(village)
    assert upload(browser, b"x" * (65 * 1024)).status_code == 413
    assert count(session, StoredFile) == 0


def test_the_file_input_knows_its_limit(browser, village):
    browser.login_ok(village)
    html = browser.get(FORM).get_data(as_text=True)
    assert re.search(r'data-max-bytes="1048576"[^>]*name="f_plan_file-file"', html)


def test_downloads_are_limited_to_the_reports_within_reach(app, browser, village, session,
                                                           tree, make_user):
    browser.login_ok(village)
    upload(browser, PDF)
    token = attachment(session)["id"]
    link = f"{FORM}/files/{token}"

    def person(name, role, unit):
        return type(browser)(app.test_client()).login_ok(make_user(name, role, tree[unit]))

    # The town above the village may read it; another town and another village may not.
    assert person("ta", Role.CONSOLIDATOR, "TA").get(link).status_code == 200
    assert person("tb", Role.CONSOLIDATOR, "TB").get(link).status_code == 404
    neighbour = person("va2", Role.SUBMITTER, "VA2")
    assert neighbour.get(link).status_code == 404
    # The token does not open the file through another report either.
    assert neighbour.get(f"/reports/sample/VA2/2024Q2/files/{token}").status_code == 404
    assert browser.get(f"{FORM}/files/{'0' * 32}").status_code == 404
