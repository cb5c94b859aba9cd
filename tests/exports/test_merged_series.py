"""One unit's cumulative indicators across the periods of the plan window."""

from __future__ import annotations

from decimal import Decimal

from python_calamine import CalamineWorkbook
from test_merged_workbook import V2

from exports.series import build_series, series_rows

REPORTS = {
    "2024Q2": {"found": 4, "visits": 3, "funding": Decimal("1.5")},
    "2024Q3": {"found": 10, "visits": 5, "funding": Decimal("2.5")},
    # 2024Q4 was never reported
    "2025Q1": {"found": 12, "visits": 2, "posts": 1},
    "2025Q2": {"found": 11, "visits": 6, "posts": 3},
}


def test_increments_follow_the_latest_earlier_report_and_years_restart():
    periods, rows = series_rows(V2, REPORTS)
    assert [p.key for p in periods][:5] == ["2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2"]
    assert len(periods) == 11  # 2024Q2 … 2026Q4
    by_key = {row.field.key: row.cells[:5] for row in rows}
    assert by_key["found"] == ((4, 4), (10, 6), (None, None), (12, 2), (11, -1))
    # A per-year count restarts in January: 2025Q1 is all new.
    assert by_key["visits"] == ((3, 3), (5, 2), (None, None), (2, 2), (6, 4))
    assert by_key["funding"] == ((1.5, 1.5), (2.5, 1), (None, None), (None, None),
                                 (None, None))
    assert by_key["posts"][3:] == ((1, 1), (3, 2))
    assert set(by_key) == {"found", "rectified", "funding", "visits", "posts"}


def test_the_workbook_shows_cumulative_and_new_side_by_side(tmp_path):
    path = tmp_path / "series.xlsx"
    path.write_bytes(build_series(V2, unit_name="=甲村", reports=REPORTS, locale="en"))
    book = CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert rows[0][0] == "Merge test — cumulative figures by period"
    assert rows[1][0] == "Reporting unit: =甲村"
    assert rows[3][:7] == ["Item", "Indicator", "Unit of measure", "2024 Q2", "", "2024 Q3", ""]
    assert rows[4][3:7] == ["Cumulative", "New this period"] * 2
    found = next(r for r in rows if r[1] == "Hazards found")
    assert found[:3] == ["1", "Hazards found", "处"]
    assert found[3:13] == [4, 4, 10, 6, "", "", 12, 2, 11, -1]
    assert len(found) == 3 + 2 * 11
