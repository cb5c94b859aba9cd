"""The printed reporting table as a grid of cells → columns, sections and items.

One place for the logic shared by workbook sheets and the tables of Word
documents: find the title row, the (possibly two-row, merged) header, the
section rows and the numbered item rows; tell the plan's fixed text columns
from the columns the units fill in. Plans print two shapes of table and both
are read: one numbered row per item (序号 1, 2, …), and groups whose 序号 and
项目名称 cells are merged down over rows whose text cells carry the item
numbers themselves ("4.强化企业负责人安全教育培训").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

from forms.importers import SourceRef, Unplaced
from forms.importers.numbering import first_sentence, numbered, strip_title
from forms.keys import KeyMaker

_HEADER_WORD = re.compile(
    r"序号|编号|项目|名称|内容|任务|工作|措施|情况|备注|单位|部门|时限|时间|形式|进展|完成|责任")
_NUMBER_HEADER = re.compile(r"^\s*(序号|编号|序|No\.?)\s*$", re.I)
_TITLE_HEADER = re.compile(r"名称|项目|任务|事项|工作")
_INPUT_HEADER = re.compile(r"情况|备注|完成|进展|进度|填报|成效|存在问题|结果|说明")
_LONG_INPUT = re.compile(r"情况|措施|进展|成效|问题|说明|结果")
_NOTE = re.compile(r"^\s*(注|说明|备注|填表说明)\s*[:：]")
_LABEL = re.compile(r"^\s*([^:：]{1,12})\s*[:：]\s*$")
_ARABIC = re.compile(r"^\s*(\d{1,3})\s*[.．、]?\s*$")


@dataclass
class Grid:
    """Cell texts row by row ('' when empty; a merged block's text at its top-left),
    the merged blocks as 0-based inclusive (row1, col1, row2, col2), and where the
    grid is: a sheet name, or the paragraph a document table stands at."""

    rows: list[list[str]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    sheet: str | None = None
    paragraph: int | None = None

    def ref(self, row: int, col: int | None = None, text: str = "") -> SourceRef:
        return SourceRef(paragraph=self.paragraph, sheet=self.sheet, row=row + 1,
                         column=get_column_letter(col + 1) if col is not None else None,
                         text=text[:80])

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def cell(self, row: int, col: int) -> str:
        cells = self.rows[row]
        return cells[col].strip() if col < len(cells) else ""

    def block(self, row: int, col: int) -> tuple[int, int, int, int] | None:
        for block in self.merged:
            if block[0] <= row <= block[2] and block[1] <= col <= block[3]:
                return block
        return None

    def value(self, row: int, col: int) -> str:
        """The text shown in a cell, merged blocks included."""
        block = self.block(row, col)
        return self.cell(block[0], block[1]) if block else self.cell(row, col)

    def texts(self, row: int) -> list[tuple[int, str]]:
        """The distinct texts of a row with the first column showing each."""
        seen: list[tuple[int, str]] = []
        for col in range(self.width):
            block = self.block(row, col)
            if block and (block[0], block[1]) != (row, col) and block[0] == row:
                continue  # the rest of a block merged across
            text = self.cell(row, col) if not block else (
                self.cell(block[0], block[1]) if block[0] == row else "")
            if text:
                seen.append((col, text))
        return seen


@dataclass
class TableDraft:
    """What a table yields: the draft's columns, sections and items, and the rest."""

    title: str | None = None
    title_ref: SourceRef | None = None
    columns: list[dict] = field(default_factory=list)
    sections: list[dict] = field(default_factory=list)
    refs: dict[str, SourceRef] = field(default_factory=dict)  # draft path → source
    notes: list[tuple[str, SourceRef]] = field(default_factory=list)
    labels: list[tuple[str, SourceRef]] = field(default_factory=list)  # 报送单位: …
    unplaced: list[Unplaced] = field(default_factory=list)
    content_key: str | None = None  # the first fixed-text column, for a plan's item text

    @property
    def item_count(self) -> int:
        return sum(len(s["items"]) for s in self.sections)


def read_table(grid: Grid, keys: KeyMaker) -> TableDraft | None:
    """Read *grid* as a reporting table; None when it has no header row at all."""
    rows = [r for r in range(len(grid.rows)) if grid.texts(r)]
    header = _header_row(grid, rows)
    if header is None:
        return None
    out = TableDraft()
    for r in rows:
        if r >= header:
            break
        texts = grid.texts(r)
        joined = " ".join(t for _, t in texts)
        if _NOTE.match(joined):
            out.notes.append((joined, grid.ref(r, texts[0][0], joined)))
        elif len(texts) == 1 and out.title is None and not _LABEL.match(joined):
            out.title, out.title_ref = strip_title(joined), grid.ref(r, texts[0][0], joined)
        else:
            out.labels.append((joined, grid.ref(r, texts[0][0], joined)))
    header_rows = _header_rows(grid, header)
    body = [r for r in rows if r > header_rows[-1]]
    labels = _column_labels(grid, header_rows)
    _place(grid, labels, body, keys, out)
    return out


def _header_row(grid: Grid, rows: list[int]) -> int | None:
    for r in rows:
        texts = grid.texts(r)
        if len(texts) >= 2 and sum(bool(_HEADER_WORD.search(t)) for _, t in texts) >= 2:
            return r
    return None


def _header_rows(grid: Grid, header: int) -> list[int]:
    """The header row and the rows below it that belong to it: rows reached by a
    header cell merged downwards, or holding sub-headings under a cell merged across."""
    result = [header]
    while result[-1] + 1 < len(grid.rows):
        nxt = result[-1] + 1
        down = any(b[0] <= result[-1] < b[2] and b[0] >= header for b in grid.merged)
        texts = grid.texts(nxt)
        under_group = texts and all(
            (b := grid.block(result[-1], c)) is not None and b[3] > b[1] for c, _ in texts)
        if not (down or under_group) or any(_ARABIC.match(t) for _, t in texts):
            break
        result.append(nxt)
    return result


def _column_labels(grid: Grid, header_rows: list[int]) -> list[str]:
    labels = []
    for col in range(grid.width):
        parts: list[str] = []
        for r in header_rows:
            text = re.sub(r"\s+", "", grid.value(r, col))
            if text and text not in parts:
                parts.append(text)
        labels.append(parts[0] + "".join(f"（{p}）" for p in parts[1:]) if parts else "")
    return labels


def _filled(grid: Grid, body: list[int], col: int) -> dict[int, str]:
    """A column's values down the body, a blank cell continuing the one above
    (what a merged-down block looks like once a reader has lost the merge)."""
    values, last = {}, ""
    for r in body:
        last = grid.value(r, col) or last
        values[r] = last
    return values


def _place(grid: Grid, labels: list[str], body: list[int], keys: KeyMaker,
           out: TableDraft) -> None:
    width = len(labels)
    for r in [r for r in body if _NOTE.match(" ".join(t for _, t in grid.texts(r)))]:
        joined = " ".join(t for _, t in grid.texts(r))
        out.notes.append((joined, grid.ref(r, grid.texts(r)[0][0], joined)))
        body.remove(r)
    used = [c for c in range(width) if labels[c] or any(grid.value(r, c) for r in body)]
    number_col = next((c for c in used if _NUMBER_HEADER.match(labels[c])), None)
    if number_col is None and used and all(
            _ARABIC.match(grid.value(r, used[0])) or not grid.value(r, used[0]) for r in body):
        number_col = used[0]
    # Text cells that carry their own item numbers ("4.强化…") make the grouped shape.
    inner_col = None
    for c in used:
        if c == number_col:
            continue
        cells = [grid.value(r, c) for r in body if grid.value(r, c)]
        hits = [n for n in (numbered(t) for t in cells) if n and n.level == 3]
        if cells and len(hits) >= max(2, 0.6 * len(cells)):
            inner_col = c
            break
    if inner_col is not None:
        group_cols = [c for c in used if c < inner_col]
        title_col = inner_col
    else:
        group_cols = []
        title_col = next((c for c in used if c != number_col and _TITLE_HEADER.search(labels[c])),
                         next((c for c in used if c != number_col), None))
    if title_col is None:
        out.unplaced.append(Unplaced(grid.ref(body[0] if body else 0), "table_no_items"))
        return

    # The columns of the draft.
    role: dict[int, dict] = {}
    for c in used:
        if c in group_cols and c != number_col:
            continue
        label = labels[c] or get_column_letter(c + 1)
        column = {"key": keys.new("column"), "label": label}
        empty = not any(grid.value(r, c) for r in body)
        if c == number_col:
            column["source"] = "number"
        elif c == title_col:
            column["source"] = "title"
        elif _INPUT_HEADER.search(label) or empty:
            column["source"] = "input"
            column["input_kind"] = "longtext" if _LONG_INPUT.search(label) else "text"
        else:
            column["source"] = "text"
            out.content_key = out.content_key or column["key"]
        role[c] = column
        out.columns.append(column)
        out.refs[f"columns[{len(out.columns) - 1}]"] = grid.ref(
            body[0] - 1 if body else 0, c, label)
    text_cols = [c for c, col in role.items() if col["source"] == "text"]

    section: dict | None = None
    group_key = None
    groups = {c: _filled(grid, body, c) for c in group_cols}

    def new_section(number: str, title: str, ref: SourceRef) -> dict:
        made = {"key": keys.new("section"), "number": number, "title": title, "items": []}
        out.sections.append(made)
        out.refs[f"sections[{len(out.sections) - 1}]"] = ref
        return made

    for r in body:
        texts = grid.texts(r)
        joined = " ".join(t for _, t in texts)
        if inner_col is not None:
            key = tuple(groups[c][r] for c in group_cols)
            cell = grid.value(r, inner_col)
            head = numbered(cell) if cell else None
            if key != group_key and any(key):
                group_key = key
                number = groups[number_col][r] if number_col in groups else ""
                names = [groups[c][r] for c in group_cols if c != number_col and groups[c][r]]
                section = new_section(_as_number(number), strip_title(" ".join(names)),
                                      grid.ref(r, group_cols[0], " ".join(key)))
            if head is None or head.level != 3 or section is None:
                _leftover(grid, r, texts, out)
                continue
            _add_item(grid, r, section, head.number, head.rest, role, text_cols, keys, out)
            continue
        number = grid.value(r, number_col) if number_col is not None else ""
        arabic = _ARABIC.match(number)
        title = grid.value(r, title_col)
        if arabic and (title or any(grid.value(r, c) for c in text_cols)):
            if section is None:
                section = new_section("", out.title or "", grid.ref(r))
            _add_item(grid, r, section, arabic[1], title, role, text_cols, keys, out)
        elif len(texts) == 1 or (number and not arabic):
            head = numbered(joined)
            if head and head.level <= 2:
                section = new_section(head.number, strip_title(head.rest), grid.ref(r, 0, joined))
            elif number and not arabic:
                section = new_section(_as_number(number), strip_title(title or joined),
                                      grid.ref(r, 0, joined))
            elif len(joined) <= 30 and "。" not in joined:  # a heading without a number
                section = new_section("", strip_title(joined), grid.ref(r, 0, joined))
            else:
                _leftover(grid, r, texts, out)
        else:
            _leftover(grid, r, texts, out)
    out.sections = [s for s in out.sections if s["items"]]


def _as_number(text: str) -> str:
    head = numbered(text + ("、" if text and text[-1] not in "、.．)）" else ""))
    return head.number if head else text.strip().rstrip("、.．")


def _add_item(grid: Grid, r: int, section: dict, number: str, title: str, role: dict,
              text_cols: list[int], keys: KeyMaker, out: TableDraft) -> None:
    heading, rest = first_sentence(title)
    item = {"key": keys.new("item"), "number": number, "title": heading or strip_title(title)}
    texts = {role[c]["key"]: grid.value(r, c) for c in text_cols if grid.value(r, c)}
    if rest and out.content_key and out.content_key not in texts:
        texts[out.content_key] = rest
    if texts:
        item["texts"] = texts
    section["items"].append(item)
    s_index = len(out.sections) - 1
    title_col = next((c for c, col in role.items() if col["source"] == "title"), None)
    out.refs[f"sections[{s_index}].items[{len(section['items']) - 1}]"] = grid.ref(
        r, title_col, f"{number} {title}")


def _leftover(grid: Grid, r: int, texts: list[tuple[int, str]], out: TableDraft) -> None:
    for col, text in texts:
        out.unplaced.append(
            Unplaced(grid.ref(r, col, text), "cell_not_placed", {"text": text[:40]}))
