"""Between typed values (see ``forms.values``) and spreadsheet cells.

Writing: numbers become numbers (a percent of 85 points is the fraction 0.85
in a cell formatted as percent, which is what Excel, WPS and LibreOffice store
when someone types "85%"), dates become dates, choices and yes/no become their
labels, and everything else becomes a string.

Reading: whatever the cell holds (float, int, bool, date, datetime, text) is
turned into the raw input that :func:`forms.values.coerce` expects. Floats are
rounded to 15 significant digits, the precision a spreadsheet keeps, so a
cached formula result such as 0.1 + 0.2 reads as 0.3.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from forms.definition import Column, FieldKind

EXCEL_EPOCH = date(1899, 12, 30)
MULTI_SEPARATOR = "、"


def yes_no_labels(locale: str) -> tuple[str, str]:
    """The labels of a yes/no list; both pairs are understood when reading."""
    return ("Yes", "No") if locale.startswith("en") else ("是", "否")


def choice_label(col: Column, key: Any, locale: str) -> str:
    for choice in col.choices:
        if choice.value == key:
            return choice.text("label", locale)
    return str(key)


def to_cell(col: Column, value: Any, locale: str) -> Any:
    """The value to put in a cell: str, int, float, date or None."""
    if value is None:
        return None
    kind = col.kind
    if isinstance(value, str):
        if kind is FieldKind.CHOICE:
            return choice_label(col, value, locale)
        return value  # text, or raw input written back as typed
    if kind is FieldKind.YESNO and isinstance(value, bool):
        yes, no = yes_no_labels(locale)
        return yes if value else no
    if kind is FieldKind.MULTICHOICE and isinstance(value, list | tuple):
        return MULTI_SEPARATOR.join(choice_label(col, v, locale) for v in value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        if kind is FieldKind.PERCENT:
            return float(Decimal(str(value)) / 100)
        if kind in (FieldKind.INTEGER, FieldKind.DECIMAL):
            return int(value) if isinstance(value, int) else float(value)
        return _plain_number(value)
    if isinstance(value, date):
        if kind is FieldKind.DATE:
            return value
        return value.isoformat()
    return str(value)


def from_cell(col: Column, value: Any) -> Any:
    """The raw input for :func:`forms.values.coerce` from a cell's value."""
    if value is None or value == "":
        return None
    if type(value) is str:  # text as the cell holds it, whatever the kind (the last case)
        return value
    kind = col.kind
    if isinstance(value, bool):
        if kind is FieldKind.YESNO:
            return value
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _from_number(kind, value)
    if isinstance(value, datetime):
        if kind is FieldKind.DATE:
            return value.date()
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value if kind is FieldKind.DATE else value.isoformat()
    if isinstance(value, time | timedelta):
        return str(value)
    return str(value)


def _from_number(kind: FieldKind, value: int | float) -> Any:
    if kind is FieldKind.INTEGER and type(value) is float and value.is_integer() \
            and -_EXACT < value < _EXACT:
        return int(value)  # what the Decimal route below gives a whole number of ≤ 15 digits
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    number = Decimal(value) if isinstance(value, int) else Decimal(format(value, ".15g"))
    if kind is FieldKind.PERCENT:
        # A percent cell holds the fraction: 0.85 is 85 %.
        return _tidy(number * 100)
    if kind is FieldKind.DATE:
        if 0 < number < 2958466:  # serial numbers up to 9999-12-31
            return EXCEL_EPOCH + timedelta(days=int(number))
        return _plain_number(number)
    if kind in (FieldKind.INTEGER, FieldKind.DECIMAL):
        return _tidy(number)
    return _plain_number(number)


_EXACT = 10.0 ** 15


def _tidy(number: Decimal) -> int | Decimal:
    if number == number.to_integral_value():
        return int(number)
    return number.normalize()


def _plain_number(value: Any) -> str:
    """A number as the text someone would have typed: 13812345678, 12.5."""
    number = value if isinstance(value, Decimal) else Decimal(format(float(value), ".15g"))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")
