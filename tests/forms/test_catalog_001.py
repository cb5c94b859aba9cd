"""The Xuefeng zone progress form (plan 001) checked against the plan text itself.

Expectations are read from ``forms/catalog/plans/001_*.txt`` with regular
expressions, independently of the YAML, so a mistyped title, a task filed under
the wrong action or a target that is not the plan's fails here. What every
template owes its plan (round trip, source, English texts, units, rules) is
checked in ``test_catalog.py``.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from plan_text import (
    indicators_not_quoting_their_own_item,
    item_indicators,
    plan_text,
    rule_issues,
    squash,
)

from forms.definition import Definition, FieldKind
from forms.loader import CATALOG_DIR, load_definition
from forms.periods import Period

YAML = CATALOG_DIR / "001_xuefeng_progress.yaml"
# The conversion left bold markers (``**``) around the first five task titles;
# ``squash`` drops them.
PLAN_TEXT = plan_text("001")
PLAN = squash(PLAN_TEXT)


@pytest.fixture(scope="module")
def definition() -> Definition:
    return load_definition(YAML)


def plan_tasks() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(action number, action title, [(task number, task title)]) from 二、主要任务.

    The plan prints the first two action numbers with half-width brackets and a
    space, ``(一) ``, and the others as ``（三）``; the template prints them all
    the Chinese way, so the numbers are compared in that form.
    """
    body = PLAN_TEXT.split("二、主要任务", 1)[1].split("三、保障措施", 1)[0]
    actions: list[tuple[str, str, list[tuple[str, str]]]] = []
    for line in body.splitlines():
        line = line.strip()
        if m := re.match(r"^[（(]\s*([一二三四五六七八九十]+)\s*[）)]\s*(.+)$", line):
            actions.append((f"（{m[1]}）", m[2], []))
        elif m := re.match(r"^(\d+)\.\s*(?:\*\*)?(.+?)。", line):
            actions[-1][2].append((m[1], m[2]))
    return actions


# -- the document ---------------------------------------------------------------------


def test_source_cites_the_plan(definition):
    src = definition.source
    assert src.doc_number == "南雪管〔2024〕24号"
    assert src.issuer in PLAN_TEXT
    assert src.date == date(2024, 6, 5)


def test_reported_by_the_units_the_plan_addresses(definition):
    assert "各办、各中心、各相关单位、各企业：" in PLAN_TEXT
    assert "各办、各中心、各相关单位、各企业" in definition.description
    assert "管委会" in definition.description
    assert [f.label for f in definition.header] == ["报送人", "联系电话"]


def test_columns_are_task_content_and_the_two_inputs(definition):
    labels = [c.label for c in definition.columns]
    assert labels == ["序号", "工作任务", "工作内容", "推进情况", "备注"]
    assert [c.source for c in definition.columns] == ["number", "title", "text", "input", "input"]
    for _, item in definition.items():
        progress = definition.field(f"{item.key}_progress")
        assert progress.kind is FieldKind.LONGTEXT
        assert definition.field(f"{item.key}_remarks").kind is FieldKind.TEXT


# -- actions and tasks ------------------------------------------------------------------


def test_actions_and_tasks_follow_the_plan(definition):
    expected = plan_tasks()
    assert len(expected) == 9
    assert [n for _, _, tasks in expected for n, _ in tasks] == [str(n) for n in range(1, 21)]
    actual = [
        (s.number, s.title, [(i.number, i.title) for i in s.items]) for s in definition.sections
    ]
    assert actual == expected


def test_every_task_keeps_its_plan_paragraph(definition):
    for _, item in definition.items():
        assert item.plan_text.startswith(item.title + "。"), item.key
        # 工作内容 is the paragraph after the task's title sentence.
        assert item.texts["content"] == item.plan_text.removeprefix(item.title + "。"), item.key


# -- schedule -----------------------------------------------------------------------------


def test_reported_quarterly_on_the_fifth_after_each_quarter(definition):
    schedule = definition.schedule
    assert schedule.frequency == "quarterly"
    assert (schedule.first, schedule.last) == ("2024Q2", "2026Q4")
    assert len(schedule.periods()) == 11
    due = {k: schedule.due_date(Period.parse(k)) for k in ("2024Q2", "2024Q4", "2025Q2", "2026Q4")}
    assert due == {
        "2024Q2": date(2024, 7, 5),
        "2024Q4": date(2025, 1, 5),
        "2025Q2": date(2025, 7, 5),
        "2026Q4": date(2027, 1, 5),
    }


def test_window_runs_from_the_issue_date_to_the_end_of_the_campaign(definition):
    # 从即日起…开展安全生产治本攻坚三年行动（2024—2026年）, issued on 2024-06-05.
    assert "从即日起" in PLAN and "三年行动（2024—2026年）" in PLAN
    first, last = definition.schedule.first_period, definition.schedule.last_period
    assert first.start <= date(2024, 6, 5) <= first.end
    assert last.end == date(2026, 12, 31)
    # The plan sets no reporting rhythm; the description says why quarterly was chosen.
    assert "每季度" in PLAN and "按季度报送" in definition.description


# -- indicators, targets and rules -------------------------------------------------------


def test_indicators_have_a_basis_from_their_own_task(definition):
    assert indicators_not_quoting_their_own_item(definition) == []
    assert len(item_indicators(definition)) >= 30


def test_countable_duties_named_by_the_plan_are_indicators(definition):
    expected = {
        "i12_principal_checks": "每季度带队对本单位重大事故隐患排查整治情况至少开展1次检查",
        "i15_drills": "每年至少组织开展1次疏散逃生演练",
        "i11_closed": "“五个清单”闭环管理",
        "i08_red": "红橙黄蓝“四色”安全风险分级管控机制",
    }
    for key, phrase in expected.items():
        assert phrase in PLAN
        assert phrase in squash(definition.field(key).basis), key


def test_targets_are_the_zones_own_numbers(definition):
    targets = {f.key: f.target for f in definition.fields() if f.target}
    assert set(targets) == {"i10_rated", "i10_posts", "i02_principals_trained",
                            "i12_principal_checks", "i15_drills", "i15_drills_half"}
    for key, printed in (("i10_rated", "不少于2家"), ("i10_posts", "不少于12个")):
        fld, target = definition.field(key), targets[key]
        phrase = f"不少于{target.value}{fld.unit}"
        assert phrase == printed and phrase in PLAN
        assert phrase in fld.basis
        assert target.comparison == ">="
        # The plan gives no date: the end of the campaign, as the description says.
        assert target.by == date(2026, 12, 31)
        assert fld.help and "2026年底" in fld.help
    assert "按三年行动期末（2026年12月31日）计" in definition.description


def test_running_totals_restart_yearly_only_where_the_plan_counts_per_year(definition):
    fields = definition.numeric_fields()
    yearly = {f.key for f in fields if f.cumulative and f.cumulative_span == "year"}
    assert yearly == {"i01_trainings", "i01_trainees", "i15_drills", "i15_drill_participants",
                      "i15_drills_half"}
    for key in yearly:
        assert "每年" in definition.item_of(key).plan_text
        assert "当年累计" in definition.field(key).help
    states = {f.key for f in fields if not f.cumulative}
    # Head counts and the current risk grading are states, not running totals.
    assert states == {
        "i02_principals",
        "i08_red",
        "i08_orange",
        "i08_yellow",
        "i08_blue",
        "i09_safety_staff",
        "i17_teams",
        "i17_members",
    }
    for key in states:
        assert "实有数" in definition.field(key).help


def test_six_rules_check_the_figures(definition):
    assert len(definition.rules) == 6


@pytest.mark.parametrize(
    ("whole", "part"),
    [
        ("i02_principals", "i02_principals_trained"),
        ("i11_problems", "i11_closed"),
        ("i12_hazards_found", "i12_hazards_rectified"),
        ("i13_major_listed", "i13_major_closed"),
        ("i14_reports", "i14_verified"),
    ],
)
def test_a_part_larger_than_its_whole_is_an_error(definition, whole, part):
    assert rule_issues(definition, {whole: 3, part: 3}) == []
    [issue] = rule_issues(definition, {whole: 3, part: 4})
    assert issue.field == part


def test_graded_risk_points_cannot_exceed_the_points_identified(definition):
    graded = {"i08_red": 1, "i08_orange": 2, "i08_yellow": 3, "i08_blue": 4}
    assert rule_issues(definition, {"i08_risk_points": 10, **graded}) == []
    [issue] = rule_issues(definition, {"i08_risk_points": 9, **graded})
    assert issue.params["rule"] == "r_i08_graded"
