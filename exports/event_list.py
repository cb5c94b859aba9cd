"""The events of an event assignment as a workbook and as CSV: one row per event.

Each row carries its provenance (unit, event key, revision, event time and the
time it was received) beside the event's place, attachment count and field
values. When the definition asks for it (``event.totals``), a second sheet
totals the numbers of the events handed in (submitted or approved) per month or
quarter of the event time in Beijing time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

import xlsxwriter

from exports.cell_values import to_cell
from exports.flat_data import BOM, csv_cell, neutralise
from forms.definition import Definition, EventTotals, FieldDef, FieldKind
from forms.events import EventInfo
from forms.i18n import N_
from forms.periods import SHANGHAI, Frequency, Period

HEADERS: tuple[str, ...] = (
    N_("Unit code"), N_("Unit"), N_("Event"), N_("Time of the event"), N_("Received"),
    N_("Status"), N_("Revision"), N_("Location"), N_("Latitude"), N_("Longitude"),
    N_("Attachments"),
)
TOTALS_HEADERS = (N_("Period"), N_("Events"))
COUNTED = ("submitted", "approved")  # handed in and not sent back


@dataclass(frozen=True)
class EventRow:
    """One event as exported; *status* is already a label in the export's language."""

    unit_code: str
    unit_name: str
    key: str
    status: str
    status_code: str
    revision: int
    received_at: datetime | None
    info: EventInfo
    values: dict[str, Any]


def _fields(definition: Definition) -> list[FieldDef]:
    return [f for f in definition.fields()
            if f.kind not in (FieldKind.TABLE, FieldKind.ATTACHMENT)]


def _local(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def rows(definition: Definition, events: Iterable[EventRow], locale: str,
         period_label: Callable[[str], str]) -> Iterable[list[Any]]:
    fields = _fields(definition)
    for event in events:
        info = event.info
        yield [event.unit_code, event.unit_name, period_label(event.key), _local(info.at),
               _local(event.received_at), event.status, event.revision, info.location,
               None if info.latitude is None else float(info.latitude),
               None if info.longitude is None else float(info.longitude),
               len(info.attachments),
               *(to_cell(f, event.values.get(f.key), locale) for f in fields)]


def headers(definition: Definition, locale: str, translate: Callable[[str], str]) -> list[str]:
    return [*(translate(h) for h in HEADERS), *(f.text("label", locale)
                                                for f in _fields(definition))]


def totals(definition: Definition, events: Sequence[EventRow]) -> list[tuple[Period, int,
                                                                            list[Decimal]]]:
    """(month or quarter, events, sums of the integer and decimal fields), in order."""
    every = definition.event_rules.totals
    if every is None:
        return []
    frequency = Frequency.MONTHLY if every is EventTotals.MONTH else Frequency.QUARTERLY
    numbers = summed_fields(definition)
    by_period: dict[Period, tuple[int, list[Decimal]]] = {}
    for event in events:
        if event.status_code not in COUNTED:
            continue
        period = Period.containing(frequency, event.info.local_time.date())
        count, sums = by_period.get(period, (0, [Decimal(0)] * len(numbers)))
        sums = [s + Decimal(str(event.values.get(f.key) or 0)) for s, f in zip(sums, numbers,
                                                                            strict=True)]
        by_period[period] = (count + 1, sums)
    return [(p, *by_period[p]) for p in sorted(by_period)]


def summed_fields(definition: Definition) -> list[FieldDef]:
    """Counts and amounts add up across events; percentages do not."""
    return [f for f in definition.fields() if f.kind in (FieldKind.INTEGER, FieldKind.DECIMAL)
            and not f.is_calculated]


def write_workbook(output: IO[bytes], definition: Definition, events: Sequence[EventRow], *,
                   title: str, locale: str, translate: Callable[[str], str],
                   period_label: Callable[[str], str]) -> None:
    book = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    sheet = book.add_worksheet(translate(N_("Events"))[:31])
    sheet.write(0, 0, title, bold)
    for col, header in enumerate(headers(definition, locale, translate)):
        sheet.write(2, col, header, bold)
        sheet.set_column(col, col, 16)
    for n, row in enumerate(rows(definition, events, locale, period_label), start=3):
        for col, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(n, col, value)
            elif value is not None:
                sheet.write(n, col, value)
    sheet.freeze_panes(3, 3)
    found = totals(definition, events)
    if definition.event_rules.totals is not None:
        summary = book.add_worksheet(translate(N_("Totals"))[:31])
        summary.write(0, 0, translate(N_("Events handed in (submitted or approved), by the "
                                         "time of the event")), bold)
        numbers = summed_fields(definition)
        for col, header in enumerate([*(translate(h) for h in TOTALS_HEADERS),
                                      *(f.text("label", locale) for f in numbers)]):
            summary.write(2, col, header, bold)
            summary.set_column(col, col, 16)
        for n, (period, count, sums) in enumerate(found, start=3):
            summary.write_string(n, 0, period.label(locale))
            summary.write(n, 1, count)
            for col, value in enumerate(sums, start=2):
                summary.write(n, col, float(value))
    book.close()


def write_csv(output: IO[str], definition: Definition, events: Iterable[EventRow], *,
              locale: str, translate: Callable[[str], str],
              period_label: Callable[[str], str]) -> int:
    """The rows as CSV (UTF-8 with a byte-order mark when *output* is text); returns the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([neutralise(h) for h in headers(definition, locale, translate)])
    count = 0
    for row in rows(definition, events, locale, period_label):
        writer.writerow([csv_cell(v) for v in row])
        count += 1
    output.write(buffer.getvalue())
    return count
