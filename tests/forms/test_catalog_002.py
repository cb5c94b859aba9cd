"""The Jicui town templates (plan 002) checked against the plan text itself.

Two templates come from the plan: the monthly progress form for the 11 actions
and the leading-group roster of the attachment. Expectations are read from
``forms/catalog/plans/002_*.txt`` with regular expressions, independently of
the YAML. What every template owes its plan (round trip, source, English texts,
units, rules) is checked in ``test_catalog.py``.
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

PROGRESS_YAML = CATALOG_DIR / "002_jicui_progress.yaml"
ROSTER_YAML = CATALOG_DIR / "002_jicui_roster.yaml"
PLAN_TEXT = plan_text("002")
PLAN = squash(PLAN_TEXT)


@pytest.fixture(scope="module")
def progress() -> Definition:
    return load_definition(PROGRESS_YAML)


@pytest.fixture(scope="module")
def roster() -> Definition:
    return load_definition(ROSTER_YAML)


def plan_tasks() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(action number, action title, [(printed sub-item number, title)]) from 二、主要任务.

    Sub-items restart at 1 inside each action and are printed ``（一）1``. Action
    （三） has a single paragraph without a number; its first sentence is its
    title and its number is the action's. Headings come with Markdown hashes and
    sometimes half-width brackets (``(十)``); the template prints them the Chinese way.
    """
    body = PLAN_TEXT.split("## 二、主要任务", 1)[1].split("三、保障措施", 1)[0]
    actions: list[tuple[str, str, list[tuple[str, str]]]] = []
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        if m := re.match(r"^#*\s*[（(]\s*([一二三四五六七八九十]+)\s*[）)]\s*(.+)$", line):
            actions.append((f"（{m[1]}）", m[2].strip(), []))
        elif m := re.match(r"^(\d+)\.\s*(.+?)。", line):
            number, _, tasks = actions[-1]
            tasks.append((f"{number}{m[1]}", m[2]))
        elif not actions[-1][2] and (m := re.match(r"^(.+?)。", line)):
            actions[-1][2].append((actions[-1][0], m[1]))
    return actions


# -- progress form: the document -------------------------------------------------------


def test_both_templates_cite_the_plan(progress, roster):
    for definition in (progress, roster):
        src = definition.source
        assert src.doc_number == "方积政发〔2024〕4号"
        assert src.issuer == "方山县积翠镇人民政府" and src.issuer in PLAN_TEXT
        assert src.date == date(2024, 3, 18)


def test_progress_is_reported_by_the_units_the_plan_addresses(progress):
    assert "各行政村、各驻镇单位及企业：" in PLAN_TEXT
    assert "各行政村、各驻镇单位及企业" in progress.description
    assert "镇安委办" in progress.description and "镇安委办" in PLAN
    assert [f.label for f in progress.header] == ["报送人", "联系电话"]


def test_progress_columns(progress):
    labels = [c.label for c in progress.columns]
    assert labels == ["序号", "工作任务", "工作内容", "推进情况", "备注"]
    for _, item in progress.items():
        assert progress.field(f"{item.key}_progress").kind is FieldKind.LONGTEXT
        assert progress.field(f"{item.key}_remarks").kind is FieldKind.TEXT


# -- progress form: actions and sub-items -------------------------------------------


def test_actions_and_sub_items_are_numbered_as_printed(progress):
    expected = plan_tasks()
    assert len(expected) == 11
    actual = [
        (s.number, s.title, [(i.number, i.title) for i in s.items]) for s in progress.sections
    ]
    assert actual == expected
    numbers = [i.number for _, i in progress.items()]
    assert numbers[:4] == ["（一）1", "（一）2", "（一）3", "（二）1"]  # restarts at 1
    assert "（十一）3" in numbers


def test_the_unnumbered_action_is_noted(progress):
    [item] = next(s for s in progress.sections if s.number == "（三）").items
    assert item.number == "（三）"
    assert "未分列序号" in item.note
    assert "第（三）项行动原文未分列序号" in progress.description


def test_every_sub_item_keeps_its_plan_paragraph(progress):
    for _, item in progress.items():
        assert item.plan_text.startswith(item.title + "。"), item.key
        rest = item.plan_text.removeprefix(item.title + "。")
        # 工作内容 is what follows the title sentence; some sub-items are one sentence.
        assert item.texts.get("content", "") == rest, item.key


# -- progress form: schedule ----------------------------------------------------------------


def test_reported_monthly_on_the_fifth_of_the_next_month(progress):
    schedule = progress.schedule
    assert schedule.frequency == "monthly"
    # 每月组织开展一次理论中心组专题学习 / 每月定期或不定期…隐患排查
    assert "每月组织开展一次" in PLAN and "每月定期或不定期" in PLAN
    assert (schedule.first, schedule.last) == ("2024-03", "2026-12")
    assert len(schedule.periods()) == 34
    due = {k: schedule.due_date(Period.parse(k)) for k in ("2024-03", "2024-12", "2026-12")}
    assert due == {
        "2024-03": date(2024, 4, 5),
        "2024-12": date(2025, 1, 5),
        "2026-12": date(2027, 1, 5),
    }
    assert "次月5日前" in progress.description


def test_window_starts_with_the_month_of_issue(progress):
    first = progress.schedule.first_period
    assert first.start <= date(2024, 3, 18) <= first.end
    assert "（2024-2026年）" in PLAN
    assert progress.schedule.last_period.end == date(2026, 12, 31)


# -- progress form: indicators, targets and rules ------------------------------------------


def test_indicators_have_a_basis_from_their_own_sub_item(progress):
    assert indicators_not_quoting_their_own_item(progress) == []
    assert len(item_indicators(progress)) >= 40


def test_the_duties_the_plan_counts_are_indicators(progress):
    expected = {
        "i01_1_study": "每月组织开展一次理论中心组专题学习",
        "i02_3_inspections": "每月定期或不定期要对各企业、九小场所进行安全生产隐患排查",
        "i07_2_principal_checks": "每季度至少带队对本单位重大事故隐患排查整治情况开展1次检查",
        "i04_4_drills": "每年至少组织开展1次疏散逃生演练",
        "i03_mine_principals": "2024年重点组织非煤矿山企业主要负责人",
        "i03_venue_fire": "2025年重点组织辖区内各九小场所消防安全责任人参加集中培训",
    }
    for key, phrase in expected.items():
        assert phrase in PLAN
        assert phrase in squash(progress.field(key).basis), key


def test_the_benchmark_enterprise_is_the_only_figure_target(progress):
    targets = {f.key: f.target for f in progress.fields() if f.target}
    assert {k for k, t in targets.items() if t.kind == "absolute"} == {"i05_1_benchmark"}
    assert set(targets) == {"i05_1_benchmark", "i01_1_study", "i02_3_inspections",
                            "i04_3_certified", "i04_4_drills", "i07_2_principal_checks",
                            "i07_2_stock", "i09_1_dust"}
    target = targets["i05_1_benchmark"]
    # 2025 年底前打造一个安全生产标准化标杆企业单位
    assert "2025年底前打造一个安全生产标准化标杆企业单位" in PLAN
    assert (target.value, target.by, target.comparison) == (1, date(2025, 12, 31), ">=")


def test_running_totals_restart_yearly_where_the_plan_counts_per_year(progress):
    fields = [f for f in progress.numeric_fields() if not f.is_calculated]  # typed
    yearly = {f.key for f in fields if f.cumulative and f.cumulative_span == "year"}
    assert yearly == {
        "i03_principals",
        "i03_mine_principals",
        "i03_micro_fire",
        "i03_venue_fire",
        "i04_4_drills",
        "i04_4_participants",
        "i10_3_drills",
    }
    for key in yearly:
        assert "当年累计" in progress.field(key).help
    # The yearly training focus is named in the help of each training indicator.
    assert "2024年" in progress.field("i03_micro_fire").help
    assert "2025年" in progress.field("i03_venue_fire").help
    states = {f.key for f in fields if not f.cumulative}
    assert states == {
        "i04_3_special",
        "i04_3_certified",
        "i07_2_stock",
        "i09_1_dust_total",
        "i04_4_teams",
        "i10_2_teams",
        "i10_2_members",
        "i11_1_grid",
    }
    for key in states:
        assert "实有数" in progress.field(key).help


def test_six_rules_check_the_figures(progress):
    assert len(progress.rules) == 6


@pytest.mark.parametrize(
    ("whole", "part"),
    [
        ("i02_3_found", "i02_3_rectified"),
        ("i03_principals", "i03_mine_principals"),
        ("i04_1_assessed", "i04_1_passed"),
        ("i04_3_special", "i04_3_certified"),
        ("i07_3_listed", "i07_3_closed"),
    ],
)
def test_a_part_larger_than_its_whole_is_an_error(progress, whole, part):
    assert rule_issues(progress, {whole: 3, part: 3}) == []
    [issue] = rule_issues(progress, {whole: 3, part: 4})
    assert issue.field == part


def test_uncertified_special_operators_need_an_explanation(progress):
    # 特种作业人员必须持证上岗: a warning, so the unit explains it in the remarks.
    assert "特种作业人员必须持证上岗" in PLAN
    assert rule_issues(progress, {"i04_3_special": 5, "i04_3_certified": 5}, errors=False) == []
    [issue] = rule_issues(progress, {"i04_3_special": 5, "i04_3_certified": 4}, errors=False)
    assert issue.params["rule"] == "r_i04_3_all_certified"


# -- the leading-group roster -------------------------------------------------------------


def attachment_members() -> list[tuple[str, str, str]]:
    """(role, name, position) of every person listed in the attachment.

    Lines read ``组 长：<tab>张庆斌<tab>县委常委、镇党委书记``; a line starting with
    a tab adds another person to the role above.
    """
    block = PLAN_TEXT.split("组成人员如下：", 1)[1].split("成 员：", 1)[0]
    people = []
    role = ""
    for line in block.splitlines():
        cells = line.split("\t")
        if len(cells) != 3:
            continue
        role = re.sub(r"[\s：]", "", cells[0]) or role
        people.append((role, cells[1].strip(), cells[2].strip()))
    return people


def attachment_roles() -> list[str]:
    block = PLAN_TEXT.split("组成人员如下：", 1)[1].split("领导小组下设办公室", 1)[0]
    return [re.sub(r"\s", "", m) for m in re.findall(r"^([^\t：\n]+)：", block, re.M)]


def test_roster_is_titled_as_the_attachment(roster):
    assert squash(roster.title) in PLAN  # the attachment's heading
    assert roster.title.endswith("领导小组成员名单")


def test_roster_is_a_one_off_due_at_the_end_of_the_month_of_issue(roster):
    schedule = roster.schedule
    assert schedule.frequency == "once"
    [period] = schedule.periods()
    assert schedule.due_date(period) == date(2024, 3, 31)
    assert "2024年3月31日前报送" in roster.description


def test_roles_are_the_ones_printed_in_the_attachment(roster):
    assert attachment_roles() == ["组长", "常务副组长", "副组长", "成员"]
    members = roster.field("members")
    assert members.kind is FieldKind.TABLE
    role = next(c for c in members.columns if c.key == "role")
    assert role.kind is FieldKind.CHOICE and role.required
    assert [c.label for c in role.choices] == attachment_roles()
    columns = {c.key: c for c in members.columns}
    labels = [c.label for c in members.columns]
    assert labels == ["组内职务", "姓名", "职务", "工作单位", "联系电话"]
    assert columns["name"].required and columns["position"].required
    assert columns["phone"].format == "phone" and not columns["phone"].required


def filled_roster() -> dict:
    people = attachment_members()
    return {
        "reporter": "薛明辉",
        "phone": "0358-6012345",
        "members": [{"role": r, "name": n, "position": p} for r, n, p in people],
        "office_location": "镇安委办",
        "office_director": "薛明辉",
    }


def test_the_printed_roster_can_be_entered_as_it_is(roster):
    values = filled_roster()
    assert len(values["members"]) == 14
    # The second 组长 is printed on a line of its own, under the first.
    assert values["members"][1] == {
        "role": "组长",
        "name": "王鑫辉",
        "position": "镇党委副书记、镇长",
    }
    assert validate(roster, values) == []


def test_a_member_without_a_name_is_pointed_at(roster):
    values = filled_roster()
    values["members"][2] = {"role": "常务副组长", "name": "", "position": "副镇长"}
    [issue] = validate(roster, values)
    assert (issue.code, issue.field, issue.row, issue.column) == ("required", "members", 2, "name")
    assert issue.is_error


def test_a_member_phone_is_checked_but_optional(roster):
    values = filled_roster()
    values["members"][0]["phone"] = "13912345678"
    assert validate(roster, values) == []
    values["members"][0]["phone"] = "12345"
    [issue] = validate(roster, values)
    assert (issue.code, issue.field, issue.row, issue.column) == (
        "bad_phone",
        "members",
        0,
        "phone",
    )


def test_the_office_is_recorded_as_the_attachment_sets_it_up(roster):
    assert "办公室设在镇安委办，办公室主任由副镇长薛明辉兼任" in PLAN
    assert "镇安委办" in roster.field("office_location").help
    assert "薛明辉" in roster.field("office_director").help
    assert roster.field("office_phone").format == "phone"
    assert all(item.plan_text for _, item in roster.items())
    assert squash(roster.notes[0].removeprefix("注：成员包括")) in PLAN
