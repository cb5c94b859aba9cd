"""The catalogue's targets and phases say what the plans say, in the plans' own words."""

import re
from datetime import date
from pathlib import Path

import pytest

from forms.definition import TargetKind
from forms.loader import load_catalog

PLANS = Path(__file__).resolve().parents[2] / "forms" / "catalog" / "plans"
CATALOG = load_catalog()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def plan_of(definition) -> str:
    return squash((PLANS / definition.source.seed).read_text(encoding="utf-8"))


@pytest.mark.parametrize("definition", CATALOG, ids=lambda d: d.key)
def test_every_target_quotes_the_plan_sentence_that_sets_it(definition):
    plan = plan_of(definition)
    for fld in definition.target_fields():
        target = fld.target
        assert target.basis, fld.key
        assert squash(target.basis) in plan, fld.key


@pytest.mark.parametrize("definition", CATALOG, ids=lambda d: d.key)
def test_every_phase_quotes_the_plan(definition):
    plan = plan_of(definition)
    for phase in definition.phases:
        assert phase.basis and squash(phase.basis) in plan, phase.key


def test_the_kinds_follow_the_wording():
    seen = {kind: 0 for kind in TargetKind}
    for definition in CATALOG:
        for fld in definition.target_fields():
            target = fld.target
            seen[target.kind] += 1
            basis = target.basis
            if target.kind is TargetKind.RECURRING:
                word = {"year": "每年", "halfyear": "每半年", "quarter": "每季度",
                        "month": "每月"}[target.every]
                assert word in basis, fld.key
            elif target.kind is TargetKind.SHARE:
                assert target.value == 100
                assert any(w in basis for w in ("全覆盖", "所有", "100%", "持证上岗", "消除")), (
                    fld.key)
            elif target.kind is TargetKind.STOCK:
                assert "存量" in basis and target.value == 0
            year = re.search(r"(20\d\d) ?年底前", basis)
            if year:
                assert target.by == date(int(year.group(1)), 12, 31), fld.key
            else:  # no date in the sentence: the end of the campaign
                assert target.by == date(2026, 12, 31), fld.key
    assert all(seen.values()), seen


def test_chidian_has_the_three_phases_of_its_plan():
    chidian = next(d for d in CATALOG if d.key == "chidian-progress")
    assert [(p.name, p.start, p.end) for p in chidian.phases] == [
        ("动员部署", date(2024, 5, 1), date(2024, 5, 31)),
        ("专项治理", date(2024, 6, 1), date(2026, 9, 30)),
        ("总结评估", date(2026, 10, 1), date(2026, 12, 31)),
    ]
    assert chidian.current_phase(date(2025, 3, 1)).name == "专项治理"
