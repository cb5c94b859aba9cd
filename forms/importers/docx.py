"""Plans as Word documents (.docx): paragraphs and tables in document order,
read by the same parser as plain text (:mod:`forms.importers.text`).

Merged table cells come out of python-docx as the same cell repeated; they are
turned back into merged blocks so the table logic sees the table as printed.
Numbers that Word generates itself (automatic list numbering) are not in the
text and are not recovered.
"""

from __future__ import annotations

import io
import zipfile

from forms.importers import ImportRefused, ImportResult
from forms.importers.numbering import clean
from forms.importers.table import Grid
from forms.importers.text import Block, draft_from_blocks


def read(data: bytes, filename: str) -> ImportResult:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ImportRefused("unreadable", kind="Word (.docx)") from exc
    blocks: list[Block] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = clean(Paragraph(child, document).text)
            if text:
                blocks.append(Block(len(blocks) + 1, text=text))
        elif tag == "tbl":
            grid = _grid(Table(child, document))
            grid.paragraph = len(blocks) + 1
            blocks.append(Block(len(blocks) + 1, grid=grid))
    return draft_from_blocks(blocks, filename)


def _grid(table) -> Grid:
    """The cell texts with merged blocks, from python-docx's repeated cells."""
    rows: list[list[str]] = []
    seen: dict = {}  # cell element → its top-left (elements hash by identity)
    spans: dict[tuple[int, int], list[int]] = {}
    for r, row in enumerate(table.rows):
        cells = []
        for c, cell in enumerate(row.cells):
            origin = seen.get(cell._tc)
            if origin is None:
                seen[cell._tc] = (r, c)
                spans[(r, c)] = [r, c]
                cells.append(clean(cell.text))
            else:
                span = spans[origin]
                span[0], span[1] = max(span[0], r), max(span[1], c)
                cells.append("")
        rows.append(cells)
    merged = [(r, c, end[0], end[1]) for (r, c), end in spans.items() if end != [r, c]]
    return Grid(rows, merged)
