"""Calculated fields: values the form computes from other fields, never types in.

A field with a ``formula`` (rule language, :mod:`forms.rules`) is a rate, total
or difference of other numeric fields, e.g. 整改率 = ``round(rectified / found * 100, 2)``.
Its value is always recomputed here, by every channel: a value posted on the web
or the API, or found in an uploaded workbook, is ignored. On consolidation it is
recomputed from the consolidated inputs, so a rate is never summed or averaged.

One meaning everywhere (server, the web form's script, the Excel formula):

- the value is empty unless every field the formula reads is filled in;
- a division by zero (or any other undefined step) makes it empty, not an error;
- the result is rounded half away from zero to :func:`places` decimals (0 for an
  integer field, 2 otherwise) unless the formula rounds further itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from forms.definition import Definition, FieldDef, FieldKind
from forms.rules import Expr, round_half_up
from forms.rules import parse as _parse

DEFAULT_PLACES = 2


@lru_cache(maxsize=1024)
def parse(formula: str) -> Expr:
    """A formula parsed once (definitions are validated, so it parses)."""
    return _parse(formula)


def places(fld: FieldDef) -> int:
    """Decimal places a calculated value keeps."""
    return 0 if fld.kind is FieldKind.INTEGER else DEFAULT_PLACES


def inputs(fld: FieldDef) -> list[str]:
    """The keys of the fields *fld*'s formula reads, sorted."""
    return list(_inputs(fld.formula)) if fld.formula else []


@lru_cache(maxsize=1024)
def _inputs(formula: str) -> tuple[str, ...]:
    return tuple(sorted(parse(formula).fields))


def calculate_field(fld: FieldDef, values: Mapping[str, Any]) -> int | Decimal | None:
    """*fld*'s value over typed *values*; None when an input is empty or it is undefined."""
    if fld.formula is None or any(values.get(key) is None for key in inputs(fld)):
        return None
    result = parse(fld.formula).evaluate(values)
    if not isinstance(result, Decimal):
        return None
    rounded = round_half_up(result, places(fld))
    if rounded is None:
        return None
    if fld.kind is FieldKind.INTEGER:
        return int(rounded)
    return rounded


def calculate(definition: Definition, values: Mapping[str, Any]) -> dict[str, Any]:
    """*values* with every calculated field (re)computed, in dependency order."""
    out = dict(values)
    for fld in definition.calculated_fields():
        out[fld.key] = calculate_field(fld, out)
    return out


def excel_formula(fld: FieldDef, cell: Callable[[str], str],
                  kind_of: Callable[[str], FieldKind | None]) -> str:
    """An Excel formula computing *fld* from the cells of its inputs, same meaning as above.

    *cell* gives an input's cell reference. Percent cells hold fractions (0.85 for
    85 %) while formulas speak percentage points, hence the scaling both ways.
    """
    def ref(key: str) -> str:
        return f"({cell(key)}*100)" if kind_of(key) is FieldKind.PERCENT else cell(key)

    body = f"ROUND({parse(fld.formula).to_excel(ref)},{places(fld)})"
    if fld.kind is FieldKind.PERCENT:
        body = f"{body}/100"
    guarded = f'IFERROR({body},"")'
    keys = inputs(fld)
    if keys:
        guarded = f'IF(COUNT({",".join(cell(k) for k in keys)})<{len(keys)},"",{guarded})'
    return "=" + guarded


_KEY = re.compile(r"[a-z][a-z0-9_]*")


def readable(fld: FieldDef, label: Callable[[str], str | None], locale: str = "zh_CN") -> str:
    """The formula with each field key replaced by its label in quotes (「已整改」 or
    “Rectified”), to show people what it does."""
    keys = set(inputs(fld))
    opening, closing = ("“", "”") if locale.startswith("en") else ("「", "」")

    def name(match: re.Match) -> str:
        key = match.group()
        text = label(key) if key in keys else None
        return f"{opening}{text}{closing}" if text else key

    return _KEY.sub(name, fld.formula or "")
