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
    primary     := number | string | "true" | "false" | key | function "(" args ")"
                 | "unit_has" "(" string ")" | "(" rule ")"
    function    := sum | min | max | abs | filled | round | if

``round(x, n)`` rounds half away from zero to *n* (a whole number from 0 to 10)
decimal places, as Excel's ROUND does; ``if(condition, a, b)`` is *a* when the
condition holds, *b* when it fails and unknown when it cannot be judged. With
division, they let a calculated field state a rate such as
``round(rectified / found * 100, 2)``.

Chained comparisons read like mathematics: ``0 <= rate <= 100`` means
``0 <= rate and rate <= 100``. ``≤ ≥ ≠`` and full-width brackets and commas are
accepted because people type them on Chinese keyboards.

Strings in quotes (``'major'``, ``"危化"``) are compared with choice answers
(``level == 'major'``); ``unit_has('危化')`` is true when the reporting unit carries
that tag. Tags are given to :meth:`Expr.evaluate`; without them ``unit_has`` cannot
judge (``None``).

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
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from functools import cached_property
from typing import Any, Literal

from forms.i18n import N_

MAX_LENGTH = 5000
MAX_DEPTH = 40

Kind = Literal["number", "bool", "text", "any"]
Value = bool | Decimal | str | None

# Traps make overflow and 0/0 raise so they can be turned into "cannot judge".
_DECIMAL = Context(prec=34, traps=[InvalidOperation, DivisionByZero, Overflow])

_KEYWORDS = {"and", "or", "not", "true", "false"}
_FUNCTIONS = {"sum", "min", "max", "abs", "filled", "round", "if", "unit_has"}
MAX_PLACES = 10
_ALIASES = {"≤": "<=", "≥": ">=", "≠": "!=", "（": "(", "）": ")", "，": ","}
_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n\u3000]+)
  | (?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>'[^'\r\n]*'|"[^"\r\n]*"|‘[^’\r\n]*’|“[^”\r\n]*”)
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
    type: Literal["number", "name", "op", "string", "end"]
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
        if kind == "string":
            tokens.append(_Token("string", value[1:-1].strip(), position))
        elif kind != "space":
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
class _Text(_Node):
    value: str
    kind: Kind = "text"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        return self.value


@dataclass
class _UnitHas(_Node):
    """``unit_has('危化')``: whether the reporting unit carries the tag."""

    tag: str
    kind: Kind = "bool"

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        tags = getattr(values, "unit_tags", None)
        return None if tags is None else self.tag in tags


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
            # A choice answer such as "major": only ever compared for equality.
            return value.strip() or None
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


def _sort(value: Value) -> type:
    return bool if isinstance(value, bool) else str if isinstance(value, str) else Decimal


def _tags(node: _Node) -> set[str]:
    """The unit tags a tree names in ``unit_has(...)``."""
    if isinstance(node, _UnitHas):
        return {node.tag}
    found: set[str] = set()
    for child in (getattr(node, "operand", None), getattr(node, "first", None)):
        if child is not None:
            found |= _tags(child)
    for _, child in getattr(node, "rest", ()):
        found |= _tags(child)
    for child in (*getattr(node, "operands", ()), *getattr(node, "args", ())):
        found |= _tags(child)
    return found


class _Scope(Mapping):
    """The answers, plus the unit's tags for ``unit_has``."""

    def __init__(self, values: Mapping[str, Any], tags: Any) -> None:
        self._values = values
        self.unit_tags = tags

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)


def _compare(operator: str, left: Value, right: Value) -> bool | None:
    if left is None or right is None:
        return None
    if operator in _ORDER:
        if isinstance(left, Decimal) and isinstance(right, Decimal):
            return _ORDER[operator](left, right)
        return None
    if _sort(left) != _sort(right):
        return None  # a yes/no answer or a choice is never equal or unequal to a number
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
            elif "text" in {left.kind, right.kind} and len({left.kind, right.kind} - {"any"}) > 1:
                raise RuleSyntaxError(
                    N_("Text in quotes can only be compared with an answer at position "
                       "%(position)s"),
                    operator.position,
                    "mixed_comparison",
                )
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
        if token.type == "string":
            self.advance()
            return _Text(token.text)
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
        if name.text == "unit_has":
            tag = self.token
            if tag.type != "string" or not tag.text or self.tokens[self.index + 1].text != ")":
                raise RuleSyntaxError(
                    N_("unit_has() at position %(position)s takes one tag in quotes, "
                       "e.g. unit_has('危化')"),
                    name.position,
                    "unit_has_argument",
                )
            self.advance()
            self.close(opening)
            self.depth -= 1
            return _UnitHas(tag.text)
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
        if node.kind == "text":
            raise RuleSyntaxError(
                N_("Text in quotes can only be compared with an answer at position "
                   "%(position)s"),
                position,
                "unexpected_text",
            )
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

    @cached_property
    def fields(self) -> frozenset[str]:
        """Worked out once per parsed rule (parsed rules are kept and asked again and again
        by every validation)."""
        return frozenset(self._root.fields())

    @property
    def kind(self) -> Kind:
        return self._root.kind

    @property
    def tags(self) -> frozenset[str]:
        """The unit tags it names in ``unit_has(...)``."""
        return frozenset(_tags(self._root))

    def comparisons(self) -> list[tuple[str, bool | Decimal | str]]:
        """``(field key, literal)`` for every ``key == literal`` or ``key != literal``,
        so a definition can check that a choice is compared with one of its values."""
        found: list[tuple[str, bool | Decimal | str]] = []

        def walk(node: _Node) -> None:
            if isinstance(node, _Compare):
                chain = [node.first, *(operand for _, operand in node.rest)]
                for (operator, _), left, right in zip(node.rest, chain, chain[1:], strict=False):
                    if operator not in ("==", "!="):
                        continue
                    for one, other in ((left, right), (right, left)):
                        if isinstance(one, _Field) and isinstance(other, _Number | _Bool | _Text):
                            found.append((one.key, other.value))
            for child in (getattr(node, "operand", None), getattr(node, "first", None),
                          *(c for _, c in getattr(node, "rest", ())),
                          *getattr(node, "operands", ()), *getattr(node, "args", ())):
                if child is not None:
                    walk(child)

        walk(self._root)
        return found

    def evaluate(
        self, values: Mapping[str, Any], *, tags: Collection[str] | None = None
    ) -> bool | Decimal | str | None:
        """The rule's value over *values*; ``None`` when it cannot be judged because a
        value is missing or not a number, or a division by zero occurs, or the unit's
        *tags* are needed and not given. Never raises."""
        return self._root.evaluate(_Scope(values, tags) if tags is not None else values)

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
        plain = isinstance(child, _Number | _Bool | _Field | _Text | _Call | _Not)
        return text if plain else f"({text})"

    if isinstance(node, _Number):
        return format(node.value, "f")
    if isinstance(node, _Bool):
        return "true()" if node.value else "false()"
    if isinstance(node, _Field):
        return ref(node.key)
    if isinstance(node, _Text):  # a choice value: XPath quotes it either way
        return f'"{node.value}"' if "'" in node.value else f"'{node.value}'"
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
        def side(operand: _Node) -> str:
            # An XLSForm stores a yes/no answer as the choice 'yes' or 'no', not a boolean.
            if isinstance(operand, _Bool):
                return "'yes'" if operand.value else "'no'"
            return wrapped(operand)

        pairs, left = [], node.first
        for operator, right in node.rest:
            xpath_operator = "=" if operator == "==" else operator
            pairs.append(f"{side(left)} {xpath_operator} {side(right)}")
            left = right
        return pairs[0] if len(pairs) == 1 else " and ".join(f"({p})" for p in pairs)
    if isinstance(node, _Logic):
        return f" {node.operator} ".join(wrapped(operand) for operand in node.operands)
    if isinstance(node, _Call):
        args = [_xpath(arg, ref) for arg in node.args]
        if node.name == "sum":
            return "(" + " + ".join(wrapped(arg) for arg in node.args) + ")"
        return f"{node.name}({', '.join(args)})"
    # unit_has() reads the unit's tags, which an XLSForm cannot know: callers leave out
    # expressions that name tags (Expr.tags).
    raise TypeError(f"no XPath for {type(node).__name__}")
