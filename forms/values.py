"""Turning what people type into typed values, the same way everywhere.

The web form, the Excel reader and the API all hand raw input to
:func:`coerce`, so "１２", "1,200", "12家" and "  12 " mean the same thing
whether they were typed on a phone or saved by WPS. Coercion never raises on
user input: it returns the value it could read (or None) and issues.

Typed values: integer → ``int``; decimal and percent → ``Decimal`` (percent in
percentage points, 85 for 85 %); date → ``datetime.date``; yes/no → ``bool``;
choice → the choice's value key; multiple choice → list of keys; text → ``str``;
table → list of row dicts; attachment → a dict with at least ``id`` and
``name``. Missing is ``None``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from forms.calculated import calculate
from forms.definition import PHONE_RE, Column, Definition, FieldKind
from forms.issues import Issue, error, warning

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# A short unit after a number: 12家, 3 次, 45人次, 12 pcs.
_UNIT_SUFFIX = re.compile(r"^(?P<num>[+-]?[\d.,]+)\s*(?P<unit>[^\d\s.,+-][^\d]{0,5})$")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
)
_YES = {"yes", "y", "true", "1", "是", "有", "√", "✓", "✔", "对"}
_NO = {"no", "n", "false", "0", "否", "无", "没有", "×", "✗", "✘", "不"}
_LIST_SPLIT = re.compile(r"[,，、;；\n]+")


def normalize_text(raw: Any) -> str:
    """Text as typed, with full-width forms folded (NFKC) and spaces trimmed."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = unicodedata.normalize("NFKC", str(raw))
    return text.strip()


def is_blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    return isinstance(raw, list | tuple | dict) and not raw


def _labels(col: Column) -> dict[str, Any]:
    params: dict[str, Any] = {"label": col.label}
    if col.label_en:
        params["label_en"] = col.label_en
    return params


# Orders of magnitude either side of the point: beyond any real figure, and small
# enough that sums and means stay exact within Decimal's default precision.
MAX_MAGNITUDE = 15
_MAGNITUDE_BOUND = 10 ** MAX_MAGNITUDE  # a whole number stays below it


def parse_number(raw: Any, col: Column) -> tuple[Decimal | None, list[Issue]]:
    """A Decimal from *raw*, or None with an error issue."""
    issues: list[Issue] = []
    if isinstance(raw, bool):
        number = None
    elif isinstance(raw, int):
        number = Decimal(raw)
    elif isinstance(raw, float):
        number = Decimal(repr(raw)) if raw == raw else None
    elif isinstance(raw, Decimal):
        number = raw
    else:
        text = normalize_text(raw).replace("\u2212", "-").replace(" ", "")
        if col.kind is FieldKind.PERCENT and text.endswith("%"):
            text = text[:-1]
        match = _UNIT_SUFFIX.match(text)
        if match and not _NUMBER.match(text):
            text = match.group("num")
            issues.append(warning(col.key, "unit_stripped", value=normalize_text(raw)[:40],
                                  unit=match.group("unit"), number=text, **_labels(col)))
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        number = Decimal(text) if _NUMBER.match(text) else None
    if number is None or not number.is_finite() or abs(number.adjusted()) >= MAX_MAGNITUDE:
        return None, [error(col.key, "not_a_number", value=normalize_text(raw)[:40],
                            **_labels(col))]
    return number, issues


def parse_date(raw: Any) -> date | None:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = normalize_text(raw)
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    return None


def coerce(col: Column, raw: Any) -> tuple[Any, list[Issue]]:
    """Read one raw input for *col* (a field or a table column).

    Returns ``(value, issues)``; the value is None when nothing usable was
    given. ``required`` is not judged here but in validation, because a draft
    may be incomplete.
    """
    if raw is None:
        return None, []
    kind = col.kind
    if type(raw) is int and kind is FieldKind.INTEGER:  # a plain whole number (not a bool)
        return _coerce_plain_integer(col, raw)
    if type(raw) is str and kind in _TEXT_KINDS:  # text typed into a text field
        text = raw.strip()
        return _text_value(col, text) if text else (None, [])
    if is_blank(raw):
        return None, []
    try:
        if kind in _NUMERIC:
            return _coerce_number(col, raw)
        if kind in (FieldKind.TEXT, FieldKind.LONGTEXT):
            return _coerce_text(col, raw)
        if kind is FieldKind.DATE:
            value = parse_date(raw)
            if value is None:
                return None, [error(col.key, "bad_date", value=normalize_text(raw)[:40],
                                    **_labels(col))]
            return value, []
        if kind is FieldKind.YESNO:
            return _coerce_yesno(col, raw)
        if kind is FieldKind.CHOICE:
            key = _choice_key(col, raw)
            if key is None:
                shown = normalize_text(raw)[:40]
                return None, [error(col.key, "bad_choice", value=shown, **_labels(col))]
            return key, []
        if kind is FieldKind.MULTICHOICE:
            return _coerce_multichoice(col, raw)
        if kind is FieldKind.ATTACHMENT:
            return _coerce_attachment(col, raw)
        if kind is FieldKind.TABLE:
            return _coerce_table(col, raw)
    except (TypeError, ValueError, ArithmeticError):
        pass
    return None, [error(col.key, "not_a_number" if kind in _NUMERIC else "bad_choice",
                        value=str(raw)[:40], **_labels(col))]


_NUMERIC = (FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.PERCENT)
_TEXT_KINDS = (FieldKind.TEXT, FieldKind.LONGTEXT)


def _coerce_number(col: Column, raw: Any) -> tuple[Any, list[Issue]]:
    number, issues = parse_number(raw, col)
    if number is None:
        return None, issues
    if col.kind is FieldKind.INTEGER:
        if number != number.to_integral_value():
            shown = normalize_text(raw)[:40]
            return None, [*issues, error(col.key, "not_an_integer", value=shown,
                                         **_labels(col))]
        value: Any = int(number)
    else:
        value = number.normalize() if number == number.to_integral_value() else number
        if value == value.to_integral_value():
            value = Decimal(int(value))
    return value, _bounds(col, number, value, issues)


def _coerce_plain_integer(col: Column, raw: int) -> tuple[Any, list[Issue]]:
    """What :func:`_coerce_number` answers for an ``int``, without the detour through text."""
    if abs(raw) >= _MAGNITUDE_BOUND:  # the magnitude check of parse_number
        return None, [error(col.key, "not_a_number", value=str(raw)[:40], **_labels(col))]
    return raw, _bounds(col, raw, raw, [])


def _bounds(col: Column, number: Any, value: Any, issues: list[Issue]) -> list[Issue]:
    """*issues* with an error for a number below the column's minimum or above its maximum."""
    if col.min is not None and number < col.min:
        issues.append(error(col.key, "below_min", value=format_number(value),
                            min=format_number(col.min), **_labels(col)))
    if col.max is not None and number > col.max:
        issues.append(error(col.key, "above_max", value=format_number(value),
                            max=format_number(col.max), **_labels(col)))
    return issues


def _coerce_text(col: Column, raw: Any) -> tuple[Any, list[Issue]]:
    if isinstance(raw, list | tuple | dict):
        return None, [error(col.key, "bad_table", **_labels(col))]
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return _text_value(col, str(raw).strip())


def _text_value(col: Column, text: str) -> tuple[Any, list[Issue]]:
    """The value of a text input once it is a stripped string."""
    if col.kind is FieldKind.TEXT:
        text = " ".join(text.split())
    issues: list[Issue] = []
    if col.max_length is not None and len(text) > col.max_length:
        issues.append(error(col.key, "too_long", max=col.max_length, **_labels(col)))
    if col.format == "phone":
        compact = re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", text))
        if not PHONE_RE.match(compact):
            issues.append(error(col.key, "bad_phone", value=text[:40], **_labels(col)))
    return text, issues


def _coerce_yesno(col: Column, raw: Any) -> tuple[Any, list[Issue]]:
    if isinstance(raw, bool):
        return raw, []
    text = normalize_text(raw).lower()
    if text in _YES:
        return True, []
    if text in _NO:
        return False, []
    return None, [error(col.key, "bad_yesno", value=text[:40], **_labels(col))]


def _choice_key(col: Column, raw: Any) -> str | None:
    text = normalize_text(raw)
    for choice in col.choices:
        if text in (choice.value, choice.label, choice.label_en):
            return choice.value
    return None


def _coerce_multichoice(col: Column, raw: Any) -> tuple[Any, list[Issue]]:
    parts = raw if isinstance(raw, list | tuple | set) else _LIST_SPLIT.split(normalize_text(raw))
    keys: list[str] = []
    issues: list[Issue] = []
    for part in parts:
        if is_blank(part):
            continue
        key = _choice_key(col, part)
        if key is None:
            issues.append(error(col.key, "bad_choice", value=normalize_text(part)[:40],
                                **_labels(col)))
        elif key not in keys:
            keys.append(key)
    order = [c.value for c in col.choices]
    return (sorted(keys, key=order.index) or None), issues


def _coerce_attachment(col: Column, raw: Any) -> tuple[Any, list[Issue]]:
    if not isinstance(raw, Mapping) or not raw.get("id") or not raw.get("name"):
        return None, [error(col.key, "bad_attachment", **_labels(col))]
    value = {k: raw[k] for k in ("id", "name", "size", "content_type") if k in raw}
    limit = getattr(col, "max_size_mb", None)
    size = value.get("size")
    if limit is not None and isinstance(size, int) and size > limit * 1024 * 1024:
        return None, [error(col.key, "attachment_too_large", max=format_number(limit),
                            **_labels(col))]
    return value, []


def _coerce_table(col: Column, raw: Any) -> tuple[Any, list[Issue]]:
    if not isinstance(raw, list | tuple):
        return None, [error(col.key, "bad_table", **_labels(col))]
    columns = getattr(col, "columns", ())
    rows: list[dict[str, Any]] = []
    issues: list[Issue] = []
    for raw_row in raw:
        if not isinstance(raw_row, Mapping):
            issues.append(error(col.key, "bad_table", **_labels(col)).at(row=len(rows)))
            continue
        if all(is_blank(raw_row.get(c.key)) for c in columns):
            continue  # an empty row left in the form is not data
        row: dict[str, Any] = {}
        for column in columns:
            value, found = coerce(column, raw_row.get(column.key))
            row[column.key] = value
            issues.extend(i.at(field=col.key, row=len(rows), column=column.key) for i in found)
        rows.append(row)
    return (rows or None), issues


def coerce_values(definition: Definition, raw: Mapping[str, Any]) -> tuple[dict, list[Issue]]:
    """Coerce every field of *definition* found in *raw*; unknown keys are dropped.

    Calculated fields are never read from *raw*: every channel gets them
    recomputed from the other values (:mod:`forms.calculated`).
    """
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    if not isinstance(raw, Mapping):
        return values, issues
    for field in definition.fields():
        key = field.key
        if key in raw and field.formula is None:
            value, found = coerce(field, raw[key])
            values[key] = value
            if found:
                issues.extend(found)
    if definition.calculated_fields():
        values = calculate(definition, values)
    return values, issues


def format_number(value: Any) -> str:
    """A number as people write it: no exponent, no trailing zeros."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return str(int(value))
        return format(value.normalize(), "f")
    return str(value)


# -- JSON storage ----------------------------------------------------------------


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps_values(values: Mapping[str, Any]) -> str:
    """Values as JSON: numbers stay numbers (decimals exact up to 15 digits), dates ISO."""
    return json.dumps(values, default=_default, ensure_ascii=False, sort_keys=True)


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as plain JSON types, e.g. for a JSON database column or the API: what
    :func:`dumps_values` and ``json.loads`` would make of them, converted directly (a
    save converts its values and its answer's several times); anything out of the
    ordinary takes the round trip itself."""
    try:
        return _plain_object(values)
    except _NotPlain:
        return json.loads(dumps_values(values))


class _NotPlain(Exception):
    """A value :func:`jsonable` leaves to the JSON round trip."""


_AS_IS = frozenset({type(None), str, int, float, bool})  # what JSON gives back unchanged


def _plain_object(values: Mapping[str, Any]) -> dict[str, Any]:
    if not set(map(type, values)) <= {str}:
        raise _NotPlain  # JSON would turn the keys into text (or refuse to sort them)
    return {key: value if value.__class__ in _AS_IS else _plain(value)
            for key, value in sorted(values.items())}


def _plain(value: Any) -> Any:
    kind = value.__class__
    if kind in _AS_IS:
        return value
    if kind is Decimal:
        return _default(value)
    if kind is date:
        return value.isoformat()
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if kind is dict:
        return _plain_object(value)
    raise _NotPlain


def loads_values(definition: Definition, data: str | Mapping[str, Any]) -> dict[str, Any]:
    """Typed values back from stored JSON (decimals exact, dates as dates).

    What a save stores is already typed (:func:`jsonable` of :func:`coerce_values`), so
    stored values are data, not input: numbers — nearly all of a report — are read
    back directly (a JSON float as the exact Decimal of its text), and only other
    kinds, or a number stored in an unexpected form, go through :func:`coerce`. The
    result is the same as coercing the stored document again, at a fraction of the cost.
    """
    stored = isinstance(data, str | bytes)
    if stored:
        data = json.loads(data, parse_float=Decimal)
    if not isinstance(data, Mapping):
        return {}
    values: dict[str, Any] = {}
    for field in definition.fields():
        key = field.key
        if key not in data or field.formula is not None:
            continue
        raw = data[key]
        if raw is None:
            values[key] = None
        elif raw.__class__ is int and field.kind is FieldKind.INTEGER \
                and -_MAGNITUDE_BOUND < raw < _MAGNITUDE_BOUND:
            values[key] = raw  # most figures: a whole number, typed as it is stored
        elif field.kind in _NUMERIC and raw.__class__ in (int, float, Decimal):
            if raw.__class__ is Decimal and not stored:  # as JSON would have stored it
                raw = _default(raw)
            values[key] = _stored_number(field.kind, raw)
        else:
            if not stored and isinstance(raw, float | Decimal | list | dict):
                # numbers as JSON gives them back, as Decimals (nested ones too)
                raw = json.loads(json.dumps(raw, default=_default), parse_float=Decimal)
            values[key], _ = coerce(field, raw)
    if definition.calculated_fields():
        values = calculate(definition, values)
    return values


def _stored_number(kind: FieldKind, raw: int | float | Decimal) -> int | Decimal | None:
    """A stored number typed as :func:`coerce` types it (issues aside: stored values
    were judged when they were saved)."""
    if raw.__class__ is int:
        if abs(raw) >= _MAGNITUDE_BOUND:
            return None
        return raw if kind is FieldKind.INTEGER else Decimal(raw)
    number = Decimal(repr(raw)) if raw.__class__ is float else raw
    if not number.is_finite() or abs(number.adjusted()) >= MAX_MAGNITUDE:
        return None
    whole = number == number.to_integral_value()
    if kind is FieldKind.INTEGER:
        return int(number) if whole else None
    return Decimal(int(number)) if whole else number
