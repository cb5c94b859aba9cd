"""The catalogue audited the other way round: every duty the plans state is encoded.

Each plan text is read for the clauses that state a dated target (2024年底前 …), a
coverage duty (全覆盖, 100%, 所有…接入, 全部录入), a recurring minimum (每年至少, 每半年
至少, 每季度/每月 … 至少) or a phase of the plan (动员部署阶段 …). Each such clause must be
encoded by a template derived from that plan (a target or phase whose ``basis`` quotes
it), or be listed with its reason in :mod:`duties_not_encoded`.
"""

from __future__ import annotations

import re

import pytest
from duties_not_encoded import EXCLUDED
from plan_text import PLANS_DIR, squash

from forms.loader import load_catalog

CATALOG = load_catalog()
DUTY = re.compile(
    r"20\d\d年底前|全覆盖|100%|所有.{0,30}接入|全部录入"
    r"|每年至少|每半年至少|至少每半年|每季度.{0,30}至少|每月.{0,30}至少"
    r"|(动员部署|专项治理|集中攻坚|巩固提升|总结评估)阶段")
SHORT = 14  # a clause shorter than this ("力争2026年底前") is read with the next one
PLANS = sorted(p.name.split("_", 1)[0] for p in PLANS_DIR.glob("*.txt"))


def duty_clauses(text: str) -> list[str]:
    """The clauses of *text* that state a duty, squashed (no spaces, no ``**``).

    A duty in brackets ("（高危行业领域每月至少1次）") is a clause of its own: quoting the
    sentence around it does not encode it.
    """
    found = []
    for sentence in re.split(r"[。；;]", squash(text)):
        for aside in re.findall(r"（([^（）]*)）", sentence):
            if DUTY.search(aside):
                found.append(aside)
                sentence = sentence.replace(f"（{aside}）", "")
        parts = [p for p in re.split(r"[，,]", sentence) if p]
        i = 0
        while i < len(parts):
            clause, j = parts[i], i
            while len(clause) < SHORT and j + 1 < len(parts):
                j += 1
                clause += "，" + parts[j]
            if DUTY.search(clause):
                found.append(clause)
            i = j + 1
    return found


def bases(number: str) -> list[str]:
    """The quotes of every target and phase of the templates derived from plan *number*."""
    quotes = []
    for definition in CATALOG:
        if not definition.source.seed.startswith(number + "_"):
            continue
        quotes += [fld.target.basis for fld in definition.target_fields() if fld.target.basis]
        quotes += [phase.basis for phase in definition.phases if phase.basis]
    return [squash(q) for q in quotes]


def encoded(clause: str, quotes: list[str]) -> bool:
    """A quote encodes the clause when it holds the clause, or is the part of it that
    states the duty (a quote of the same sentence about something else does not count)."""
    return any(clause in q or (q in clause and DUTY.search(q)) for q in quotes)


def excluded(number: str, clause: str) -> str | None:
    return next((why for plan, excerpt, why in EXCLUDED
                 if plan in (None, number) and squash(excerpt) in clause), None)


def plan_clauses(number: str) -> list[str]:
    [path] = PLANS_DIR.glob(f"{number}_*.txt")
    return duty_clauses(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("number", PLANS)
def test_every_duty_of_the_plan_is_encoded_or_excluded_with_a_reason(number):
    quotes = bases(number)
    missing = [c for c in plan_clauses(number)
               if not encoded(c, quotes) and excluded(number, c) is None]
    assert missing == []


@pytest.mark.parametrize("number", PLANS)
def test_no_duty_is_both_encoded_and_excluded(number):
    quotes = bases(number)
    both = [c for c in plan_clauses(number) if encoded(c, quotes) and excluded(number, c)]
    assert both == []


def test_every_exclusion_names_a_duty_of_its_plan_with_a_reason():
    for plan, excerpt, why in EXCLUDED:
        numbers = PLANS if plan is None else [plan]
        assert any(squash(excerpt) in c for n in numbers for c in plan_clauses(n)), excerpt
        assert len(why) > 10, excerpt


def test_the_scan_finds_each_kind_of_duty():
    """The reading itself: dated targets, coverage, recurring minimums and phases."""
    chidian = plan_clauses("000")
    assert "2024年底前基本消除2023年及以前排查发现的重大事故隐患存量" in chidian
    assert any("全覆盖" in c for c in chidian)
    assert "推动工贸企业每年至少开展1次疏散逃生演练" in chidian
    assert any(c.startswith("（三）总结评估阶段") for c in chidian)
    assert any("每半年至少" in c for c in plan_clauses("004"))
    assert "2026年底前，按照上级部署" in plan_clauses("003")  # a short clause with the next


def test_tag_conditions_scope_the_duties_of_some_enterprises():
    """Where a plan's duty is for some enterprises only, the companies' form asks only them."""
    cangyuan = next(d for d in CATALOG if d.key == "cangyuan-progress")
    scoped = {f.key: str(f.applies_when) for f in cangyuan.fields() if f.applies_when}
    assert "unit_has('规模以上')" in scoped["i09_registered"]
    assert "unit_has('劳动密集型')" in scoped["i16_drills_half"]
    assert "unit_has('粉尘涉爆')" in scoped["i12_dust5_connected"]
    assert "unit_has('有限空间')" in scoped["i01_confined_spaces"]
    xuefeng = next(d for d in CATALOG if d.key == "xuefeng-progress")
    assert str(xuefeng.field("i15_drills_half").applies_when) == "unit_has('高危')"
