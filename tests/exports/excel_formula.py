"""A tiny evaluator for the Excel formulas the official workbook writes for calculated
fields, with Excel's own semantics for the parts they use (blank cells count as 0 in
arithmetic but not in COUNT, #DIV/0! propagates until IFERROR, ROUND rounds half away
from zero), so tests can check the workbook computes what the server does where
LibreOffice is not installed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_TOKEN = re.compile(r'\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>"[^"]*")|(?P<name>[A-Z]+[0-9]*)'
                    r'|(?P<op><=|>=|<>|[-+*/(),<>=]))')


class ExcelError(Exception):
    """#DIV/0!, #VALUE! and the like."""


def evaluate(formula: str, cells: Mapping[str, Any]) -> Any:
    """The value of *formula* (with its leading ``=``) over *cells* (ref → value)."""
    tokens = []
    text = formula.lstrip("=")
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match, text[position:]
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    parser = _Parser(tokens, cells)
    result = parser.expression()
    assert parser.index == len(tokens), formula
    return result


def _number(value: Any) -> Decimal:
    if isinstance(value, ExcelError):
        raise value
    if value is None or value == "":
        return Decimal(0) if value is None else _raise()
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    raise ExcelError("#VALUE!")


def _raise() -> Decimal:
    raise ExcelError("#VALUE!")


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], cells: Mapping[str, Any]) -> None:
        self.tokens, self.index, self.cells = tokens, 0, cells

    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    # Lazy values: a thunk per operand so IF/IFERROR only evaluate what Excel does.
    def expression(self):
        left = self.additive()
        while self.peek() in ("<", "<=", ">", ">=", "=", "<>"):
            operator = self.take()[1]
            right = self.additive()
            left = _compare(operator, left, right)
        return left

    def additive(self):
        left = self.term()
        while self.peek() in ("+", "-"):
            operator = self.take()[1]
            right = self.term()
            left = _arith(operator, left, right)
        return left

    def term(self):
        left = self.unary()
        while self.peek() in ("*", "/"):
            operator = self.take()[1]
            right = self.unary()
            left = _arith(operator, left, right)
        return left

    def unary(self):
        if self.peek() == "-":
            self.take()
            value = self.unary()
            return _arith("-", Decimal(0), value)
        return self.primary()

    def primary(self):
        kind, text = self.take()
        if kind == "num":
            return Decimal(text)
        if kind == "str":
            return text[1:-1]
        if text == "(":
            value = self.expression()
            assert self.take()[1] == ")"
            return value
        if self.peek() == "(":
            self.take()
            args = []
            if self.peek() != ")":
                while True:
                    args.append(self.expression())
                    if self.peek() != ",":
                        break
                    self.take()
            assert self.take()[1] == ")"
            return _call(text, args)
        if text in ("TRUE", "FALSE"):
            return text == "TRUE"
        return self.cells.get(text)


def _arith(operator: str, left: Any, right: Any) -> Any:
    try:
        a, b = _number(left), _number(right)
    except ExcelError as error:
        return error
    if operator == "/" and b == 0:
        return ExcelError("#DIV/0!")
    return {"+": a + b, "-": a - b, "*": a * b}[operator] if operator != "/" else a / b


def _compare(operator: str, left: Any, right: Any) -> Any:
    for value in (left, right):
        if isinstance(value, ExcelError):
            return value
    a, b = _number(left), _number(right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "=": a == b,
            "<>": a != b}[operator]


def _call(name: str, args: list[Any]) -> Any:
    # Arguments were evaluated eagerly; errors are values, so IF and IFERROR still pick.
    if name == "IFERROR":
        return args[1] if isinstance(args[0], ExcelError) else args[0]
    if name == "IF":
        if isinstance(args[0], ExcelError):
            return args[0]
        return args[1] if args[0] else args[2]
    if name == "COUNT":
        return Decimal(sum(1 for a in args if isinstance(a, int | float | Decimal)
                           and not isinstance(a, bool)))
    errors = [a for a in args if isinstance(a, ExcelError)]
    if errors:
        return errors[0]
    if name in ("AND", "OR"):
        truths = [bool(a) for a in args]
        return all(truths) if name == "AND" else any(truths)
    if name == "NOT":
        return not args[0]
    try:
        numbers = [_number(a) for a in args]
    except ExcelError as error:
        return error
    if name == "ROUND":
        return numbers[0].quantize(Decimal(1).scaleb(-int(numbers[1])), rounding=ROUND_HALF_UP)
    if name == "SUM":
        return sum(numbers, Decimal(0))
    if name == "MIN":
        return min(numbers)
    if name == "MAX":
        return max(numbers)
    if name == "ABS":
        return abs(numbers[0])
    raise AssertionError(f"function {name} not supported")
