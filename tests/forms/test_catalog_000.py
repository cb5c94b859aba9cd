"""The Chidian progress table (plan 000) checked against the plan text itself.

The expectations are read from ``forms/catalog/plans/000_*.txt`` with regular
expressions, independently of the YAML, so a typo in a title, a task filed
under the wrong section or a wrong deadline fails here. What every template
owes its plan (round trip, source, English texts, units, rules) is checked in
``test_catalog.py``.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from plan_text import plan_text, rule_issues, squash

from forms.definition import Definition, FieldKind
from forms.loader import CATALOG_DIR, load_definition
from forms.periods import Period

YAML = CATALOG_DIR / "000_chidian_progress.yaml"
PLAN_TEXT = plan_text("000")
PLAN = squash(PLAN_TEXT)


@pytest.fixture(scope="module")
def definition() -> Definition:
    return load_definition(YAML)


def body_tasks() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(section number, section title, [(task number, task title)]) from 二、工作任务."""
    body = PLAN_TEXT.split("二、工作任务", 1)[1].split("三、工作安排", 1)[0]
    sections: list[tuple[str, str, list[tuple[str, str]]]] = []
    for line in body.splitlines():
        line = line.strip()
        if m := re.match(r"^(（[一二三四五六七八九十]+）)(.+)$", line):
            sections.append((m[1], m[2], []))
        elif m := re.match(r"^(\d+)\.\s*(.+?)。", line):
            sections[-1][2].append((m[1], m[2]))
    return sections


def attachment_rows() -> list[tuple[str, str, str]]:
    """(工程 title, task number, task title) for each row of the printed attachment table."""
    table = PLAN_TEXT.split("| 序号 |", 1)[1]
    rows = []
    group = ""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not (m := re.match(r"^(\d+)\.(.+?)。?$", cells[2])):
            continue
        group = cells[1] or group
        rows.append((group, m[1], m[2]))
    return rows


def attachment_line(prefix: str) -> str:
    return next(line.strip() for line in PLAN_TEXT.splitlines() if line.strip().startswith(prefix))


# -- the document ---------------------------------------------------------------


def test_source_cites_the_plan(definition):
    src = definition.source
    assert src.doc_number is not None
    assert src.issuer in PLAN_TEXT
    assert src.date == date(2024, 5, 22)


def test_title_header_columns_and_footer_are_the_attachment_form(definition):
    assert squash(definition.title) in PLAN
    assert definition.title.endswith("推进情况表")
    header = [definition.unit_label] + [f.label for f in definition.header]
    printed = [attachment_line(label).rstrip(":：") for label in ("报送单位", "报送人", "联系电话")]
    assert header == printed
    assert all(f.required for f in definition.header)
    assert next(f for f in definition.header if f.label == "联系电话").format == "phone"

    header_row = next(line for line in PLAN_TEXT.splitlines() if line.startswith("| 序号 |"))
    printed_columns = [c.strip() for c in header_row.strip("|").split("|")]
    assert [c.label for c in definition.columns] == printed_columns

    footer = attachment_line("注：")
    assert [squash(n) for n in definition.notes] == [squash(footer)]


def test_units_fill_in_the_columns_left_blank_in_the_printed_table(definition):
    inputs = {c.label for c in definition.columns if c.source == "input"}
    assert inputs == {"实施措施", "推进情况", "备注"}
    for _, item in definition.items():
        keys = {f.key for f in item.fields}
        assert {f"{item.key}_measures", f"{item.key}_progress", f"{item.key}_remarks"} <= keys


# -- items, sections and the discrepancies with the attachment -----------------------


def test_items_and_sections_follow_the_body_text(definition):
    expected = body_tasks()
    assert len(expected) == 6
    assert sum(len(tasks) for _, _, tasks in expected) == 21
    actual = [
        (s.number, s.title, [(i.number, i.title) for i in s.items]) for s in definition.sections
    ]
    assert actual == expected


def test_every_item_keeps_its_plan_paragraph(definition):
    for _, item in definition.items():
        assert item.plan_text.startswith(item.title + "。"), item.key
        # 具体内容 is the paragraph after its title sentence.
        assert item.texts["content"] == item.plan_text.removeprefix(item.title + "。"), item.key


def test_attachment_titles_differ_from_the_body_only_where_noted(definition):
    rows = attachment_rows()
    assert [number for _, number, _ in rows] == [str(n) for n in range(1, 22)]
    body = {i.number: i for _, i in definition.items()}
    differing = {number: title for _, number, title in rows if title != body[number].title}
    # Item 2 is printed as 严格落实设施“三同时”管理 in the attachment.
    assert differing == {"2": "严格落实设施“三同时”管理"}
    assert differing["2"] in body["2"].note
    assert differing["2"] in definition.description


def test_attachment_grouping_differs_from_the_body_only_where_noted(definition):
    section_of = {i.number: s for s, i in definition.items()}
    # The attachment labels its groups 1–6 with the 工程 titles of the body.
    moved = {
        number: group for group, number, _ in attachment_rows() if group != section_of[number].title
    }
    # 15 (enforcement) is printed under the standardisation group and 19
    # (digitalisation) under the enforcement group; the body text wins.
    assert moved == {
        "15": "实施企业安全生产标准化管理体系提质增效工程",
        "19": "实施安全监管执法效能提升工程",
    }
    for number, printed_group in moved.items():
        item = next(i for _, i in definition.items() if i.number == number)
        assert "附件" in item.note and "以正文为准" in item.note
        assert item.title in definition.description
        group = next(s for s in definition.sections if s.title == printed_group)
        assert f"第{number}项" in group.note
        assert f"第{number}项" in section_of[number].note


# -- schedule -------------------------------------------------------------------------


def test_due_on_the_fifth_of_the_month_after_each_quarter(definition):
    schedule = definition.schedule
    assert schedule.frequency == "quarterly"
    assert (schedule.first, schedule.last) == ("2024Q2", "2026Q4")
    assert len(schedule.periods()) == 11
    due = {k: schedule.due_date(Period.parse(k)) for k in ("2024Q2", "2024Q3", "2024Q4", "2025Q1")}
    assert due == {
        "2024Q2": date(2024, 7, 5),
        "2024Q3": date(2024, 10, 5),
        "2024Q4": date(2025, 1, 5),
        "2025Q1": date(2025, 4, 5),
    }
    # The days printed in the footer note are exactly the deadlines of the window.
    footer = squash(attachment_line("注："))
    printed = {(int(m), int(d)) for m, d in re.findall(r"(\d+)月(\d+)日", footer)}
    assert {(d.month, d.day) for d in map(schedule.due_date, schedule.periods())} == printed


def test_window_matches_the_plan_phases(definition):
    # 从2024年5月至2026年12月: the first quarter reported is the one holding May 2024.
    assert "从2024年5月至2026年12月" in PLAN
    assert Period.parse(definition.schedule.first).start <= date(2024, 5, 1)
    assert Period.parse(definition.schedule.last).end == date(2026, 12, 31)


# -- indicators and rules ------------------------------------------------------------------


def indicators(item):
    return [f for f in item.fields if f.is_numeric]


def test_every_task_has_countable_indicators(definition):
    for _, item in definition.items():
        assert indicators(item), f"item {item.number} has no indicator"
        for fld in indicators(item):
            assert fld.key.startswith(f"{item.key}_"), fld.key


def test_every_indicator_has_a_basis_and_targets_only_where_the_plan_sets_one(definition):
    targets = set()
    for _, item in definition.items():
        for fld in indicators(item):
            assert fld.basis, fld.key
            if fld.target is not None:
                targets.add(fld.key)
    # Dated goals, coverage and recurring minimums of the plan (their quotes are checked in
    # test_catalog_targets); no figure is invented where the plan names none.
    assert targets == {"i04_covered", "i06_observations", "i06_drills", "i08_certified",
                       "i09_principal_checks", "i10_stock_rectified", "i13_benchmarks"}


def test_figures_are_cumulative_as_the_footer_says(definition):
    assert "相关数据均为累计" in definition.notes[0]
    numeric = [f for f in definition.numeric_fields() if not f.is_calculated]  # typed
    # Only current head counts and the 2023 stock are states rather than running totals
    # (rates are calculated from the figures, never typed).
    states = {f.key for f in numeric if not f.cumulative and not f.is_calculated}
    assert states == {"i04_principals", "i04_covered", "i08_workers", "i08_certified", "i10_stock"}
    yearly = {f.key for f in numeric if f.cumulative and f.cumulative_span == "year"}
    assert yearly == {"i06_observations"}  # 每年至少组织1次…观摩活动
    assert "每年至少组织1次工贸重点行业领域疏散逃生演练现场观摩活动" in PLAN
    assert all(f.kind in (FieldKind.INTEGER, FieldKind.DECIMAL) for f in numeric)


def test_figures_are_checked_against_each_other(definition):
    assert definition.rules


@pytest.mark.parametrize(
    ("larger", "smaller"),
    [
        ("i09_hazards_found", "i09_hazards_rectified"),
        ("i10_stock", "i10_stock_rectified"),
        ("i10_major_found", "i10_major_rectified"),
        ("i15_cases", "i15_double_penalty"),
        ("i08_workers", "i08_certified"),
        ("i04_principals", "i04_covered"),
    ],
)
def test_a_part_larger_than_its_whole_is_an_error(definition, larger, smaller):
    assert rule_issues(definition, {larger: 3, smaller: 3}) == []
    [issue] = rule_issues(definition, {larger: 3, smaller: 4})
    assert issue.field == smaller
