"""Plans as plain text, and the document parser that Word documents share.

A document is a sequence of blocks, paragraphs and tables; :func:`draft_from_blocks`
turns them into a draft: the source (issuer, title, number, date), numbered
headings at every level as sections and items, the reporting duties as the
schedule, quantified goals as indicator fields and the attachment table's
columns. ``docx`` builds the same blocks from a Word file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from forms.importers import ImportRefused, ImportResult, Proposal, SourceRef, Unplaced
from forms.importers.draft import choose_schedule, indicator_fields, template_key
from forms.importers.duties import duty_in, full_date, plan_window, sentences
from forms.importers.numbering import (
    clean,
    comparable,
    first_sentence,
    numbered,
    strip_title,
)
from forms.importers.table import Grid, TableDraft, read_table
from forms.keys import KeyMaker

_DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fff]{1,10}\s*[〔［\[【(（]\s*\d{4}\s*[〕］\]】)）]\s*\d{1,4}\s*号")
_QUOTED_TITLE = re.compile(r"《([^》]{4,80})》")
_ATTACHMENT = re.compile(r"^\s*(附件|附表)\s*\d*\s*[:：]?")
_LABEL_LINE = re.compile(r"^\s*[^:：。]{1,12}\s*[:：]\s*\S{0,20}$")
_PLAN_WORD = re.compile(r"方案|计划|规划|通知|意见")
_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE = re.compile(r"^\s*\|[\s\-:|]+\|\s*$")

DEFAULT_COLUMNS = (("序号", "number", None), ("工作任务", "title", None),
                   ("工作内容", "text", None), ("推进情况", "input", "longtext"),
                   ("备注", "input", "text"))


@dataclass
class Block:
    paragraph: int  # 1-based place in the document
    text: str = ""
    grid: Grid | None = None


@dataclass
class _Node:
    level: int
    number: str = ""
    rest: str = ""
    paragraph: int = 0
    body: list[tuple[str, int]] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)

    def text(self) -> str:
        return "".join([self.rest, *(t for t, _ in self.body)])


def read(data: bytes, filename: str) -> ImportResult:
    """Read a plan saved as plain text (UTF-8 or GB 18030); Markdown tables are tables."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRefused("unreadable", kind=".txt (UTF-8, GB 18030)")
    return draft_from_blocks(text_blocks(text), filename)


def text_blocks(text: str) -> list[Block]:
    """Non-empty lines as paragraphs, runs of ``| a | b |`` lines as tables."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _PIPE_ROW.match(line):
            rows = []
            while i < len(lines) and _PIPE_ROW.match(lines[i]):
                if not _PIPE_RULE.match(lines[i]):
                    rows.append([c.strip() for c in lines[i].strip()[1:-1].split("|")])
                i += 1
            blocks.append(Block(len(blocks) + 1, grid=Grid(rows, paragraph=len(blocks) + 1)))
            continue
        if clean(line):
            blocks.append(Block(len(blocks) + 1, text=clean(line)))
        i += 1
    return blocks


def draft_from_blocks(blocks: list[Block], filename: str) -> ImportResult:
    paragraphs = [b for b in blocks if b.grid is None and b.text]
    if not paragraphs and not any(b.grid for b in blocks):
        raise ImportRefused("empty")
    result = ImportResult(data={})
    keys = KeyMaker()
    whole = "\n".join(b.text for b in paragraphs)
    window = plan_window(whole)
    source, issued = _source(paragraphs, result)
    year = issued.year if issued else (window[0] if window else None)

    tables: list[TableDraft] = []
    for index, block in enumerate(blocks):
        if block.grid is not None:
            table = read_table(block.grid, keys)
            if table is not None and (table.columns or table.sections):
                _title_above(blocks[max(0, index - 6):index], table)
                tables.append(table)
            else:
                result.unplaced.append(Unplaced(SourceRef(paragraph=block.paragraph),
                                                "table_not_placed"))
    attachment = tables[0] if tables else None
    for extra in tables[1:]:
        result.unplaced.append(Unplaced(extra.title_ref or SourceRef(), "table_not_placed"))

    duties = []
    for block in paragraphs:
        for sentence in sentences(block.text):
            duty = duty_in(sentence, year)
            if duty:
                duties.append((duty, SourceRef(paragraph=block.paragraph, text=sentence[:80])))
    if attachment is not None:
        for text, ref in [*attachment.notes, *attachment.labels]:
            for sentence in sentences(text):
                duty = duty_in(sentence, year)
                if duty:
                    duties.append((duty, ref))
    schedule = choose_schedule(duties, whole, issued, window, result)

    columns, content_key = _columns(attachment, keys, result)
    sections = _sections(_tree(blocks), keys, content_key, window, result, source)
    if not sections and attachment is not None and attachment.sections:
        sections = attachment.sections
        for path, ref in attachment.refs.items():
            if path.startswith("sections"):
                result.proposals.append(Proposal(path, "item" if "items" in path else "section",
                                                 ref))
    elif sections and attachment is not None and attachment.sections:
        _compare_with_table(sections, attachment, result)
    if attachment is not None:
        result.unplaced.extend(attachment.unplaced)
    if not sections:
        result.unplaced.append(Unplaced(SourceRef(), "no_items"))

    plan_title = source.get("title", "").strip("《》")
    title = (attachment.title if attachment and attachment.title else
             (f"{plan_title}推进情况表" if plan_title else template_key(filename)))
    data: dict = {"key": template_key(filename), "title": title, "source": source}
    if schedule:
        data["schedule"] = schedule
    data["columns"] = columns
    data["sections"] = sections
    result.data = data
    return result


def _compare_with_table(sections: list[dict], table: TableDraft,
                        result: ImportResult) -> None:
    """List where the attachment table differs from the text the draft follows."""
    body = {comparable(i["number"]): (i, s) for s in sections for i in s["items"]}
    for s_index, section in enumerate(table.sections):
        for i_index, item in enumerate(section["items"]):
            ref = table.refs.get(f"sections[{s_index}].items[{i_index}]", SourceRef())
            found = body.get(comparable(item["number"]))
            params = {"number": item["number"], "text": item["title"][:40]}
            if found is None:
                result.unplaced.append(Unplaced(ref, "table_item_missing", params))
                continue
            mine, my_section = found
            if comparable(mine["title"]) != comparable(item["title"]):
                result.unplaced.append(Unplaced(ref, "table_title_differs", params))
            if comparable(my_section["title"]) != comparable(section["title"]):
                result.unplaced.append(Unplaced(ref, "table_group_differs", {
                    "number": item["number"], "group": section["title"][:40]}))


def _title_above(blocks: list[Block], table: TableDraft) -> None:
    """A document prints a table's title and its 报送单位: lines as paragraphs above it."""
    for block in reversed(blocks):
        if block.grid is not None or full_date(block.text):
            break
        ref = SourceRef(paragraph=block.paragraph, text=block.text[:80])
        if _LABEL_LINE.match(block.text):
            table.labels.append((block.text, ref))
        elif _ATTACHMENT.fullmatch(block.text):
            continue
        else:
            if table.title is None and len(block.text) <= 80 and "。" not in block.text:
                table.title, table.title_ref = strip_title(block.text), ref
            break  # body text above: the table has no title line of its own


def _source(paragraphs: list[Block], result: ImportResult) -> tuple[dict, date | None]:
    """Issuer, title, document number and date from the head of the document."""
    source: dict = {}
    issued = None
    date_at = None
    for index, block in enumerate(paragraphs):
        found = full_date(block.text)
        if found:
            issued, date_at = found, index
            result.proposals.append(Proposal("source.date", "source",
                                             SourceRef(paragraph=block.paragraph, text=block.text)))
            break
    for block in paragraphs[:20]:
        match = _DOC_NUMBER.fullmatch(block.text.strip())
        if match:  # a number quoted in the text is another document's
            source["doc_number"] = re.sub(r"\s+", "", match[0])
            break
    for block in paragraphs[:20]:
        if len(block.text) <= 120 and ("印发" in block.text or block.text.endswith("通知")):
            quoted = _QUOTED_TITLE.search(block.text)
            if quoted:
                source["title"] = f"《{quoted[1]}》"
                if "关于" in block.text and not source.get("issuer"):
                    source["issuer"] = block.text.split("关于")[0].strip() or None
                break
    if "title" not in source:
        for block in paragraphs[:12]:
            if _PLAN_WORD.search(block.text) and len(block.text) <= 60 and "。" not in block.text:
                title = strip_title(block.text)
                before = paragraphs[paragraphs.index(block) - 1].text if block.paragraph > 1 else ""
                if re.match(r"^(实施)?(方案|计划)", title) and before and len(before) <= 40:
                    title = before + title  # a title printed over two lines
                source["title"] = title
                break
    for block in paragraphs[:5]:
        if block.text.endswith("文件") and len(block.text) <= 40:
            source["issuer"] = block.text[:-2].strip()
            break
    if not source.get("issuer") and date_at:
        source["issuer"] = paragraphs[date_at - 1].text
    if not source.get("issuer"):
        source.pop("issuer", None)
        result.unplaced.append(Unplaced(SourceRef(), "no_issuer"))
    if issued:
        source["date"] = issued.isoformat()
    source.setdefault("title", "")
    return source, issued


def _tree(blocks: list[Block]) -> _Node:
    """Paragraphs as a tree of numbered headings; unnumbered ones are their text."""
    root = _Node(0)
    stack = [root]
    for block in blocks:
        if block.grid is not None or full_date(block.text) or _ATTACHMENT.match(block.text):
            stack = [root]  # a table, a signature date or the attachments end the text
            continue
        head = numbered(block.text)
        if head and head.level == 4 and stack[-1].level == 3:
            stack[-1].body.append((block.text, block.paragraph))
            continue
        if head is None:
            if stack[-1] is not root:
                stack[-1].body.append((block.text, block.paragraph))
            continue
        while stack[-1].level >= head.level:
            stack.pop()
        node = _Node(head.level, head.number, head.rest, block.paragraph)
        stack[-1].children.append(node)
        stack.append(node)
    return root


def _sections(root: _Node, keys: KeyMaker, content_key: str | None,
              window: tuple[int, int] | None, result: ImportResult, source: dict) -> list[dict]:
    sections: list[dict] = []
    levels: dict[str, int] = {}  # item key → level of its number (0: a section's own)

    def add_section(node: _Node | None, items: list[_Node], single: bool = False) -> None:
        index = len(sections)
        if node is None:
            number, title, ref = "", source.get("title", "").strip("《》"), SourceRef()
        else:
            number = node.number
            title = strip_title(first_sentence(node.rest)[0] if node.rest else node.text())
            ref = SourceRef(paragraph=node.paragraph, text=f"{node.number} {node.rest}"[:80])
        section = {"key": keys.new("section"), "number": number, "title": title, "items": []}
        result.proposals.append(Proposal(f"sections[{index}]", "section", ref))
        for leaf in items:
            item = _item(leaf, single, keys, content_key, window, result,
                         f"sections[{index}].items[{len(section['items'])}]")
            levels[item["key"]] = 0 if single else leaf.level
            section["items"].append(item)
        sections.append(section)

    def collect(node: _Node) -> None:
        kids = node.children
        if kids and all(not k.children for k in kids):
            if node is root and any(k.level < 3 for k in kids):
                for kid in kids:
                    result.unplaced.append(Unplaced(
                        SourceRef(paragraph=kid.paragraph, text=kid.rest[:80]),
                        "not_a_task", {"heading": f"{kid.number} {strip_title(kid.rest)}"[:40]}))
                return
            add_section(None if node is root else node, kids)
            return
        for kid in kids:
            if kid.children:
                collect(kid)
            elif node is root or not kid.body:
                result.unplaced.append(Unplaced(
                    SourceRef(paragraph=kid.paragraph, text=kid.rest[:80]),
                    "not_a_task", {"heading": f"{kid.number} {strip_title(kid.rest)}"[:40]}))
            else:
                add_section(kid, [kid], single=True)

    collect(root)
    if not sections and root.children and all(not k.children for k in root.children):
        # A plan that is one flat list of numbered tasks ("一、…" "二、…"): one section.
        result.unplaced[:] = [u for u in result.unplaced if u.code != "not_a_task"]
        add_section(None, root.children)
    # Where the numbers of a level restart in each section, its items are printed
    # with the section's number: "（二）1".
    seen: dict[tuple[int, str], int] = {}
    for section in sections:
        for pair in {(levels[i["key"]], i["number"]) for i in section["items"]}:
            seen[pair] = seen.get(pair, 0) + 1
    restarting = {level for (level, _), count in seen.items() if count > 1}
    for section in sections:
        for item in section["items"]:
            if levels[item["key"]] in restarting and item["number"] != section["number"]:
                item["number"] = f"{section['number']}{item['number']}"
    return sections


def _item(node: _Node, single: bool, keys: KeyMaker, content_key: str | None,
          window: tuple[int, int] | None, result: ImportResult, path: str) -> dict:
    """An item from a numbered paragraph; a heading standing alone in its section
    (*single*) gives its number to an item titled by the text under it."""
    text = "".join(t for t, _ in node.body) if single else node.text()
    title, rest = first_sentence(text)
    item: dict = {"key": keys.new("item"), "number": node.number, "title": title,
                  "plan_text": clean(text)}
    if rest and content_key:
        item["texts"] = {content_key: rest}
    paragraphs = [(node.rest, node.paragraph), *node.body]
    found = [(s, SourceRef(paragraph=p, text=s[:80])) for t, p in paragraphs
             for s in sentences(t)]
    fields = indicator_fields(found, window, keys, path, result)
    if fields:
        item["fields"] = fields
    result.proposals.append(Proposal(path, "item", SourceRef(paragraph=node.paragraph,
                                                             text=clean(text)[:80])))
    return item


def _columns(table: TableDraft | None, keys: KeyMaker,
             result: ImportResult) -> tuple[list[dict], str | None]:
    """The attachment table's columns, or the usual progress-table ones."""
    if table is not None and table.columns:
        for path, ref in table.refs.items():
            if path.startswith("columns"):
                result.proposals.append(Proposal(path, "column", ref))
        return table.columns, table.content_key
    columns = []
    for label, source, kind in DEFAULT_COLUMNS:
        column = {"key": keys.new("column"), "label": label, "source": source}
        if kind:
            column["input_kind"] = kind
        columns.append(column)
    content = next(c["key"] for c in columns if c["source"] == "text")
    return columns, content
