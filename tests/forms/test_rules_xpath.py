"""Rules written in XPath for XLSForm constraints, and read back from them."""

import pytest

from forms.rules import parse, to_xpath

REF = {"self": "."}


def ref(key: str) -> str:
    return REF.get(key, f"${{{key}}}")


@pytest.mark.parametrize(("rule", "xpath"), [
    ("fixed <= found", "${fixed} <= ${found}"),
    ("self == 3", ". = 3"),
    ("a + b * c - d <= e", "(${a} + (${b} * ${c}) - ${d}) <= ${e}"),
    ("a / b * 100 >= 50", "(${a} div ${b} * 100) >= 50"),
    ("0 <= rate <= 100", "(0 <= ${rate}) and (${rate} <= 100)"),
    ("not a > b or filled(c)", "not(${a} > ${b}) or (${c} != '')"),
    ("sum(a, b, 2) <= max(c, 1.50)", "(${a} + ${b} + 2) <= max(${c}, 1.50)"),
    ("-(a + b) < abs(c)", "(-(${a} + ${b})) < abs(${c})"),
    ("a > b and true", "(${a} > ${b}) and true()"),
])
def test_rules_in_xpath(rule, xpath):
    assert to_xpath(parse(rule), ref) == xpath


def test_filled_alone_is_an_empty_string_test():
    assert to_xpath(parse("filled(c)"), ref) == "${c} != ''"
