"""Plan files as an office would have them, built at test time from the plan texts
in ``forms/catalog/plans``: a Word document typed from a plan, and plan 000's
21-item attachment table as a workbook with its cells merged as printed."""

from __future__ import annotations

import io
import re

import docx
from openpyxl import Workbook

from forms.loader import CATALOG_DIR

PLANS = CATALOG_DIR / "plans"


def build_docx(text: str) -> bytes:
    """A Word document as an office would type the plan: headings and paragraphs,
    the attachment tables as Word tables."""
    document = docx.Document()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip()[1:-1].split("|")]
                if not all(re.fullmatch(r"[-: ]*", c) for c in cells):
                    rows.append(cells)
                i += 1
            table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            for r, cells in enumerate(rows):
                for c, value in enumerate(cells):
                    table.cell(r, c).text = value
            continue
        if line.startswith("#"):
            document.add_heading(line.lstrip("#").strip(), level=2)
        elif line:
            paragraph = document.add_paragraph()
            for k, part in enumerate(line.split("**")):  # **bold** as a bold run
                paragraph.add_run(part).bold = k % 2 == 1
        i += 1
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def chidian_rows() -> tuple[str, list[list[str]], str]:
    """Title, table rows and note of plan 000's attachment, as printed."""
    lines = next(PLANS.glob("000_*.txt")).read_text(encoding="utf-8").splitlines()
    rows = [[c.strip() for c in line.strip()[1:-1].split("|")] for line in lines
            if line.strip().startswith("|") and not re.fullmatch(r"[|\-: ]+", line.strip())]
    title = next(line.strip() for line in lines if line.strip().endswith("推进情况表")
                 and not line.startswith("附件："))
    note = next(line.strip() for line in lines if line.strip().startswith("注："))
    return title, rows, note


def build_chidian_xlsx() -> bytes:
    """Title merged across, 报送单位 line, a two-row merged header, the 序号 and
    项目名称 cells of each group merged down, the note merged across."""
    title, rows, note = chidian_rows()
    header, body = rows[0], rows[1:]
    book = Workbook()
    sheet = book.active
    sheet.title = "推进情况表"
    width = len(header)
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.append(["报送单位：", None, None, "报送人：", None, "联系电话："])
    sheet.append(header)
    sheet.append([None] * width)
    for col in range(1, width + 1):
        sheet.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col)
    start = None
    for index, cells in enumerate(body):
        row = 5 + index
        sheet.append([int(cells[0]) if cells[0] else None, cells[1] or None, *cells[2:]])
        if cells[0]:
            start = row
        last_of_group = index + 1 == len(body) or body[index + 1][0]
        if last_of_group and row > start:
            for col in (1, 2):
                sheet.merge_cells(start_row=start, start_column=col, end_row=row, end_column=col)
    sheet.append([note])
    sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row,
                      end_column=width)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
