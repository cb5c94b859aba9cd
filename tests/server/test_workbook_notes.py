"""The 说明 sheet of the official workbook: it lists the unit's figures with a note cell
each, comes prefilled with the notes already given, and an upload reads the notes back
into the report, so an Excel upload can explain a figure too."""

from __future__ import annotations

import io

import openpyxl
import test_workbooks_pages as base
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from exports.identity import parse_marker
from exports.notes_sheet import NOTE_COLUMN
from server.models.reporting import Report

people, va1 = base.people, base.va1  # Chidian's form for the villages of county CY
PATH = base.page("chidian-q", "VA1")


def note_rows(data: bytes) -> dict[str, list]:
    """Field key → the visible cells of its row on the Explanations sheet."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = book.get_sheet_by_name("Explanations").to_python(skip_empty_area=False)
    return {parse_marker(r[0]).field: r[1:] for r in rows if parse_marker(r[0]).kind == "n"}


def write_note(data: bytes, key: str, text: str) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["Explanations"]
    for row in sheet.iter_rows():
        if parse_marker(row[0].value).field == key:
            row[NOTE_COLUMN].value = text
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_workbook_lists_every_figure_with_a_note_cell(va1):
    workbook = base.download(va1, PATH)
    rows = note_rows(workbook)
    assert "i01_enterprises" in rows and "reporter" not in rows  # numbers only
    number, label, figure, last, note = rows["i01_enterprises"][:5]
    assert label == "Enterprises urged to apply sector standards (enterprises)" and note == ""
    book = openpyxl.load_workbook(io.BytesIO(workbook))
    sheet = book["Explanations"]
    formula = next(r[3].value for r in sheet.iter_rows()
                   if parse_marker(r[0].value).field == "i01_enterprises")
    form_sheet, ref = base.names(book)["i01_enterprises"]
    assert formula == f'=IF(\'{form_sheet}\'!{ref}="","",\'{form_sheet}\'!{ref})' or \
        formula == f'=IF({form_sheet}!{ref}="","",{form_sheet}!{ref})'
    assert sheet.protection.sheet and not sheet.cell(3, NOTE_COLUMN + 1).protection.locked


def test_a_note_typed_in_excel_is_saved_and_comes_back_in_the_next_download(va1, session):
    filled = base.fill(base.download(va1, PATH), base.FILLED)
    explained = write_note(filled, "i01_enterprises", "含新纳入监管的3家企业")
    response = base.upload(va1, PATH, explained)
    assert response.status_code == 200 and "Saved as draft revision 1" in base.text(response)
    report = session.scalar(select(Report))
    assert report.explanations == {"i01_enterprises": "含新纳入监管的3家企业"}
    again = base.download(va1, PATH)
    assert note_rows(again)["i01_enterprises"][4] == "含新纳入监管的3家企业"

    # Cleared in the workbook, the note is cleared on the report.
    cleared = write_note(again, "i01_enterprises", "")
    base.upload(va1, PATH, cleared)
    session.expire_all()
    assert session.scalar(select(Report)).explanations == {}


def test_a_workbook_without_the_sheet_leaves_the_notes_as_they_are(va1, session):
    filled = base.fill(base.download(va1, PATH), base.FILLED)
    base.upload(va1, PATH, write_note(filled, "i01_enterprises", "已核实"))
    book = openpyxl.load_workbook(io.BytesIO(base.download(va1, PATH)))
    del book["Explanations"]
    out = io.BytesIO()
    book.save(out)
    base.upload(va1, PATH, out.getvalue())
    session.expire_all()
    report = session.scalar(select(Report))
    assert report.revision == 2 and report.explanations == {"i01_enterprises": "已核实"}
