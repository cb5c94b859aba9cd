"""One unit's cumulative indicators across every period of the plan window.

For the year-end 总结评估 (summary and evaluation): rows are the cumulative
indicators of the template, columns are the periods of the schedule, each with
the cumulative figure (累计) and what was new in that period (本期新增).

The increment of a period is taken against the unit's latest earlier report
(a period without a report is left blank and does not break the chain); a
field that accumulates per calendar year restarts in January.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import xlsxwriter

from exports.flat_data import FieldResolver, flat_value, unit_of_measure
from forms.definition import Definition, FieldDef
from forms.i18n import N_
from forms.periods import Period
from forms.validation import increments

TITLE = N_("%(title)s — cumulative figures by period")
UNIT_LINE = N_("Reporting unit: %(unit)s")
ITEM, INDICATOR, UNIT = N_("Item"), N_("Indicator"), N_("Unit of measure")
CUMULATIVE, NEW = N_("Cumulative"), N_("New this period")
_FIXED = 3  # item, indicator, unit of measure


@dataclass(frozen=True)
class SeriesRow:
    """One indicator: per period of the window, (cumulative, new this period)."""

    field: FieldDef
    item_number: str
    cells: tuple[tuple[Any, Any], ...]


def series_rows(
    definition: Definition, reports: Mapping[str, Mapping[str, Any]]
) -> tuple[list[Period], list[SeriesRow]]:
    """The periods of the window and one row per cumulative field.

    *reports* maps period keys to the unit's typed values for that period.
    """
    periods = definition.schedule.periods()
    resolver = FieldResolver(definition)
    grown: list[dict[str, Any]] = []
    previous: tuple[str, Mapping[str, Any]] | None = None
    for period in periods:
        values = reports.get(period.key)
        if not values:
            grown.append({})
            continue
        before_key, before = previous if previous else (None, None)
        grown.append(increments(definition, values, before, period=period,
                                previous_period=before_key))
        previous = (period.key, values)
    rows = []
    for fld in definition.cumulative_fields():
        cells = tuple(
            (_cell(fld, (reports.get(p.key) or {}).get(fld.key)), _cell(fld, g.get(fld.key)))
            for p, g in zip(periods, grown, strict=True)
        )
        rows.append(SeriesRow(fld, resolver.item_number(definition, fld.key), cells))
    return periods, rows


def _cell(fld: FieldDef, value: Any) -> Any:
    return None if value is None else flat_value(fld, value, "zh_CN")


def build_series(
    definition: Definition,
    *,
    unit_name: str,
    reports: Mapping[str, Mapping[str, Any]],
    locale: str = "zh_CN",
    translate: Callable[[str], str] = lambda s: s,
) -> bytes:
    """The across-periods workbook (.xlsx bytes) of one unit."""
    t = translate
    periods, rows = series_rows(definition, reports)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    ws = book.add_worksheet(t(CUMULATIVE))
    base = {"font_name": "Calibri" if locale.startswith("en") else "宋体", "valign": "vcenter"}
    title = book.add_format({**base, "bold": True, "font_size": 14})
    head = book.add_format({**base, "bold": True, "border": 1, "align": "center",
                            "text_wrap": True, "bg_color": "#D9E1F2"})
    label = book.add_format({**base, "border": 1, "text_wrap": True})
    number = book.add_format({**base, "border": 1, "num_format": "#,##0.##"})
    new = book.add_format({**base, "border": 1, "num_format": "#,##0.##;-#,##0.##;0",
                           "font_color": "#375623", "bg_color": "#F2F8EE"})

    last_col = _FIXED + 2 * len(periods) - 1
    ws.merge_range(0, 0, 0, last_col, "", title)
    ws.write_string(0, 0, t(TITLE) % {"title": definition.text("title", locale)}, title)
    ws.write_string(1, 0, t(UNIT_LINE) % {"unit": unit_name})
    for col, text in enumerate((ITEM, INDICATOR, UNIT)):
        ws.merge_range(3, col, 4, col, "", head)
        ws.write_string(3, col, t(text), head)
    for i, period in enumerate(periods):
        col = _FIXED + 2 * i
        ws.merge_range(3, col, 3, col + 1, "", head)
        ws.write_string(3, col, period.label(locale), head)
        ws.write_string(4, col, t(CUMULATIVE), head)
        ws.write_string(4, col + 1, t(NEW), head)
    for r, row in enumerate(rows, start=5):
        ws.write_string(r, 0, row.item_number, label)
        ws.write_string(r, 1, row.field.text("label", locale), label)
        ws.write_string(r, 2, unit_of_measure(row.field, locale), label)
        for i, (total, grown) in enumerate(row.cells):
            col = _FIXED + 2 * i
            _number(ws, r, col, total, number)
            _number(ws, r, col + 1, grown, new)
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 40)
    ws.set_column(2, 2, 10)
    ws.set_column(_FIXED, last_col, 11)
    ws.freeze_panes(5, _FIXED)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(3, 4)
    book.close()
    return buffer.getvalue()


def _number(ws: Any, row: int, col: int, value: Any, cell_format: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        ws.write_number(row, col, value, cell_format)
    elif value is None:
        ws.write_blank(row, col, None, cell_format)
    else:
        ws.write_string(row, col, str(value), cell_format)
