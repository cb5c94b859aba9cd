"""An administrator downloads a template version as YAML and as an XLSForm in Chromium."""

from __future__ import annotations

import pytest
from pyxform.xls2xform import convert

from forms.loader import CATALOG_DIR, parse_definition
from server.db import db_session, unit_of_work
from server.services.templates import load_files

pytestmark = pytest.mark.browser


@pytest.fixture
def roster(live_server):
    with live_server.app.app_context():
        session = db_session()
        with unit_of_work(session):
            load_files(session, [CATALOG_DIR / "002_jicui_roster.yaml"])


def test_admin_downloads_the_shown_version(page, log_in, roster, tmp_path):
    log_in(page, "admin")
    page.goto("/admin/templates/jicui-roster")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="XLSForm（.xlsx，可用于 ODK 和 KoboToolbox）").click()
    download = download_info.value
    assert download.suggested_filename == "jicui-roster-v1-xlsform.xlsx"
    workbook = tmp_path / download.suggested_filename
    download.save_as(workbook)
    assert 'id="jicui-roster"' in convert(workbook.read_bytes(), file_type=".xlsx").xform

    with page.expect_download() as download_info:
        page.get_by_role("link", name="模板定义（YAML）").click()
    download = download_info.value
    assert download.suggested_filename == "jicui-roster-v1.yaml"
    saved = tmp_path / "roster.yaml"
    download.save_as(saved)
    assert parse_definition(saved.read_bytes()).key == "jicui-roster"
