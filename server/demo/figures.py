"""The demo's figures and texts: what a unit reports, period after period.

A :class:`Series` gives a unit's values for each period in turn: cumulative
figures that only grow (a year-span figure starts again in January), current
numbers that drift a little, figures such as "其中已整改" as a share of the
figure a rule keeps them under, and short progress texts that quote the
figures, in the plain style of the official forms. Everything comes from the
random generator it is given, so a seeded generator gives the same series.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from forms.definition import CumulativeSpan, Definition, FieldDef, FieldKind, Item, TargetKind
from forms.periods import Frequency, Period
from forms.rules import parse
from forms.values import format_number
from server.models import Unit

# Growth per quarter in a village, by unit of measure: people a dozen, cases now and then.
_MAGNITUDES = {"人次": 14.0, "人": 6.0, "万元": 2.4, "次": 1.0, "场": 1.0, "台（套）": 0.8,
               "起": 0.25, "件": 0.25, "支": 0.15}
_DEFAULT_MAGNITUDE = 1.2  # 家, 个, 项, 处, 条, ...
_FREQUENCY_SCALE = {Frequency.MONTHLY: 0.4, Frequency.QUARTERLY: 1.0,
                    Frequency.HALFYEARLY: 2.0, Frequency.YEARLY: 3.5, Frequency.ONCE: 1.0}
_KIND_SCALE = {"company": 0.6, "village": 1.0, "community": 0.8, "department": 1.3,
               "office": 1.3, "bureau": 4.0}
_COMPARISON = re.compile(r"^(?P<left>[^<>=!]+?)\s*(?P<op><=|>=|<|>)\s*(?P<right>[^<>=!]+)$")
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_CENT = Decimal("0.01")


@dataclass
class _Spec:
    rate: float  # mean growth per period; 0: the unit has nothing of this kind
    base: float  # the current number, for figures that are not cumulative


@dataclass(frozen=True)
class Document:
    """An attachment to store when the report is saved."""

    name: str
    text: str


def typed_numbers(definition: Definition) -> list[FieldDef]:
    """The numeric fields a unit types in (rates and totals with a formula follow from them)."""
    return [f for f in definition.numeric_fields() if not f.is_calculated]


class Series:
    """A unit's values period after period; each call gives the next period.

    Cumulative figures only grow within their span (a year-span figure starts
    again in January). Rules such as ``rectified <= found`` are met by raising
    the larger side, which never makes a figure go down.
    """

    def __init__(self, definition: Definition, unit: Unit, rng: random.Random,
                 boost: dict[str, dict[str, int]]) -> None:
        self.definition, self.unit, self.rng, self.boost = definition, unit, rng, boost
        self.items = {f.key: item for _section, item in definition.items() for f in item.fields}
        # A unit works on most tasks, not all: a task it has nothing to do with stays at 0.
        active = {item.key: rng.random() < 0.8 for _section, item in definition.items()}
        scale = (_FREQUENCY_SCALE[definition.schedule.frequency]
                 * _KIND_SCALE.get(unit.kind, 1.0))
        self.specs = {
            f.key: _Spec(rate=_magnitude(f) * scale * rng.uniform(0.4, 1.6)
                         if active.get(self.items[f.key].key if f.key in self.items else "")
                         else 0.0,
                         base=_magnitude(f) * rng.uniform(1.0, 4.0))
            for f in typed_numbers(definition)
        }
        self.rules = list(_comparisons(definition))
        # "其中已整改" and the like: a share of the figure a rule keeps it under.
        self.parts = [(left_keys[0], right) for _left, op, right, left_keys, _keys in self.rules
                      if op in ("<", "<=") and len(left_keys) == 1]
        self.shares = {key: rng.uniform(0.55, 0.95) for key, _whole in self.parts}
        self.yes_from = {f.key: rng.randint(0, 3) for f in definition.fields()
                         if f.kind is FieldKind.YESNO}
        self.state: dict[str, Any] = {}  # the figures of the period before
        self.previous: Period | None = None
        self.index = 0

    def values(self, period: Period) -> dict[str, Any]:
        numbers = self._numbers(period)
        values = {"reporter": self.unit.contact_name or self.unit.name,
                  "phone": self.unit.contact_phone or "13800000000", **numbers}
        for fld in self.definition.fields():
            if fld.key not in values:
                value = self._other(fld, period, numbers)
                if value is not None:
                    values[fld.key] = value
        self.state, self.previous, self.index = numbers, period, self.index + 1
        return values

    def _restarts(self, fld: FieldDef, period: Period) -> bool:
        return self.previous is None or (fld.cumulative_span is CumulativeSpan.YEAR
                                         and period.year != self.previous.year)

    def _numbers(self, period: Period) -> dict[str, Any]:
        numbers: dict[str, Any] = {}
        boost = self.boost.get(period.key, {})
        for fld in typed_numbers(self.definition):
            spec, before = self.specs[fld.key], self.state.get(fld.key)
            if fld.cumulative:
                step = spec.rate * self.rng.uniform(0.3, 1.7) if self.rng.random() < 0.75 else 0
                start = 0 if self._restarts(fld, period) else before
                numbers[fld.key] = start + _number(fld, step) + boost.get(fld.key, 0)
            elif fld.kind is FieldKind.PERCENT:
                numbers[fld.key] = _number(fld, min(100.0, 60 + spec.base + self.index * 2))
            elif before is None:
                numbers[fld.key] = _number(fld, spec.base)
            elif fld.target is not None and fld.target.kind is TargetKind.STOCK:
                # A stock the plan wants cleared goes down report after report.
                numbers[fld.key] = max(0, before - self.rng.choice((0, 1, 1, 2)))
            else:
                numbers[fld.key] = max(0, before + self.rng.choice((0, 0, 0, 1, -1)))
        for key, whole in self.parts:
            total = whole.evaluate(numbers)
            if total is None:
                continue
            fld = self.definition.field(key)
            share = min(1.0, self.shares[key] + 0.03 * self.index)
            part = _number(fld, math.floor(total * Decimal(str(share))))
            if fld.cumulative and not self._restarts(fld, period):
                part = max(part, self.state[key])
            numbers[key] = part
        _meet_rules(self.definition, self.rules, numbers)
        # Within the field's own bounds (a 0/1 answer stays 0 or 1), as the form requires.
        for fld in typed_numbers(self.definition):
            value = numbers.get(fld.key)
            if value is not None and fld.max is not None and value > fld.max:
                numbers[fld.key] = _number(fld, fld.max)
        return numbers

    def _other(self, fld: FieldDef, period: Period, numbers: dict[str, Any]) -> Any:
        """Texts, choices, dates, tables and documents."""
        rng, unit = self.rng, self.unit
        item = self.items.get(fld.key)
        column = fld.key.removeprefix(item.key + "_") if item else None
        texts = fld.kind in (FieldKind.TEXT, FieldKind.LONGTEXT)
        if texts and item is not None and item.key in SUMMARY_TEXTS:
            return rng.choice(SUMMARY_TEXTS[item.key])
        if texts and column == "measures":
            return "；".join(rng.sample(MEASURES, rng.randint(1, 2))) + "。"
        if texts and column == "progress":
            return self.progress(item, period, numbers, self.state, self.previous)
        if texts and column == "remarks":
            return rng.choice(REMARKS) if rng.random() < 0.15 else None
        if fld.key in FIXED_TEXTS:
            return FIXED_TEXTS[fld.key]
        if fld.key == "principal":
            return rng.choice(NAMES)
        if fld.kind is FieldKind.YESNO:
            return self.index >= self.yes_from[fld.key]
        if fld.kind is FieldKind.TABLE and fld.key == "members":
            return [{"role": role, "name": NAMES[i], "position": position,
                     "unit": "积翠镇", "phone": f"138000001{i:02d}"}
                    for i, (role, position) in enumerate(ROSTER)]
        if fld.kind is FieldKind.CHOICE:
            return _choice(fld, unit, rng)
        if fld.kind is FieldKind.MULTICHOICE:
            values = [c.value for c in fld.choices]
            if fld.required and fld.help:  # "the plan should cover all of these"
                return values
            return sorted(rng.sample(values, rng.randint(1, 2)), key=values.index)
        if fld.kind is FieldKind.ATTACHMENT:
            return Document(f"{unit.name}三年治本攻坚行动工作方案.txt",
                             PLAN_DOCUMENT.format(unit=unit.name))
        if fld.kind is FieldKind.DATE:
            due = self.definition.schedule.due_date(period)
            return due - timedelta(days=rng.randint(10, 30))
        if fld.kind is FieldKind.LONGTEXT and fld.required:
            return rng.choice(PROGRESS)
        return None

    def progress(self, item: Item, period: Period, numbers: dict[str, Any],
                 before: dict[str, Any], before_period: Period | None) -> str:
        """The item's figures in words (with what is new since *before*), or a general
        sentence when it has none. Also words an office's figures rolled up from below."""
        parts = []
        for fld in item.fields:
            value = numbers.get(fld.key)
            if not value:
                continue
            unit = fld.unit or ""
            if not fld.cumulative:
                parts.append(f"{fld.label}{format_number(value)}{unit}")
                continue
            text = f"{fld.label}累计{format_number(value)}{unit}"
            restarts = before_period is None or (fld.cumulative_span is CumulativeSpan.YEAR
                                                 and period.year != before_period.year)
            earlier = before.get(fld.key)
            if not restarts and earlier is not None and value > earlier:
                text += f"（本期新增{format_number(value - earlier)}{unit}）"
            parts.append(text)
        if not parts:
            return self.rng.choice(PROGRESS)
        return f"{self.rng.choice(OPENINGS)}，{'；'.join(parts[:3])}。{self.rng.choice(CLOSINGS)}"


def _magnitude(fld: FieldDef) -> float:
    return _MAGNITUDES.get(fld.unit or "", _DEFAULT_MAGNITUDE)


def _number(fld: FieldDef, amount: float | Decimal) -> int | Decimal:
    if fld.kind is FieldKind.INTEGER:
        return int(round(amount))
    return Decimal(str(amount)).quantize(_CENT)


def _comparisons(definition: Definition) -> Iterator[tuple]:
    """The rules of the form ``<sum> op <sum>``, split into their two sides."""
    for rule in definition.rules:
        match = _COMPARISON.match(rule.expr.strip())
        if match is not None:
            left, right = match["left"], match["right"]
            yield (parse(left), match["op"], parse(right), _KEY.findall(left),
                   _KEY.findall(right))


def _meet_rules(definition: Definition, rules: list[tuple], numbers: dict[str, Any]) -> None:
    """Raise the larger side of every failed comparison until all of them hold."""
    for _round in range(12):
        changed = False
        for left, op, right, left_keys, right_keys in rules:
            a, b = left.evaluate(numbers), right.evaluate(numbers)
            if a is None or b is None:
                continue
            strict = 1 if op in ("<", ">") else 0
            gap, keys = (a - b, right_keys) if op in ("<", "<=") else (b - a, left_keys)
            target = next((k for k in keys if k in numbers), None)
            if gap + strict > 0 and target is not None:
                fld = definition.field(target)
                numbers[target] += _number(fld, gap + strict)
                changed = True
        if not changed:
            return


def _choice(fld: FieldDef, unit: Unit, rng: random.Random) -> str:
    values = [c.value for c in fld.choices]
    for word, value in INDUSTRY_WORDS.items():
        if word in unit.name and value in values:
            return value
    if fld.key == "industry" and "other" in values:
        return "other"
    return rng.choice(values[:3])


# -- texts -------------------------------------------------------------------------------

MEASURES = (
    "成立工作专班，明确专人负责",
    "建立工作台账，实行清单化管理",
    "开展入企指导服务，督促企业落实主体责任",
    "联合安办、综合执法队开展检查",
    "召开专题部署会，压实各方责任",
    "结合“安全生产月”活动集中宣传",
    "建立问题清单、整改清单和责任清单",
    "邀请专家开展现场指导",
    "将任务纳入年度目标责任考核",
    "通过工作群每周调度进展",
)
OPENINGS = ("截至本期末", "本期", "截至目前", "行动开展以来")
CLOSINGS = (
    "", "", "", "相关台账已建立并及时更新。", "按计划有序推进。", "下一步将持续跟踪督促落实。",
    "已纳入月度调度内容。", "整体进度符合年度计划要求。",
)
PROGRESS = (
    "已制定工作方案并印发实施，明确责任分工和时间节点。",
    "结合辖区实际逐项落实，定期召开推进会研究解决问题。",
    "已纳入年度工作计划，正在按计划推进。",
    "本期组织专项检查，发现的问题已督促整改。",
    "通过微信群、宣传栏等方式加强宣传引导，营造良好氛围。",
    "已完成阶段性任务，正在开展“回头看”巩固成效。",
    "持续推进，与相关部门建立信息共享机制。",
)
REMARKS = ("按计划推进", "无", "持续推进", "已纳入年度计划", "阶段性完成")
SUMMARY_TEXTS = {
    "completed": (
        "本期围绕治本攻坚三年行动重点任务，组织开展专项检查和培训，各项工作按计划推进，"
        "重大事故隐患动态清零，未发生较大以上生产安全事故。",
        "本期召开专题推进会，压实企业主体责任和部门监管责任，完成阶段性目标任务，"
        "企业主要负责人培训、隐患排查整治等工作取得明显成效。",
    ),
    "problems": (
        "部分小微企业安全投入不足，从业人员安全意识有待提高；基层监管力量相对薄弱。",
        "个别企业隐患整改不够及时，台账资料不够规范；专业技术人员短缺。",
    ),
    "next_steps": (
        "下一步将继续加强督导检查，推动隐患闭环整改，持续开展警示教育和技能培训。",
        "下一步将聚焦重点行业领域，强化精准执法和帮扶指导，巩固提升治本攻坚成效。",
    ),
}
NAMES = ("王建国", "李卫东", "张文华", "刘志强", "陈晓燕", "杨海涛", "赵丽娟", "孙国庆",
         "周立新", "吴晓明", "郑永红", "黄建平")
ROSTER = (
    ("leader", "镇党委书记"), ("leader", "镇长"), ("executive_deputy", "副镇长"),
    ("deputy", "镇党委副书记"), ("deputy", "镇人大主席"), ("deputy", "镇党委委员、副镇长"),
    ("member", "镇安委办主任"), ("member", "应急消防站站长"), ("member", "市场监督管理所所长"),
    ("member", "自然资源所所长"),
)
FIXED_TEXTS = {"office_location": "镇安委办", "office_director": NAMES[2],
               "office_phone": "0358-6012345"}
INDUSTRY_WORDS = {"糖": "sugar", "水泥": "cement", "建材": "cement", "茶": "tea"}
PLAN_DOCUMENT = """{unit}安全生产治本攻坚三年行动工作方案（2024—2026年）

一、年度目标：2024年完成重大事故隐患排查整治，2025年通过安全生产标准化三级考评，2026年巩固提升。
二、任务分工：主要负责人全面负责，分管负责人具体落实，各车间按职责分工推进。
三、责任单位和责任人：安全管理部门负责日常推进，各车间主任为本车间第一责任人。
四、完成时限：按年度目标分阶段完成，每季度末自查一次。
五、保障措施：每年安排安全生产投入，纳入绩效考核，定期开展培训和应急演练。
"""
