"""A small, safe expression language for cross-field rules such as ``rectified <= found``.

Rules are parsed by a hand-written tokenizer and recursive-descent parser into a
tree of plain objects and evaluated over a mapping of field values; nothing is
ever handed to Python's ``eval`` or ``ast``.

Grammar, loosest binding first::

    rule        := or
    or          := and ("or" and)*
    and         := not ("and" not)*
    not         := "not" not | comparison
    comparison  := additive (("<" | "<=" | ">" | ">=" | "==" | "!=") additive)*
    additive    := term (("+" | "-") term)*
    term        := unary (("*" | "/") unary)*
    unary       := ("-" | "+") unary | primary
    primary     := number | "true" | "false" | key | function "(" args ")" | "(" rule ")"
    function    := sum | min | max | abs | filled | round | if

``round(x, n)`` rounds half away from zero to *n* (a whole number from 0 to 10)
decimal places, as Excel's ROUND does; ``if(condition, a, b)`` is *a* when the
condition holds, *b* when it fails and unknown when it cannot be judged. With
division, they let a calculated field state a rate such as
``round(rectified / found * 100, 2)``.

Chained comparisons read like mathematics: ``0 <= rate <= 100`` means
``0 <= rate and rate <= 100``. ``≤ ≥ ≠`` and full-width brackets and commas are
accepted because people type them on Chinese keyboards.

Evaluation uses ``Decimal`` and SQL-like three-valued logic: a missing or
non-numeric value, or a division by zero, makes the affected part ``None``
("cannot judge") instead of raising, and ``and``/``or`` still decide when the
other side settles the answer (``false and None`` is ``False``).

A parsed expression can also be written out as an Excel formula
(:meth:`Expr.to_excel`) and as a small JSON tree (:meth:`Expr.to_tree`) that the
web form's script evaluates live, so there is one parser for every channel.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any, Literal

from forms.i18n import N_

MAX_LENGTH = 5000
MAX_DEPTH = 40

Kind = Literal["number", "bool", "any"]
Value = bool | Decimal | None

# Traps make overflow and 0/0 raise so they can be turned into "cannot judge".
_DECIMAL = Context(prec=34, traps=[InvalidOperation, DivisionByZero, Overflow])

_KEYWORDS = {"and", "or", "not", "true", "false"}
_FUNCTIONS = {"sum", "min", "max", "abs", "filled", "round", "if"}
MAX_PLACES = 10
_ALIASES = {"≤": "<=", "≥": ">=", "≠": "!=", "（": "(", "）": ")", "，": ","}
_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n\u3000]+)
  | (?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|==|!=|[-+*/()<>,=]|[≤≥≠（），])
    """,
    re.VERBOSE,
)


class RuleSyntaxError(ValueError):
    """A rule that cannot be parsed.

    ``message`` is an English msgid with ``%(name)s`` parameters in ``params``;
    ``position`` is the 0-based offset in the text, while ``params["position"]``
    is the 1-based column shown to people.
    """

    def __init__(self, message: str, position: int, code: str, **params: Any) -> None:
        self.message = message
        self.position = position
        self.code = code
        self.params = {"position": position + 1, **params}
        super().__init__(message % self.params)


# -- tokens -------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    type: Literal["number", "name", "op", "end"]
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise RuleSyntaxError(
                N_("Unexpected character “%(token)s” at position %(position)s"),
                position,
                "unexpected_character",
                token=text[position],
            )
        kind, value = match.lastgroup, match.group()
        if kind == "number" and value.endswith("."):
            raise RuleSyntaxError(
                N_("Invalid number “%(token)s” at position %(position)s"),
                position,
                "invalid_number",
                token=value,
            )
        if kind == "name" and not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise RuleSyntaxError(
                N_(
                    "“%(token)s” at position %(position)s is not a field key: keys are "
                    "lower-case letters, digits and underscores, starting with a letter"
                ),
                position,
                "invalid_key",
                token=value,
            )
        if kind == "op" and value == "=":
            raise RuleSyntaxError(
                N_("Use == to test equality at position %(position)s"),
                position,
                "single_equals",
            )
        if kind != "space":
            tokens.append(_Token(kind, _ALIASES.get(value, value), position))  # type: ignore[arg-type]
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


# -- tree ---------------------------------------------------------------------
# Chains (a + b - c, x and y and z, 0 <= a <= b) are n-ary nodes rather than nested
# binary ones, so evaluation depth is bounded by the parser's nesting limit.


class _Node:
    kind: Kind

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        raise NotImplementedError

    def fields(self) -> set[str]:
        return set()

    def tree(self) -> list:
        """The node as JSON for the web form's script: ``[operator, operands...]``."""
        raise NotImplementedError

    def excel(self, ref: Callable[[str], str]) -> str:
        """The node as an Excel formula fragment; *ref* maps a field key to its cell."""
        raise NotImplementedError


@dataclass
class _Number(_Node):
    value: Decimal
    kind: Kind = "number"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        return self.value

    def tree(self) -> list:
        return ["num", str(self.value)]

    def excel(self, ref: Callable[[str], str]) -> str:
        return format(self.value, "f")


@dataclass
class _Bool(_Node):
    value: bool
    kind: Kind = "bool"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        return self.value

    def tree(self) -> list:
        return ["bool", self.value]

    def excel(self, ref: Callable[[str], str]) -> str:
        return "TRUE" if self.value else "FALSE"


@dataclass
class _Field(_Node):
    key: str
    kind: Kind = "any"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        return _normalise(_lookup(values, self.key))

    def fields(self) -> set[str]:
        return {self.key}

    def tree(self) -> list:
        return ["field", self.key]

    def excel(self, ref: Callable[[str], str]) -> str:
        return ref(self.key)


@dataclass
class _Filled(_Node):
    key: str
    kind: Kind = "bool"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        value = _lookup(values, self.key)
        if value is None:
            return False
        if isinstance(value, str):
            return bool(value.strip())
        if isinstance(value, list | tuple | set | frozenset | dict):
            return bool(value)
        return True

    def fields(self) -> set[str]:
        return {self.key}

    def tree(self) -> list:
        return ["filled", self.key]

    def excel(self, ref: Callable[[str], str]) -> str:
        return f'(LEN(TRIM({ref(self.key)}))>0)'


@dataclass
class _Negate(_Node):
    operand: _Node
    kind: Kind = "number"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        value = _number(self.operand.evaluate(values))
        return None if value is None else _arith(_DECIMAL.minus, value)

    def fields(self) -> set[str]:
        return self.operand.fields()

    def tree(self) -> list:
        return ["neg", self.operand.tree()]

    def excel(self, ref: Callable[[str], str]) -> str:
        return f"(-{self.operand.excel(ref)})"


@dataclass
class _Not(_Node):
    operand: _Node
    kind: Kind = "bool"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        value = _truth(self.operand.evaluate(values))
        return None if value is None else not value

    def fields(self) -> set[str]:
        return self.operand.fields()

    def tree(self) -> list:
        return ["not", self.operand.tree()]

    def excel(self, ref: Callable[[str], str]) -> str:
        return f"NOT({self.operand.excel(ref)})"


_ARITH: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": _DECIMAL.add,
    "-": _DECIMAL.subtract,
    "*": _DECIMAL.multiply,
    "/": _DECIMAL.divide,
}


@dataclass
class _Arith(_Node):
    first: _Node
    rest: list[tuple[str, _Node]]
    kind: Kind = "number"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        result = _number(self.first.evaluate(values))
        for operator, operand in self.rest:
            right = _number(operand.evaluate(values))
            if result is None or right is None:
                return None
            result = _arith(_ARITH[operator], result, right)
        return result

    def fields(self) -> set[str]:
        return self.first.fields().union(*(node.fields() for _, node in self.rest))

    def tree(self) -> list:
        return ["arith", self.first.tree(), [[op, node.tree()] for op, node in self.rest]]

    def excel(self, ref: Callable[[str], str]) -> str:
        text = self.first.excel(ref)
        for operator, operand in self.rest:
            text += operator + operand.excel(ref)
        return f"({text})"


_ORDER: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass
class _Compare(_Node):
    """``a < b <= c``: every adjacent pair must hold (three-valued conjunction)."""

    first: _Node
    rest: list[tuple[str, _Node]]
    kind: Kind = "bool"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        left = self.first.evaluate(values)
        outcomes: list[Value] = []
        for operator, operand in self.rest:
            right = operand.evaluate(values)
            outcomes.append(_compare(operator, left, right))
            if outcomes[-1] is False:
                return False
            left = right
        return None if None in outcomes else True

    def fields(self) -> set[str]:
        return self.first.fields().union(*(node.fields() for _, node in self.rest))

    def tree(self) -> list:
        return ["cmp", self.first.tree(), [[op, node.tree()] for op, node in self.rest]]

    def excel(self, ref: Callable[[str], str]) -> str:
        excel_ops = {"==": "=", "!=": "<>"}
        pairs, left = [], self.first.excel(ref)
        for operator, operand in self.rest:
            right = operand.excel(ref)
            pairs.append(f"{left}{excel_ops.get(operator, operator)}{right}")
            left = right
        return pairs[0] if len(pairs) == 1 else f"AND({','.join(pairs)})"


@dataclass
class _Logic(_Node):
    """n-ary ``and``/``or`` with SQL-like three-valued logic."""

    operator: Literal["and", "or"]
    operands: list[_Node]
    kind: Kind = "bool"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        decisive = self.operator == "or"  # True settles "or", False settles "and"
        unknown = False
        for operand in self.operands:
            value = _truth(operand.evaluate(values))
            if value is None:
                unknown = True
            elif value is decisive:
                return decisive
        return None if unknown else not decisive

    def fields(self) -> set[str]:
        return set().union(*(node.fields() for node in self.operands))

    def tree(self) -> list:
        return [self.operator, [node.tree() for node in self.operands]]

    def excel(self, ref: Callable[[str], str]) -> str:
        return f"{self.operator.upper()}({','.join(n.excel(ref) for n in self.operands)})"


@dataclass
class _Call(_Node):
    name: str
    args: list[_Node]
    kind: Kind = "number"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        if self.name == "if":
            condition = _truth(self.args[0].evaluate(values))
            if condition is None:
                return None
            return _number(self.args[1 if condition else 2].evaluate(values))
        numbers = [_number(arg.evaluate(values)) for arg in self.args]
        if any(number is None for number in numbers):
            return None
        if self.name == "round":
            return round_half_up(numbers[0], int(numbers[1]))
        if self.name == "abs":
            return _arith(_DECIMAL.abs, numbers[0])
        if self.name == "min":
            return min(numbers)
        if self.name == "max":
            return max(numbers)
        total: Decimal | None = Decimal(0)
        for number in numbers:
            total = _arith(_DECIMAL.add, total, number)
            if total is None:
                return None
        return total

    def fields(self) -> set[str]:
        return set().union(*(arg.fields() for arg in self.args))

    def tree(self) -> list:
        return ["call", self.name, [arg.tree() for arg in self.args]]

    def excel(self, ref: Callable[[str], str]) -> str:
        return f"{self.name.upper()}({','.join(arg.excel(ref) for arg in self.args)})"


# -- evaluation helpers ---------------------------------------------------------


def _lookup(values: Mapping[str, Any], key: str) -> Any:
    try:
        return values.get(key)
    except Exception:  # a hostile or broken mapping must not break validation
        return None


def _normalise(value: Any) -> Value:
    """A field value as the language sees it: a bool, a finite Decimal or None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            return None
        return number if number.is_finite() else None
    return None


def round_half_up(value: Decimal, places: int) -> Decimal | None:
    """*value* rounded half away from zero to *places* decimals, as Excel's ROUND does."""
    return _arith(lambda v: v.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP,
                                       context=_DECIMAL), value)


def _number(value: Value) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def _truth(value: Value) -> bool | None:
    return value if isinstance(value, bool) else None


def _arith(operation: Callable[..., Decimal], *operands: Decimal) -> Decimal | None:
    try:
        result = operation(*operands)
    except ArithmeticError:  # division by zero, overflow, 0/0
        return None
    return result if result.is_finite() else None


def _compare(operator: str, left: Value, right: Value) -> bool | None:
    if left is None or right is None:
        return None
    if operator in _ORDER:
        if isinstance(left, Decimal) and isinstance(right, Decimal):
            return _ORDER[operator](left, right)
        return None
    if isinstance(left, bool) != isinstance(right, bool):
        return None  # a yes/no answer is never equal or unequal to a number
    return (left == right) == (operator == "==")


# -- parser ---------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.token.type in ("op", "name") and self.token.text in texts

    def parse(self) -> _Node:
        if self.token.type == "end":
            raise RuleSyntaxError(N_("The rule is empty"), 0, "empty")
        node = self.parse_or()
        if self.token.type != "end":
            self.unexpected()
        return node

    def unexpected(self) -> None:
        token = self.token
        if token.type == "end":
            raise RuleSyntaxError(
                N_("The rule ends too early: a value is missing at position %(position)s"),
                token.position,
                "unexpected_end",
            )
        if token.text == ")":
            raise RuleSyntaxError(
                N_("Unmatched closing parenthesis at position %(position)s"),
                token.position,
                "unmatched_parenthesis",
            )
        raise RuleSyntaxError(
            N_("Unexpected “%(token)s” at position %(position)s"),
            token.position,
            "unexpected_token",
            token=token.text,
        )

    def nested(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleSyntaxError(
                N_("The rule is nested too deeply at position %(position)s"),
                position,
                "too_deep",
            )

    def parse_or(self) -> _Node:
        return self.parse_logic("or", self.parse_and)

    def parse_and(self) -> _Node:
        return self.parse_logic("and", self.parse_not)

    def parse_logic(self, operator: Literal["and", "or"], operand: Callable[[], _Node]) -> _Node:
        first_position = self.token.position
        nodes = [operand()]
        positions = [first_position]
        while self.at(operator) and self.token.type == "name":
            self.advance()
            positions.append(self.token.position)
            nodes.append(operand())
        if len(nodes) == 1:
            return nodes[0]
        for node, position in zip(nodes, positions, strict=True):
            self.expect_kind(node, "bool", operator, position)
        return _Logic(operator, nodes)

    def parse_not(self) -> _Node:
        if self.token.type == "name" and self.token.text == "not":
            position = self.advance().position
            self.nested(position)
            operand_position = self.token.position
            operand = self.parse_not()
            self.depth -= 1
            self.expect_kind(operand, "bool", "not", operand_position)
            return _Not(operand)
        return self.parse_comparison()

    def parse_comparison(self) -> _Node:
        left_position = self.token.position
        first = self.parse_additive()
        rest: list[tuple[str, _Node]] = []
        left = first
        while self.token.type == "op" and self.token.text in ("<", "<=", ">", ">=", "==", "!="):
            operator = self.advance()
            right_position = self.token.position
            right = self.parse_additive()
            if operator.text in _ORDER:
                self.expect_kind(left, "number", operator.text, left_position)
                self.expect_kind(right, "number", operator.text, right_position)
            elif {left.kind, right.kind} == {"number", "bool"}:
                raise RuleSyntaxError(
                    N_("A number cannot be compared with a condition at position %(position)s"),
                    operator.position,
                    "mixed_comparison",
                )
            rest.append((operator.text, right))
            left, left_position = right, right_position
        return _Compare(first, rest) if rest else first

    def parse_additive(self) -> _Node:
        return self.parse_arith(("+", "-"), self.parse_term)

    def parse_term(self) -> _Node:
        return self.parse_arith(("*", "/"), self.parse_unary)

    def parse_arith(self, operators: tuple[str, ...], operand: Callable[[], _Node]) -> _Node:
        position = self.token.position
        first = operand()
        rest: list[tuple[str, _Node]] = []
        while self.token.type == "op" and self.token.text in operators:
            operator = self.advance()
            right_position = self.token.position
            right = operand()
            if not rest:
                self.expect_kind(first, "number", operator.text, position)
            self.expect_kind(right, "number", operator.text, right_position)
            rest.append((operator.text, right))
        return _Arith(first, rest) if rest else first

    def parse_unary(self) -> _Node:
        if self.token.type == "op" and self.token.text in ("-", "+"):
            operator = self.advance()
            self.nested(operator.position)
            operand_position = self.token.position
            operand = self.parse_unary()
            self.depth -= 1
            self.expect_kind(operand, "number", operator.text, operand_position)
            return _Negate(operand) if operator.text == "-" else operand
        return self.parse_primary()

    def parse_primary(self) -> _Node:
        token = self.token
        if token.type == "number":
            self.advance()
            return _Number(Decimal(token.text))
        if token.type == "op" and token.text == "(":
            self.advance()
            self.nested(token.position)
            node = self.parse_or()
            self.depth -= 1
            self.close(token)
            return node
        if token.type != "name" or token.text in ("and", "or", "not"):
            self.unexpected()
        self.advance()
        if token.text in ("true", "false"):
            return _Bool(token.text == "true")
        if self.at("(") and self.token.type == "op":
            return self.parse_call(token)
        return _Field(token.text)

    def parse_call(self, name: _Token) -> _Node:
        if name.text not in _FUNCTIONS:
            raise RuleSyntaxError(
                N_("Unknown function “%(name)s” at position %(position)s"),
                name.position,
                "unknown_function",
                name=name.text,
                functions=", ".join(sorted(_FUNCTIONS)),
            )
        opening = self.advance()
        self.nested(opening.position)
        if name.text == "filled":
            key = self.token
            if (
                key.type != "name"
                or key.text in _KEYWORDS
                or self.tokens[self.index + 1].text != ")"
            ):
                raise RuleSyntaxError(
                    N_("filled() at position %(position)s takes one field key, e.g. filled(found)"),
                    name.position,
                    "filled_argument",
                )
            self.advance()
            self.close(opening)
            self.depth -= 1
            return _Filled(key.text)
        args: list[_Node] = []
        if not self.at(")"):
            while True:
                position = self.token.position
                arg = self.parse_or()
                wanted: Kind = "bool" if name.text == "if" and not args else "number"
                self.expect_kind(arg, wanted, name.text, position)
                args.append(arg)
                if not (self.at(",") and self.token.type == "op"):
                    break
                self.advance()
        self.close(opening)
        self.depth -= 1
        if name.text == "abs" and len(args) != 1:
            raise RuleSyntaxError(
                N_("abs() at position %(position)s takes exactly one value"),
                name.position,
                "argument_count",
                name=name.text,
            )
        if name.text == "if" and len(args) != 3:
            raise RuleSyntaxError(
                N_("if() at position %(position)s takes a condition and two values, "
                   "e.g. if(found > 0, rectified / found, 0)"),
                name.position,
                "argument_count",
                name=name.text,
            )
        if name.text == "round" and (
            len(args) != 2
            or not isinstance(args[1], _Number)
            or args[1].value != args[1].value.to_integral_value()
            or not 0 <= args[1].value <= MAX_PLACES
        ):
            raise RuleSyntaxError(
                N_("round() at position %(position)s takes a value and a whole number of "
                   "decimal places from 0 to %(limit)s, e.g. round(rate, 2)"),
                name.position,
                "argument_count",
                name=name.text,
                limit=MAX_PLACES,
            )
        if not args:
            raise RuleSyntaxError(
                N_("%(name)s() at position %(position)s needs at least one value"),
                name.position,
                "argument_count",
                name=name.text,
            )
        return _Call(name.text, args)

    def close(self, opening: _Token) -> None:
        if self.token.type == "op" and self.token.text == ")":
            self.advance()
            return
        if self.token.type == "end":
            raise RuleSyntaxError(
                N_("The parenthesis opened at position %(position)s is never closed"),
                opening.position,
                "unclosed_parenthesis",
            )
        self.unexpected()

    @staticmethod
    def expect_kind(node: _Node, kind: Kind, operator: str, position: int) -> None:
        """Refuse a literal mismatch such as ``1 and x`` or ``(a < b) + 1``; field values
        are only known at evaluation time and are checked then."""
        if node.kind in (kind, "any"):
            return
        if kind == "number":
            raise RuleSyntaxError(
                N_(
                    "Expected a number at position %(position)s, not a condition "
                    "(for “%(operator)s”)"
                ),
                position,
                "expected_number",
                operator=operator,
            )
        raise RuleSyntaxError(
            N_("Expected a condition at position %(position)s, not a number (for “%(operator)s”)"),
            position,
            "expected_condition",
            operator=operator,
        )


# -- public API -----------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """A parsed rule. ``fields`` lists the field keys it reads; ``kind`` is ``"bool"``
    for conditions, ``"number"`` for amounts and ``"any"`` for a bare field key."""

    source: str
    _root: _Node = field(repr=False, compare=False)

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self._root.fields())

    @property
    def kind(self) -> Kind:
        return self._root.kind

    def evaluate(self, values: Mapping[str, Any]) -> bool | Decimal | None:
        """The rule's value over *values*; ``None`` when it cannot be judged because a
        value is missing or not a number, or a division by zero occurs. Never raises."""
        return self._root.evaluate(values)

    def to_tree(self) -> list:
        """The expression as nested JSON lists, evaluated by the web form's script."""
        return self._root.tree()

    def to_excel(self, ref: Callable[[str], str]) -> str:
        """The expression as an Excel formula body (no leading ``=``); *ref* gives the
        cell reference of a field key. Blank inputs and division by zero are the
        caller's to guard (see :func:`forms.calculated.excel_formula`)."""
        return self._root.excel(ref)

    def __str__(self) -> str:
        return self.source


def parse(text: str) -> Expr:
    """Parse *text* into an :class:`Expr`; raises :class:`RuleSyntaxError` on any mistake."""
    if not isinstance(text, str):
        raise RuleSyntaxError(N_("The rule must be text"), 0, "not_text")
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(
            N_("The rule is too long: %(length)s characters, at most %(limit)s"),
            0,
            "too_long",
            length=len(text),
            limit=MAX_LENGTH,
        )
    return Expr(text, _Parser(text).parse())


# -- other notations --------------------------------------------------------------


def to_xpath(expr: Expr, ref: Callable[[str], str]) -> str:
    """*expr* written in XPath 1.0 as XLSForm constraints use it; *ref* names a field
    (``${key}``, or ``.`` for the question the constraint sits on).

    Every sub-expression is parenthesised, so precedence never differs between the two
    languages; ``filled(x)`` becomes ``x != ''`` and ``sum(a, b)`` an addition, since
    XPath's ``sum`` adds up a node-set rather than its arguments.
    """
    return _xpath(expr._root, ref)


def _xpath(node: _Node, ref: Callable[[str], str]) -> str:
    def wrapped(child: _Node) -> str:
        text = _xpath(child, ref)
        plain = isinstance(child, _Number | _Bool | _Field | _Call | _Not)
        return text if plain else f"({text})"

    if isinstance(node, _Number):
        return format(node.value, "f")
    if isinstance(node, _Bool):
        return "true()" if node.value else "false()"
    if isinstance(node, _Field):
        return ref(node.key)
    if isinstance(node, _Filled):
        return f"{ref(node.key)} != ''"
    if isinstance(node, _Negate):
        return f"-{wrapped(node.operand)}"
    if isinstance(node, _Not):
        return f"not({_xpath(node.operand, ref)})"
    if isinstance(node, _Arith):
        parts = [wrapped(node.first)]
        for operator, operand in node.rest:
            parts += ["div" if operator == "/" else operator, wrapped(operand)]
        return " ".join(parts)
    if isinstance(node, _Compare):
        pairs, left = [], node.first
        for operator, right in node.rest:
            xpath_operator = "=" if operator == "==" else operator
            pairs.append(f"{wrapped(left)} {xpath_operator} {wrapped(right)}")
            left = right
        return pairs[0] if len(pairs) == 1 else " and ".join(f"({p})" for p in pairs)
    if isinstance(node, _Logic):
        return f" {node.operator} ".join(wrapped(operand) for operand in node.operands)
    if isinstance(node, _Call):
        args = [_xpath(arg, ref) for arg in node.args]
        if node.name == "sum":
            return "(" + " + ".join(wrapped(arg) for arg in node.args) + ")"
        return f"{node.name}({', '.join(args)})"
    raise TypeError(f"no XPath for {type(node).__name__}")  # pragma: no cover - every node above
