import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms.rules import MAX_LENGTH, Expr, RuleSyntaxError, parse


def ev(text: str, **values):
    return parse(text).evaluate(values)


# -- the rule from the plans ------------------------------------------------------


@pytest.mark.parametrize(
    ("rectified", "found", "expected"),
    [(3, 5, True), (5, 5, True), (6, 5, False), (0, 0, True), ("2", "3", True)],
)
def test_rectified_cannot_exceed_found(rectified, found, expected):
    assert ev("rectified <= found", rectified=rectified, found=found) is expected


@pytest.mark.parametrize("values", [{}, {"found": 5}, {"rectified": None, "found": 5}])
def test_missing_value_cannot_be_judged(values):
    assert parse("rectified <= found").evaluate(values) is None


@pytest.mark.parametrize("bad", ["abc", "", [1], {"x": 1}, float("nan"), float("inf"), object()])
def test_non_numeric_value_cannot_be_judged(bad):
    assert ev("rectified <= found", rectified=bad, found=5) is None


def test_fields_lists_every_referenced_key():
    expr = parse("sum(a, b) <= max(c, 2) and not filled(d) or e == true")
    assert expr.fields == frozenset({"a", "b", "c", "d", "e"})
    assert parse("1 + 2").fields == frozenset()


def test_function_names_can_still_be_field_keys():
    assert parse("sum >= min").fields == {"sum", "min"}


def test_kind_tells_conditions_from_amounts():
    assert parse("a <= b").kind == "bool"
    assert parse("a + b").kind == "number"
    assert parse("a").kind == "any"


def test_expr_keeps_its_source():
    expr = parse("a <= b")
    assert isinstance(expr, Expr)
    assert str(expr) == "a <= b"


# -- arithmetic and precedence ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 - 4 - 3", Decimal(3)),
        ("2 * 3 / 4", Decimal("1.5")),
        ("12 / 4 / 3", Decimal(1)),
        ("-2 * -3", Decimal(6)),
        ("- (2 + 3)", Decimal(-5)),
        ("--2", Decimal(2)),
        ("+2", Decimal(2)),
        ("0.1 + 0.2", Decimal("0.3")),
        (".5 * 4", Decimal(2)),
        ("sum(1, 2, 3.5)", Decimal("6.5")),
        ("min(4, 2, 9)", Decimal(2)),
        ("max(4, 2, 9)", Decimal(9)),
        ("abs(3 - 10)", Decimal(7)),
    ],
)
def test_arithmetic(text, expected):
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 1 == 2", True),
        ("not 1 > 2 and 3 > 2", True),  # not binds looser than comparison
        ("true or false and false", True),  # and binds tighter than or
        ("(true or false) and false", False),
        ("not not true", True),
        ("0 <= 5 <= 10", True),
        ("0 <= 11 <= 10", False),
        ("1 != 2", True),
        ("true == false", False),
        ("2 > 1 > 0", True),
    ],
)
def test_logic_and_comparison_precedence(text, expected):
    assert ev(text) is expected


def test_float_values_use_their_decimal_spelling():
    assert ev("a + b == 0.3", a=0.1, b=0.2) is True


def test_numbers_as_text_with_thousands_separators_are_numbers():
    assert ev("a == 1234.5", a=" 1,234.5 ") is True


def test_division_by_zero_cannot_be_judged():
    assert ev("a / b", a=1, b=0) is None
    assert ev("a / b > 1", a=0, b=0) is None
    assert ev("a / b > 1 or c", a=1, b=0, c=True) is True


def test_overflow_cannot_be_judged():
    huge = Decimal("9e999999")
    assert ev("a * a", a=huge) is None


# -- three-valued logic ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "conj", "disj"),
    [
        (True, True, True, True),
        (True, False, False, True),
        (False, False, False, False),
        (True, None, None, True),
        (False, None, False, None),
        (None, None, None, None),
    ],
)
def test_and_or_follow_sql_three_valued_logic(a, b, conj, disj):
    assert ev("x and y", x=a, y=b) is conj
    assert ev("y and x", x=a, y=b) is conj
    assert ev("x or y", x=a, y=b) is disj
    assert ev("y or x", x=a, y=b) is disj


def test_not_of_unknown_is_unknown():
    assert ev("not x", x=None) is None
    assert ev("not x", x=False) is True


def test_comparisons_with_none_are_none():
    assert ev("a == b", a=None, b=None) is None
    assert ev("a != 1", a=None) is None


def test_functions_with_a_missing_value_cannot_be_judged():
    assert ev("sum(a, b) == 3", a=1) is None
    assert ev("max(a, b)", a=1, b="x") is None


def test_filled_tells_present_values():
    expr = parse("filled(note)")
    assert expr.evaluate({"note": "done"}) is True
    assert expr.evaluate({"note": 0}) is True
    assert expr.evaluate({"note": False}) is True
    for empty in ({}, {"note": None}, {"note": "  "}, {"note": []}):
        assert expr.evaluate(empty) is False


def test_filled_makes_conditional_requirements():
    rule = parse("not filled(found) or filled(rectified)")
    assert rule.evaluate({"found": 3, "rectified": 1}) is True
    assert rule.evaluate({"found": 3}) is False
    assert rule.evaluate({}) is True


def test_yes_no_values_take_part_in_logic():
    rule = parse("not has_plan or plans > 0")
    assert rule.evaluate({"has_plan": False}) is True
    assert rule.evaluate({"has_plan": True, "plans": 0}) is False
    assert rule.evaluate({"has_plan": "yes"}) is None  # not a yes/no value


def test_chinese_keyboard_symbols_are_accepted():
    assert ev("a ≤ b", a=1, b=2) is True
    assert ev("a ≥ b", a=1, b=2) is False
    assert ev("a ≠ b", a=1, b=2) is True
    assert ev("max（a，b）", a=1, b=2) == 2
    assert ev("a\u3000<=\u3000b", a=1, b=2) is True


# -- syntax errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "position"),
    [
        ("", "empty", 0),
        ("   ", "empty", 0),
        ("a <", "unexpected_end", 3),
        ("a +", "unexpected_end", 3),
        ("(a", "unclosed_parenthesis", 0),
        ("max(a, b", "unclosed_parenthesis", 3),
        ("a)", "unmatched_parenthesis", 1),
        ("a b", "unexpected_token", 2),
        ("and a", "unexpected_token", 0),
        ("a # b", "unexpected_character", 2),
        ("a <= 'x'", "unexpected_text", 5),
        ("a <= `x`", "unexpected_character", 5),
        ("unit_has(x)", "unit_has_argument", 0),
        ("'x' == 1", "mixed_comparison", 4),
        ("Found <= b", "invalid_key", 0),
        ("_a <= b", "invalid_key", 0),
        ("a = b", "single_equals", 2),
        ("1. + a", "invalid_number", 0),
        ("avg(a, b)", "unknown_function", 0),
        ("abs(a, b)", "argument_count", 0),
        ("sum()", "argument_count", 0),
        ("filled(1)", "filled_argument", 0),
        ("filled(a, b)", "filled_argument", 0),
        ("filled(a + b)", "filled_argument", 0),
        ("1 and a", "expected_condition", 0),
        ("not 2", "expected_condition", 4),
        ("(a < b) + 1", "expected_number", 0),
        ("a + (b < c)", "expected_number", 4),
        ("-true", "expected_number", 1),
        ("1 < true", "expected_number", 4),
        ("sum(a, b > c)", "expected_number", 7),
        ("1 == true", "mixed_comparison", 2),
    ],
)
def test_syntax_errors_say_what_and_where(text, code, position):
    with pytest.raises(RuleSyntaxError) as excinfo:
        parse(text)
    error = excinfo.value
    assert error.code == code
    assert error.position == position
    assert error.params["position"] == position + 1
    # The message is an English msgid whose parameters come separately.
    assert error.message % error.params == str(error)
    assert "%(" in error.message or error.code == "empty"


def test_error_names_the_unknown_function_and_token():
    with pytest.raises(RuleSyntaxError) as excinfo:
        parse("avg(a, b) > 1")
    assert excinfo.value.params["name"] == "avg"
    with pytest.raises(RuleSyntaxError) as excinfo:
        parse("a ; b")
    assert excinfo.value.params["token"] == ";"


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    for text in ("(" * 500 + "a" + ")" * 500, "-" * 500 + "1", "not " * 500 + "a"):
        with pytest.raises(RuleSyntaxError) as excinfo:
            parse(text)
        assert excinfo.value.code == "too_deep"


def test_long_chains_evaluate_without_recursion_trouble():
    text = " + ".join(["a"] * 1000)
    assert ev(text, a=1) == 1000
    assert ev(" and ".join(["x"] * 800), x=True) is True


def test_too_long_rule_is_refused():
    with pytest.raises(RuleSyntaxError) as excinfo:
        parse("a" * (MAX_LENGTH + 1))
    assert excinfo.value.code == "too_long"
    assert excinfo.value.params["limit"] == MAX_LENGTH


def test_non_text_rule_is_refused():
    with pytest.raises(RuleSyntaxError):
        parse(None)  # type: ignore[arg-type]


# -- properties -------------------------------------------------------------------------

rule_alphabet = st.sampled_from(
    list("abcxyz019_.+-*/()<>=!, \t") + ["and", "or", "not", "true", "false", "sum(", "filled("]
)


@settings(max_examples=500)
@given(st.lists(rule_alphabet, max_size=30).map(" ".join) | st.text(max_size=40))
def test_any_text_parses_or_raises_only_rule_syntax_error(text):
    try:
        expr = parse(text)
    except RuleSyntaxError as error:
        assert error.message % error.params == str(error)
        assert 0 <= error.position <= len(text)
    else:
        assert expr.fields <= set(re.findall(r"[a-z][a-z0-9_]*", text))


field_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)

RULES = [
    "rectified <= found",
    "a / b > c",
    "sum(a, b, c) == a + b + c",
    "not a or b and c",
    "max(a, b) - min(a, b) >= abs(c)",
    "0 <= a / (b - c) <= 100",
    "filled(a) and a * b * c * a * b * c != 0",
    "-a == b or not c",
]


@settings(max_examples=300)
@given(
    st.sampled_from(RULES),
    st.dictionaries(st.sampled_from(["a", "b", "c", "found", "rectified"]), field_values),
)
def test_evaluate_never_raises_on_user_values(rule, values):
    result = parse(rule).evaluate(values)
    assert result is None or isinstance(result, bool | Decimal)


# Random arithmetic trees rendered with full parentheses are compared with exact
# rational arithmetic computed directly from the tree.
leaves = st.integers(-1000, 1000).map(lambda n: (str(n) if n >= 0 else f"(0 - {-n})", Fraction(n)))


def combine(children):
    def build(pair):
        (left_text, left), op, (right_text, right) = pair
        text = f"({left_text} {op} {right_text})"
        if left is None or right is None:
            return text, None
        if op == "+":
            return text, left + right
        if op == "-":
            return text, left - right
        if op == "*":
            return text, left * right
        return text, None if right == 0 else left / right

    return st.tuples(children, st.sampled_from("+-*/"), children).map(build)


trees = st.recursive(leaves, combine, max_leaves=12)


@given(trees)
def test_arithmetic_matches_exact_rationals(tree):
    text, expected = tree
    result = parse(text).evaluate({})
    if expected is None:
        assert result is None
    else:
        assert result is not None
        assert abs(Fraction(result) - expected) <= abs(expected) * Fraction(1, 10**25) + Fraction(
            1, 10**25
        )
