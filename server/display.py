"""Showing domain values in the user's language: periods, frequencies, field kinds.

Registered as Jinja globals so every page formats them the same way
(2024年第二季度 / 2024 Q2).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from forms.definition import FieldKind
from forms.periods import Frequency, Period

FREQUENCY_LABELS = {
    Frequency.MONTHLY: _l("Monthly"),
    Frequency.QUARTERLY: _l("Quarterly"),
    Frequency.HALFYEARLY: _l("Half-yearly"),
    Frequency.YEARLY: _l("Yearly"),
    Frequency.ONCE: _l("One-off"),
}

KIND_LABELS = {
    FieldKind.TEXT: _l("Text"),
    FieldKind.LONGTEXT: _l("Long text"),
    FieldKind.INTEGER: _l("Whole number"),
    FieldKind.DECIMAL: _l("Decimal number"),
    FieldKind.PERCENT: _l("Percentage"),
    FieldKind.DATE: _l("Date"),
    FieldKind.CHOICE: _l("Single choice"),
    FieldKind.MULTICHOICE: _l("Multiple choice"),
    FieldKind.YESNO: _l("Yes / no"),
    FieldKind.ATTACHMENT: _l("Attachment"),
    FieldKind.TABLE: _l("Table"),
}


def locale_code() -> str:
    locale = get_locale()
    return str(locale) if locale else "zh_CN"


def period_label(key: str) -> str:
    """A period key as people say it in the current locale; unknown keys unchanged."""
    try:
        return Period.parse(key).label(locale_code())
    except ValueError:
        return key


def frequency_label(frequency: str) -> str:
    label = FREQUENCY_LABELS.get(Frequency(frequency)) if frequency in set(Frequency) else None
    return str(label) if label else frequency


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(FieldKind(kind)) if kind in set(FieldKind) else None
    return str(label) if label else kind


def init_display(app: Flask) -> None:
    app.jinja_env.globals.update(
        period_label=period_label, frequency_label=frequency_label, kind_label=kind_label
    )
