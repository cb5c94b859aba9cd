"""The event sheet of an event report's official workbook: its time and place, both ways.

An event report (``schedule: {frequency: event}``) carries, besides its fields,
the time of the event, an optional place and its photos and documents
(``forms.events``). The form sheet has no room for them, so the workbook has a
second sheet: the time (Beijing time) and the place are cells the unit fills,
read back on upload and checked there exactly as the web form checks them
(``forms.events.read_event``, on the server); the attached files are listed
read-only, with a note that files are added on the web. An upload keeps the
stored files.

Rows are found by their hidden marker ``tb:e <entry>`` in column A (``at``,
``location``, ``latitude``, ``longitude``), like the other sheets' rows
(``exports.identity``); the entry is in column C.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from exports.identity import OTHER_MARKER, event_marker, parse_marker
from forms.definition import FieldKind
from forms.events import AT, COORDINATES, LOCATION, EventInfo, mb_text
from forms.i18n import N_

EVENT_SHEET = N_("The event")
VALUE_COLUMN = 2  # C: the unit's entry
ENTRIES = {"at": N_("Time of the event (Beijing time)"), "location": N_("Location"),
           "latitude": N_("Latitude"), "longitude": N_("Longitude")}
# Where the problems of an event (forms.events) are shown: the cell of their entry.
ISSUE_ENTRIES = {AT: "at", LOCATION: "location", COORDINATES: "latitude"}
GUIDE = N_("Fill in the time of the event (Beijing time, e.g. 2024-07-01 09:30) and, if known, "
           "its place. Photos and documents are added on the web: the files listed below stay "
           "attached when this workbook is uploaded.")
FILE_HEADERS = (N_("Photos and documents"), N_("Size"), N_("Type"))
NO_FILES = N_("No photo or document attached.")
TIME_FORMAT = "%Y-%m-%d %H:%M"


def entries(location: bool) -> tuple[str, ...]:
    """The entries the sheet asks for: the time, and the place when the template asks it."""
    return ("at", "location", "latitude", "longitude") if location else ("at",)


def write_event_sheet(writer: Any, stored: Mapping[str, Any] | None) -> None:
    """Add the event sheet to the workbook *writer* (``exports.template_workbook``) is
    writing, prefilled with the *stored* event (``EventInfo.to_json``; None: a new one)."""
    t = writer.t
    info = EventInfo.from_json(stored) if stored else None
    ws = writer.book.add_worksheet(_sheet_name(t(EVENT_SHEET), writer.sheet_name))
    ws.set_column(0, 0, 4, None, {"hidden": True})
    ws.set_column(1, 1, 34)
    ws.set_column(2, 2, 30)
    ws.set_column(3, 3, 14)
    label = writer.label_fmt()
    head = writer.label_fmt(bold=True, bg_color="#D9E1F2", align="center")
    entry = writer.input_fmt(FieldKind.TEXT)
    shown = writer.label_fmt(bg_color="#F2F2F2")
    ws.write_string(0, 0, OTHER_MARKER)
    ws.merge_range(0, 1, 0, 3, t(GUIDE), writer.fmt(italic=True, font_color="#595959"))
    ws.set_row(0, 48)
    row = 1
    for key in entries(writer.definition.event_rules.location):
        ws.write_string(row, 0, event_marker(key))
        ws.write_string(row, 1, t(ENTRIES[key]), label)
        text = _stored_text(info, key)
        if text:
            ws.write_string(row, VALUE_COLUMN, text, entry)
        else:
            ws.write_blank(row, VALUE_COLUMN, None, entry)
        row += 1
    row += 1
    ws.write_string(row, 0, OTHER_MARKER)
    for col, header in enumerate(FILE_HEADERS, start=1):
        ws.write_string(row, col, t(header), head)
    attachments = info.attachments if info else ()
    if not attachments:
        row += 1
        ws.write_string(row, 0, OTHER_MARKER)
        ws.merge_range(row, 1, row, 3, t(NO_FILES), shown)
    for attachment in attachments:
        row += 1
        ws.write_string(row, 0, OTHER_MARKER)
        ws.write_string(row, 1, str(attachment.get("name") or ""), shown)
        ws.write_string(row, 2, f"{mb_text(int(attachment.get('size') or 0))} MB", shown)
        ws.write_string(row, 3, _kind(str(attachment.get("content_type") or "")), shown)
    ws.protect("", {"format_rows": True, "format_columns": True,
                    "select_locked_cells": True, "select_unlocked_cells": True})


def _stored_text(info: EventInfo | None, key: str) -> str:
    if info is None:
        return ""
    if key == "at":
        return info.local_time.strftime(TIME_FORMAT)
    value = getattr(info, key)
    return "" if value is None else str(value)


def _kind(content_type: str) -> str:
    return {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF"}.get(
        content_type, content_type)


def _sheet_name(wanted: str, taken: str) -> str:
    return wanted[:31] if wanted.casefold() != taken.casefold() else f"{wanted[:27]} (2)"


@dataclass
class EventEntries:
    """What an uploaded event sheet holds: the raw entries (for ``forms.events.read_event``)
    by name, and the cell of each."""

    sheet: str
    raw: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)

    def cell_of(self, issue_field: str | None) -> str | None:
        """The cell an event problem (``event.at``…) is shown at."""
        return self.cells.get(ISSUE_ENTRIES.get(issue_field or "", ""))


def read_event_sheet(sheets: Iterable[tuple[str, list[list[Any]]]]) -> EventEntries | None:
    """The entries of the first event sheet among (*name*, *rows*) (None: there is none).

    A date or time typed as an Excel date comes back as such and is read as Beijing time.
    """
    for name, rows in sheets:
        found = EventEntries(name)
        for r, row in enumerate(rows):
            marker = parse_marker(row[0] if row else None)
            if marker.kind != "e":
                continue
            value = row[VALUE_COLUMN] if len(row) > VALUE_COLUMN else None
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # a number typed as a coordinate, or a year
            found.raw[marker.field] = value if isinstance(value, datetime) else (
                "" if value is None else str(value))
            found.cells[marker.field] = xl_rowcol_to_cell(r, VALUE_COLUMN)
        if found.raw:
            return found
    return None
