"""The merged workbook, read back with python-calamine, against an independent recomputation.

Random organisation trees (up to five levels: the consolidator and four below)
are rolled up level by level with ``forms.consolidation.consolidate``, as the
server does; the expected figures are recomputed here from the leaves alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from merged_form import form_values, merged_form
from python_calamine import CalamineWorkbook

from exports.flat_data import FLAT_HEADERS, NOT_STARTED, UnitReport
from exports.merged_workbook import COMPLETENESS_HEADERS, ISSUE_HEADERS, write_merged_workbook
from forms.consolidation import ChildReport, consolidate
from forms.definition import Definition
from forms.validation import validate

PLAN_FIELDS = ("found", "rectified", "funding")  # summed, cumulative over the plan


def definition(version: int) -> Definition:
    return Definition.model_validate(merged_form(version))


V1, V2 = definition(1), definition(2)
VERSIONS = {1: V1, 2: V2}
NUMERIC = ("found", "rectified", "funding", "peak", "rate", "visits", "posts")
NAMES = ("村", "=SUM(A1:A9)", "a/b:c*[d]?", "很长很长很长的单位名称" * 4, "Summary", "summary",
         "+86 公司", "'引号'", "@home")


@dataclass
class Node:
    code: str
    name: str
    depth: int
    version: int
    reported: bool
    children: list[Node] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    previous: dict[str, Any] | None = None
    parent: Node | None = None

    def walk(self):
        """Every node below, in tree order."""
        for child in self.children:
            yield child
            yield from child.walk()


# -- random trees ----------------------------------------------------------------------

@st.composite
def trees(draw, max_depth: int = 4) -> Node:
    counter = iter(range(10**6))

    def node(depth: int, parent: Node | None) -> Node:
        n = next(counter)
        name = draw(st.sampled_from(NAMES)) + str(n % 3)
        leaf = depth == max_depth or (depth > 0 and draw(st.integers(0, 2)) == 0)
        version = draw(st.sampled_from((1, 2))) if leaf else 2
        me = Node(f"U{n:03d}", name, depth, version, reported=depth == 0 or draw(
            st.integers(0, 5)) > 0, parent=parent)
        if leaf:
            if me.reported:
                me.values = draw(form_values(version))
                me.previous = {k: max(0, v - draw(st.integers(-3, 30)))
                               for k, v in me.values.items() if k in ("found", "visits")}
        else:
            width = draw(st.integers(1 if depth == 0 else 0, 3))
            me.children = [node(depth + 1, me) for _ in range(width)]
        return me

    return node(0, None)


def roll_up(node: Node) -> None:
    """What the server does: each consolidator's report computed from its children's."""
    for child in node.children:
        roll_up(child)
    if node.children:
        present = [ChildReport(c.code, c.name, c.values, version=c.version)
                   for c in node.children if c.reported]
        node.values = {k: v for k, v in consolidate(V2, present).values.items()
                       if v is not None}


def expected(node: Node, key: str) -> Any:
    """The figure of *node* recomputed from the leaves, without forms.consolidation."""
    if not node.children:
        return node.values.get(key) if node.reported else None
    parts = [v for c in node.children if c.reported
             for v in [expected(c, key)] if v is not None]
    if not parts:
        return None
    if key == "peak":
        return max(parts)
    if key == "rate":
        mean = Decimal(sum(parts)) / len(parts)
        return mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return sum(parts)


def expected_text(node: Node, key: str) -> str | None:
    if not node.children:
        return node.values.get(key) if node.reported else None
    lines = [f"{c.name}：{text}" for c in node.children if c.reported
             for text in [expected_text(c, key)] if text]
    return "\n".join(lines) or None


def reports(root: Node, period: str, previous_period: str):
    """The subtree as the server would stream it."""
    for node in root.walk():
        if not node.reported:
            yield UnitReport(node.code, node.name, node.parent.code, node.depth, period,
                             "merge-test")
            continue
        definition = VERSIONS[node.version]
        issues = validate(definition, node.values, node.previous, period=period,
                          previous_period=previous_period, check_required=False)
        yield UnitReport(
            node.code, node.name, node.parent.code, node.depth, period, "merge-test",
            node.version, "approved", datetime(2024, 10, 3, 1, 30), node.depth > 2,
            f"报送人{node.code}", "13800000000", 1, node.values, node.previous,
            previous_period, tuple(issues),
        )


# -- reading back ------------------------------------------------------------------------


def sheet_rows(book: CalamineWorkbook, name: str) -> list[list[Any]]:
    return book.get_sheet_by_name(name).to_python()


def cell(book: CalamineWorkbook, sheet: str, ref: str) -> Any:
    """The value of *ref* (e.g. "E9"), whatever empty rows and columns calamine trims."""
    col = 0
    letters = ref.rstrip("0123456789")
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    row = int(ref[len(letters):]) - 1
    data = book.get_sheet_by_name(sheet)
    top, left = data.start
    rows = data.to_python()
    try:
        return rows[row - top][col - 1 - left]
    except IndexError:
        return ""


def as_number(value: Any) -> float:
    return float(value)


# -- the property ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(root=trees(), late_year=st.booleans())
def test_every_total_and_every_flat_value_matches_a_recomputation(tmp_path_factory, root,
                                                                  late_year):
    period, previous_period = ("2025Q1", "2024Q4") if late_year else ("2024Q4", "2024Q3")
    roll_up(root)
    path = tmp_path_factory.mktemp("merged") / "merged.xlsx"
    result = write_merged_workbook(
        path, V2, unit_code=root.code, unit_name=root.name, period=period,
        consolidated=root.values, reports=reports(root, period, previous_period),
        previous_period=previous_period, versions=VERSIONS,
    )
    book = CalamineWorkbook.from_path(str(path))
    units = list(root.walk())

    # The summary: every total of the official form, at every field's cell.
    for key in NUMERIC:
        got = cell(book, result.summary_sheet, result.summary_cells[key])
        want = expected(root, key)
        if want is None:
            assert got == ""
        elif key == "rate":  # a percent cell holds the fraction
            assert got == pytest.approx(float(want) / 100)
        else:
            assert got == pytest.approx(float(want))
    for key in ("i01_progress", "i02_progress"):
        got = cell(book, result.summary_sheet, result.summary_cells[key])
        assert got == (expected_text(root, key) or "")

    # The flat sheet: one row per unit and field with a value, each equal to the
    # unit's own figure recomputed from the leaves below it.
    data = sheet_rows(book, result.data_sheets[0])
    assert data[0] == list(FLAT_HEADERS)
    seen = {}
    for row in data[1:]:
        code, _, parent, level, got_period, version, _, key, _, value, grown, _, _ = row[:13]
        assert row[13:] == ["", "", "", "", ""]  # nothing carried, no coverage on unit rows
        node = next(n for n in units if n.code == code)
        assert (parent, int(level), got_period) == (node.parent.code, node.depth, period)
        assert int(version) == node.version
        seen[(code, key)] = value
        if key in NUMERIC:
            assert value == pytest.approx(float(expected(node, key)))
            want_growth = _growth(node, key, late_year)
            assert (grown == "") if want_growth is None else grown == pytest.approx(want_growth)
        else:
            assert value == expected_text(node, key)  # strings stay strings
    wanted = {(n.code, k) for n in units if n.reported for k, v in n.values.items()
              if v is not None}
    assert set(seen) == wanted
    assert result.data_rows == len(wanted)

    # Completeness: every unit once; the missing ones said so and not counted.
    completeness = sheet_rows(book, result.completeness_sheet)
    assert completeness[0] == list(COMPLETENESS_HEADERS)
    listed = {row[0]: row for row in completeness[1:]}
    assert set(listed) == {n.code for n in units}
    for node in units:
        status, counted = listed[node.code][4], listed[node.code][5]
        assert (status, counted) == (("Approved", "Yes") if node.reported
                                     else ("Not reported", "No"))

    # Issues: each unit's validation issues, rendered.
    issues = sheet_rows(book, result.issues_sheet)
    got_issues = sorted((row[0], row[3], row[6]) for row in issues[1:])
    want_issues = sorted((r.unit_code, i.field or "", i.render()) for r in
                         reports(root, period, previous_period) for i in r.issues)
    assert got_issues == want_issues

    # One sheet per direct child that reported, with its own figures.
    direct = [c for c in root.children if c.reported]
    assert set(result.child_sheets) == {c.code for c in direct}
    for child in direct:
        cells = result.child_cells[child.code]
        for key in ("found", "visits"):
            if key in cells:
                got = cell(book, result.child_sheets[child.code], cells[key])
                want = expected(child, key)
                assert got == ("" if want is None else pytest.approx(float(want)))
    _check_sheet_names(book.sheet_names)


def _growth(node: Node, key: str, late_year: bool) -> float | None:
    """本期新增 of a cumulative field: year-span fields restart in January."""
    if key not in ("found", "rectified", "funding", "visits", "posts"):
        return None
    value = expected(node, key)
    before = (node.previous or {}).get(key)
    if before is None or (key == "visits" and late_year):
        return float(value)
    return float(value - before)


def _check_sheet_names(names: list[str]) -> None:
    assert len({n.casefold() for n in names}) == len(names)
    for name in names:
        assert 0 < len(name) <= 31
        assert not set(name) & set("[]:*?/\\")
        assert not name.startswith("'") and not name.endswith("'")


# -- examples a user would notice ----------------------------------------------------------


def _report(code: str, name: str, values: dict, *, version: int = 2, depth: int = 1,
            status: str = "approved", **extra: Any) -> UnitReport:
    return UnitReport(code, name, "ROOT" if depth == 1 else "X", depth, "2024Q4", "merge-test",
                      version, status, values=values, **extra)


def _write(tmp_path: Path, reports: list[UnitReport], **options: Any):
    present = [ChildReport(r.unit_code, r.unit_name, r.values) for r in reports
               if r.depth == 1 and r.values]
    path = tmp_path / "merged.xlsx"
    result = write_merged_workbook(
        path, V2, unit_code="ROOT", unit_name="池店镇", period="2024Q4",
        consolidated=consolidate(V2, present).values, reports=iter(reports),
        versions=VERSIONS, **options)
    return path, result


def test_mixed_versions_merge_by_field_key(tmp_path):
    path, result = _write(tmp_path, [
        _report("A", "甲村", {"found": 3, "posts": 2}, version=2),
        _report("B", "乙村", {"found": 4}, version=1),
        _report("C", "丙村", {"found": 5, "posts": 7}, version=2),
    ])
    book = CalamineWorkbook.from_path(str(path))
    assert cell(book, result.summary_sheet, result.summary_cells["found"]) == 12
    assert cell(book, result.summary_sheet, result.summary_cells["posts"]) == 9
    data = sheet_rows(book, result.data_sheets[0])[1:]
    assert sorted((r[0], r[7], r[9], r[5]) for r in data) == [
        ("A", "found", 3, 2), ("A", "posts", 2, 2), ("B", "found", 4, 1),
        ("C", "found", 5, 2), ("C", "posts", 7, 2),
    ]
    # The v1 child's sheet is its own form, without the field it never had.
    assert "posts" not in result.child_cells["B"]
    assert "posts" in result.child_cells["A"]


def test_missing_and_not_counted_children_are_listed(tmp_path):
    path, result = _write(tmp_path, [
        _report("A", "甲村", {"found": 3}, submitted_at=datetime(2024, 12, 31, 17, 0),
                late=True, submitter="张三", phone="13800000000", revision=2),
        _report("B", "乙村", {}, status=NOT_STARTED),
        _report("C", "丙村", {"found": 9}, status="submitted", included=False),
    ])
    book = openpyxl.load_workbook(path)
    rows = list(book[result.completeness_sheet].iter_rows(min_row=2, values_only=True))
    assert [r[:6] for r in rows] == [
        ("A", "甲村", "ROOT", 1, "Approved", "Yes"),
        ("B", "乙村", "ROOT", 1, "Not reported", "No"),
        ("C", "丙村", "ROOT", 1, "Submitted", "No"),
    ]
    # Stored in UTC, shown at Beijing time: 01:00 the next day.
    assert rows[0][6:11] == (datetime(2025, 1, 1, 1, 0), "Yes", "张三", "13800000000", 2)
    assert rows[0][12] == "甲村" and rows[1][12] is None
    assert "B" not in result.child_sheets
    assert book[result.completeness_sheet].auto_filter.ref == "A1:M4"


def test_text_is_never_a_formula_and_labels_follow_the_locale(tmp_path):
    path, result = _write(tmp_path, [
        _report("A", "=HYPERLINK(\"x\")", {"found": 1, "i01_progress": "=1+1"}),
    ], locale="en")
    book = openpyxl.load_workbook(path)
    data = book[result.data_sheets[0]]
    row = [c for c in next(data.iter_rows(min_row=2))]
    assert row[1].value == '=HYPERLINK("x")' and row[1].data_type == "s"
    labels = {r[7]: r[8] for r in data.iter_rows(min_row=2, values_only=True)}
    assert labels == {"found": "Hazards found", "i01_progress": "Progress"}
    summary = book[result.summary_sheet]
    assert summary[result.summary_cells["i01_progress"]].value == '=HYPERLINK("x")：=1+1'
    assert summary[result.summary_cells["i01_progress"]].data_type == "s"
    assert data.auto_filter.ref == "A1:R3"


def test_official_layout_keeps_merged_item_numbers(tmp_path):
    path, result = _write(tmp_path, [_report("A", "甲村", {"found": 2, "rectified": 1})])
    summary = openpyxl.load_workbook(path)[result.summary_sheet]
    found_row = int(result.summary_cells["found"].lstrip("ABCDEFGH"))
    rectified_row = int(result.summary_cells["rectified"].lstrip("ABCDEFGH"))
    # Item 1's number spans its title row and both indicator rows, as on the printed form.
    spans = [str(r) for r in summary.merged_cells.ranges]
    assert f"B{found_row - 1}:B{rectified_row}" in spans
    assert summary[f"B{found_row - 1}"].value == "1"
    assert summary[result.summary_cells["rectified"]].value == 1
    assert summary.protection.sheet is False


def test_many_children_beyond_the_sheet_cap_stay_in_the_data(tmp_path):
    reports = [_report(f"U{i}", "同名村", {"found": i}) for i in range(5)]
    path, result = _write(tmp_path, reports, max_child_sheets=3)
    book = CalamineWorkbook.from_path(str(path))
    assert list(result.child_sheets.values()) == ["同名村", "同名村 (2)", "同名村 (3)"]
    completeness = sheet_rows(book, result.completeness_sheet)[1:]
    assert [r[12] for r in completeness][3:] == ["in the data sheet only"] * 2
    assert len(sheet_rows(book, result.data_sheets[0])) == 6


def test_translate_names_the_sheets_and_headers(tmp_path):
    zh = {"Summary": "汇总", "Data": "数据", "Unit code": "单位代码", "Approved": "已审核"}
    path, result = _write(tmp_path, [_report("A", "甲村", {"found": 2})],
                          translate=lambda s: zh.get(s, s))
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names[:4] == ["汇总", "Completeness", "Validation issues", "数据"]
    assert sheet_rows(book, "数据")[0][0] == "单位代码"
    assert sheet_rows(book, "Completeness")[1][4] == "已审核"


def test_a_narrative_longer_than_a_cell_is_cut_visibly(tmp_path):
    long = "整改" * 20_000
    path, result = _write(tmp_path, [_report("A", "甲村", {"found": 1, "i01_progress": long})])
    book = CalamineWorkbook.from_path(str(path))
    shown = cell(book, result.summary_sheet, result.summary_cells["i01_progress"])
    assert shown.startswith("甲村：整改") and shown.endswith("…")
    assert len(shown) <= 32_767 // 2


def test_data_beyond_excels_last_row_continues_on_another_sheet(tmp_path, monkeypatch):
    monkeypatch.setattr("exports.merged_workbook.EXCEL_MAX_ROWS", 4)  # header + 3 rows
    reports = [_report(f"U{i}", f"村{i}", {"found": i, "rectified": i}) for i in range(4)]
    path, result = _write(tmp_path, reports)
    book = CalamineWorkbook.from_path(str(path))
    assert result.data_sheets == ["Data", "Data (2)", "Data (3)"]
    parts = [sheet_rows(book, name) for name in result.data_sheets]
    assert [len(p) for p in parts] == [4, 4, 3]
    assert all(p[0] == list(FLAT_HEADERS) for p in parts)
    assert [r[0] for p in parts for r in p[1:]] == [f"U{i}" for i in range(4) for _ in "ab"]


def test_every_sheet_that_grows_with_the_units_continues_on_translated_sheets(tmp_path):
    """A subtree longer than a sheet: nothing is cut, every part repeats the header, and
    the continuation sheets carry the translated title ("明细数据 (2)")."""
    from babel.support import Translations

    from exports.figure_notes import NOTE_HEADERS
    from exports.summary_sheets import PART_HEADERS, TEXT_HEADERS, SummaryInput
    from forms.consolidation import Part
    from forms.issues import warning

    catalogue = Translations.load(str(Path(__file__).parents[2] / "translations"), ["zh_CN"])
    t = catalogue.gettext
    units = [(f"U{i:02d}", f"村{i}") for i in range(11)]
    reports = [_report(code, name, {"found": i + 1, "rectified": i},
                       issues=(warning("found", "differs_from_children", value=str(i + 1),
                                       expected="0", label="发现"),),
                       explanations={"found": f"说明{i}"})
               for i, (code, name) in enumerate(units)]
    parts = [Part(code, name, i + 1, revision=1) for i, (code, name) in enumerate(units)]
    summary = SummaryInput(unit_name="池店镇", period_label="2024年第四季度", as_of=None,
                           coverage="", values={}, increments={}, previous={},
                           coverage_by_field={})
    path, result = _write(tmp_path, reports, translate=t, summary=summary, max_rows=5,
                          lists={"i01_progress": [(name, f"进展{name}") for _, name in units]},
                          provenance={"found": parts})
    book = CalamineWorkbook.from_path(str(path))

    def rows_of(first: str, header: tuple[str, ...]) -> list[list[Any]]:
        names = result.sheets_of(first)
        assert len(names) > 1  # it did overflow
        assert names == [t(first_title(first))] + [
            f"{t(first_title(first))} ({n})" for n in range(2, len(names) + 1)]
        out = []
        for name in names:
            rows = sheet_rows(book, name)
            assert rows[0][:len(header)] == [t(h) for h in header], name
            assert 1 < len(rows) <= 5, name
            out += rows[1:]
        return out

    titles = {result.completeness_sheet: "Completeness", result.issues_sheet: "Validation issues",
              result.notes_sheet: "Explanations", result.data_sheets[0]: "Data",
              result.texts_sheet: "Texts", result.parts_sheet: "Parts"}

    def first_title(first: str) -> str:
        return titles[first]

    codes = [code for code, _ in units]
    assert [r[0] for r in rows_of(result.completeness_sheet, COMPLETENESS_HEADERS)] == codes
    assert [r[0] for r in rows_of(result.issues_sheet, ISSUE_HEADERS)] == codes
    assert [(r[0], r[-3]) for r in rows_of(result.notes_sheet, NOTE_HEADERS)] == [
        (code, f"说明{i}") for i, code in enumerate(codes)]
    assert result.data_sheets == result.sheets_of(result.data_sheets[0])
    data = rows_of(result.data_sheets[0], FLAT_HEADERS)
    assert len(data) == result.data_rows == 2 * len(units)
    assert {(r[0], r[7], r[9]) for r in data} == (
        {(code, "found", i + 1) for i, code in enumerate(codes)}
        | {(code, "rectified", i) for i, code in enumerate(codes)})
    assert [r[3] for r in rows_of(result.texts_sheet, TEXT_HEADERS)] == [n for _, n in units]
    assert [(r[2], r[4]) for r in rows_of(result.parts_sheet, PART_HEADERS)] == [
        (code, i + 1) for i, code in enumerate(codes)]
    # The by-unit sheet keeps its last two rows for the legend: two units per sheet here.
    by_unit = result.sheets_of(result.by_unit_sheet)
    assert by_unit == [t("By unit"), *(f"{t('By unit')} ({n})" for n in range(2, 7))]
    listed = [row for name in by_unit for row in sheet_rows(book, name)[1:3]
              if row and str(row[0]).startswith("U")]
    assert [row[0] for row in listed] == codes
    assert all(sheet_rows(book, name)[0][0] == t("Unit code") for name in by_unit)
