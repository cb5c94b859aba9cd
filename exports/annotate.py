"""An uploaded workbook handed back with its problems marked.

Each problem cell is filled red and carries a comment with the message(s) in
the user's language, and a first sheet lists every problem with a link to its
cell, so the user can fix the file and upload it again.

An .xlsx upload is annotated as it is (openpyxl keeps the user's rows,
formatting, the hidden identity and the markers). Loading it means parsing an
untrusted file, so that happens in the sandbox (:mod:`exports.sandbox`) like
every other parse of an upload, with the messages translated beforehand (a
translation function does not cross a process boundary). An .xls, .ods or
.xlsb upload, or an .xlsx the sandbox cannot load within its budget, is
rewritten as a fresh template holding the user's entries (what the cells
held, not only what could be read), and that is annotated instead: a file
Tianbao wrote itself.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink

from exports import sandbox
from exports.messages import TABLE_ROW, CellIssue
from exports.template_workbook import render_template
from exports.workbook_reader import ReadResult
from forms.i18n import N_

PROBLEM_FILL = PatternFill(fill_type="solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill(fill_type="solid", fgColor="FFEB9C")


def _same(text: str) -> str:
    return text


# What annotating an upload may cost: openpyxl holds the whole workbook in memory.
BUDGET = sandbox.Budget(memory_bytes=1024 * sandbox.MB, cpu_seconds=8, wall_seconds=10.0)

HEADERS = (N_("Cell"), N_("Item"), N_("Problem"), N_("Severity"))
SEVERITIES = (N_("Error"), N_("Warning"))
PROBLEMS_TITLE = N_("Problems")


@dataclass(frozen=True)
class _Table:
    """A translation function that crosses a process boundary: msgid → text, else the msgid."""

    texts: dict[str, str]

    def __call__(self, msgid: str) -> str:
        return self.texts.get(msgid, msgid)


def _translated(translate: Callable[[str], str], issues: Sequence[CellIssue]) -> _Table:
    msgids = {*HEADERS, *SEVERITIES, PROBLEMS_TITLE, TABLE_ROW, *(i.message for i in issues)}
    return _Table({msgid: translate(msgid) for msgid in msgids})


@dataclass(frozen=True)
class AnnotatedWorkbook:
    data: bytes
    filename: str
    regenerated: bool  # True when rebuilt from the template rather than the upload


def annotate_workbook(
    data: bytes,
    result: ReadResult,
    *,
    secret: bytes,
    translate: Callable[[str], str] = _same,
    locale: str = "zh_CN",
    issues: Sequence[CellIssue] | None = None,
) -> AnnotatedWorkbook | None:
    """The upload with *issues* (default: the reader's) marked at their cells.

    Returns None when the upload was refused outright (no form was read, so
    there is nothing to mark); show the refusal message instead.
    """
    if result.definition is None or result.identity is None:
        return None
    issues = list(result.issues if issues is None else issues)
    name = translate(N_("%(name)s (problems marked)")) % {
        "name": PurePath(result.filename or "workbook").stem
    } + ".xlsx"
    if result.format == "xlsx":
        placed = [(i, i.cell if i.sheet == result.sheet else None) for i in issues]
        marked = sandbox.run(_annotate_upload, data, result.sheet, placed,
                             _translated(translate, issues), locale, budget=BUDGET)
        if isinstance(marked, bytes):
            return AnnotatedWorkbook(marked, name, regenerated=False)
        # None (openpyxl cannot load it) or a Failure (over budget): rebuilt below

    identity = result.identity
    rendered = render_template(
        result.definition, unit_code=identity.unit, unit_name=identity.unit_name,
        period=identity.period, secret=secret, locale=locale, translate=translate,
        values=result.raw,
    )
    book = openpyxl.load_workbook(io.BytesIO(rendered.data))
    placed = [(i, rendered.cells.get((i.field, i.row, i.column)) if i.field else None)
              for i in issues]
    return AnnotatedWorkbook(_annotate(book, book[rendered.sheet], placed, translate, locale),
                             name, regenerated=True)


def _annotate_upload(data: bytes, sheet_name: str, placed: list[tuple[CellIssue, str | None]],
                     translate: _Table, locale: str) -> bytes | None:
    """In the sandbox: the uploaded .xlsx with its problems marked, or None if it cannot load."""
    try:
        book = openpyxl.load_workbook(io.BytesIO(data))
        sheet = book[sheet_name]
    except Exception:  # any file openpyxl cannot load is rebuilt from the template instead
        return None
    return _annotate(book, sheet, placed, translate, locale)


def _annotate(book, sheet, placed: list[tuple[CellIssue, str | None]],
              translate: Callable[[str], str], locale: str) -> bytes:
    by_cell: dict[str, list[CellIssue]] = defaultdict(list)
    for issue, ref in placed:
        if ref:
            by_cell[ref].append(issue)
    for ref, group in by_cell.items():
        cell = sheet[ref]
        errors = any(i.is_error for i in group)
        cell.fill = PROBLEM_FILL if errors else WARNING_FILL
        text = "\n".join(i.render(translate, locale) for i in group)
        if cell.comment is not None and cell.comment.text:
            text = f"{text}\n\n{cell.comment.text}"
        lines = sum(1 + len(line) // 24 for line in text.split("\n"))
        cell.comment = Comment(text, "Tianbao", width=320, height=min(40 + 18 * lines, 400))
    _problem_sheet(book, sheet.title, placed, translate, locale)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _problem_sheet(book, form_title: str, placed: list[tuple[CellIssue, str | None]],
                   translate: Callable[[str], str], locale: str) -> None:
    headers = [translate(msgid) for msgid in HEADERS]
    for old in list(book.worksheets):  # the list of an earlier round of annotations
        if [old.cell(1, c).value for c in range(1, 5)] == headers:
            book.remove(old)
    title = _unique_title(book, translate(PROBLEMS_TITLE))
    ws = book.create_sheet(title, 0)
    for other in book.worksheets:
        other.sheet_view.tabSelected = False
    book.active = 0
    ws.sheet_view.tabSelected = True
    for c, text in enumerate(headers, start=1):
        _text(ws.cell(1, c), text).font = Font(bold=True)
    severity = {True: translate(SEVERITIES[0]), False: translate(SEVERITIES[1])}
    quoted = "'" + form_title.replace("'", "''") + "'"
    for r, (issue, ref) in enumerate(placed, start=2):
        where = ws.cell(r, 1)
        if ref:
            _text(where, f"{form_title}!{ref}")
            where.hyperlink = Hyperlink(ref=where.coordinate, location=f"{quoted}!{ref}")
            where.font = Font(color="0563C1", underline="single")
        _text(ws.cell(r, 2), issue.field_label(translate, locale))
        message = _text(ws.cell(r, 3), issue.render(translate, locale))
        message.alignment = Alignment(wrap_text=True, vertical="top")
        _text(ws.cell(r, 4), severity[issue.is_error])
    for letter, width in zip("ABCD", (18, 28, 80, 10), strict=True):
        ws.column_dimensions[letter].width = width


def _text(cell, text: str):
    """Store *text* as a string even when it starts with "=" (openpyxl would make a formula)."""
    cell.value = text
    cell.data_type = "s"
    return cell


def _unique_title(book, wanted: str) -> str:
    base = "".join(" " if ch in "[]:*?/\\" else ch for ch in wanted)[:28].strip() or "Problems"
    title, n = base, 2
    while title in book.sheetnames:
        title, n = f"{base} {n}", n + 1
    return title
