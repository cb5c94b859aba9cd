"""How stored values read on screen and on paper, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _

from forms.consolidation import child_value
from forms.definition import Column, Definition, FieldDef, FieldKind, Item, Severity, TableColumn
from forms.outliers import quiet_range
from forms.periods import Period
from forms.validation import increments, same_span
from server.locale import current_locale_code, format_date
from server.services.reporting import ReportView


def number_text(value: Any) -> str:
    """A number with the locale's grouping and every decimal it has (never rounded)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return str(value)
    return format_decimal(value, locale=get_locale(), decimal_quantization=False)


def _choice_label(col: Column, key: Any, locale: str) -> str:
    for choice in col.choices:
        if choice.value == key:
            return choice.text("label", locale)
    return str(key)


def value_text(col: Column, value: Any) -> str:
    """A typed value as text ("" when missing); attachments by name, tables not here."""
    if value is None:
        return ""
    locale = current_locale_code()
    kind = col.kind
    if kind in (FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.PERCENT):
        return number_text(value)
    if kind is FieldKind.DATE and isinstance(value, date):
        return format_date(value, "long")
    if kind is FieldKind.YESNO and isinstance(value, bool):
        return _("Yes") if value else _("No")
    if kind is FieldKind.CHOICE:
        return _choice_label(col, value, locale)
    if kind is FieldKind.MULTICHOICE and isinstance(value, list | tuple):
        separator = ", " if locale.startswith("en") else "、"
        return separator.join(_choice_label(col, v, locale) for v in value)
    if kind is FieldKind.ATTACHMENT and isinstance(value, Mapping):
        return str(value.get("name", ""))
    return str(value)


def unit_text(col: Column) -> str:
    """The unit of measure shown after a value; percentages get "%"."""
    unit = col.text("unit", current_locale_code())
    if not unit and col.kind is FieldKind.PERCENT:
        return "%"
    return unit


def item_columns(definition: Definition) -> dict[str, TableColumn]:
    return {c.key: c for c in definition.columns}


def column_inputs(definition: Definition, item: Item) -> list[FieldDef]:
    """The item's fields that fill an input column of the printed table (实施措施, 推进情况…)."""
    keys = {f"{item.key}_{c.key}" for c in definition.columns if c.source == "input"}
    return [f for f in item.fields if f.key in keys]


def indicators(definition: Definition, item: Item) -> list[FieldDef]:
    """The item's own fields: figures and answers, printed inside the progress cell."""
    inputs = {f.key for f in column_inputs(definition, item)}
    return [f for f in item.fields if f.key not in inputs]


def progress_column(definition: Definition) -> TableColumn | None:
    """The printed column that lists the indicators (``Definition.progress_column``)."""
    return definition.progress_column()


@dataclass(frozen=True)
class Cumulative:
    """What stands beside a cumulative input: last period's figure and this period's growth."""

    previous: Any  # typed, None without a previous report
    previous_period: str  # its label
    counts: bool  # False when the field restarts (a new year) so the growth is the whole figure
    increment: Any  # None without a value

    @property
    def base(self) -> Any:
        """What the growth is measured from (for the live figure in the browser)."""
        return self.previous if self.counts and self.previous is not None else 0


def cumulative_figures(view: ReportView, values: Mapping[str, Any]) -> dict[str, Cumulative]:
    """For every cumulative field, the previous period's value and the increment of *values*."""
    definition = view.definition
    previous = view.previous
    previous_period = Period.parse(previous.period) if previous else None
    label = previous_period.label(current_locale_code()) if previous_period else ""
    grown = increments(definition, values, view.previous_values if previous else None,
                       period=view.period, previous_period=previous_period)
    period = Period.parse(view.period)
    figures = {}
    for fld in definition.cumulative_fields():
        before = view.previous_values.get(fld.key) if previous else None
        figures[fld.key] = Cumulative(before, label, same_span(fld, period, previous_period),
                                      grown.get(fld.key))
    return figures


def template_helpers() -> dict[str, Any]:
    """The display helpers shared by the report, review and consolidation templates."""
    return {
        "FieldKind": FieldKind,
        "value_text": value_text,
        "number_text": number_text,
        "unit_text": unit_text,
        "item_columns": item_columns,
    }


def note_ranges(view: ReportView,
                cumulative: Mapping[str, Cumulative]) -> dict[str, tuple[str, str]]:
    """For each number the unit types, the figures that need no 说明: ("low", "high") as
    text ("" for no bound). The form opens the note box live outside them; the server
    still judges on saving (``forms.outliers``, ``forms.validation``)."""
    ranges = {}
    for fld in view.definition.numeric_fields():
        if fld.is_calculated:
            continue
        earlier = [n for n in (child_value(fld, h) for h in view.history) if n is not None]
        low, high = quiet_range(fld, earlier)
        info = cumulative.get(fld.key)
        if (fld.cumulative and info and info.counts and info.previous is not None
                and fld.cumulative_severity is Severity.WARNING):  # a correction needs one
            previous = Decimal(info.previous)
            low = previous if low is None else max(low, previous)
        if low is not None or high is not None:
            ranges[fld.key] = ("" if low is None else str(low), "" if high is None else str(high))
    return ranges
