"""``tianbao workbook template`` and ``tianbao workbook import`` for scripted use."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from forms.loader import CATALOG_DIR
from server.cli import cli
from server.db import unit_of_work
from server.models import Role
from server.models.reporting import Report, Revision
from server.services import assignments as assignment_service
from server.services.templates import get_version, load_files

CHIDIAN = CATALOG_DIR / "000_chidian_progress.yaml"


@pytest.fixture
def run(app, monkeypatch):
    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(cli, list(args))


@pytest.fixture
def assigned(session, tree, make_user):
    with unit_of_work(session):
        load_files(session, [CHIDIAN])
        assignment_service.create_assignment(session, key="chidian-q",
                                             template=get_version(session, "chidian-progress", 1),
                                             root=tree["CY"], kinds=["village"])
    return {"admin": make_user("admin", Role.ADMIN),
            "ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])}


def fill(path, values: dict) -> None:
    book = openpyxl.load_workbook(path)
    for key, value in values.items():
        (sheet, ref), = list(book.defined_names[f"tb_{key}"].destinations)
        book[sheet][ref.replace("$", "")].value = value
    book.save(path)


def template(run, tmp_path, unit: str, *extra: str):
    target = tmp_path / f"{unit}.xlsx"
    result = run("workbook", "template", "--assignment", "chidian-q", "--unit", unit,
                 "--period", "2024Q3", "-o", str(target), *extra)
    assert result.exit_code == 0, result.output
    assert f"Workbook written to {target}." in result.output
    return target


def test_template_then_import_saves_drafts_one_line_per_file(run, tmp_path, assigned, session):
    va1 = template(run, tmp_path, "VA1")
    vb1 = template(run, tmp_path, "VB1")
    fill(va1, {"reporter": "王五", "i01_enterprises": 7})
    fill(vb1, {"i01_enterprises": 9})

    result = run("workbook", "import", str(va1), str(vb1), "--as", "ta-hz")

    lines = result.output.splitlines()
    assert result.exit_code == 1  # one workbook was not saved
    assert lines[0].startswith("VA1.xlsx: Saved as draft revision 1 of ")
    assert lines[1].startswith("VB1.xlsx: Refused: ")
    assert "within your reach" in lines[1]
    report = session.scalar(select(Report))
    assert report.unit.code == "VA1" and report.values["i01_enterprises"] == 7
    assert session.scalar(select(Revision)).source == "excel"


def test_import_shows_a_progress_bar_of_the_workbooks_read_only_on_a_terminal(
        run, tmp_path, assigned, monkeypatch):
    from server.cli.common import TerminalProgress

    va1, va2 = template(run, tmp_path, "VA1"), template(run, tmp_path, "VA2")
    piped = run("workbook", "import", str(va1), str(va2), "--as", "ta-hz")
    assert piped.exit_code == 0, piped.output
    assert piped.stderr == ""  # output that is read by a script stays as it was
    monkeypatch.setattr(TerminalProgress, "DELAY", 0)  # as if reading took over a second
    monkeypatch.setattr(TerminalProgress, "on_terminal", property(lambda self: True))
    heard = []
    update = TerminalProgress.__call__
    monkeypatch.setattr(TerminalProgress, "__call__", lambda self, done, total=None: (
        heard.append((done, total)), update(self, done, total))[1])
    shown = run("workbook", "import", str(va1), str(va2), "--as", "ta-hz")
    assert shown.exit_code == 0, shown.output
    assert heard == [(1, 2), (2, 2)]  # after each workbook read
    assert shown.stderr.startswith("Workbooks")  # the bar's label (click draws it on a tty)
    assert shown.stdout.count("Saved as draft revision") == 2


def test_import_reports_errors_at_their_cells_and_writes_the_marked_copy(run, tmp_path,
                                                                         assigned, session):
    va1 = template(run, tmp_path, "VA1")
    fill(va1, {"i01_enterprises": "lots"})
    marked = tmp_path / "marked"

    result = run("workbook", "import", str(va1), "--annotated-dir", str(marked))

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == ("VA1.xlsx: Not saved: 1 error. Correct it in the marked workbook and "
                        "upload it again.")
    (sheet, ref), = list(openpyxl.load_workbook(va1).defined_names["tb_i01_enterprises"]
                         .destinations)
    assert lines[1].startswith(f"  {sheet}!{ref.replace('$', '')} ")
    assert "must be a number, not “lots”" in lines[1]
    [written] = list(marked.iterdir())
    book = openpyxl.load_workbook(io.BytesIO(written.read_bytes()))
    assert any(cell.comment and "lots" in cell.comment.text
               for ws in book.worksheets for row in ws.iter_rows() for cell in row)
    assert session.scalar(select(Report)) is None


def test_template_for_an_unknown_report_fails_clearly(run, assigned):
    result = run("workbook", "template", "--assignment", "chidian-q", "--unit", "NOPE",
                 "--period", "2024Q3")
    assert result.exit_code == 1
    assert "There is no report of assignment chidian-q for unit NOPE" in result.output


def test_several_administrators_require_naming_one(run, tmp_path, assigned, make_user):
    make_user("admin2", Role.ADMIN)
    result = run("workbook", "template", "--assignment", "chidian-q", "--unit", "VA1",
                 "--period", "2024Q3")
    assert result.exit_code == 1
    assert "Name the account to act as with --as USERNAME." in result.output
    template(run, tmp_path, "VA1", "--as", "admin2")
