"""Calculated fields and tallies in the form model: definition checks, values, consolidation."""

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from forms.calculated import calculate, excel_formula
from forms.consolidation import UNANSWERED, ChildReport, consolidate
from forms.definition import Aggregation, Definition
from forms.loader import load_definition
from forms.rules import RuleSyntaxError, parse
from forms.validation import validate
from forms.values import coerce_values

SAMPLE = load_definition(Path(__file__).with_name("sample.yaml"))


def with_fields(*extra: dict, item: int = 0) -> Definition:
    """The sample definition with *extra* fields appended to its first item."""
    data = SAMPLE.model_dump(mode="json", exclude_none=True)
    fields = data["sections"][0]["items"][item]["fields"]
    fields.extend(extra)
    return Definition.model_validate(data)


RATE = {"key": "rect_rate", "kind": "percent", "label": "整改率",
        "formula": "rectified / found * 100"}
OPEN = {"key": "still_open", "kind": "integer", "label": "未整改", "formula": "found - rectified"}
DEF = with_fields(RATE, OPEN)


# -- the rule language ------------------------------------------------------------------------


def test_division_by_zero_round_and_if():
    assert parse("a / b").evaluate({"a": 1, "b": 0}) is None
    assert parse("round(a / b, 2)").evaluate({"a": 2, "b": 3}) == Decimal("0.67")
    assert parse("round(x, 0)").evaluate({"x": Decimal("2.5")}) == 3  # half away from zero
    assert parse("round(x, 0)").evaluate({"x": Decimal("-2.5")}) == -3
    assert parse("if(b > 0, a / b, 0)").evaluate({"a": 1, "b": 0}) == 0
    assert parse("if(b > 0, a, 0)").evaluate({"a": 1}) is None  # condition unknown


@pytest.mark.parametrize("text", ["round(a)", "round(a, b)", "round(a, 1.5)", "round(a, 11)",
                                  "if(1, 1, 2)", "if(a > 1, 2)", "if(a > 1, 2, b < 3)"])
def test_malformed_round_and_if_are_refused(text):
    with pytest.raises(RuleSyntaxError):
        parse(text)


def test_excel_rendering():
    expr = parse("round((a - b) / c * 100, 1) + if(a >= b and c != 0, 1, -x)")
    assert expr.to_excel(str.upper) == "(ROUND(((A-B)/C*100),1)+IF(AND(A>=B,C<>0),1,(-X)))"


# -- the definition ---------------------------------------------------------------------------


@pytest.mark.parametrize("fields, code, text", [
    ([{**RATE, "formula": "rectified / nowhere"}], "formula_unknown_fields", "nowhere"),
    ([{**RATE, "formula": "rectified / level"}], "formula_input_not_numeric", "level"),
    ([{**RATE, "formula": "rectified / "}], "rule_unexpected_end", "ends too early"),
    ([{**RATE, "formula": "rectified > found"}], "formula_condition", "not a condition"),
    ([{**RATE, "kind": "text", "formula": "found"}], "formula_not_numeric", "text"),
    ([{**RATE, "required": True}], "formula_typed", "cannot be required"),
    ([{**RATE, "aggregation": "sum"}], "formula_aggregation", "no aggregation"),
    ([{**RATE, "formula": "found + b_total"},
      {"key": "b_total", "kind": "integer", "label": "b", "formula": "rect_rate + 1"}],
     "formula_cycle", "rect_rate -> b_total -> rect_rate"),
    ([{**RATE, "formula": "rect_rate + 1"}], "formula_cycle", "rect_rate -> rect_rate"),
])
def test_bad_formulas_are_definition_errors(fields, code, text):
    with pytest.raises(ValidationError) as caught:
        with_fields(*fields)
    assert any(p["type"] == code and text in p["msg"] for p in caught.value.errors()), (
        caught.value.errors())


def test_a_formula_problem_points_at_the_formula():
    with pytest.raises(ValidationError) as caught:
        with_fields({**RATE, "formula": "rectified / nowhere"})
    [problem] = caught.value.errors()
    assert problem["ctx"]["at"][-1] == "formula"
    assert problem["ctx"]["at"][:2] == ("sections", 0)


def test_calculated_fields_come_in_dependency_order():
    definition = with_fields({"key": "share", "kind": "decimal", "label": "b",
                              "formula": "still_open / 2"}, OPEN)
    assert [f.key for f in definition.calculated_fields()] == ["still_open", "share"]
    assert definition.field("share").effective_aggregation is Aggregation.NONE
    values, _ = coerce_values(definition, {"found": 9, "rectified": 4})
    assert values["still_open"] == 5 and values["share"] == Decimal("2.50")


# -- values -------------------------------------------------------------------------------------


def test_posted_values_of_calculated_fields_are_ignored():
    values, issues = coerce_values(DEF, {"found": 8, "rectified": 6, "rect_rate": 99,
                                         "still_open": "not a number"})
    assert issues == []
    assert values["rect_rate"] == Decimal("75.00")
    assert values["still_open"] == 2


def test_empty_input_or_zero_divisor_leaves_the_rate_empty():
    assert calculate(DEF, {"found": 8})["rect_rate"] is None
    assert calculate(DEF, {"found": 0, "rectified": 0})["rect_rate"] is None
    assert calculate(DEF, {"found": 0, "rectified": 0})["still_open"] == 0


def test_rules_see_calculated_values():
    data = DEF.model_dump(mode="json", exclude_none=True)
    data["rules"].append({"key": "r_rate", "expr": "rect_rate >= 50", "severity": "warning",
                          "message": "整改率低于50%"})
    definition = Definition.model_validate(data)
    issues = validate(definition, {"found": 10, "rectified": 4, "rect_rate": 100},
                      check_required=False)
    assert [i.params.get("rule") for i in issues] == ["r_rate"]


def test_excel_formula_scales_percent_cells_and_guards_blanks():
    cells = {"found": "C5", "rectified": "C6"}
    kinds = {k: DEF.field(k).kind for k in cells}
    assert excel_formula(DEF.field("rect_rate"), cells.get, kinds.get) == (
        '=IF(COUNT(C5,C6)<2,"",IFERROR(ROUND((C6/C5*100),2)/100,""))')
    assert excel_formula(DEF.field("still_open"), cells.get, kinds.get) == (
        '=IF(COUNT(C5,C6)<2,"",IFERROR(ROUND((C5-C6),0),""))')


# -- consolidation -----------------------------------------------------------------------------


def test_a_rate_is_recomputed_not_summed_or_averaged():
    children = [ChildReport("V1", "东村", {"found": 10, "rectified": 10}),
                ChildReport("V2", "西村", {"found": 30, "rectified": 0}),
                ChildReport("V3", "南村", {"found": 0, "rectified": 0})]
    result = consolidate(DEF, children)
    # the villages' rates are 100, 0 and empty: their mean would be 50, their sum 100
    assert result.values["rect_rate"] == Decimal("25.00")
    assert result.values["still_open"] == 30
    assert "rect_rate" not in result.provenance  # a calculated value has inputs, not parts


def test_a_rate_over_nothing_is_absent():
    result = consolidate(DEF, [ChildReport("V1", "东村", {"found": 0, "rectified": 0})])
    assert "rect_rate" not in result.values


@st.composite
def reports(draw):
    count = draw(st.integers(min_value=0, max_value=12))
    children = []
    for n in range(count):
        found = draw(st.none() | st.integers(min_value=0, max_value=10**6))
        rectified = draw(st.none() | st.integers(min_value=0, max_value=found or 0))
        values = {k: v for k, v in (("found", found), ("rectified", rectified)) if v is not None}
        children.append(ChildReport(f"U{n}", f"单位{n}", values))
    return children


def consolidate_tree(definition, tree):
    """Consolidate a nested tree bottom-up as the server does: each level files its
    consolidated values as its own report."""
    if not isinstance(tree, list):
        return tree
    children = [ChildReport(f"U{n}", f"单位{n}", consolidate_tree(definition, sub))
                for n, sub in enumerate(tree)]
    values = consolidate(definition, children).values
    return dict(coerce_values(definition, values)[0])


def leaves(draw_found):
    return st.fixed_dictionaries({}, optional={
        "found": st.integers(min_value=0, max_value=10**6),
        "rectified": st.integers(min_value=0, max_value=10**6),
        "rect_rate": st.integers(min_value=0, max_value=100)})  # a posted rate is ignored


trees = st.recursive(leaves(None), lambda sub: st.lists(sub, min_size=1, max_size=4),
                     max_leaves=25)


def percent(numerator, denominator):
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.01"),
                                                                      "ROUND_HALF_UP")


@settings(max_examples=150, deadline=None)
@given(trees)
def test_property_consolidated_rate_equals_rate_of_consolidated_inputs(tree):
    """Each level files its totals; the top's rate is over the units that gave both."""
    nodes = tree if isinstance(tree, list) else [tree]
    filed = [consolidate_tree(DEF, node) for node in nodes]
    top = consolidate(DEF, [ChildReport(f"U{n}", f"单位{n}", values)
                            for n, values in enumerate(filed)]).values

    def total(node, key):
        if isinstance(node, list):
            numbers = [total(sub, key) for sub in node]
            numbers = [n for n in numbers if n is not None]
            return sum(numbers) if numbers else None
        return node.get(key)

    below = [{key: total(node, key) for key in ("found", "rectified")} for node in nodes]
    assert top.get("found") == total(nodes, "found")
    assert top.get("rectified") == total(nodes, "rectified")
    both = [b for b in below if None not in (b["found"], b["rectified"])]
    found = sum(b["found"] for b in both)
    rectified = sum(b["rectified"] for b in both)
    assert top.get("rect_rate") == (percent(rectified, found) if both and found else None)
    assert top.get("still_open") == (found - rectified if both else None)


@st.composite
def counted_children(draw):
    """Children of one period: some report, some are carried forward (cumulative figures
    only, within their span), some leave an input blank."""
    children = []
    for n in range(draw(st.integers(min_value=0, max_value=10))):
        values = draw(st.fixed_dictionaries({}, optional={
            "found": st.integers(min_value=0, max_value=10**5),
            "rectified": st.integers(min_value=0, max_value=10**5),
            "posts": st.integers(min_value=0, max_value=100)}))
        carried = draw(st.sampled_from([None, "2024Q2", "2023Q4"]))
        children.append(ChildReport(f"U{n}", f"单位{n}", values, carried_from=carried))
    return children


@settings(max_examples=200, deadline=None)
@given(counted_children())
def test_property_a_consolidated_rate_counts_the_same_units_in_both_inputs(children):
    """The rate equals the rate recomputed from the inputs of exactly the units it says
    it covers, and those are the units whose report counts for every input."""
    result = consolidate(DEF, children, period="2024Q3")

    def counts(child, key):  # rectified's span is the year: 2023Q4 does not carry into 2024
        if child.carried_from is None:
            return True
        return key == "found" or (key == "rectified" and child.carried_from.startswith("2024"))

    both = [c for c in children
            if all(counts(c, k) and c.values.get(k) is not None for k in ("found", "rectified"))]
    assert result.calculated_over["rect_rate"] == [c.unit_code for c in both]
    found = sum(c.values["found"] for c in both)
    rectified = sum(c.values["rectified"] for c in both)
    assert result.values.get("rect_rate") == (percent(rectified, found) if found else None)
    assert result.values.get("still_open") == (found - rectified if both else None)


# -- tallies -----------------------------------------------------------------------------------


def tally_map(result, key):
    return {entry.option: [p.unit_code for p in entry.units] for entry in result.tallies[key]}


def test_yes_no_choice_and_multichoice_answers_are_tallied_with_their_units():
    children = [
        ChildReport("V1", "东村", {"done": "是", "level": "red", "sectors": ["dust", "space"]}),
        ChildReport("V2", "西村", {"done": False, "level": "蓝", "sectors": ["dust"]}),
        ChildReport("V3", "南村", {"done": True}),
        ChildReport("V4", "北村", {"done": "maybe"}),  # unreadable: counted as unanswered
    ]
    result = consolidate(SAMPLE, children)
    assert tally_map(result, "done") == {"yes": ["V1", "V3"], "no": ["V2"],
                                         UNANSWERED: ["V4"]}
    assert tally_map(result, "level") == {"red": ["V1"], "blue": ["V2"],
                                          UNANSWERED: ["V3", "V4"]}
    assert tally_map(result, "sectors") == {"dust": ["V1", "V2"], "space": ["V1"],
                                            UNANSWERED: ["V3", "V4"]}
    assert [e.count for e in result.tallies["done"]] == [2, 1, 1]
    assert "done" not in result.values  # the parent's own answer is its own to give


@given(st.lists(st.sampled_from([True, False, None]), max_size=30))
def test_property_tally_counts_every_unit_once(answers):
    children = [ChildReport(f"U{n}", "x", {} if a is None else {"done": a})
                for n, a in enumerate(answers)]
    entries = consolidate(SAMPLE, children).tallies["done"]
    assert sum(e.count for e in entries) == len(answers)
    assert [e.count for e in entries] == [answers.count(True), answers.count(False),
                                          answers.count(None)]


def test_a_field_can_opt_out_of_its_tally():
    definition = with_fields({"key": "flag", "kind": "yesno", "label": "x",
                              "aggregation": "none"})
    assert "flag" not in consolidate(definition, [ChildReport("A", "甲", {"flag": True})]).tallies
    with pytest.raises(ValidationError, match="aggregation_mismatch"):
        with_fields({"key": "n", "kind": "integer", "label": "x", "aggregation": "count"})


def test_a_unit_a_yes_no_question_does_not_apply_to_is_not_counted_as_unanswered():
    """工作专班 asked only of chemical firms: a machine shop is neither yes, no nor 未填."""
    definition = with_fields({"key": "chem_team", "kind": "yesno", "label": "危化专班",
                              "applies_when": "unit_has('危化')"})
    children = [
        ChildReport("C1", "甲化工", {"chem_team": True}, tags=frozenset({"危化"})),
        ChildReport("C2", "乙化工", {}, tags=frozenset({"危化"})),
        ChildReport("M1", "丙机械", {"chem_team": False}, tags=frozenset()),  # typed anyway
    ]
    result = consolidate(definition, children)
    assert tally_map(result, "chem_team") == {"yes": ["C1"], "no": [], UNANSWERED: ["C2"]}
    assert result.not_applicable["chem_team"] == ["M1"]
