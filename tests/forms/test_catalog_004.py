"""The Siping half-yearly work summary (plan 004) checked against the plan text itself.

The expectations are read from ``forms/catalog/plans/004_*.txt`` with regular
expressions, independently of the YAML. What every template owes its plan
(round trip, source, English texts, units, rules) is checked in
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
from forms.validation import validate

YAML = CATALOG_DIR / "004_siping_summary.yaml"
PLAN_TEXT = plan_text("004")
TASKS_TEXT = PLAN_TEXT.split("二、主要任务", 1)[1].split("三、保障措施", 1)[0]
SAFEGUARDS_TEXT = PLAN_TEXT.split("三、保障措施", 1)[1]
PLAN = squash(PLAN_TEXT)


@pytest.fixture(scope="module")
def definition() -> Definition:
    return load_definition(YAML)


def plan_actions() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(action number, action title, [(task number, first sentence)]) from 二、主要任务."""
    actions: list[tuple[str, str, list[tuple[str, str]]]] = []
    for line in TASKS_TEXT.splitlines():
        line = line.strip()
        if m := re.match(r"^(（[一二三四五六七八九十]+）)(.+?)。$", line):
            actions.append((m[1], m[2], []))
        elif m := re.match(r"^(\d+)\.(.+?)。", line):
            actions[-1][2].append((m[1], m[2]))
    return actions


def task_paragraphs() -> dict[str, str]:
    return dict(re.findall(r"^(\d+)\.(.+)$", TASKS_TEXT, flags=re.MULTILINE))


def safeguard_paragraphs() -> dict[str, str]:
    return dict(re.findall(r"^(（[一二三四五]）)(.+)$", SAFEGUARDS_TEXT, flags=re.MULTILINE))


def task_sections(definition):
    return [s for s in definition.sections if s.key not in ("safeguards", "summary")]


# -- the document ---------------------------------------------------------------


def test_source_cites_the_plan(definition):
    src = definition.source
    assert "市工信局" in PLAN_TEXT and src.issuer.startswith("四平市")
    # The copy we hold is the plan itself, without the covering notice: no number, no date.
    assert src.doc_number is None and src.date is None


def test_columns_are_those_of_the_battle_map(definition):
    # 三（二）: 明确具体工作、推进措施、进展情况、成果形式、责任部门等
    named = re.search(r"明确(具体工作.+?)等，实行挂图作战", PLAN)[1].split("、")
    assert [c.label for c in definition.columns] == ["序号", *named]
    sources = {c.label: c.source for c in definition.columns}
    assert sources == {
        "序号": "number",
        "具体工作": "title",
        "推进措施": "input",
        "进展情况": "input",
        "成果形式": "text",
        "责任部门": "input",
    }


def test_the_county_fills_its_own_measures_and_department_with_the_plan_as_guidance(definition):
    # 三（二）: 各地工信部门要根据任务清单，制定本地区……作战图集 — the county's own entries.
    assert "制定本地区工业行业《安全生产治本攻坚三年行动作战图集》" in PLAN
    task = next(item for _, item in definition.items() if "measures" in item.texts)
    measures = definition.field(f"{task.key}_measures")
    department = definition.field(f"{task.key}_department")
    assert (measures.kind, department.kind) == ("longtext", "text")
    assert measures.help == "方案要求：" + task.texts["measures"]
    assert measures.help_en.startswith("The plan asks: ")
    assert department.help is None  # the plan names no department: nothing to suggest
    keys = {f.key for _, item in definition.items() for f in item.fields}
    for section, item in definition.items():
        own = {f"{item.key}_measures", f"{item.key}_department"}
        # The narrative rows of the summary have no measures or department of their own.
        assert (own <= keys) is (section.key != "summary"), item.key
        assert own & keys == (set() if section.key == "summary" else own)
    assert [f.label for f in definition.header] == ["报送人", "联系电话"]


# -- tasks and actions ------------------------------------------------------------------


def test_tasks_and_actions_follow_the_plan(definition):
    expected = plan_actions()
    assert len(expected) == 9
    assert [n for _, _, tasks in expected for n, _ in tasks] == [str(n) for n in range(1, 30)]
    actual = [
        (s.number, s.title, [(i.number, i.title) for i in s.items])
        for s in task_sections(definition)
    ]
    assert actual == expected


def test_task_text_splits_into_work_and_measures(definition):
    paragraphs = task_paragraphs()
    for section in task_sections(definition):
        for item in section.items:
            assert item.plan_text == paragraphs[item.number].strip(), item.number
            # 具体工作 is the first sentence; 推进措施 the rest of the paragraph, if any.
            measures = item.texts.get("measures", "")
            assert item.plan_text == f"{item.title}。{measures}", item.number


def test_outputs_are_named_in_their_task_and_departments_are_left_blank(definition):
    outputs = {}
    for _, item in definition.items():
        assert "department" not in item.texts  # the plan names no responsible department
        if "output" in item.texts:
            assert squash(item.texts["output"]) in squash(item.plan_text), item.key
            outputs[item.number] = item.texts["output"]
    assert set(outputs) == {"1", "2", "6", "18"}


def test_safeguards_with_figures_are_reported_too(definition):
    section = next(s for s in definition.sections if s.key == "safeguards")
    paragraphs = safeguard_paragraphs()
    for item in section.items:
        assert item.plan_text == paragraphs[item.number].strip(), item.number
        assert item.plan_text == f"{item.title}。{item.texts['measures']}", item.number
    assert [i.number for i in section.items] == ["（一）", "（二）", "（三）", "（四）"]
    # 三（四）: every half-year at least one on-site guidance visit.
    visits = definition.field("g4_onsite_visits")
    assert visits.cumulative and visits.unit == "次"
    assert "每半年至少开展一次实地专项指导服务" in visits.basis


def test_the_summary_asks_for_work_done_problems_and_next_steps(definition):
    summary = definition.sections[-1]
    assert summary.key == "summary"
    assert [i.title for i in summary.items] == ["主要工作完成情况", "存在问题", "下一步工作打算"]
    for item in summary.items:
        [narrative] = item.fields  # the row's 进展情况 cell holds the narrative
        assert narrative.key == f"{item.key}_progress"
        assert narrative.kind is FieldKind.LONGTEXT and narrative.required
        assert squash(narrative.basis) in PLAN
    issues = validate(definition, {"reporter": "张三", "phone": "13800000000"})
    missing = {i.field for i in issues if i.code == "required"}
    assert {f"{i.key}_progress" for i in summary.items} <= missing


# -- schedule ---------------------------------------------------------------------------


def test_due_on_june_and_december_10th_within_each_half_year(definition):
    schedule = definition.schedule
    assert schedule.frequency == "halfyearly"
    assert (schedule.first, schedule.last) == ("2024H1", "2026H2")
    due = {k: schedule.due_date(Period.parse(k)) for k in ("2024H1", "2024H2", "2025H1", "2025H2")}
    assert due == {
        "2024H1": date(2024, 6, 10),
        "2024H2": date(2024, 12, 10),
        "2025H1": date(2025, 6, 10),
        "2025H2": date(2025, 12, 10),
    }
    printed = re.search(r"并于每年(.+?)前报送工作总结", PLAN)[1]
    days = {(int(m), int(d)) for m, d in re.findall(r"(\d+)月(\d+)日", printed)}
    assert {(d.month, d.day) for d in map(schedule.due_date, schedule.periods())} == days
    # The plan runs 2024-2026.
    assert "（2024-2026年）" in PLAN
    assert len(schedule.periods()) == 6


# -- indicators and rules ------------------------------------------------------------------


def test_indicators_are_cumulative_with_a_basis_and_only_half_yearly_minimums(definition):
    numeric = [f for f in definition.numeric_fields() if not f.is_calculated]  # typed
    assert len(numeric) >= 40
    for fld in numeric:
        assert fld.cumulative, fld.key
        assert fld.basis, fld.key
        # The plan states deadlines, not figures; its only numbers are “每半年至少…一次”.
        if fld.target is not None:
            assert (fld.target.kind, fld.target.every, fld.target.value) == (
                "recurring", "halfyear", 1), fld.key
    assert {f.key for f in numeric if f.target} == {"g1_briefings", "g4_onsite_visits",
                                                    "i17_drills"}


def test_named_duties_have_their_indicator(definition):
    def basis_of(key):
        return definition.field(key).basis

    # Monthly checks led by principals of civil-explosives businesses (task 10).
    assert "民爆行业生产经营单位主要负责人每月带队" in basis_of("i10_explosives_checks")
    assert "每半年至少组织一次疏散逃生演练" in basis_of("i17_drills")
    trainings = [f for f in definition.numeric_fields() if "培训" in f.label]
    assert len(trainings) >= 4
    hazards = {f.key for f in definition.numeric_fields() if f.unit in ("处", "项")}
    assert {"i07_found", "i07_rectified", "i12_hazards_found", "i12_major_rectified"} <= hazards


def test_figures_are_checked_against_each_other(definition):
    assert definition.rules


@pytest.mark.parametrize(
    ("whole", "part"),
    [
        ("i07_found", "i07_rectified"),
        ("i11_supervised", "i11_closed"),
        ("i12_hazards_found", "i12_hazards_rectified"),
        ("i12_major_reported", "i12_major_rectified"),
        ("i23_violations", "i23_rectified"),
        ("g4_problems_found", "g4_problems_rectified"),
    ],
)
def test_a_part_larger_than_its_whole_is_an_error(definition, whole, part):
    assert rule_issues(definition, {whole: 2, part: 2}) == []
    [issue] = rule_issues(definition, {whole: 2, part: 3})
    assert issue.field == part
