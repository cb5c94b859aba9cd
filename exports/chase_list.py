"""The 催报 list as an .xlsx workbook: the units still owing a report, with whom to call.

A consolidator prints it or works down it on the phone, so it is one plain
sheet: a title line, a header row that stays in view and carries filters, one
row per unit. Every text is written as a string (``write_string``) and never
read as a formula, whatever a unit name or phone number starts with (``=``,
``+``, ``-``, ``@``); phone numbers stay text so leading zeros survive; dates
are real dates and days overdue a real number, so the list sorts and filters
correctly in Excel, WPS and LibreOffice.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import xlsxwriter

from forms.i18n import N_

HEADERS = (
    N_("Unit code"),
    N_("Unit name"),
    N_("Parent unit"),
    N_("Status"),
    N_("Due date"),
    N_("Days overdue"),
    N_("Contact person"),
    N_("Contact phone"),
)
SHEET_NAME = N_("Chase list")

_FIRST_DATA_ROW = 2  # row 0: title, row 1: header
_MIN_WIDTH, _MAX_WIDTH = 8, 50
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


@dataclass(frozen=True)
class ChaseRow:
    """One unit to chase; ``status`` is already in the reader's language."""

    code: str
    name: str
    parent: str
    status: str
    due: date
    days_overdue: int  # 0 while the deadline has not passed
    contact: str = ""
    phone: str = ""


def _display_width(text: str) -> int:
    """Columns a text needs: CJK characters are twice as wide as Latin ones."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_chase_list(
    rows: Sequence[ChaseRow],
    *,
    title: str,
    translate: Callable[[str], str] = lambda s: s,
) -> bytes:
    """The workbook bytes for *rows* under *title* (e.g. the template and the period)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    })
    sheet_name = translate(SHEET_NAME).translate(_SHEET_FORBIDDEN).strip()[:31] or "Sheet1"
    ws = book.add_worksheet(sheet_name)
    title_format = book.add_format({"bold": True, "font_size": 14})
    header_format = book.add_format({
        "bold": True, "bg_color": "#E7EEF6", "border": 1, "text_wrap": True,
        "valign": "vcenter",
    })
    text_format = book.add_format({"border": 1, "valign": "top"})
    date_format = book.add_format({"border": 1, "valign": "top", "num_format": "yyyy-mm-dd"})
    number_format = book.add_format({"border": 1, "valign": "top", "num_format": "0"})
    late_format = book.add_format({
        "border": 1, "valign": "top", "num_format": "0", "font_color": "#A4161A", "bold": True,
    })

    headers = [translate(h) for h in HEADERS]
    widths = [_display_width(h) for h in headers]
    ws.write_string(0, 0, title, title_format)
    for col, header in enumerate(headers):
        ws.write_string(1, col, header, header_format)

    for offset, row in enumerate(rows):
        r = _FIRST_DATA_ROW + offset
        texts = (row.code, row.name, row.parent, row.status)
        for col, text in enumerate(texts):
            ws.write_string(r, col, text or "", text_format)
            widths[col] = max(widths[col], _display_width(text or ""))
        ws.write_datetime(r, 4, row.due, date_format)
        widths[4] = max(widths[4], 10)
        ws.write_number(r, 5, row.days_overdue, late_format if row.days_overdue else number_format)
        for col, text in ((6, row.contact), (7, row.phone)):
            ws.write_string(r, col, text or "", text_format)
            widths[col] = max(widths[col], _display_width(text or ""))

    for col, width in enumerate(widths):
        ws.set_column(col, col, min(_MAX_WIDTH, max(_MIN_WIDTH, width + 2)))
    last_row = _FIRST_DATA_ROW + max(len(rows), 1) - 1
    ws.autofilter(1, 0, last_row, len(headers) - 1)
    ws.freeze_panes(_FIRST_DATA_ROW, 0)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(1)
    book.close()
    return buffer.getvalue()
