"""The audit log as an .xlsx workbook: one row per event, newest first.

Every text (names, targets, details, which people typed) is written with
``write_string`` in a workbook that never turns strings into formulas or links,
so a unit called ``=HYPERLINK(...)`` stays a name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

import xlsxwriter

from forms.i18n import N_

HEADERS = (
    N_("Time"),
    N_("Person"),
    N_("Kind of event"),
    N_("Unit code"),
    N_("Unit name"),
    N_("Concerning"),
    N_("Details"),
    N_("IP address"),
)
SHEET_NAME = N_("Audit log")
WIDTHS = (20, 16, 16, 16, 24, 40, 60, 16)


@dataclass(frozen=True)
class AuditRow:
    """One event, every part already text in the reader's language."""

    time: str
    person: str
    kind: str
    unit_code: str
    unit_name: str
    target: str
    details: str
    ip: str


def write_audit_list(output: IO[bytes], rows: Sequence[AuditRow], *, title: str,
                     translate: Callable[[str], str]) -> None:
    book = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False,
                                        "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(translate(SHEET_NAME)[:31])
    sheet.write_string(0, 0, title, bold)
    for col, header in enumerate(HEADERS):
        sheet.write_string(1, col, translate(header), bold)
        sheet.set_column(col, col, WIDTHS[col])
    for number, row in enumerate(rows, start=2):
        for col, value in enumerate((row.time, row.person, row.kind, row.unit_code,
                                     row.unit_name, row.target, row.details, row.ip)):
            sheet.write_string(number, col, value or "")
    sheet.freeze_panes(2, 0)
    if rows:
        sheet.autofilter(1, 0, len(rows) + 1, len(HEADERS) - 1)
    book.close()
