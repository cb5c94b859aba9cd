"""The Cangyuan county templates (plan 003) checked against the plan text itself.

Two templates come from the plan: the quarterly progress form for the 27 tasks
and the one-off submission of each enterprise's own three-year plan, due 4月10日.
Expectations are read from ``forms/catalog/plans/003_*.txt`` with regular
expressions, independently of the YAML. What every template owes its plan
(round trip, source, English texts, units, rules) is checked in
``test_catalog.py``.
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
from forms.validation import validate

PROGRESS_YAML = CATALOG_DIR / "003_cangyuan_progress.yaml"
PLAN_YAML = CATALOG_DIR / "003_cangyuan_plan.yaml"
PLAN_TEXT = plan_text("003")
PLAN = squash(PLAN_TEXT)
# 全县所有规模以上工贸企业、涉有限空间、粉尘涉爆企业要结合实际制定三年治本攻坚行动工作方案
WHO_SUBMITS_PLANS = "全县所有规模以上工贸企业、涉有限空间、粉尘涉爆企业"


@pytest.fixture(scope="module")
def progress() -> Definition:
    return load_definition(PROGRESS_YAML)


@pytest.fixture(scope="module")
def enterprise_plan() -> Definition:
    return load_definition(PLAN_YAML)


def plan_tasks() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(group number, group title, [(task number, task title)]) from 二、主要任务."""
    body = PLAN_TEXT.split("二、主要任务", 1)[1].split("三、保障措施", 1)[0]
    groups: list[tuple[str, str, list[tuple[str, str]]]] = []
    for line in body.splitlines():
        line = line.strip()
        if m := re.match(r"^(（[一二三四五六七八九十]+）)(.+)$", line):
            groups.append((m[1], m[2], []))
        elif m := re.match(r"^(\d+)\.\s*(.+?)。", line):
            groups[-1][2].append((m[1], m[2]))
    return groups


def test_both_templates_cite_the_plan(progress, enterprise_plan):
    # The plan prints neither a document number nor a date, so neither is invented.
    assert not re.search(r"\d{4}年\d{1,2}月\d{1,2}日", PLAN_TEXT)
    for definition in (progress, enterprise_plan):
        src = definition.source
        assert src.issuer == "沧源佤族自治县应急管理局" and src.issuer in PLAN_TEXT
        assert src.doc_number is None and src.date is None


# -- progress form: the document ---------------------------------------------------------


def test_progress_is_reported_by_the_enterprises_to_the_bureau(progress):
    assert "各有关工贸企业：" in PLAN_TEXT and "安全生产基础股" in PLAN
    assert "各有关工贸企业" in progress.description
    assert "县应急管理局安全生产基础股" in progress.description
    assert [f.label for f in progress.header] == ["报送人", "联系电话"]
    labels = [c.label for c in progress.columns]
    assert labels == ["序号", "工作任务", "工作内容", "推进情况", "备注"]


def test_groups_and_tasks_follow_the_plan(progress):
    expected = plan_tasks()
    assert len(expected) == 8
    assert [n for _, _, tasks in expected for n, _ in tasks] == [str(n) for n in range(1, 28)]
    actual = [
        (s.number, s.title, [(i.number, i.title) for i in s.items]) for s in progress.sections
    ]
    assert actual == expected


def test_every_task_keeps_its_plan_paragraph(progress):
    for _, item in progress.items():
        assert item.plan_text.startswith(item.title + "。"), item.key
        assert item.texts["content"] == item.plan_text.removeprefix(item.title + "。"), item.key


# -- progress form: schedule ------------------------------------------------------------


def test_reported_quarterly_from_the_quarter_of_the_plan_deadline(progress):
    schedule = progress.schedule
    assert schedule.frequency == "quarterly"
    assert (schedule.first, schedule.last) == ("2024Q2", "2026Q4")
    due = {k: schedule.due_date(Period.parse(k)) for k in ("2024Q2", "2024Q4", "2026Q4")}
    assert due == {
        "2024Q2": date(2024, 7, 5),
        "2024Q4": date(2025, 1, 5),
        "2026Q4": date(2027, 1, 5),
    }
    # The enterprises' own plans are due 4月10日 (2024): the first quarter reported holds it.
    assert "4月10日前报县应急管理局安全生产基础股" in PLAN
    first = schedule.first_period
    assert first.start <= date(2024, 4, 10) <= first.end
    assert schedule.last_period.end == date(2026, 12, 31)
    assert "每季度" in PLAN and "按季度报送" in progress.description


# -- progress form: indicators, targets and rules ------------------------------------------


def test_indicators_have_a_basis_from_their_own_task(progress):
    assert indicators_not_quoting_their_own_item(progress) == []
    assert len(item_indicators(progress)) >= 35


def test_the_duties_the_plan_counts_are_indicators(progress):
    expected = {
        "i04_principal_checks": "主要负责人每季度至少带队检查1次重大事故隐患排查整治情况",
        "i04_major_ledgered": "对排查发现的重大事故隐患建立台账并按要求录入系统",
        "i08_double_reported": "重大事故隐患“双报告”制度",
        "i15_principals_trained": "企业主要负责人专题安全教育培训全覆盖",
        "i16_drills": "推动工贸企业每年至少开展1次疏散逃生演练",
        "i17_certified": "特种作业人员100%持证上岗",
    }
    for key, phrase in expected.items():
        assert phrase in PLAN
        assert phrase in squash(progress.field(key).basis), key


def test_dust_monitoring_hook_ups_follow_the_two_deadlines(progress):
    targets = {f.key: f.target for f in progress.fields() if f.target}
    assert {k for k, t in targets.items() if t.kind == "absolute"} == {
        "i12_powder_connected", "i09_registered"}  # and each 规模以上 firm in 码上查 by 2024
    # …and all of the 5+ staff firms by the end of 2025: a share of their number.
    dust5 = targets["i12_dust5_connected"]
    assert (dust5.kind, dust5.value, dust5.denominator, dust5.by) == (
        "share", 100, "i12_dust5", date(2025, 12, 31))
    # 2024年底前实现2户涉粉作业（煤粉、糖粉）正常生产的企业接入系统
    assert "2024年底前实现2户涉粉作业" in PLAN
    target = targets["i12_powder_connected"]
    assert (target.value, target.by, target.comparison) == (2, date(2024, 12, 31), ">=")
    # 2025年底前…所有涉粉作业5人以上…企业接入系统: all of them, so connected ≤ firms.
    assert "2025年底前实现所有涉粉作业5人以上" in PLAN
    assert "5人以上" in progress.field("i12_dust5").basis
    assert "2025年底前应全部接入" in progress.field("i12_dust5_connected").help
    assert rule_issues(progress, {"i12_dust5": 3, "i12_dust5_connected": 3}) == []
    [issue] = rule_issues(progress, {"i12_dust5": 3, "i12_dust5_connected": 4})
    assert issue.field == "i12_dust5_connected"


def test_running_totals_restart_yearly_only_for_the_yearly_drills(progress):
    fields = progress.numeric_fields()
    yearly = {f.key for f in fields if f.cumulative and f.cumulative_span == "year"}
    assert yearly == {"i16_drills", "i16_drill_participants", "i16_observations",
                      "i16_drills_half"}
    assert "每年至少组织1次工贸重点行业领域疏散逃生演练现场观摩活动" in PLAN
    for key in yearly:
        assert "当年累计" in progress.field(key).help
    states = {f.key for f in fields if not f.cumulative}
    assert states == {
        "i01_confined_spaces",
        "i05_stock",
        "i09_risk_points",
        "i09_in_system",
        "i09_registered",
        "i12_dust5",
        "i15_principals",
        "i15_principals_covered",
        "i17_special",
        "i17_certified",
        "i22_outsourced",
        "i22_checked",
    }


def test_twelve_rules_check_the_figures(progress):
    assert len(progress.rules) == 12


@pytest.mark.parametrize(
    ("whole", "part"),
    [
        ("i02_projects", "i02_compliant"),
        ("i04_major_found", "i04_major_ledgered"),
        ("i05_stock", "i05_stock_cleared"),
        ("i09_risk_points", "i09_in_system"),
        ("i15_principals", "i15_principals_covered"),
        ("i17_special", "i17_certified"),
        ("i22_outsourced", "i22_checked"),
        ("i25_reports", "i25_rewarded"),
    ],
)
def test_a_part_larger_than_its_whole_is_an_error(progress, whole, part):
    assert rule_issues(progress, {whole: 3, part: 3}) == []
    [issue] = rule_issues(progress, {whole: 3, part: 4})
    assert issue.field == part


@pytest.mark.parametrize("closed", ["i07_major_closed", "i08_double_reported"])
def test_closed_or_reported_hazards_count_against_new_and_old_ones(progress, closed):
    # Hazards closed (or double-reported) may include the stock found in 2023 or earlier.
    found = {"i04_major_found": 2, "i05_stock": 1}
    assert rule_issues(progress, {**found, closed: 3}) == []
    [issue] = rule_issues(progress, {**found, closed: 4})
    assert issue.field == closed


def test_uncertified_special_operators_need_an_explanation(progress):
    assert rule_issues(progress, {"i17_special": 5, "i17_certified": 5}, errors=False) == []
    [issue] = rule_issues(progress, {"i17_special": 5, "i17_certified": 4}, errors=False)
    assert issue.params["rule"] == "r_i17_all_certified"


# -- the enterprise's three-year plan --------------------------------------------------------


def test_enterprise_plan_is_due_once_on_the_tenth_of_april(enterprise_plan):
    assert squash(WHO_SUBMITS_PLANS + "要结合实际制定三年治本攻坚行动工作方案") in PLAN
    assert "并于4月10日前报县应急管理局安全生产基础股" in PLAN
    schedule = enterprise_plan.schedule
    assert schedule.frequency == "once"
    [period] = schedule.periods()
    assert schedule.due_date(period) == date(2024, 4, 10)
    assert "2024年4月10日" in enterprise_plan.description


def test_categories_are_the_enterprises_the_plan_names(enterprise_plan):
    category = enterprise_plan.field("category")
    assert category.kind is FieldKind.MULTICHOICE and category.required
    labels = [c.label.removesuffix("企业") for c in category.choices]
    assert labels == ["规模以上工贸", "涉有限空间", "粉尘涉爆"]
    assert all(label in WHO_SUBMITS_PLANS for label in labels)


def test_the_plan_document_is_a_required_bounded_attachment(enterprise_plan):
    plan_file = enterprise_plan.field("plan_file")
    assert plan_file.kind is FieldKind.ATTACHMENT and plan_file.required
    assert plan_file.max_size_mb == 20
    contents = enterprise_plan.field("plan_contents")
    # 要明确治本攻坚年度目标、任务分工、责任单位、责任人、完成时限、保障措施等
    printed = re.search(r"要明确治本攻坚(.+?)等", PLAN)[1].split("、")
    assert [c.label for c in contents.choices] == printed


def test_enterprise_plan_key_figures(enterprise_plan):
    numbers = [f for f in enterprise_plan.numeric_fields() if not f.is_calculated]
    assert {f.key for f in numbers} == {
        "employees",
        "special_operators",
        "special_certified",
        "confined_spaces",
        "dust_workers",
        "dust_sites",
        "major_hazards",
        "investment",
    }
    for fld in numbers:
        assert not fld.cumulative, fld.key  # the enterprise as it is, not running totals


def complete_submission() -> dict:
    return {
        "reporter": "李华",
        "phone": "13888001234",
        "category": ["规模以上工贸企业", "粉尘涉爆企业"],
        "industry": "制糖",
        "principal": "张明",
        "standardisation": "三级",
        "employees": 120,
        "special_operators": 8,
        "special_certified": 8,
        "dust_workers": 12,
        "plan_file": {"id": "f1", "name": "三年行动方案.pdf", "size": 2_000_000},
        "plan_contents": ["年度目标", "任务分工", "责任单位", "责任人", "完成时限", "保障措施"],
    }


def test_a_complete_submission_has_no_issues(enterprise_plan):
    assert validate(enterprise_plan, complete_submission()) == []


def test_a_missing_or_oversized_plan_document_is_refused(enterprise_plan):
    values = complete_submission()
    del values["plan_file"]
    [issue] = validate(enterprise_plan, values)
    assert (issue.code, issue.field) == ("required", "plan_file")
    values["plan_file"] = {"id": "f1", "name": "方案.pdf", "size": 21 * 1024 * 1024}
    [issue] = validate(enterprise_plan, values)
    assert (issue.code, issue.field) == ("attachment_too_large", "plan_file")


def test_enterprise_figures_must_be_consistent(enterprise_plan):
    def failed(values):
        issues = validate(enterprise_plan, {**complete_submission(), **values})
        return {(i.params["rule"], i.is_error) for i in issues if i.code == "rule_failed"}

    assert failed({"special_certified": 9}) == {("r_certified", True)}
    assert failed({"special_certified": 7}) == {("r_all_certified", False)}
    assert failed({"dust_workers": 121}) == {("r_dust_employees", True)}
    assert failed({"special_operators": 121, "special_certified": 121}) == {
        ("r_special_employees", True)
    }
    assert enterprise_plan.field("explanation").kind is FieldKind.LONGTEXT
