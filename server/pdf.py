"""Workbooks printed to PDF by LibreOffice headless, with the workbook's own print settings
(paper, fit to page, repeated title rows, 第 N 页 共 M 页 footers; hidden sheets are not
printed). Used by the dashboard's briefing, the leader's summary and a single report.

The server answers 503 where LibreOffice is not installed: :func:`convert` returns None.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
from flask import abort, send_file
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet
from werkzeug.wrappers import Response

from server.downloads import content_disposition

PDF = "application/pdf"
PDF_TIMEOUT = 120  # seconds LibreOffice may take to print one workbook


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(xlsx: bytes) -> bytes | None:
    """The workbook printed to PDF by LibreOffice (None when it is not installed)."""
    program = soffice()
    if program is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "print.xlsx"
        source.write_bytes(xlsx)
        profile = Path(folder) / "profile"  # a private profile: requests may run side by side
        subprocess.run(  # noqa: S603  (a fixed program on a file we wrote)
            [program, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
             "--convert-to", "pdf", "--outdir", folder, str(source)],
            check=True, capture_output=True, timeout=PDF_TIMEOUT)
        return source.with_suffix(".pdf").read_bytes()


# An upright A4 page within the forms' margins holds about 110 characters of the default
# font: printed columns narrower than this are fitted upright at 90 % or more.
PORTRAIT_WIDTH = 120


def only_sheets(xlsx: bytes, keep: Callable[[Worksheet], bool], *,
                upright_when_narrow: bool = False) -> bytes:
    """The workbook with only the sheets *keep* accepts (at least one must be kept).

    With *upright_when_narrow*, a kept sheet whose printed columns are narrow is turned
    to portrait: fitted to the width, a narrow form of long items fills an upright A4
    page at a readable size in half the pages it takes lying down."""
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    for sheet in list(book.worksheets):
        if not keep(sheet):
            book.remove(sheet)
        elif upright_when_narrow and printed_width(sheet) < PORTRAIT_WIDTH:
            sheet.page_setup.orientation = "portrait"
    if not book.worksheets:
        raise ValueError("no sheet to print")
    book.active = 0
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def printed_width(sheet: Worksheet) -> float:
    """The width of the sheet's print area (else its used columns), in characters."""
    area = sheet.print_area
    first, last = sheet.min_column, sheet.max_column
    if area:
        bounds = range_boundaries(str(area).split(",")[0].split("!")[-1].replace("$", ""))
        first, last = bounds[0], bounds[2]
    default = sheet.sheet_format.defaultColWidth or 8.43
    widths = (sheet.column_dimensions[get_column_letter(column)].width
              for column in range(first, last + 1))
    return sum(width or default for width in widths)


def set_up_for_print(sheet: Worksheet) -> bool:
    """A visible sheet with its own paper size: one laid out to be printed (not a helper
    sheet such as the official form's 说明 list or its very hidden identity)."""
    return sheet.sheet_state == "visible" and sheet.page_setup.paperSize is not None


def send_pdf(xlsx: bytes, name: str) -> Response:
    """The workbook as a PDF download named *name*; 503 without LibreOffice."""
    data = convert(xlsx)
    if data is None:
        abort(503)
    response = send_file(io.BytesIO(data), mimetype=PDF, as_attachment=True, download_name=name,
                         max_age=0)
    response.headers["Content-Disposition"] = content_disposition(name)
    return response
