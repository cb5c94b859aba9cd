"""The designer's pages: only administrators, every edit a POST, rules checked as typed,
preview, publishing with its warnings, and a draft from an imported file."""

from __future__ import annotations

import io
import json
import re

import pytest
from designer_helpers import build_monthly_draft
from openpyxl import load_workbook

from server.db import unit_of_work
from server.models import Role, TemplateDraft
from server.services import designer, reporting, units
from server.services import templates as template_service

EN = {"Accept-Language": "en"}


@pytest.fixture
def admin(make_user):
    return make_user("boss", Role.ADMIN)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def draft_row(session, draft_id) -> TemplateDraft:
    session.expire_all()
    return session.get(TemplateDraft, draft_id)


def edit(browser, draft_id, path, data, *, expect=303):
    """Post to one of the draft's forms with the draft's current revision, as the page does."""
    page = page_text(browser.get(f"/admin/designer/{draft_id}"))
    revision = re.search(r'name="revision"[^>]*value="(\d+)"', page)[1]
    response = browser.post(f"/admin/designer/{draft_id}/{path}", {"revision": revision, **data},
                            token_from=f"/admin/designer/{draft_id}", headers=EN)
    assert response.status_code == expect, page_text(response)[:2000]
    return response


def test_nobody_but_an_administrator_reaches_the_designer(browser, session, admin, make_user,
                                                          tree):
    draft = build_monthly_draft(session, admin)
    make_user("town", Role.CONSOLIDATOR, tree["TA"])
    assert browser.get("/admin/designer").status_code == 302  # to the login page
    browser.login_ok("town")
    for path in ("/admin/designer", f"/admin/designer/{draft.id}",
                 f"/admin/designer/{draft.id}/preview", f"/admin/designer/{draft.id}/publish",
                 f"/admin/designer/{draft.id}/preview.xlsx"):
        assert browser.get(path).status_code == 403, path
    token = browser.csrf_token("/auth/account")
    for path in ("meta", "add", "node-action", "check-rule", "publish", "delete"):
        response = browser.client.post(f"/admin/designer/{draft.id}/{path}", data={
            "csrf_token": token, "revision": str(draft.revision), "title": "hijack",
            "collection": "sections", "path": "sections.0", "action": "delete"})
        assert response.status_code == 403, path
    assert draft_row(session, draft.id).revision == draft.revision


def test_an_administrator_builds_a_template_page_by_page(browser, session, admin):
    browser.login_ok("boss")
    listing = browser.get("/admin/designer", headers=EN)
    assert "No drafts" in page_text(listing)
    created = browser.post("/admin/designer/new", {}, token_from="/admin/designer")
    assert created.status_code == 303
    draft_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    page = page_text(browser.get(f"/admin/designer/{draft_id}", headers=EN))
    assert "The template needs a title." in page and "Add at least one section." in page

    edit(browser, draft_id, "meta", {"title": "安全检查月报", "title_en": "Monthly inspections",
                                     "issuer": "某镇人民政府",
                                     "plan_title": "三年行动方案", "doc_number": "某政〔2024〕1号",
                                     "plan_date": "2024-05-22"})
    edit(browser, draft_id, "schedule", {"frequency": "quarterly", "due_rule": "after_end",
                                         "months": "1", "day": "5", "first": "2024Q2",
                                         "last": "2026Q4"})
    page = page_text(browser.get(f"/admin/designer/{draft_id}", headers=EN))
    assert "11 periods" in page and "2024 Q2" in page and "due Jul 5, 2024" in page
    assert 'value="安全检查月报"' in page and 'value="Monthly inspections"' in page

    added = edit(browser, draft_id, "add", {"collection": "sections"})
    assert "edit=sections.0" in added.headers["Location"]
    edit(browser, draft_id, "node", {"path": "sections.0", "a_title": "隐患排查", "a_number": "一"})
    edit(browser, draft_id, "add", {"parent": "sections.0", "collection": "items"})
    edit(browser, draft_id, "node", {"path": "sections.0.items.0", "a_title": "排查整治",
                                     "a_number": "1"})
    for kind in ("integer", "integer", "longtext"):
        edit(browser, draft_id, "add", {"parent": "sections.0.items.0", "collection": "fields",
                                        "kind": kind})
    fields = "sections.0.items.0.fields"
    editor = page_text(browser.get(f"/admin/designer/{draft_id}?edit={fields}.0", headers=EN))
    assert "Unit of measure" in editor and "Cumulative" in editor
    assert "Options, one a line" not in editor  # not for a number
    edit(browser, draft_id, "node", {"path": f"{fields}.0", "a_label": "发现隐患",
                                     "a_kind": "integer", "a_unit": "项", "a_min": "0",
                                     "a_cumulative": "y", "a_cumulative_span": "year",
                                     "a_required": "y", "a_target__value": "100",
                                     "a_target__comparison": ">=",
                                     "a_target__by": "2026-12-31",
                                     "a_cumulative_severity": "warning",
                                     "a_label_en": "Hazards found"})
    edit(browser, draft_id, "node", {"path": f"{fields}.1", "a_label": "已整改",
                                     "a_kind": "integer", "a_unit": "项",
                                     "a_target__comparison": ">=", "a_target__value": ""})
    edit(browser, draft_id, "node", {"path": f"{fields}.2", "a_label": "工作情况",
                                     "a_kind": "longtext"})
    # the long text goes first, by the "up" button, twice
    edit(browser, draft_id, "node-action", {"path": f"{fields}.2", "action": "up"})
    edit(browser, draft_id, "node-action", {"path": f"{fields}.1", "action": "up"})

    data = draft_row(session, draft_id).data
    found = data["sections"][0]["items"][0]["fields"]
    assert [f["label"] for f in found] == ["工作情况", "发现隐患", "已整改"]
    assert found[1]["target"] == {"value": "100", "comparison": ">=", "by": "2026-12-31"}
    assert found[1]["cumulative"] is True and found[1]["cumulative_span"] == "year"
    assert "target" not in found[2]  # a comparison alone makes no target
    assert found[1]["cumulative_severity"] == "warning" and found[1]["label_en"] == "Hazards found"
    page = page_text(browser.get(f"/admin/designer/{draft_id}", headers=EN))
    assert "No problems: the draft can be published." in page

    # a number field made a single choice loses its bounds and unit and gets options
    edit(browser, draft_id, "node", {"path": f"{fields}.2", "a_label": "已整改",
                                     "a_kind": "choice", "a_unit": "项"})
    edit(browser, draft_id, "node", {"path": f"{fields}.2", "a_label": "是否整改",
                                     "a_kind": "choice", "a_choices": "是\n否\n"})
    choice = draft_row(session, draft_id).data["sections"][0]["items"][0]["fields"][2]
    assert "unit" not in choice and [c["label"] for c in choice["choices"]] == ["是", "否"]
    # the editor shows each option's code; a label corrected under it keeps the option
    yes, no = (c["value"] for c in choice["choices"])
    editor = page_text(browser.get(f"/admin/designer/{draft_id}?edit={fields}.2", headers=EN))
    assert f"{yes}: 是\n{no}: 否" in editor
    edit(browser, draft_id, "node", {"path": f"{fields}.2", "a_label": "是否整改",
                                     "a_kind": "choice",
                                     "a_choices": f"{yes}: 已整改 | Yes\n{no}: 否 | No"})
    choice = draft_row(session, draft_id).data["sections"][0]["items"][0]["fields"][2]
    assert [(c["value"], c["label"], c["label_en"]) for c in choice["choices"]] == [
        (yes, "已整改", "Yes"), (no, "否", "No")]


def test_a_stale_revision_is_refused_and_changes_nothing(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    response = browser.post(f"/admin/designer/{draft.id}/meta", {
        "revision": str(draft.revision - 1), "title": "旧页面上的标题", "issuer": "x",
        "plan_title": "y"}, token_from=f"/admin/designer/{draft.id}", headers=EN)
    assert response.status_code == 409
    assert "Another administrator changed this draft" in page_text(response)
    assert draft_row(session, draft.id).data["title"] == "月度安全检查情况"


def test_a_deleted_part_is_gone_and_a_missing_path_is_refused(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    edit(browser, draft.id, "node-action", {"path": "sections.0.items.0.fields.0",
                                            "action": "delete"})
    assert len(draft_row(session, draft.id).data["sections"][0]["items"][0]["fields"]) == 2
    response = edit(browser, draft.id, "node-action", {"path": "sections.5", "action": "up"},
                    expect=422)
    assert "That part of the draft does not exist." in page_text(response)


def test_rules_are_checked_as_they_are_typed(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    url = f"/admin/designer/{draft.id}/check-rule"

    def check(expr, lang="en"):
        response = browser.post(url, {"revision": str(draft.revision), "expr": expr},
                                token_from=f"/admin/designer/{draft.id}",
                                headers={"Accept-Language": lang})
        assert response.status_code == 200
        return response.get_json()

    assert check("field_2 <= field_1") == {
        "ok": True, "message": "The rule is well written.", "column": None, "unknown": []}
    wrong = check("field_2 <= ")
    assert wrong["ok"] is False and wrong["column"] == 12 and wrong["message"]
    unknown = check("field_2 <= found + rectified")
    assert unknown["unknown"] == ["found", "rectified"]
    assert unknown["message"] == "No field is called found, rectified."
    assert check("field_2 <= ", "zh-CN")["message"] != wrong["message"]  # in Chinese


def test_formulas_and_conditions_are_checked_as_they_are_typed(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    url = f"/admin/designer/{draft.id}/check-rule"

    def check(expr, checked_as, lang="en"):
        response = browser.post(url, {"revision": str(draft.revision), "expr": expr,
                                      "as": checked_as},
                                token_from=f"/admin/designer/{draft.id}",
                                headers={"Accept-Language": lang})
        assert response.status_code == 200
        return response.get_json()

    assert check("round(field_2 / field_1 * 100, 2)", "formula") == {
        "ok": True, "message": "The formula is well written.", "column": None, "unknown": []}
    assert check("field_2 <= field_1", "formula")["message"] == \
        "A formula gives a number from other fields, not a yes/no."
    assert check("unit_has('危化')", "condition")["message"] == "The condition is well written."
    assert check("field_1 + 1", "condition") == {
        "ok": False, "message": "A condition is true or false, not a number.", "column": None,
        "unknown": []}
    assert check("field_9 > 0", "condition")["unknown"] == ["field_9"]
    in_chinese = check("field_1 + 1", "condition", "zh-CN")["message"]
    assert in_chinese == "适用条件应为真或假，不能是数值。"
    # the field editor checks both inputs and offers the field picker once
    page = page_text(browser.get(
        f"/admin/designer/{draft.id}?edit=sections.0.items.0.fields.1", headers=EN))
    assert 'data-check-as="formula"' in page and 'data-check-as="condition"' in page
    assert page.count('id="rule-field-picker"') == 1


def test_the_rule_editor_picks_fields_by_label(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    edit(browser, draft.id, "add", {"collection": "rules"})
    edit(browser, draft.id, "node", {"path": "rules.0", "a_expr": "field_2 <= field_1",
                                     "a_severity": "error", "a_message": "整改数不能大于发现数"})
    page = page_text(browser.get(f"/admin/designer/{draft.id}?edit=rules.0", headers=EN))
    assert '<option value="field_1">指标1</option>' in page
    assert "[指标2] &lt;= [指标1]" in page  # the outline shows the rule with labels


def test_preview_shows_the_form_and_the_workbook(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    page = browser.get(f"/admin/designer/{draft.id}/preview", headers=EN)
    assert page.status_code == 200
    text = page_text(page)
    assert "Preview: 月度安全检查情况" in text and "指标1" in text and "工作情况" in text
    assert 'name="f_field_1"' in text and "Your unit" in text
    phone = page_text(browser.get(f"/admin/designer/{draft.id}/preview?width=phone"))
    assert "preview-phone" in phone
    workbook = browser.get(f"/admin/designer/{draft.id}/preview.xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.data)).worksheets[0]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
    assert any("月度安全检查情况" in c for c in cells) and "指标1" in " ".join(cells)


def test_an_incomplete_draft_has_no_preview(browser, session, admin):
    with unit_of_work(session):
        draft = designer.create_blank(session, admin)
    browser.login_ok("boss")
    response = browser.get(f"/admin/designer/{draft.id}/preview", headers=EN)
    assert response.status_code == 422
    assert "The template needs a title." in page_text(response)
    assert browser.get(f"/admin/designer/{draft.id}/preview.xlsx").status_code == 302


def test_publishing_shows_the_changes_and_asks_before_breaking_continuity(
        browser, session, admin, tree, make_assignment, make_user):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    first = browser.post(f"/admin/designer/{draft.id}/publish", {"revision": str(draft.revision)},
                         headers=EN)
    assert first.status_code == 303 and first.headers["Location"].endswith(
        "/admin/templates/template_1")
    version = template_service.latest(session, "template_1")
    period = version.definition.schedule.first
    make_assignment("monthly", version, tree["TA"])
    clerk = make_user("clerk", Role.SUBMITTER, tree["VA1"])
    with unit_of_work(session):
        view = reporting.load(session, clerk, "monthly", "VA1", period)
        reporting.save(session, clerk, view, {"field_1": 2})

    started = browser.post("/admin/designer/new/version", {"template": "template_1:1"},
                           token_from="/admin/designer")
    draft_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    edit(browser, draft_id, "node-action", {"path": "sections.0.items.0.fields.0",
                                            "action": "delete"})
    edit(browser, draft_id, "node", {"path": "sections.0.items.0.fields.0", "a_label": "指标二",
                                     "a_kind": "integer", "a_unit": "处"})
    page = page_text(browser.get(f"/admin/designer/{draft_id}/publish", headers=EN))
    assert "Changes against version 1" in page and "1 report was made under this template." in page
    assert "breaks continuity" in page and "removed" in page and "Unit of measure" in page
    refused = browser.post(f"/admin/designer/{draft_id}/publish",
                           {"revision": str(draft_row(session, draft_id).revision)}, headers=EN)
    assert refused.status_code == 422
    assert "may break the reading of 1 existing reports" in page_text(refused)
    assert template_service.latest(session, "template_1").version == 1
    done = browser.post(f"/admin/designer/{draft_id}/publish", {
        "revision": str(draft_row(session, draft_id).revision), "confirm": "y"}, headers=EN)
    assert done.status_code == 303
    assert template_service.latest(session, "template_1").version == 2
    assert "template_1 version 2 is published." in page_text(
        browser.get("/admin/templates/template_1", headers=EN))


PLAN = """某镇安全生产治本攻坚三年行动方案（2024—2026年）
某政〔2024〕12号
一、工作任务
（一）开展安全培训
1. 组织企业主要负责人培训，每年不少于2次。
2. 开展全员安全生产教育。
二、工作要求
各村每季度结束后5日内报送工作进展情况。
"""


def test_a_draft_from_a_plan_shows_what_the_reader_could_not_place(browser, session, admin):
    """The text reader, run in the upload sandbox, makes the draft; what it could not
    place is listed beside it with the source text."""
    browser.login_ok("boss")
    response = browser.post("/admin/designer/new/file", {
        "file": (io.BytesIO(PLAN.encode()), "plan.txt"), "kind": ""},
        token_from="/admin/designer", content_type="multipart/form-data")
    assert response.status_code == 303, page_text(response)[:2000]
    page = page_text(browser.get(response.headers["Location"], headers=EN))
    assert "What was read from plan.txt" in page
    assert "工作要求" in page and "paragraph 7" in page
    assert "holds no numbered tasks and was not made into items." in page
    assert "组织企业主要负责人培训，每年不少于2次" in page  # an item of the draft
    assert "Say who issued the plan." in page  # the plan names no issuer
    draft = session.scalars(designer.select(TemplateDraft)).one()
    assert draft.template_key == "template_1" and draft.origin == "import"
    assert draft.data["schedule"]["frequency"] == "quarterly"


def test_a_file_that_breaks_the_reader_is_refused_in_the_sandbox(browser, admin):
    browser.login_ok("boss")
    response = browser.post("/admin/designer/new/file", {
        "file": (io.BytesIO(b"PK\x03\x04 not really a document"), "plan.docx"), "kind": ""},
        token_from="/admin/designer", content_type="multipart/form-data", headers=EN)
    assert response.status_code == 422
    text = page_text(response)
    assert "plan.docx could not be read: it is damaged, protected" in text
    assert "No drafts" in text  # nothing was made


def test_a_reader_that_crashes_or_runs_too_long_refuses_the_file(app, monkeypatch):
    from exports import sandbox
    from server.services.errors import InvalidInput

    monkeypatch.setattr(sandbox, "run", lambda *a, **k: sandbox.Failure(sandbox.OVER_LIMIT))
    with app.test_request_context(headers=EN), pytest.raises(InvalidInput) as refused:
        designer.read_document(b"x", "plan.docx")
    assert "plan.docx" in str(refused.value)
    assert refused.value.field == "file"


def test_a_file_of_an_unknown_kind_is_refused(browser, admin):
    browser.login_ok("boss")
    response = browser.post("/admin/designer/new/file", {
        "file": (io.BytesIO(b"x"), "plan.pdf"), "kind": ""}, token_from="/admin/designer",
        content_type="multipart/form-data", headers=EN)
    assert response.status_code == 422
    assert "Tianbao cannot tell what kind of file plan.pdf is" in page_text(response)


def test_the_template_page_starts_a_draft_of_the_next_version(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    with unit_of_work(session):
        designer.publish(session, admin, draft, draft.revision)
    browser.login_ok("boss")
    page = page_text(browser.get("/admin/templates/template_1", headers=EN))
    assert "Edit in the designer as the next version" in page and "designer" in page
    started = browser.post("/admin/designer/new/version", {"template": "template_1:1"},
                           token_from="/admin/templates/template_1")
    assert started.status_code == 303
    copy = session.scalars(designer.select(TemplateDraft)).one()
    assert (copy.template_key, copy.base_version, copy.origin) == ("template_1", 1, "version")
    assert browser.post("/admin/designer/new/version", {"template": "template_1:9"},
                        token_from="/admin/designer").status_code == 404


def test_a_schedule_changed_to_another_frequency_keeps_its_window(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    year = draft.data["schedule"]["first"][:4]
    browser.login_ok("boss")
    edit(browser, draft.id, "schedule", {"frequency": "quarterly", "due_rule": "in_period",
                                         "month": "3", "day": "25", "first": f"{year}-01",
                                         "last": f"{year}-12"})
    schedule = draft_row(session, draft.id).data["schedule"]
    assert (schedule["first"], schedule["last"]) == (f"{year}Q1", f"{year}Q4")
    assert schedule["due"] == {"rule": "in_period", "month": 3, "day": 25}
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert "4 periods" in page and f"due Mar 25, {year}" in page

    edit(browser, draft.id, "schedule", {"frequency": "once", "due_rule": "after_end",
                                         "fixed_date": "2024-04-10", "first": "x", "last": "y"})
    schedule = draft_row(session, draft.id).data["schedule"]
    assert schedule == {"frequency": "once", "due": {"rule": "fixed", "date": "2024-04-10"},
                        "first": "once", "last": "once"}
    edit(browser, draft.id, "schedule", {"frequency": "monthly", "due_rule": "after_end",
                                         "months": "1", "day": "5", "first": "2024-13",
                                         "last": "2024-12"})
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert "This schedule makes no periods yet" in page


def test_tables_with_columns_and_attachments_are_built_in_the_editor(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    item = "sections.0.items.0"
    edit(browser, draft.id, "add", {"parent": item, "collection": "fields", "kind": "table"})
    table = f"{item}.fields.3"
    page = page_text(browser.get(f"/admin/designer/{draft.id}?edit={table}", headers=EN))
    assert "Columns of the table" in page and "Fewest rows" in page
    assert f"{table.replace('.', '-')}-columns-0" in page
    edit(browser, draft.id, "node", {"path": table, "a_label": "隐患清单", "a_kind": "table",
                                     "a_min_rows": "1"})
    edit(browser, draft.id, "node", {"path": f"{table}.columns.0", "a_label": "隐患描述",
                                     "a_kind": "text"})
    edit(browser, draft.id, "add", {"parent": table, "collection": "columns", "kind": "date"})
    edit(browser, draft.id, "node", {"path": f"{table}.columns.1", "a_label": "整改期限",
                                     "a_kind": "date"})
    refused = edit(browser, draft.id, "add", {"parent": table, "collection": "columns",
                                              "kind": "table"}, expect=422)
    assert "Choose the kind of the new field." in page_text(refused)
    edit(browser, draft.id, "add", {"parent": item, "collection": "fields",
                                    "kind": "attachment"})
    edit(browser, draft.id, "node", {"path": f"{item}.fields.4", "a_label": "现场照片",
                                     "a_kind": "attachment", "a_max_size_mb": "5"})
    with browser.client.application.test_request_context():
        checked = designer.validate(draft_row(session, draft.id))
    assert checked.problems == []
    table_field = checked.definition.field("field_4")
    assert [c.label for c in table_field.columns] == ["隐患描述", "整改期限"]
    assert table_field.min_rows == 1
    assert str(checked.definition.field("field_5").max_size_mb) == "5"


def test_a_draft_is_deleted_only_from_its_current_revision(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    draft_id, revision = draft.id, draft.revision
    browser.login_ok("boss")
    stale = browser.post(f"/admin/designer/{draft_id}/delete",
                         {"revision": str(revision - 1)}, headers=EN)
    assert stale.status_code == 409 and draft_row(session, draft_id) is not None
    gone = browser.post(f"/admin/designer/{draft_id}/delete", {"revision": str(revision)},
                        token_from=f"/admin/designer/{draft_id}")
    assert gone.status_code == 303 and draft_row(session, draft_id) is None
    assert browser.get(f"/admin/designer/{draft_id}").status_code == 404


def test_an_item_fills_the_text_columns_of_the_printed_table(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    edit(browser, draft.id, "add", {"collection": "columns"})
    edit(browser, draft.id, "node", {"path": "columns.0", "a_label": "具体内容",
                                     "a_source": "text", "a_input_kind": ""})
    item = "sections.0.items.0"
    page = page_text(browser.get(f"/admin/designer/{draft.id}?edit={item}", headers=EN))
    assert "具体内容" in page and 'name="a_texts__col_1"' in page
    edit(browser, draft.id, "node", {"path": item, "a_title": "隐患排查整治", "a_number": "1",
                                     "a_texts__col_1": "全面排查企业安全隐患"})
    stored = draft_row(session, draft.id)
    assert stored.data["sections"][0]["items"][0]["texts"] == {"col_1": "全面排查企业安全隐患"}
    with browser.client.application.test_request_context():
        checked = designer.validate(stored)
    assert checked.problems == []
    assert checked.definition.sections[0].items[0].texts["col_1"] == "全面排查企业安全隐患"
    edit(browser, draft.id, "node-action", {"path": "columns.0", "action": "delete"})
    assert "texts" not in draft_row(session, draft.id).data["sections"][0]["items"][0]


def test_targets_of_every_kind_are_set_in_the_field_editor(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    fields = "sections.0.items.0.fields"
    page = page_text(browser.get(f"/admin/designer/{draft.id}?edit={fields}.1", headers=EN))
    denominators = re.search(r'<select[^>]*name="a_target__denominator".*?</select>', page,
                             re.S)[0]
    assert '<option value="field_1">指标1</option>' in denominators  # a share of another field
    assert '<option value="field_2">' not in denominators  # never of itself
    edit(browser, draft.id, "node", {
        "path": f"{fields}.1", "a_label": "指标2", "a_kind": "integer",
        "a_target__kind": "share", "a_target__value": "100", "a_target__comparison": "",
        "a_target__by": "2026-12-31", "a_target__denominator": "field_1",
        "a_target__every": "", "a_target__scope": "unit"})
    edit(browser, draft.id, "node", {
        "path": f"{fields}.0", "a_label": "指标1", "a_kind": "integer",
        "a_target__kind": "stock", "a_target__value": "", "a_target__comparison": "",
        "a_target__by": "2025-12-31", "a_target__every": "", "a_target__scope": "jurisdiction",
        "a_target__basis": "存量隐患2025年底前清零"})
    stored = draft_row(session, draft.id)
    with browser.client.application.test_request_context():
        checked = designer.validate(stored)
    assert checked.problems == []
    share, stock = checked.definition.field("field_2").target, \
        checked.definition.field("field_1").target
    assert (share.kind, share.denominator, share.value, share.scope) == (
        "share", "field_1", 100, "unit")
    assert (stock.kind, stock.comparison, stock.value, stock.basis) == (
        "stock", "<=", 0, "存量隐患2025年底前清零")
    # a recurring target without its window is a problem of the draft, shown on the page
    edit(browser, draft.id, "node", {
        "path": f"{fields}.1", "a_label": "指标2", "a_kind": "integer",
        "a_target__kind": "recurring", "a_target__value": "1", "a_target__comparison": "",
        "a_target__by": "2026-12-31", "a_target__every": "", "a_target__scope": "unit"})
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert "No problems" not in page and "sections[0].items[0].fields[1].target" in page


def test_a_rate_is_made_a_calculated_field_in_the_editor(browser, session, admin):
    draft = build_monthly_draft(session, admin, numbers=3)
    browser.login_ok("boss")
    edit(browser, draft.id, "node", {"path": "sections.0.items.0.fields.2", "a_label": "整改率",
                                     "a_kind": "percent", "a_unit": "%", "a_min": "0",
                                     "a_formula": "round(field_2 / field_1 * 100, 2)"})
    stored = json.loads(draft_row(session, draft.id).definition_json)
    fields = stored["sections"][0]["items"][0]["fields"]
    assert [f["key"] for f in fields[:2]] == ["field_1", "field_2"]
    assert fields[2]["formula"] == "round(field_2 / field_1 * 100, 2)"


def test_applicability_is_set_on_sections_items_and_fields(browser, session, admin,
                                                          make_unit):
    draft = build_monthly_draft(session, admin)
    plant = make_unit("chem1", kind="company", name="某化工厂")
    with unit_of_work(session):
        units.set_tags(session, session.merge(plant), "有限空间")
    browser.login_ok("boss")
    fields = "sections.0.items.0.fields"
    page = page_text(browser.get(f"/admin/designer/{draft.id}?edit=sections.0", headers=EN))
    assert "Applies only when" in page and "危化、粉尘涉爆" in page  # the tags offered
    picker = re.search(r'<select id="tag-picker".*?</select>', page, re.S)[0]
    assert picker.index("有限空间") < picker.index("危化")  # a tag units carry comes first
    assert '<option value="unit_has(\'有限空间\')">有限空间</option>' in picker
    zh = page_text(browser.get(f"/admin/designer/{draft.id}?edit={fields}.1"))
    assert "适用条件" in zh
    edit(browser, draft.id, "node", {"path": "sections.0", "a_title": "检查情况",
                                     "a_number": "一", "a_applies_when": "unit_has('危化')",
                                     "a_applies_basis": "危化企业每月报送"})
    edit(browser, draft.id, "node", {"path": f"{fields}.1", "a_label": "指标2",
                                     "a_kind": "integer", "a_applies_when": "field_1 > 0"})
    stored = draft_row(session, draft.id)
    with browser.client.application.test_request_context():
        checked = designer.validate(stored)
    assert checked.problems == []
    assert checked.definition.sections[0].applies_when == "unit_has('危化')"
    assert checked.definition.sections[0].applies_basis == "危化企业每月报送"
    assert checked.definition.field("field_2").applies_when == "field_1 > 0"
    # a condition on the field it would hide is a problem of the draft, shown on the page
    edit(browser, draft.id, "node", {"path": f"{fields}.1", "a_label": "指标2",
                                     "a_kind": "integer", "a_applies_when": "field_2 > 0"})
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert "No problems" not in page
    assert "sections[0].items[0].fields[1].applies_when" in page
    # emptied, it applies always again
    edit(browser, draft.id, "node", {"path": f"{fields}.1", "a_label": "指标2",
                                     "a_kind": "integer", "a_applies_when": ""})
    stored = json.loads(draft_row(session, draft.id).definition_json)
    assert "applies_when" not in stored["sections"][0]["items"][0]["fields"][1]


def test_an_item_moves_to_another_section_keeping_its_key(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    with unit_of_work(session):
        section = designer.change(session, admin, draft, draft.revision,
                                  designer.add(None, "sections"))
        designer.change(session, admin, draft, draft.revision,
                        designer.set_attributes(section, {"title": "整改情况", "number": "二"}))
    browser.login_ok("boss")
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert 'id="move-sections-0-items-0"' in page and '<option value="1">二 整改情况</option>' \
        in page and '<option value="0">' not in page  # only the other sections
    key = draft_row(session, draft.id).data["sections"][0]["items"][0]["key"]
    edit(browser, draft.id, "move-item", {"path": "sections.0.items.0", "section": "1"})
    data = draft_row(session, draft.id).data
    assert data["sections"][0]["items"] == [] and [
        i["key"] for i in data["sections"][1]["items"]] == [key]
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert "Moved." in page
    # a section that does not exist is refused and changes nothing
    refused = edit(browser, draft.id, "move-item", {"path": "sections.1.items.0",
                                                   "section": "7"}, expect=422)
    assert "Choose the section to move the item to." in page_text(refused)
    assert [i["key"] for i in draft_row(session, draft.id).data["sections"][1]["items"]] == [key]


def test_phases_are_listed_edited_and_must_not_overlap(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert "Phases of the plan" in page and "Add a phase" in page
    for _ in range(2):
        edit(browser, draft.id, "add", {"parent": "", "collection": "phases"})
    edit(browser, draft.id, "node", {"path": "phases.0", "a_name": "动员部署",
                                     "a_name_en": "Mobilisation", "a_start": "2024-05-01",
                                     "a_end": "2024-06-30", "a_basis": "2024年6月底前"})
    edit(browser, draft.id, "node", {"path": "phases.1", "a_name": "排查整治",
                                     "a_start": "2024-06-15", "a_end": "2025-12-31"})
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert "动员部署" in page and "2024-05-01 – 2024-06-30" in page
    assert "No problems" not in page  # the overlap is the draft's problem, named
    assert "The phase “排查整治” starts before the phase “动员部署” ends." in page
    edit(browser, draft.id, "node", {"path": "phases.1", "a_name": "排查整治",
                                     "a_start": "2024-07-01", "a_end": "2025-12-31"})
    stored = draft_row(session, draft.id)
    with browser.client.application.test_request_context():
        checked = designer.validate(stored)
    assert checked.problems == []
    assert [(p.key, p.name, p.name_en, str(p.start), str(p.end), p.basis)
            for p in checked.definition.phases] == [
        ("phase_1", "动员部署", "Mobilisation", "2024-05-01", "2024-06-30", "2024年6月底前"),
        ("phase_2", "排查整治", None, "2024-07-01", "2025-12-31", None)]
    zh = page_text(browser.get(f"/admin/designer/{draft.id}?edit=phases.0"))
    assert "阶段名称" in zh
    edit(browser, draft.id, "node-action", {"path": "phases.0", "action": "delete"})
    assert [p["name"] for p in draft_row(session, draft.id).data["phases"]] == ["排查整治"]


def test_a_one_off_report_falls_due_at_the_end_of_a_phase(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert "Or due at the end of a phase" not in page  # no phases, no choice
    edit(browser, draft.id, "add", {"parent": "", "collection": "phases"})
    edit(browser, draft.id, "node", {"path": "phases.0", "a_name": "集中攻坚",
                                     "a_start": "2024-07-01", "a_end": "2025-06-30"})
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert '<option value="phase_1">集中攻坚</option>' in page
    edit(browser, draft.id, "schedule", {"frequency": "once", "due_rule": "fixed",
                                         "fixed_date": "", "due_phase": "phase_1",
                                         "first": "once", "last": "once"})
    stored = draft_row(session, draft.id)
    with browser.client.application.test_request_context():
        checked = designer.validate(stored)
    assert checked.problems == []
    assert checked.definition.due_phase == "phase_1"
    assert str(checked.definition.schedule.due.date) == "2025-06-30"
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert '<option selected value="phase_1">集中攻坚</option>' in page
    # a monthly schedule has no due phase
    edit(browser, draft.id, "schedule", {"frequency": "monthly", "due_rule": "after_end",
                                         "months": "1", "day": "5", "due_phase": "phase_1",
                                         "first": "2024-05", "last": "2026-12"})
    assert "due_phase" not in draft_row(session, draft.id).data


def test_a_yes_no_field_is_tallied_when_its_editor_says_count(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    path = "sections.0.items.0.fields.1"
    edit(browser, draft.id, "node", {"path": path, "a_label": "是否成立安委会",
                                     "a_kind": "yesno"})
    page = page_text(browser.get(f"/admin/designer/{draft.id}?edit={path}", headers=EN))
    aggregations = re.search(r'<select[^>]*name="a_aggregation".*?</select>', page, re.S)[0]
    assert '<option value="count">Count the units per answer</option>' in aggregations
    assert 'value="sum"' not in aggregations  # a yes/no is never summed
    edit(browser, draft.id, "node", {"path": path, "a_label": "是否成立安委会",
                                     "a_kind": "yesno", "a_aggregation": "count"})
    with browser.client.application.test_request_context():
        checked = designer.validate(draft_row(session, draft.id))
    assert checked.problems == []
    assert checked.definition.field("field_2").aggregation == "count"


def test_a_template_becomes_an_event_report_in_the_designer(browser, session, admin):
    draft = build_monthly_draft(session, admin)
    browser.login_ok("boss")
    edit(browser, draft.id, "schedule", {"frequency": "event", "due_rule": "after_end",
                                         "first": "2024-01", "last": "2024-12",
                                         "event_location": "y", "event_max_files": "3",
                                         "event_max_file_mb": "2", "event_max_total_mb": "5",
                                         "event_totals": "quarter"})
    data = draft_row(session, draft.id).data
    assert data["schedule"] == {"frequency": "event"}
    assert data["event"] == {"location": True, "max_files": 3, "max_file_mb": "2",
                             "max_total_mb": "5", "totals": "quarter"}
    page = page_text(browser.get(f"/admin/designer/{draft.id}", headers=EN))
    assert "never due and never late" in page
    assert "No problems: the draft can be published." in page
    definition = designer.validate(draft_row(session, draft.id)).definition
    assert definition.is_event and definition.event_rules.max_files == 3
    # and back to a monthly report: the event settings go
    edit(browser, draft.id, "schedule", {"frequency": "monthly", "due_rule": "after_end",
                                         "months": "1", "day": "5", "first": "2024-01",
                                         "last": "2024-12"})
    assert "event" not in draft_row(session, draft.id).data
