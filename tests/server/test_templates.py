"""Publishing templates: the catalogue, new versions, uploads and the admin pages."""

import io
from html import unescape

import pytest

from forms.loader import CATALOG_DIR, DefinitionError, catalog_files
from server.cli import cli
from server.db import unit_of_work
from server.models import Role, TemplateVersion
from server.services import templates as template_service

CHIDIAN = CATALOG_DIR / "000_chidian_progress.yaml"


def test_loading_the_catalogue_twice_changes_nothing(session):
    with unit_of_work(session):
        first = template_service.load_files(session)
    assert {r.status for r in first} == {"created"}
    assert len(first) == len(catalog_files()) == 9
    with unit_of_work(session):
        again = template_service.load_files(session)
    assert {r.status for r in again} == {"unchanged"}
    assert session.query(TemplateVersion).count() == 9


def test_a_changed_file_becomes_the_next_version(session, tmp_path):
    with unit_of_work(session):
        template_service.load_files(session, [CHIDIAN])
    changed = tmp_path / "chidian.yaml"
    changed.write_text(CHIDIAN.read_text(encoding="utf-8").replace(
        "title_en:", "title_en: (revised)", 1), encoding="utf-8")
    with unit_of_work(session):
        [result] = template_service.load_files(session, [changed])
    assert (result.key, result.version, result.status) == ("chidian-progress", 2, "updated")
    v2 = template_service.get_definition(session, "chidian-progress", 2)
    assert v2.version == 2 and v2.title_en.startswith("(revised)")
    # The first version is kept as it was: old reports still render with it.
    assert template_service.get_definition(session, "chidian-progress", 1).version == 1


def test_a_broken_file_publishes_nothing(session, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: x\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(DefinitionError), unit_of_work(session):
        template_service.load_files(session, [CHIDIAN, broken])
    assert session.query(TemplateVersion).count() == 0


def test_retired_versions_are_not_served(session):
    with unit_of_work(session):
        template_service.load_files(session, [CHIDIAN])
    row = template_service.get_version(session, "chidian-progress", 1)
    with unit_of_work(session):
        template_service.set_retired(session, row, True)
    assert template_service.get_definition(session, "chidian-progress", 1) is None


def test_cli_load_and_list(app, tmp_path, monkeypatch):
    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    runner = app.test_cli_runner()
    loaded = runner.invoke(cli, ["templates", "load", str(CHIDIAN)])
    assert loaded.exit_code == 0, loaded.output
    assert "chidian-progress: version 1 published (new template)." in loaded.output
    again = runner.invoke(cli, ["templates", "load", str(CHIDIAN)])
    assert "chidian-progress: unchanged, version 1 stays current." in again.output
    listed = runner.invoke(cli, ["templates", "list"])
    assert listed.output.startswith("chidian-progress\tv1\t1\t池店镇")
    broken = tmp_path / "broken.yaml"
    broken.write_text(CHIDIAN.read_text(encoding="utf-8").replace(
        "kind: integer", "kind: number", 1), encoding="utf-8")
    failed = runner.invoke(cli, ["templates", "load", str(broken)])
    assert failed.exit_code == 1
    assert "broken.yaml: section 1 “" in failed.output
    assert "(sections[0].items[0].fields[0].kind, " in failed.output
    assert "“number” is not allowed: use one of text (Text)" in failed.output


def test_cli_list_when_empty(app, monkeypatch):
    monkeypatch.setenv("TIANBAO_LOCALE", "zh_CN")
    listed = app.test_cli_runner().invoke(cli, ["templates", "list"])
    assert "tianbao templates load" in listed.output and "No templates" not in listed.output


@pytest.fixture
def admin(make_user):
    return make_user("boss", Role.ADMIN)


def upload(browser, data: bytes, name: str):
    return browser.post("/admin/templates", {"file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")


def test_admin_uploads_a_definition_and_sees_it(browser, admin, session):
    browser.login_ok(admin)
    empty = browser.get("/admin/templates").get_data(as_text=True)
    assert "暂无模板" in empty
    response = upload(browser, CHIDIAN.read_bytes(), "chidian.yaml")
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "chidian-progress 第 1 版已发布" in page
    assert "严格落实重点行业领域标准规范" in page and "每季度" in page
    again = browser.get(upload(browser, CHIDIAN.read_bytes(), "chidian.yaml")
                        .headers["Location"]).get_data(as_text=True)
    assert "没有变化" in again
    assert session.query(TemplateVersion).count() == 1


def test_upload_errors_name_the_place_and_change_nothing(browser, admin, session):
    browser.login_ok(admin)
    bad = CHIDIAN.read_text(encoding="utf-8").replace("kind: integer", "kind: number", 1)
    response = upload(browser, bad.encode("utf-8"), "bad.yaml")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "定义未发布" in page and "sections[0].items[0].fields[0].kind" in page
    assert "不能填写「number」，必须是以下之一：text（文本）" in page
    wrong_type = upload(browser, b"PK\x03\x04", "x.xlsx")
    assert wrong_type.status_code == 400
    assert session.query(TemplateVersion).count() == 0


def test_template_pages_are_for_administrators_only(browser, make_user, tree, session):
    with unit_of_work(session):
        template_service.load_files(session, [CHIDIAN])
    browser.login_ok(make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]))
    assert browser.get("/admin/templates").status_code == 403
    assert browser.get("/admin/templates/chidian-progress").status_code == 403


def test_retire_and_restore_from_the_page(browser, admin, session):
    with unit_of_work(session):
        template_service.load_files(session, [CHIDIAN])
    browser.login_ok(admin)
    path = "/admin/templates/chidian-progress/v1"
    response = browser.post(f"{path}/retire", token_from=path)
    assert response.status_code == 302
    session.expire_all()
    assert template_service.get_version(session, "chidian-progress", 1).retired
    assert browser.get("/admin/templates/nope").status_code == 404
    assert browser.get("/admin/templates/chidian-progress/v9").status_code == 404


def test_the_template_page_states_targets_and_phases(browser, admin, session):
    with unit_of_work(session):
        template_service.load_files(session, [CHIDIAN])
    browser.login_ok(admin)
    page = unescape(browser.get("/admin/templates/chidian-progress").get_data(as_text=True))
    assert "目标：2024年底前 ≥ 100%（占2023年及以前排查发现的重大事故隐患存量）" in page
    assert "目标：2026年底前每季度至少 1 次" in page
    assert "目标：2025年底前 ≥ 1 家" in page
    assert "动员部署（2024年5月1日 – 2024年5月31日）" in page
    assert "总结评估（2026年10月1日 – 2026年12月31日）" in page
