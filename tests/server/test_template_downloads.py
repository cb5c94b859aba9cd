"""Downloading any published version of a template as YAML, JSON or XLSForm, on the
administrators' page and with ``tianbao templates export``."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from pyxform.xls2xform import convert

from forms.definition import Definition
from forms.loader import parse_definition
from server.cli import cli
from server.db import unit_of_work
from server.models import Role
from server.services import templates as template_service


@pytest.fixture
def published(session):
    """The catalogue published, and a second version of jicui-roster."""
    with unit_of_work(session):
        template_service.load_files(session)
        roster = template_service.latest(session, "jicui-roster").definition
        template_service.publish(session, roster.model_copy(update={"title": "修订后的名单"}),
                                 origin="upload")
    return session


@pytest.fixture
def admin(browser, make_user, published):
    make_user("boss", Role.ADMIN)
    return browser.login_ok("boss")


def test_the_template_page_links_the_shown_versions_downloads(admin):
    page = admin.get("/admin/templates/jicui-roster/v1").get_data(as_text=True)
    for ending in ("yaml", "json", "xlsx"):
        assert f'href="/admin/templates/jicui-roster/v1/definition.{ending}"' in page
    latest = admin.get("/admin/templates/jicui-roster").get_data(as_text=True)
    assert 'href="/admin/templates/jicui-roster/v2/definition.yaml"' in latest
    assert "下载此版本" in latest


def test_yaml_and_json_downloads_load_back_as_that_version(admin, published):
    old = template_service.get_version(published, "jicui-roster", 1).definition
    response = admin.get("/admin/templates/jicui-roster/v1/definition.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="jicui-roster-v1.yaml"'
    assert parse_definition(response.data) == old
    response = admin.get("/admin/templates/jicui-roster/v2/definition.json")
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="jicui-roster-v2.json"'
    assert Definition.model_validate_json(response.data).title == "修订后的名单"
    assert json.loads(response.data)["version"] == 2


def test_xlsform_download_is_a_workbook_pyxform_converts(admin):
    response = admin.get("/admin/templates/cangyuan-plan/v1/definition.xlsx")
    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "cangyuan-plan-v1-xlsform.xlsx" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["survey", "choices", "settings"]
    assert book["settings"]["B2"].value == "cangyuan-plan"
    convert(response.data, file_type=".xlsx")


def test_unknown_template_or_version_answers_404(admin):
    assert admin.get("/admin/templates/nope/v1/definition.yaml").status_code == 404
    assert admin.get("/admin/templates/jicui-roster/v9/definition.json").status_code == 404
    assert admin.get("/admin/templates/jicui-roster/v1/definition.txt").status_code == 404


def test_only_administrators_download_definitions(browser, make_user, published, tree):
    make_user("clerk", Role.SUBMITTER, tree["VA1"])
    browser.login_ok("clerk")
    response = browser.get("/admin/templates/jicui-roster/v1/definition.yaml")
    assert response.status_code in (403, 404)
    assert b"key: jicui-roster" not in response.data


# -- tianbao templates export ------------------------------------------------------------


@pytest.fixture
def run(app, monkeypatch):
    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(cli, list(args))


def test_export_writes_the_latest_version_as_yaml_to_standard_output(run, published):
    result = run("templates", "export", "jicui-roster")
    assert result.exit_code == 0, result.output
    definition = parse_definition(result.stdout_bytes)
    assert (definition.version, definition.title) == (2, "修订后的名单")


def test_export_of_a_version_as_json_or_xlsform_into_a_file(run, published, tmp_path):
    result = run("templates", "export", "jicui-roster", "--version", "1", "--to", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout_bytes)["version"] == 1
    target = tmp_path / "roster.xlsx"
    result = run("templates", "export", "jicui-roster", "--to", "xlsform", "-o", str(target))
    assert result.exit_code == 0
    assert "jicui-roster version 2 written to" in result.stderr
    assert convert(target.read_bytes(), file_type=".xlsx").xform.count('version="2"') == 1


def test_xlsform_goes_to_standard_output_only_when_it_is_not_a_terminal(run, published,
                                                                         monkeypatch):
    piped = run("templates", "export", "cangyuan-plan", "--to", "xlsform")
    assert piped.exit_code == 0
    assert openpyxl.load_workbook(io.BytesIO(piped.stdout_bytes)).sheetnames[0] == "survey"

    import server.cli.templates as templates_cli

    monkeypatch.setattr(templates_cli, "_stdout_is_terminal", lambda: True)
    result = run("templates", "export", "cangyuan-plan", "--to", "xlsform")
    assert result.exit_code == 1
    assert result.stdout_bytes == b""
    assert "name a file with -o FILE" in result.stderr


def test_export_refuses_an_unknown_key_or_version_in_the_users_language(app, run, published,
                                                                         monkeypatch):
    result = run("templates", "export", "nope")
    assert (result.exit_code, result.stderr.strip()) == (1, "There is no template “nope”.")
    result = run("templates", "export", "jicui-roster", "--version", "7")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Template “jicui-roster” has no version 7."
    monkeypatch.setenv("TIANBAO_LOCALE", "zh_CN")
    result = app.test_cli_runner().invoke(cli, ["templates", "export", "nope"])
    assert (result.exit_code, result.stderr.strip()) == (1, "没有模板“nope”。")
