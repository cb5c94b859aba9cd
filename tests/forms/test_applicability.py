"""Applicability: what does not apply to a unit is skipped and never counted as zero."""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from forms.applicability import applicability
from forms.consolidation import ChildReport, consolidate
from forms.definition import Definition
from forms.loader import load_definition
from forms.validation import validate

DEF = load_definition(Path(__file__).with_name("applies.yaml"))
BASE = {"reporter": "张三", "phone": "13800000001", "found": 5, "has_committee": "否"}


def codes(issues):
    return sorted((i.field, i.code) for i in issues)


def test_a_tag_condition_hides_the_whole_section():
    off = applicability(DEF, {"粉尘涉爆"}, BASE)
    assert off.sections == {"chem"}
    assert {"chem_sites", "chem_rate"} <= off.fields
    on = applicability(DEF, {"危化", "规模以上"}, BASE)
    assert on.section_applies("chem") and on.applies("chem_sites")


def test_unknown_unit_sees_every_tagged_part():
    assert applicability(DEF, None, BASE).applies("chem_sites")


def test_details_apply_after_yes_and_a_choice():
    assert not applicability(DEF, set(), BASE).applies("committee_members")
    assert not applicability(DEF, set(), {}).applies("committee_members")  # unanswered
    assert applicability(DEF, set(), {"has_committee": "是"}).applies("committee_members")
    assert applicability(DEF, set(), {"has_committee": True}).applies("committee_members")
    assert not applicability(DEF, set(), {"level": "一般"}).applies("major_plan")
    assert applicability(DEF, set(), {"level": "重大"}).applies("major_plan")
    assert applicability(DEF, set(), {"level": "major"}).applies("major_plan")


def test_a_question_that_does_not_apply_hides_its_details():
    data = DEF.model_dump(exclude_none=True)
    data["sections"][1]["items"][0]["fields"] = [
        *data["sections"][1]["items"][0]["fields"],
        {"key": "chem_major", "kind": "yesno", "label": "是否构成重大危险源"},
        {"key": "chem_major_count", "kind": "integer", "label": "重大危险源",
         "applies_when": "chem_major == true"}]
    chained = Definition.model_validate(data)
    values = {"chem_major": "是", "chem_major_count": 2}
    assert applicability(chained, {"危化"}, values).applies("chem_major_count")
    off = applicability(chained, set(), values)
    assert {"chem_major", "chem_major_count"} <= off.fields


def test_validation_skips_what_does_not_apply():
    # "不涉及" typed into a section that does not apply is neither a kind error nor
    # required, and the rule reading it is not judged.
    values = {**BASE, "chem_sites": "不涉及", "chem_rate": "不涉及"}
    assert validate(DEF, values, tags={"有限空间"}) == []
    # Where it applies, both are unreadable, and the rule reading them says it was not judged.
    assert codes(validate(DEF, values, tags={"危化"})) == [
        ("chem_rate", "not_a_number"), ("chem_sites", "not_a_number"),
        ("chem_sites", "rule_not_checked")]
    assert codes(validate(DEF, BASE, tags={"危化"})) == [("chem_sites", "required")]
    # A cumulative figure of a section that no longer applies is not compared.
    assert validate(DEF, BASE, previous={**BASE, "chem_sites": 9}, tags=set()) == []
    assert codes(validate(DEF, {**BASE, "chem_sites": 3}, previous={"chem_sites": 9},
                          tags={"危化"})) == [("chem_sites", "cumulative_decreased")]


def test_validation_requires_details_only_after_yes():
    assert codes(validate(DEF, {**BASE, "has_committee": "是"}, tags=set())) == [
        ("committee_members", "required")]
    assert validate(DEF, {**BASE, "committee_members": "-3"}, tags=set()) == []
    assert codes(validate(DEF, {**BASE, "level": "major"}, tags=set())) == [
        ("major_plan", "required")]


def test_rules_with_unit_has_are_judged_with_the_tags():
    data = DEF.model_dump(exclude_none=True)
    data["rules"] = [{"key": "r_big", "expr": "not unit_has('规模以上') or found >= 1",
                      "message": "规模以上企业应开展排查"}]
    scoped = Definition.model_validate(data)
    values = {**BASE, "found": 0}
    assert codes(validate(scoped, values, tags={"规模以上"})) == [("found", "rule_failed")]
    assert validate(scoped, values, tags=set()) == []
    # Unit unknown: the rule cannot be judged (the tagged section is then asked).
    assert codes(validate(scoped, values)) == [("chem_sites", "required")]


@pytest.mark.parametrize(
    ("where", "condition", "code", "message"),
    [
        ("section", "nope == true", "applies_unknown_fields",
         "The condition names fields that do not exist: nope."),
        ("section", "chem_sites > 0", "applies_hides_itself",
         "depends on chem_sites, which it would hide"),
        ("section", "found + 1", "applies_not_condition", "must be a condition"),
        ("section", "unit_has(危化)", "rule_unexpected_character", "Unexpected character"),
        ("field", "level == 1", "applies_choice_literal", "not one of its values"),
        ("field", "level == 'huge'", "applies_choice_literal",
         "compares the choice level with “huge”"),
        ("field", "has_committee == 'yes'", "applies_yesno_literal",
         "compare it with true or false"),
    ],
)
def test_conditions_are_checked_when_the_definition_is_read(where, condition, code, message):
    data = DEF.model_dump(exclude_none=True)
    if where == "section":
        data["sections"][1]["applies_when"] = condition
        place = ("sections", 1, "applies_when")
    else:
        data["sections"][0]["items"][0]["fields"][0]["applies_when"] = condition
        place = ("sections", 0, "items", 0, "fields", 0, "applies_when")
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        Definition.model_validate(data)
    error = caught.value.errors()[0]
    assert error["type"] == code
    assert error["ctx"]["at"] == place  # the problem points at the condition itself


def test_consolidation_leaves_out_what_does_not_apply():
    children = [
        ChildReport("C1", "甲化工", {**BASE, "chem_sites": 4, "chem_rate": 80},
                    tags=frozenset({"危化"})),
        ChildReport("C2", "乙化工", {**BASE}, tags=frozenset({"危化"})),
        # A company outside the scope that typed 0: neither counted nor missing.
        ChildReport("C3", "丙机械", {**BASE, "chem_sites": 0, "chem_rate": 0},
                    tags=frozenset({"粉尘涉爆"})),
    ]
    result = consolidate(DEF, children)
    assert result.values["chem_sites"] == 4
    assert result.values["chem_rate"] == 80  # a mean over the one that reported, not (80+0)/2
    assert result.missing["chem_sites"] == ["C2"]
    assert result.not_applicable["chem_sites"] == ["C3"]
    assert result.coverage("chem_sites") == (2, 1)
    assert result.coverage("found") == (3, 3)


TAGS = st.frozensets(st.sampled_from(["危化", "粉尘涉爆", "有限空间", "规模以上"]), max_size=4)
CHILD = st.tuples(
    TAGS,
    st.one_of(st.none(), st.integers(min_value=0, max_value=1000)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
    st.sampled_from(["是", "否", None]),
    st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(CHILD, max_size=12))
def test_a_field_that_does_not_apply_is_never_counted(children):
    reports = []
    for index, (tags, sites, rate, committee, members) in enumerate(children):
        values = {"chem_sites": sites, "chem_rate": rate, "has_committee": committee,
                  "committee_members": members}
        reports.append(ChildReport(f"U{index}", f"单位{index}", values, tags=tags))
    result = consolidate(DEF, reports)
    chem = [r for r in reports if "危化" in r.tags]
    chem_sites = [r.values["chem_sites"] for r in chem if r.values["chem_sites"] is not None]
    assert result.values["chem_sites"] == (sum(chem_sites) if chem_sites else None)
    rates = [r.values["chem_rate"] for r in chem if r.values["chem_rate"] is not None]
    if rates:  # the mean of those it applies to: a zero from outside would pull it down
        mean = result.values["chem_rate"]
        assert mean * len(rates) == pytest.approx(sum(rates), abs=0.01 * len(rates))
    else:
        assert result.values["chem_rate"] is None
    assert result.coverage("chem_sites") == (len(chem), len(chem_sites))
    assert set(result.not_applicable["chem_sites"]) == {r.unit_code for r in reports} - {
        r.unit_code for r in chem}
    with_committee = [r for r in reports if r.values["has_committee"] == "是"]
    members = [r.values["committee_members"] for r in with_committee
               if r.values["committee_members"] is not None]
    assert result.values["committee_members"] == (sum(members) if members else None)
    assert result.coverage("committee_members")[0] == len(with_committee)
