"""Merged exports from the database: the subtree streamed in tree order, the merged
workbook and the CSV read back, mixed template versions, missing children,
overridden numbers and the approved-only switch, the across-periods workbook."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from merged_form import merged_form
from python_calamine import CalamineWorkbook
from sqlalchemy import event

from exports.flat_data import BOM, FLAT_HEADERS
from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role, Status
from server.models.reporting import Report
from server.services import assignments as assignment_service
from server.services import consolidation, merged
from server.services import templates as template_service
from server.services.errors import NotVisible

TEMPLATE = "merge-db"
REPORTING_KINDS = ["town", "village", "company"]
AFTER_DEADLINES = datetime(2026, 6, 1, tzinfo=UTC)  # every period of 2024–2025 overdue


def definition(version: int) -> dict:
    return merged_form(version, key=TEMPLATE, last="2025Q4")


NUMERIC = ("found", "rectified", "funding", "peak", "rate", "visits", "posts")
CUMULATIVE = ("found", "rectified", "funding", "visits", "posts")
TEXTS = ("i01_progress", "i02_progress")
CONTACT = {"reporter": "联系人", "phone": "13800000000"}


def publish_versions(session) -> dict[int, Any]:
    """Versions 1 and 2 of the test template, as TemplateVersion rows."""
    rows = {}
    with unit_of_work(session):
        for version in (1, 2):
            template_service.publish(session, Definition.model_validate(definition(version)),
                                     origin="upload")
            rows[version] = template_service.get_version(session, TEMPLATE, version)
    return rows


def put_report(session, assignment, unit, period: str, values: dict, status: str, *,
               template, late: bool = False, submitted_at: datetime | None = None) -> Report:
    """A report as the workflow leaves it (the export reads reports, not how they came)."""
    from forms.values import jsonable

    if status != Status.DRAFT and submitted_at is None:
        submitted_at = datetime(2025, 1, 3, 2, 0, tzinfo=UTC)
    report = Report(assignment_id=assignment.id, unit_id=unit.id, period=period,
                    template_version_id=template.id, status=status, revision=1,
                    values=jsonable(values), submitted_at=submitted_at, late=late)
    session.add(report)
    session.commit()
    return report


# -- reading back ---------------------------------------------------------------------------


def cell(book: CalamineWorkbook, sheet: str, ref: str) -> Any:
    """The value at *ref* (e.g. "F12"), whatever leading rows and columns calamine trims."""
    letters = ref.rstrip("0123456789")
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    row = int(ref[len(letters):]) - 1
    data = book.get_sheet_by_name(sheet)
    top, left = data.start
    try:
        return data.to_python()[row - top][col - 1 - left]
    except IndexError:
        return ""


def rows_of(book: CalamineWorkbook, sheet: str) -> list[list[Any]]:
    return book.get_sheet_by_name(sheet).to_python()


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(data.decode("utf-8")[1:], newline="")))


def export(session, user, tmp_path, unit: str, period: str = "2024Q4", **switches):
    """The merged workbook of *unit* read back, with the result and the figures."""
    figures = consolidation.figures(session, user, "merge", unit, period, **switches)
    path = tmp_path / f"{unit}-{period}.xlsx"
    result = merged.write_merged(session, figures, str(path), locale="en",
                                 now=AFTER_DEADLINES)
    return CalamineWorkbook.from_path(str(path)), result, figures


# -- the world --------------------------------------------------------------------------------


@pytest.fixture
def world(session, make_unit, make_user):
    """City SP (consolidates, does not report) over towns, villages and a company.

    ::

        SP city
        ├── TA town             reports, consolidates
        │   ├── OF office       transparent (not a reporting kind)
        │   │   └── VA1 village
        │   └── VA2 village
        ├── TB town             reports, consolidates
        │   └── VB1 village
        └── CO company          reports directly to the city
    """
    versions = publish_versions(session)
    units = {"SP": make_unit("SP", kind="city", name="四平市")}
    for code, parent, kind, name in (
        ("TA", "SP", "town", "甲镇"), ("OF", "TA", "office", "甲镇办事处"),
        ("VA1", "OF", "village", "一村"), ("VA2", "TA", "village", "二村"),
        ("TB", "SP", "town", "乙镇"), ("VB1", "TB", "village", "三村"),
        ("CO", "SP", "company", "=HYPERLINK(\"x\") 公司"),
    ):
        units[code] = make_unit(code, units[parent], kind=kind, name=name,
                                contact_name=f"{name}联系人", contact_phone="0434-1234567")
    with unit_of_work(session):
        assignment = assignment_service.create_assignment(
            session, key="merge", template=versions[1], root=units["SP"], kinds=REPORTING_KINDS,
            first="2024Q2", last="2025Q4")
        assignment_service.replace_version(session, assignment, versions[2], "2024Q4")
    admin = make_user("admin", Role.ADMIN)
    return {"units": units, "versions": versions, "assignment": assignment, "admin": admin}


def report(world, session, code: str, values: dict, status: str = Status.APPROVED, *,
           period: str = "2024Q4", version: int = 2, **extra) -> Report:
    return put_report(session, world["assignment"], world["units"][code], period,
                      {**CONTACT, **values}, status, template=world["versions"][version],
                      **extra)


def roll_up(world, session, code: str, period: str = "2024Q4", *, overrides=None,
            status: str = Status.APPROVED) -> dict:
    """The office of *code* files its report prefilled from its children (then edits it)."""
    figures = consolidation.figures(session, world["admin"], "merge", code, period)
    values = {**consolidation.prefill_values(figures), **(overrides or {})}
    report(world, session, code, values, status, period=period)
    return values


# -- the stream ---------------------------------------------------------------------------------


def test_units_stream_in_tree_order_with_their_reporting_parent_and_depth(world, session):
    report(world, session, "VA1", {"found": 2}, period="2024Q3")
    report(world, session, "VA1", {"found": 5})
    report(world, session, "VA2", {"found": 1}, Status.DRAFT)
    reports = merged.subtree_reports(session, world["assignment"], world["units"]["SP"],
                                     "2024Q4", now=AFTER_DEADLINES)
    assert not isinstance(reports, list | tuple)  # a stream, not a list held in memory
    got = [(r.unit_code, r.parent_code, r.depth, r.status, r.late) for _, r in reports]
    # The office is transparent: VA1 reports to its town; the company to the city.
    assert sorted(got) == [
        ("CO", "SP", 1, "not_started", True),
        ("TA", "SP", 1, "not_started", True),
        ("TB", "SP", 1, "not_started", True),
        ("VA1", "TA", 2, "approved", False),
        ("VA2", "TA", 2, "draft", True),
        ("VB1", "TB", 2, "not_started", True),
    ]
    # Tree order: every unit right after its own subtree's head, by materialised path.
    codes = [code for code, *_ in got]
    paths = {u.code: u.path for u in world["units"].values()}
    assert codes == sorted(codes, key=paths.get)
    va1 = next(r for _, r in merged.subtree_reports(
        session, world["assignment"], world["units"]["TA"], "2024Q4", now=AFTER_DEADLINES)
        if r.unit_code == "VA1")
    assert (va1.depth, va1.parent_code, va1.previous_period) == (1, "TA", "2024Q3")
    assert va1.previous["found"] == 2 and va1.values["found"] == 5
    assert (va1.submitter, va1.phone, va1.version) == ("联系人", "13800000000", 2)


def test_the_number_of_queries_does_not_grow_with_the_subtree(world, session, make_unit):
    """Ten units or sixty: the same statements (one for the whole subtree)."""
    def statements(code: str) -> int:
        engine = session.get_bind()
        seen: list[str] = []

        def count(*args):
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            list(merged.subtree_reports(session, world["assignment"], world["units"][code],
                                        "2024Q4", now=AFTER_DEADLINES))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    for n in range(50):
        village = world["units"][f"VB{n + 10}"] = make_unit(f"VB{n + 10}", world["units"]["TB"],
                                                           kind="village")
        report(world, session, village.code, {"found": n}, period="2024Q3")
        report(world, session, village.code, {"found": n + 1})
    for n in range(3):
        make_unit(f"VA{n + 10}", world["units"]["TA"], kind="village")
    assert statements("TB") == statements("TA")


# -- the merged workbook ----------------------------------------------------------------------


def test_mixed_versions_merge_by_field_key(world, session, tmp_path):
    # VA1 still reports with version 1 (no "posts"), VA2 with version 2.
    report(world, session, "VA1", {"found": 3, "visits": 2}, version=1)
    report(world, session, "VA2", {"found": 4, "posts": 6})
    book, result, _ = export(session, world["admin"], tmp_path, "TA")
    summary = result.summary_sheet
    assert cell(book, summary, result.summary_cells["found"]) == 7
    assert cell(book, summary, result.summary_cells["posts"]) == 6
    assert cell(book, summary, result.summary_cells["visits"]) == 2
    data = rows_of(book, result.data_sheets[0])
    assert data[0] == list(FLAT_HEADERS)
    assert sorted((r[0], r[5], r[7], r[9]) for r in data[1:]) == [
        ("VA1", 1, "found", 3), ("VA1", 1, "visits", 2),
        ("VA2", 2, "found", 4), ("VA2", 2, "posts", 6),
    ]
    assert "posts" not in result.child_cells["VA1"] and "posts" in result.child_cells["VA2"]
    assert cell(book, result.child_sheets["VA1"], result.child_cells["VA1"]["found"]) == 3


def test_missing_and_late_children_are_listed_and_not_counted(world, session, tmp_path):
    report(world, session, "TA", {"found": 10}, late=True,
           submitted_at=datetime(2025, 1, 10, 1, 0, tzinfo=UTC))
    report(world, session, "TB", {"found": 1}, Status.DRAFT)
    book, result, _ = export(session, world["admin"], tmp_path, "SP")
    assert cell(book, result.summary_sheet, result.summary_cells["found"]) == 10
    rows = {r[0]: r for r in rows_of(book, result.completeness_sheet)[1:]}
    assert set(rows) == {"CO", "TA", "VA1", "VA2", "TB", "VB1"}
    # code, name, parent, level, status, counted, submitted at, late, submitter, phone
    assert rows["TA"][2:6] == ["SP", 1, "Approved", "Yes"]
    assert rows["TA"][7:10] == ["Yes", "联系人", "13800000000"]
    assert rows["TB"][4:6] == ["Draft", "No"] and rows["TB"][7] == "Yes"
    # Not started and overdue: late, with the unit's contact to chase.
    assert rows["CO"][4:10] == ["Not reported", "No", "", "Yes", "=HYPERLINK(\"x\") 公司联系人",
                                "0434-1234567"]
    assert rows["VA1"][2:4] == ["TA", 2]
    assert set(result.child_sheets) == {"TA", "TB"}
    # A draft's figures are the unit's work in progress: listed, not exported.
    assert {r[0] for r in rows_of(book, result.data_sheets[0])[1:]} == {"TA"}


def test_an_overridden_number_is_what_the_level_above_counts_and_is_flagged(world, session,
                                                                           tmp_path):
    report(world, session, "VA1", {"found": 3, "i01_progress": "已排查"})
    report(world, session, "VA2", {"found": 4, "i01_progress": "=1+1"})
    prefilled = roll_up(world, session, "TA", overrides={"found": 9})
    report(world, session, "VB1", {"found": 5})
    roll_up(world, session, "TB")
    assert prefilled["i01_progress"] == "一村：已排查\n二村：=1+1"

    book, result, _ = export(session, world["admin"], tmp_path, "SP")
    # The city adds up its children's reports: TA's 9 as reported, not the villages' 7.
    assert cell(book, result.summary_sheet, result.summary_cells["found"]) == 14
    issues = rows_of(book, result.issues_sheet)[1:]
    flagged = [(r[0], r[3], r[6]) for r in issues if "add up" in r[6]]
    assert flagged == [("TA", "found", "Hazards found is 9 but the units below add up to 7.")]
    data = {(r[0], r[7]): r for r in rows_of(book, result.data_sheets[0])[1:]}
    assert data[("TA", "found")][9] == 9 and data[("VA1", "found")][9] == 3
    assert data[("TA", "i01_progress")][9] == "一村：已排查\n二村：=1+1"  # text, not a formula


def test_the_approved_only_switch(world, session, tmp_path):
    report(world, session, "CO", {"found": 5, "rate": Decimal("80")})
    report(world, session, "TB", {"found": 2, "rate": Decimal("40")}, Status.SUBMITTED)
    book, result, figures = export(session, world["admin"], tmp_path, "SP")
    assert not figures.include_submitted
    assert cell(book, result.summary_sheet, result.summary_cells["found"]) == 5
    assert cell(book, result.summary_sheet, result.summary_cells["rate"]) == pytest.approx(0.8)
    counted = {r[0]: r[5] for r in rows_of(book, result.completeness_sheet)[1:]}
    assert (counted["CO"], counted["TB"]) == ("Yes", "No")

    book, result, _ = export(session, world["admin"], tmp_path, "SP", include_submitted=True)
    assert cell(book, result.summary_sheet, result.summary_cells["found"]) == 7
    assert cell(book, result.summary_sheet, result.summary_cells["rate"]) == pytest.approx(0.6)
    counted = {r[0]: r[5] for r in rows_of(book, result.completeness_sheet)[1:]}
    assert (counted["CO"], counted["TB"]) == ("Yes", "Yes")


def test_new_this_period_against_the_previous_report_and_consolidation(world, session,
                                                                     tmp_path):
    report(world, session, "VA1", {"found": 3, "visits": 4}, period="2024Q3", version=1)
    report(world, session, "VA2", {"found": 1}, period="2024Q3", version=1)
    report(world, session, "VA1", {"found": 8, "visits": 6})
    report(world, session, "VA2", {"found": 1, "posts": 2})
    book, result, figures = export(session, world["admin"], tmp_path, "TA")
    assert figures.previous_period == "2024Q3" and figures.previous_values["found"] == 4
    data = {(r[0], r[7]): r[10] for r in rows_of(book, result.data_sheets[0])[1:]}
    assert data == {("VA1", "found"): 5, ("VA1", "visits"): 2, ("VA2", "found"): 0,
                    ("VA2", "posts"): 2}
    # The summary shows last period's consolidation beside the cumulative figures.
    summary = rows_of(book, result.summary_sheet)
    found_row = next(r for r in summary if 9 in r)
    assert 4 in found_row


# -- CSV and file names -----------------------------------------------------------------------


def test_csv_has_the_rows_of_the_data_sheet_in_binary_and_text(world, session, tmp_path):
    report(world, session, "VA1", {"found": 3, "funding": Decimal("1.25"),
                                   "i01_progress": "-1 处"})
    report(world, session, "VA2", {"found": 4})
    book, result, figures = export(session, world["admin"], tmp_path, "TA")
    binary = io.BytesIO()
    count = merged.write_flat_csv(session, figures, binary, locale="en")
    rows = csv_rows(binary.getvalue())
    assert rows[0] == [*FLAT_HEADERS, *merged.CLOSED_HEADERS]  # and whether the period is closed
    assert count == len(rows) - 1 == result.data_rows == 4
    # Numbers as plain digits, text that could start a formula made inert.
    assert sorted((r[0], r[7], r[9], r[10]) for r in rows[1:]) == [
        ("VA1", "found", "3", "3"), ("VA1", "funding", "1.25", "1.25"),
        ("VA1", "i01_progress", "'-1 处", ""), ("VA2", "found", "4", "4"),
    ]
    text = io.StringIO()
    merged.write_flat_csv(session, figures, text, locale="en")
    assert text.getvalue().encode("utf-8") == binary.getvalue()


def test_file_names_follow_the_language(world, session, app):
    figures = consolidation.figures(session, world["admin"], "merge", "SP", "2024Q4")
    with app.test_request_context():
        assert merged.merged_filename(figures, "en") == "merged-merge-SP-2024Q4.xlsx"
        assert merged.csv_filename(figures, "en") == "data-merge-SP-2024Q4.csv"
        assert merged.merged_filename(figures, "zh_CN").endswith(".xlsx")
        assert merged.merged_filename(figures, "zh_CN") != merged.merged_filename(figures, "en")


# -- across periods -----------------------------------------------------------------------------


def test_series_of_a_reporting_unit_uses_its_own_reports(world, session, tmp_path):
    report(world, session, "TA", {"found": 3, "visits": 2}, period="2024Q3", version=1)
    report(world, session, "TA", {"found": 7, "visits": 5})
    report(world, session, "TA", {"found": 99}, Status.DRAFT, period="2025Q1")
    path = tmp_path / "series.xlsx"
    merged.write_series(session, world["admin"], "merge", "TA", str(path), locale="en")
    rows = rows_of(CalamineWorkbook.from_path(str(path)),
                   CalamineWorkbook.from_path(str(path)).sheet_names[0])
    found = next(r for r in rows if r[1] == "Hazards found")
    # 2024Q2 (none), 2024Q3, 2024Q4, 2025Q1 (a draft is not a figure yet)
    assert found[3:11] == ["", "", 3, 3, 7, 4, "", ""]


def test_series_of_a_non_reporting_unit_is_its_consolidation(world, session, tmp_path):
    report(world, session, "CO", {"found": 2}, period="2024Q3", version=1)
    report(world, session, "TA", {"found": 3}, period="2024Q3", version=1)
    report(world, session, "CO", {"found": 4})
    report(world, session, "TA", {"found": 5}, Status.SUBMITTED)  # not approved: not counted
    path = tmp_path / "series.xlsx"
    merged.write_series(session, world["admin"], "merge", "SP", str(path), locale="en",
                        now=AFTER_DEADLINES)
    book = CalamineWorkbook.from_path(str(path))
    found = next(r for r in rows_of(book, book.sheet_names[0]) if r[1] == "Hazards found")
    assert found[5:9] == [5, 5, 4, -1]


def test_series_out_of_scope_is_not_found(world, session, make_user):
    tb = make_user("tb-hz", Role.CONSOLIDATOR, world["units"]["TB"])
    with pytest.raises(NotVisible):
        merged.write_series(session, tb, "merge", "TA", io.BytesIO())
    with pytest.raises(NotVisible):
        merged.write_series(session, tb, "nope", "TB", io.BytesIO())
