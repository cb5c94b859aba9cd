"""The 说明 sheet of the official workbook: a note beside each figure, both ways.

A figure lower than last period's (a correction of a cumulative total) or far
outside the unit's own history needs a 说明 before the report is submitted
(``forms.outliers``, ``forms.issues.EXPLAINED_PER_FIGURE``). On the web the
note box sits beside the figure; in Excel the form sheet has no room for it,
so the workbook carries a second sheet listing every number the unit fills
in, with the figure (a formula on the form sheet, so it follows what is
typed), last period's figure for cumulative ones, and an unlocked 说明 cell.
Reading it back gives the notes by field key; the server still decides which
figures need one.

Rows are found by their hidden marker ``tb:n <field key>`` in column A, like
the form sheet's rows (``exports.identity``); the note is in column F.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from xlsxwriter.utility import quote_sheetname

from exports.identity import OTHER_MARKER, note_marker, parse_marker
from forms.definition import Definition, FieldDef, FieldKind
from forms.i18n import N_
from forms.values import format_number

NOTES_SHEET = N_("Explanations")
NOTE_COLUMN = 5  # F: the unit's 说明
HEADERS = (N_("No."), N_("Indicator"), N_("Figure this period"), N_("Figure last period"),
           N_("Explanation"))
WIDTHS = (6, 36, 14, 14, 60)
GUIDE = N_("Explain here a figure that is lower than last period's (a correction) or far from "
           "this unit's usual figures: the web form and the upload check say which figures "
           "need it. The figures come from the form sheet.")
MAX_NOTE = 500  # characters kept of one note, as on the web
GUIDE_ROW, HEADER_ROW = 0, 1  # above the figures' rows (0-based, as written)


def explained_fields(definition: Definition, applies) -> list[tuple[str, FieldDef]]:
    """(item number, field) of every number the unit types in that applies to it."""
    return [(item.number, fld) for _, item in definition.items() for fld in item.fields
            if fld.is_numeric and not fld.is_calculated and applies(fld.key)]


def write_notes_sheet(writer: Any, explanations: Mapping[str, str]) -> None:
    """Add the 说明 sheet to the workbook *writer* (``exports.template_workbook``) is writing.

    Called once the form sheet is written: its figures are referenced by cell.
    """
    t, locale = writer.t, writer.locale
    rows = explained_fields(writer.definition, writer.off.applies)
    if not rows:
        return
    ws = writer.book.add_worksheet(_sheet_name(t(NOTES_SHEET), writer.sheet_name))
    ws.set_column(0, 0, 4, None, {"hidden": True})
    for col, width in enumerate(WIDTHS, start=1):
        ws.set_column(col, col, width)
    label = writer.label_fmt()
    head = writer.label_fmt(bold=True, bg_color="#D9E1F2", align="center")
    note = writer.input_fmt(FieldKind.LONGTEXT)
    figure = writer.label_fmt(num_format="General", bg_color="#F2F2F2")
    ws.write_string(GUIDE_ROW, 0, OTHER_MARKER)
    ws.merge_range(GUIDE_ROW, 1, GUIDE_ROW, len(HEADERS), t(GUIDE),
                   writer.fmt(italic=True, font_color="#595959"))
    ws.set_row(GUIDE_ROW, 48)
    ws.write_string(HEADER_ROW, 0, OTHER_MARKER)
    for col, header in enumerate(HEADERS, start=1):
        ws.write_string(HEADER_ROW, col, t(header), head)
    form = quote_sheetname(writer.sheet_name)
    for r, (number, fld) in enumerate(rows, start=HEADER_ROW + 1):
        ws.write_string(r, 0, note_marker(fld.key))
        ws.write_string(r, 1, number or "", label)
        text = fld.text("label", locale)
        unit = fld.text("unit", locale) if fld.unit else ""
        if unit:
            text += f" ({unit})" if locale.startswith("en") else f"（{unit}）"
        ws.write_string(r, 2, text, label)
        cell = writer.cells.get((fld.key, None, None))
        if cell:  # blank stays blank: =A1 of an empty cell would show 0
            ws.write_formula(r, 3, f'=IF({form}!{cell}="","",{form}!{cell})', figure)
        else:
            ws.write_blank(r, 3, None, figure)
        previous = writer.previous.get(fld.key) if fld.cumulative else None
        if previous is not None:
            ws.write_string(r, 4, format_number(previous), label)
        else:
            ws.write_blank(r, 4, None, label)
        ws.write_string(r, NOTE_COLUMN, str(explanations.get(fld.key) or ""), note)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    # Printed with the form when the unit explained a figure (``printed_notes``).
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(HEADER_ROW)
    ws.print_area(GUIDE_ROW, 1, HEADER_ROW + len(rows), len(HEADERS))
    ws.set_footer("&C" + t(N_("Page &P of &N")))
    ws.protect("", {"format_rows": True, "format_columns": True,
                    "select_locked_cells": True, "select_unlocked_cells": True})


def printed_notes(sheet: Any) -> bool | None:
    """For printing a filled form: whether the openpyxl *sheet*, a 说明 sheet, explains any
    figure, its other rows and the guide to filling it in hidden meanwhile, so that what
    prints is the unit's explanations under the column headers. None when *sheet* is not
    a 说明 sheet."""
    explained, notes = False, False
    for row in sheet.iter_rows(min_col=1, max_col=NOTE_COLUMN + 1):
        if parse_marker(row[0].value).kind != "n":
            continue
        notes = True
        text = row[NOTE_COLUMN].value
        if text is None or not str(text).strip():
            sheet.row_dimensions[row[0].row].hidden = True
        else:
            explained = True
    if not notes:
        return None
    sheet.row_dimensions[GUIDE_ROW + 1].hidden = True  # openpyxl counts rows from 1
    return explained


def _sheet_name(wanted: str, taken: str) -> str:
    return wanted if wanted.casefold() != taken.casefold() else f"{wanted} (2)"


def is_notes_sheet(rows: list[list[Any]]) -> bool:
    return any(row and parse_marker(row[0]).kind == "n" for row in rows)


def read_notes(sheets: Iterable[list[list[Any]]], definition: Definition) -> dict[str, str] | None:
    """The notes by field key from the first 说明 sheet among *sheets* (None: there is none).

    Blank notes are left out; notes of fields the definition does not know are ignored.
    """
    for rows in sheets:
        if not is_notes_sheet(rows):
            continue
        notes: dict[str, str] = {}
        for row in rows:
            marker = parse_marker(row[0] if row else None)
            if marker.kind != "n" or definition.field(marker.field) is None:
                continue
            value = row[NOTE_COLUMN] if len(row) > NOTE_COLUMN else None
            text = "" if value is None else str(value).strip()
            if text:
                notes[marker.field] = text[:MAX_NOTE]
        return notes
    return None
