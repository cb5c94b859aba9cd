"""``tianbao export merged`` and ``tianbao export series`` for scripted use."""

from __future__ import annotations

import pytest
from python_calamine import CalamineWorkbook
from test_merged_export import (  # noqa: F401  (world is a fixture)
    csv_rows,
    report,
    rows_of,
    world,
)

from exports.flat_data import FLAT_HEADERS
from server.cli import cli
from server.models import Role, Status
from server.services.merged import CLOSED_HEADERS

MERGED = ("export", "merged", "--assignment", "merge", "--period", "2024Q4")


@pytest.fixture
def run(app, monkeypatch):
    def invoke(*args: str, locale: str = "en"):
        monkeypatch.setenv("TIANBAO_LOCALE", locale)
        return app.test_cli_runner().invoke(cli, list(args))

    return invoke


@pytest.fixture
def filed(world, session, make_user):  # noqa: F811  (the imported fixture)
    report(world, session, "CO", {"found": 5})
    report(world, session, "TA", {"found": 7, "i01_progress": "=1+1"})
    report(world, session, "TB", {"found": 2}, Status.SUBMITTED)
    report(world, session, "VA1", {"found": 7})
    world["tb-hz"] = make_user("tb-hz", Role.CONSOLIDATOR, world["units"]["TB"])
    return world


def summary_found(path) -> object:
    book = CalamineWorkbook.from_path(str(path))
    summary = rows_of(book, book.sheet_names[0])
    row = next(r for r in summary if "Hazards found" in r)
    return [v for v in row if isinstance(v, int | float)][0]


def test_merged_workbook_with_and_without_submitted_reports(run, filed, tmp_path):
    target = tmp_path / "city.xlsx"
    result = run(*MERGED, "--unit", "SP", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.output == (f"Merged workbook written to {target}: 6 units, 4 data rows.\n")
    assert summary_found(target) == 12  # CO 5 + TA 7; TB is submitted, not approved

    result = run(*MERGED, "--unit", "SP", "-o", str(target), "--include-submitted")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == ("Submitted reports not yet approved are counted "
                                             "in the totals.")
    assert result.output.splitlines()[0].endswith("6 units, 5 data rows.")
    assert summary_found(target) == 14


def test_csv_with_the_default_name(run, filed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*MERGED, "--unit", "SP", "--csv")
    assert result.exit_code == 0, result.output
    target = "data-merge-SP-2024Q4.csv"
    assert result.output == f"Flat data written to {target}: 4 rows.\n"
    rows = csv_rows((tmp_path / target).read_bytes())
    assert rows[0] == [*FLAT_HEADERS, *CLOSED_HEADERS]
    assert {tuple(r[-2:]) for r in rows[1:]} == {("Open, not closed", "")}
    assert {(r[0], r[7], r[9]) for r in rows[1:]} == {
        ("CO", "found", "5"), ("TA", "found", "7"), ("TA", "i01_progress", "'=1+1"),
        ("VA1", "found", "7"),
    }  # TB's submitted figures are left out until approved, as in the totals


def test_chinese_messages(run, filed, tmp_path):
    target = tmp_path / "合并.xlsx"
    result = run(*MERGED, "--unit", "SP", "-o", str(target), locale="zh_CN")
    assert result.exit_code == 0, result.output
    assert result.output == f"合并工作簿已写入 {target}：6 个单位，4 行明细数据。\n"
    book = CalamineWorkbook.from_path(str(target))
    assert book.sheet_names[:4] == ["汇总", "报送情况", "校验问题", "明细数据"]

    result = run(*MERGED, "--unit", "TB", "-o", str(target), "--as", "tb-hz", locale="zh_CN")
    assert result.exit_code == 0, result.output
    result = run(*MERGED, "--unit", "TA", "-o", str(target), "--as", "tb-hz", locale="zh_CN")
    assert result.exit_code == 1
    assert result.output == ("tb-hz 可访问的范围内没有任务 merge 下单位 TA 在 2024Q4 "
                             "的汇总。\n")


def test_out_of_scope_unit_unknown_period_and_assignment(run, filed, tmp_path):
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"an earlier file")
    result = run(*MERGED, "--unit", "TA", "-o", str(target), "--as", "tb-hz")
    assert result.exit_code == 1
    assert result.output == ("There is no consolidation of assignment merge for unit TA in "
                             "period 2024Q4 within the reach of tb-hz.\n")
    assert target.read_bytes() == b"an earlier file"  # left as it was

    result = run("export", "merged", "--assignment", "merge", "--unit", "SP", "--period",
                 "2030Q1", "-o", str(target))
    assert result.exit_code == 1
    assert "in period 2030Q1 within the reach of admin" in result.output

    result = run("export", "merged", "--assignment", "nope", "--unit", "SP", "--period",
                 "2024Q4", "-o", str(target))
    assert result.exit_code == 1
    assert result.output == "There is no assignment with the key nope.\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_a_unit_without_reporting_units_below_has_nothing_to_merge(run, filed, tmp_path):
    result = run(*MERGED, "--unit", "VA1", "-o", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 1
    assert result.output == ("Unit VA1 has no reporting units below it under assignment merge: "
                             "there is nothing to merge.\n")
    assert not (tmp_path / "x.xlsx").exists()


def test_disabled_or_unknown_account(run, filed, tmp_path, session):
    result = run(*MERGED, "--unit", "SP", "-o", str(tmp_path / "x.xlsx"), "--as", "nobody")
    assert result.exit_code == 1
    assert result.output == "There is no account “nobody”.\n"


def test_series(run, filed, tmp_path):
    target = tmp_path / "series.xlsx"
    result = run("export", "series", "--assignment", "merge", "--unit", "TA", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.output == f"Workbook written to {target}.\n"
    book = CalamineWorkbook.from_path(str(target))
    found = next(r for r in rows_of(book, book.sheet_names[0]) if r[1] == "Hazards found")
    assert found[7:9] == [7, 7]  # 2024Q4: cumulative and new

    result = run("export", "series", "--assignment", "merge", "--unit", "TA", "-o",
                 str(target), "--as", "tb-hz")
    assert result.exit_code == 1
    assert result.output == ("Unit TA neither reports nor consolidates under assignment merge "
                             "within the reach of tb-hz.\n")
    result = run("export", "series", "--assignment", "merge", "--unit", "TA", "-o",
                 str(target), "--as", "tb-hz", locale="zh_CN")
    assert result.exit_code == 1
    assert result.output == "tb-hz 可访问的范围内，单位 TA 在任务 merge 下既不报送也不汇总。\n"
