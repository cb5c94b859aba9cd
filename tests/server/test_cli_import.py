"""``tianbao templates import``: a plan file becomes a draft definition in YAML."""

import io

import pytest
import yaml
from openpyxl import Workbook
from plan_documents import build_chidian_xlsx, build_docx

from forms.loader import CATALOG_DIR, parse_definition
from server.cli import cli

PLAN_000 = next((CATALOG_DIR / "plans").glob("000_*.txt"))


@pytest.fixture
def run(app, monkeypatch):
    def invoke(*args, locale="en"):
        monkeypatch.setenv("TIANBAO_LOCALE", locale)
        return app.test_cli_runner().invoke(cli, list(args))

    return invoke


def test_import_plan_document_writes_a_valid_draft(run, tmp_path):
    plan = tmp_path / "plan.docx"
    plan.write_bytes(build_docx(PLAN_000.read_text(encoding="utf-8")))
    draft = tmp_path / "draft.yaml"
    result = run("templates", "import", str(plan), "-o", str(draft))
    assert result.exit_code == 0, result.output
    definition = parse_definition(draft.read_text(encoding="utf-8"), "draft.yaml")
    assert definition.source.doc_number == "晋池政〔2024〕53号"
    assert [i.number for _, i in definition.items()][:21] == [str(n) for n in range(1, 22)]
    assert result.stdout == ""
    assert f"Draft written to {draft}." in result.stderr
    assert "Sections: 8, items: 27, indicator fields: 1." in result.stderr
    assert ("Schedule: Quarterly, 2024 Q2 to 2026 Q4, 11 periods; the first report is due "
            "Jul 5, 2024.") in result.stderr
    assert "Not placed (4):" in result.stderr
    assert "paragraph 10: “一 工作目标” holds no numbered tasks" in result.stderr
    assert ("paragraph 59, row 3, column C: The attachment table names item 2 "
            "“严格落实设施“三同时”管理”; the plan text names it otherwise, and the draft "
            "follows the text.") in result.stderr
    assert "not yet a complete template" not in result.stderr


def test_import_writes_yaml_to_stdout_and_a_chinese_summary(run, tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text(PLAN_000.read_text(encoding="utf-8"), encoding="utf-8")
    result = run("templates", "import", str(plan), locale="zh_CN")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["schedule"]["first"] == "2024Q2"
    assert "分组 8 个，事项 27 项，指标字段 1 个。" in result.stderr
    assert "报送周期：每季度，2024年第二季度至2026年第四季度，共 11 期" in result.stderr
    assert "第 10 段" in result.stderr


def test_incomplete_draft_is_written_with_its_problems(run, tmp_path):
    """The attachment table alone names no plan window: still a draft, problems listed."""
    table = tmp_path / "table.xlsx"
    table.write_bytes(build_chidian_xlsx())
    draft = tmp_path / "draft.yaml"
    result = run("templates", "import", str(table), "-o", str(draft))
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(draft.read_text(encoding="utf-8"))
    assert sum(len(s["items"]) for s in data["sections"]) == 21
    assert "Schedule: Quarterly, periods not found." in result.stderr
    assert "The plan window (e.g. 2024—2026年) was not found" in result.stderr
    assert "not yet a complete template (2 problems)" in result.stderr
    assert "schedule.first" in result.stderr


def test_unplaced_cell_is_shown_with_sheet_row_and_column(run, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "表1"
    sheet.append(["月度推进情况表"])
    sheet.append(["序号", "工作任务", "完成情况"])
    sheet.append([1, "排查隐患", None])
    sheet.append([None, "多出来的一格", "另一格"])
    out = io.BytesIO()
    book.save(out)
    table = tmp_path / "t.xlsx"
    table.write_bytes(out.getvalue())
    result = run("templates", "import", str(table))
    assert result.exit_code == 0, result.output
    assert ("sheet 表1, B4: The cell “多出来的一格” is neither a section, "
            "an item nor a note.") in result.stderr
    assert "Schedule: Monthly, periods not found." in result.stderr


def test_unreadable_file_is_refused(run, tmp_path):
    bad = tmp_path / "plan.docx"
    bad.write_bytes(b"not a word file")
    result = run("templates", "import", str(bad))
    assert result.exit_code == 1
    assert "The file could not be read as Word (.docx)." in result.output
    zh = run("templates", "import", str(bad), locale="zh_CN")
    assert zh.exit_code == 1 and "无法按 Word (.docx) 读取该文件。" in zh.output


def test_unknown_kind_is_refused_and_from_chooses_the_reader(run, tmp_path):
    plan = tmp_path / "plan.dat"
    plan.write_text(PLAN_000.read_text(encoding="utf-8"), encoding="utf-8")
    result = run("templates", "import", str(plan))
    assert result.exit_code == 1
    assert "cannot tell what kind of file plan.dat is" in result.output
    chosen = run("templates", "import", str(plan), "--from", "text")
    assert chosen.exit_code == 0, chosen.output
    assert "items: 27" in chosen.stderr


def test_empty_file_is_refused(run, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    result = run("templates", "import", str(empty))
    assert result.exit_code == 1
    assert "The file holds nothing to import." in result.output
