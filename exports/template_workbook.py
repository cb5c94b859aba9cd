"""The official form as an Excel workbook, to fill in offline and upload.

:func:`build_template` writes, in memory with XlsxWriter, the form of a
definition for one unit and period: title and period, 报送单位 (filled) and the
other header fields (inputs), the table with the definition's columns in
order, section rows, every item with its printed number, texts and inputs,
indicator fields as sub-rows (label | input | unit | previous period), the
footer notes and a signature and seal line; A4 landscape, fitted to the page
width, header rows repeated on every page.

Labels are locked and inputs unlocked on a protected sheet (no password: the
protection only guards against accidental edits; users may still insert rows,
e.g. to add rows to a table). Input cells are typed and carry Excel data
validation. Strings are always written as strings, never as formulas, whatever
they start with. How the reader finds the inputs again is described in
``exports.identity``.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell

from exports.cell_values import MULTI_SEPARATOR, choice_label, to_cell, yes_no_labels
from exports.event_sheet import write_event_sheet
from exports.identity import (
    COLUMNS_MARKER,
    IDENTITY_SHEET,
    LISTS_SHEET,
    OTHER_MARKER,
    Identity,
    field_marker,
    identity_rows,
    table_marker,
)
from exports.layout import Grid, build_grid
from exports.notes_sheet import write_notes_sheet
from forms.applicability import EVERYTHING, applies_by_tags, condition_parts, conditions
from forms.calculated import calculate_field, excel_formula, inputs
from forms.definition import Column, Definition, FieldDef, FieldKind, Item
from forms.i18n import N_
from forms.periods import Period
from forms.targets import describe as describe_target
from forms.values import format_number

DEFAULT_TABLE_ROWS = 20
# (field key, table row or None, table column key or None): the address of one input.
CellKey = tuple[str, int | None, str | None]

_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
_LINE_HEIGHT = 15.0
_MAX_ROW_HEIGHT = 409.0
_BIG = 10**15


_OFF_BG = "#D9D9D9"  # cells that do not apply to the unit
_OFF_FONT = "#7F7F7F"


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class RenderedTemplate:
    """A written template and where each input landed (for annotations and tests)."""

    data: bytes
    sheet: str
    cells: dict[CellKey, str]


def build_template(definition: Definition, **options: Any) -> bytes:
    """The template workbook (.xlsx bytes); the options are those of :func:`render_template`."""
    return render_template(definition, **options).data


def render_template(
    definition: Definition,
    *,
    unit_code: str,
    unit_name: str,
    period: str,
    secret: bytes,
    locale: str = "zh_CN",
    translate: Callable[[str], str] = _same,
    values: Mapping[str, Any] | None = None,
    previous: Mapping[str, Any] | None = None,
    previous_period: str | None = None,
    table_rows: int = DEFAULT_TABLE_ROWS,
    tags: Collection[str] | None = None,
    explanations: Mapping[str, str] | None = None,
    event: Mapping[str, Any] | None = None,
    banner: str = "",
) -> RenderedTemplate:
    """The template workbook of *definition* for a unit and period, and where each input
    cell landed (for annotations and tests).

    *values* prefills the inputs (typed values as in ``forms.values``; raw
    strings are written as they are). *previous* holds the previous report's
    values; its cumulative figures are shown as reference beside the inputs,
    headed by *previous_period* (default: the period before *period*).
    *translate* is the caller's gettext for *locale*; the form's own texts come
    from the definition (``*_en`` variants in English).

    *tags* are the unit's tags: inputs that cannot apply to it (``applies_when``)
    are locked, greyed and marked not applicable; those that depend on answers
    carry a note saying when they apply (None: the unit is not known).

    *explanations* prefill the 说明 sheet (``exports.notes_sheet``): the notes the
    unit already gave beside flagged figures, by field key. An event report's
    workbook has an event sheet (``exports.event_sheet``) prefilled with *event*, its
    stored time, place and attachments (``EventInfo.to_json``; None: a new event).
    *banner* is a line under the period (the due date, and why it moved if it did).
    """
    identity = Identity(definition.key, definition.version, unit_code, period, unit_name)
    writer = _FormWriter(
        definition, identity, secret=secret, locale=locale, translate=translate,
        values=values or {}, previous=previous or {}, previous_period=previous_period,
        table_rows=max(1, table_rows), tags=tags,
    )
    writer.explanations = dict(explanations or {})
    writer.event = event
    writer.banner = banner
    return writer.write()


def sheet_name_for(title: str) -> str:
    """A valid, recognisable worksheet name from the form's title."""
    name = " ".join(title.translate(_SHEET_FORBIDDEN).split()).strip("'")[:31].strip()
    if not name or name.lower() in {IDENTITY_SHEET, LISTS_SHEET, "history"}:
        return "Form"
    return name


@lru_cache(maxsize=4096)  # a form's labels come back on every sheet of a merged workbook
def text_height(text: str, width: float) -> float:
    """Row height (points) that shows *text* wrapped in a column *width* characters wide."""
    if not text:
        return _LINE_HEIGHT
    usable = max(width * 0.95 - 1, 1)
    lines = 0
    for line in text.split("\n"):
        units = len(line) if line.isascii() else sum(map(_char_width, line))
        lines += max(1, math.ceil(units / usable))
        if lines * _LINE_HEIGHT + 3 >= _MAX_ROW_HEIGHT:
            break  # a long narrative: the row is as high as a row gets
    return min(_MAX_ROW_HEIGHT, lines * _LINE_HEIGHT + 3)


@lru_cache(maxsize=8192)
def _char_width(ch: str) -> int:
    """Columns a character takes: 2 for wide (CJK) characters, else 1."""
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


class _FormWriter:
    def __init__(
        self,
        definition: Definition,
        identity: Identity,
        *,
        secret: bytes,
        locale: str,
        translate: Callable[[str], str],
        values: Mapping[str, Any],
        previous: Mapping[str, Any],
        previous_period: str | None,
        table_rows: int,
        tags: Collection[str] | None = None,
    ):
        self.definition = definition
        self.identity = identity
        self.secret = secret
        self.locale = locale
        self.t = translate
        self.values = values
        self.previous = previous
        self.period = Period.parse(identity.period)
        if previous_period is None and self.period.previous() is not None:
            previous_period = self.period.previous().key
        self.previous_period = previous_period
        self.table_rows = table_rows
        self.grid: Grid = build_grid(definition)
        self.cells: dict[CellKey, str] = {}
        self.names: dict[str, str] = {}
        self.lists: dict[tuple[str, ...], str] = {}
        self.formulas: list[tuple[int, int, FieldDef]] = []  # written once every cell is placed
        self._formats: dict[tuple, Any] = {}
        self.row = 0
        # Applicability: what the unit's tags rule out, and what depends on answers.
        self.off = applies_by_tags(definition, tags) if tags is not None else EVERYTHING
        self.on_answers = {(c.scope, c.key): c for c in conditions(definition) if c.on_answers}
        self.field_notes: dict[str, str] = {}  # more notes by field key (e.g. coverage)
        self.explanations: dict[str, str] = {}  # the 说明 sheet's prefilled notes
        self.event: Mapping[str, Any] | None = None  # an event report's stored event
        self.banner = ""  # a line under the period (a merged summary: the units counted;
        # a report's form: its due date)

    # -- the workbook ---------------------------------------------------------------

    def write(self) -> RenderedTemplate:
        buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(buffer, {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        })
        self.sheet_name = sheet_name_for(self.definition.text("title", self.locale))
        self.ws = self.book.add_worksheet(self.sheet_name)
        self.lists_ws = self.book.add_worksheet(LISTS_SHEET)
        self.ws.activate()
        self.ws.set_comments_author("Tianbao")
        self._write_form()
        self._write_formulas()
        write_notes_sheet(self, self.explanations)
        if self.definition.is_event:
            write_event_sheet(self, self.event)
        self._write_lists()
        self._write_identity()
        for name, ref in self.names.items():
            self.book.define_name(name, f"={quote_sheetname(self.sheet_name)}!{ref}")
        self.book.close()
        return RenderedTemplate(buffer.getvalue(), self.sheet_name, self.cells)

    def _write_identity(self) -> None:
        ws = self.book.add_worksheet(IDENTITY_SHEET)
        rows = identity_rows(self.identity, self.secret, locale=self.locale,
                             sheet=self.sheet_name)
        for r, (key, value) in enumerate(rows):
            ws.write_string(r, 0, key)
            ws.write_string(r, 1, value)
        ws.set_column(0, 1, 20)
        ws.protect()
        ws.very_hidden()

    def _write_lists(self) -> None:
        for column, (labels, _) in enumerate(self.lists.items()):
            for r, label in enumerate(labels):
                self.lists_ws.write_string(r, column, label)
        self.lists_ws.protect()
        self.lists_ws.very_hidden()

    def _list_source(self, labels: tuple[str, ...]) -> str:
        """A range on the hidden lists sheet (inline lists break on commas and 255 chars)."""
        if labels not in self.lists:
            column = len(self.lists)
            first = xl_rowcol_to_cell(0, column, row_abs=True, col_abs=True)
            last = xl_rowcol_to_cell(len(labels) - 1, column, row_abs=True, col_abs=True)
            self.lists[labels] = f"={LISTS_SHEET}!{first}:{last}"
        return self.lists[labels]

    # -- formats ----------------------------------------------------------------------

    def fmt(self, **props: Any) -> Any:
        # A form asks for the same few dozen formats hundreds of times, each call site
        # with its properties in the same order: found again by those as given.
        asked = (self.locale.startswith("en"), *props.items())
        found = self._formats.get(asked)
        if found is not None:
            return found
        base = {
            "font_name": "Calibri" if self.locale.startswith("en") else "宋体",
            "font_size": 11,
            "valign": "vcenter",
            "text_wrap": True,
        }
        base.update(props)
        key = tuple(sorted(base.items()))
        if key not in self._formats:
            self._formats[key] = self.book.add_format(base)
        found = self._formats[asked] = self._formats[key]
        return found

    def label_fmt(self, **props: Any) -> Any:
        return self.fmt(border=1, **props)

    def input_fmt(self, kind: FieldKind) -> Any:
        props: dict[str, Any] = {"border": 1, "locked": False, "bg_color": "#FFF8DC"}
        if kind is FieldKind.INTEGER:
            props["num_format"] = "0"
        elif kind is FieldKind.DECIMAL:
            props["num_format"] = "General"
        elif kind is FieldKind.PERCENT:
            props["num_format"] = "0.0#%"
        elif kind is FieldKind.DATE:
            props["num_format"] = "yyyy-mm-dd"
            props["align"] = "left"
        else:
            props["num_format"] = "@"
        if kind is FieldKind.LONGTEXT:
            props["valign"] = "top"
        return self.fmt(**props)

    # -- the form sheet --------------------------------------------------------------------

    def _write_form(self) -> None:
        ws, grid = self.ws, self.grid
        first, last = grid.sheet_col(0), grid.last_sheet_col
        ws.set_column(0, 0, 4, None, {"hidden": True})
        for i, column in enumerate(grid.columns):
            ws.set_column(grid.sheet_col(i), grid.sheet_col(i), column.width)

        ws.write_string(0, 0, COLUMNS_MARKER)
        for i, column in enumerate(grid.columns):
            ws.write_string(0, grid.sheet_col(i), column.slot)
        ws.set_row(0, None, None, {"hidden": True})
        self.row = 1

        title = self.definition.text("title", self.locale)
        self._merged_row(title, self.fmt(bold=True, font_size=16, align="center"), height=32)
        self._merged_row(self.period.label(self.locale), self.fmt(align="center"), height=20)
        if self.banner:
            self._merged_row(self.banner, self.fmt(align="center", text_wrap=True))
        self._write_header_fields()
        header_row = self._write_column_headers()
        for section in self.definition.sections:
            self._write_section(section)
            for item in section.items:
                self._write_item(item)
        self._write_footer()

        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.center_horizontally()
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.repeat_rows(header_row)
        ws.print_area(1, first, self.row - 1, last)
        ws.set_footer("&C" + self.t(N_("Page &P of &N")))
        ws.freeze_panes(header_row + 1, 0)
        ws.protect("", {
            "insert_rows": True,
            "format_rows": True,
            "format_columns": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        })

    def _marker(self, text: str) -> None:
        self.ws.write_string(self.row, 0, text)

    def _merged_row(self, text: str, cell_format: Any, *, height: float | None = None) -> None:
        grid = self.grid
        first, last = grid.sheet_col(0), grid.last_sheet_col
        self._marker(OTHER_MARKER)
        self._merge(self.row, first, self.row, last, text, cell_format)
        width = sum(c.width for c in grid.columns)
        self.ws.set_row(self.row, height or text_height(text, width))
        self.row += 1

    def _merge(self, r1: int, c1: int, r2: int, c2: int, text: str, cell_format: Any) -> None:
        if (r1, c1) == (r2, c2):
            self.ws.write_string(r1, c1, text, cell_format)
            return
        self.ws.merge_range(r1, c1, r2, c2, "", cell_format)
        self.ws.write_string(r1, c1, text, cell_format)

    def _write_header_fields(self) -> None:
        """报送单位 (filled in) and the header inputs, several to a line."""
        grid, ws = self.grid, self.ws
        unit_label = (
            self.t(N_("Reporting unit")) if self.locale.startswith("en")
            else self.definition.unit_label
        )
        entries: list[tuple[str, FieldDef | None]] = [(unit_label, None)]
        entries += [(self._field_label(f), f) for f in self.definition.header]
        per_line = max(1, min(len(entries), grid.width // 2))
        groups = _split(grid.width, per_line)
        label_format = self.fmt(bold=True, align="right")
        for start in range(0, len(entries), per_line):
            slots: dict[str, str] = {}
            height = _LINE_HEIGHT + 7
            for (first, last), (label, field) in zip(groups, entries[start:start + per_line],
                                                     strict=False):
                if field is None:
                    text = self._colon(label) + self.identity.unit_name
                    self._span(first, last, self.row, text, self.fmt(bold=True))
                    width = sum(c.width for c in grid.columns[first:last + 1])
                    height = max(height, text_height(text, width))
                    continue
                ws.write_string(self.row, grid.sheet_col(first), self._colon(label), label_format)
                height = max(height, text_height(self._colon(label), grid.columns[first].width))
                value_first, value_col = first + 1, grid.sheet_col(first + 1)
                if field.kind is FieldKind.ATTACHMENT:
                    self._attachment_note(self.row, value_col)
                    continue
                if last > value_first:
                    ws.merge_range(self.row, value_col, self.row, grid.sheet_col(last), "",
                                   self.input_fmt(field.kind))
                self._input(self.row, value_col, field, self.values.get(field.key),
                            (field.key, None, None))
                slots[field.key] = grid.columns[value_first].slot
            self._marker(field_marker(slots) if slots else OTHER_MARKER)
            ws.set_row(self.row, height)
            self.row += 1
        self._marker(OTHER_MARKER)
        ws.set_row(self.row, 6)
        self.row += 1

    def _colon(self, label: str) -> str:
        return f"{label}: " if self.locale.startswith("en") else f"{label}："

    def _write_column_headers(self) -> int:
        grid = self.grid
        header_format = self.label_fmt(bold=True, align="center", bg_color="#D9E1F2")
        height = _LINE_HEIGHT + 7
        self._marker(OTHER_MARKER)
        for i, column in enumerate(grid.columns):
            label = column.label(self.locale, self.t)
            if column.role == "previous" and self.previous_period:
                label = f"{label}\n({Period.parse(self.previous_period).label(self.locale)})"
            self.ws.write_string(self.row, grid.sheet_col(i), label, header_format)
            height = max(height, text_height(label, column.width))
        self.ws.set_row(self.row, height)
        self.row += 1
        return self.row - 1

    def _write_section(self, section: Any) -> None:
        title = section.text("title", self.locale)
        number = section.number.strip()
        text = f"{number}{title}" if number[-1:] in "、.．）)" else f"{number} {title}".strip()
        row = self.row
        if not self.off.section_applies(section.key):
            text += self._not_applicable_suffix()
            self._merged_row(text, self.label_fmt(bold=True, bg_color=_OFF_BG,
                                                  font_color=_OFF_FONT))
        else:
            self._merged_row(text, self.label_fmt(bold=True, bg_color="#EDEDED"))
        notes = [n for n in (section.note, self._applies_note("section", section.key)) if n]
        if notes:
            self._comment(row, self.grid.sheet_col(0), "\n\n".join(notes))

    # -- items -----------------------------------------------------------------------------

    def _write_item(self, item: Item) -> None:
        grid, ws = self.grid, self.ws
        item_row = self.row
        column_fields: set[str] = set()
        slots: dict[str, str] = {}
        height = _LINE_HEIGHT + 7
        for i, column in enumerate(grid.columns):
            col = grid.sheet_col(i)
            source = column.source
            text = ""
            if column.role == "number":
                text = item.number
                cell_format = self.label_fmt(align="center")
            elif column.role == "title":
                text = item.text("title", self.locale)
                cell_format = self.label_fmt()
            elif column.role == "text" and source is not None:
                text = item.texts.get(source.key, "")
                cell_format = self.label_fmt()
            elif column.role == "input" and source is not None:
                key = f"{item.key}_{source.key}"
                field = self.definition.field(key)
                if field is not None:
                    column_fields.add(key)
                    self._input(item_row, col, field, self.values.get(key), (key, None, None))
                    slots[key] = column.slot
                    value = self.values.get(key)
                    shown = value if isinstance(value, str) else ""
                    minimum = 45 if field.kind is FieldKind.LONGTEXT else 0
                    height = max(height, minimum, text_height(shown, column.width))
                    continue
                cell_format = self.label_fmt()
            else:
                cell_format = self.label_fmt()
            ws.write_string(item_row, col, text, cell_format)
            height = max(height, text_height(text, column.width))
        self._marker(field_marker(slots) if slots else OTHER_MARKER)
        ws.set_row(item_row, height)
        self._item_comment(item_row, item)
        self.row += 1

        indicators = [f for f in item.fields if f.key not in column_fields]
        for field in indicators:
            if field.kind is FieldKind.TABLE:
                self._write_table(field)
            else:
                self._write_indicator(field)
        has_table = any(f.kind is FieldKind.TABLE for f in indicators)
        if grid.number is not None and indicators and not has_table:
            col = grid.sheet_col(grid.number)
            self._merge(item_row, col, self.row - 1, col, item.number,
                        self.label_fmt(align="center"))

    def _item_comment(self, row: int, item: Item) -> None:
        parts = []
        if item.plan_text:
            parts.append(self.t(N_("Plan text:")) + "\n" + item.plan_text)
        if item.note:
            parts.append(item.note)
        note = self._applies_note("item", item.key)
        if note:
            parts.append(note)
        if parts:
            title_col = next((i for i, c in enumerate(self.grid.columns) if c.role == "title"),
                             self.grid.label_start)
            self._comment(row, self.grid.sheet_col(min(title_col, self.grid.width - 1)),
                          "\n\n".join(parts))

    def _comment(self, row: int, col: int, text: str) -> None:
        size = len(text)
        scale = 1.5 if size < 80 else 2.5 if size < 300 else 4
        self.ws.write_comment(row, col, text, {"x_scale": 2.5, "y_scale": scale})

    def _field_label(self, field: Column) -> str:
        label = field.text("label", self.locale)
        return f"{label} *" if field.required else label

    def _span(self, start: int, end: int, row: int, text: str, cell_format: Any) -> None:
        grid = self.grid
        self._merge(row, grid.sheet_col(start), row, grid.sheet_col(end), text, cell_format)

    def _blank_cells(self, row: int, indexes: range | list[int]) -> None:
        for i in indexes:
            self.ws.write_blank(row, self.grid.sheet_col(i), None, self.label_fmt())

    def _write_indicator(self, field: FieldDef) -> None:
        grid, ws, row = self.grid, self.ws, self.row
        label = self._field_label(field)
        label_end = grid.value - 1
        self._span(grid.label_start, label_end, row, label, self.label_fmt(indent=1))
        notes = []
        if field.basis:
            notes.append(self.t(N_("Basis in the plan:")) + "\n" + field.basis)
        if field.target is not None:
            notes.append(describe_target(field, self.t, self.locale, self.definition))
        notes += [n for n in (self._applies_note("field", field.key),
                              self.field_notes.get(field.key)) if n]
        if notes:
            ws.write_comment(row, grid.sheet_col(grid.label_start), "\n".join(notes),
                             {"x_scale": 2.5, "y_scale": 1.5})
        value_col = grid.sheet_col(grid.value)
        slot = grid.columns[grid.value].slot
        if field.kind is FieldKind.ATTACHMENT:
            self._attachment_note(row, value_col)
            self._marker(OTHER_MARKER)
        else:
            self._input(row, value_col, field, self.values.get(field.key),
                        (field.key, None, None))
            self._marker(field_marker({field.key: slot}))
        unit = field.text("unit", self.locale) if field.unit else ""
        ws.write_string(row, grid.sheet_col(grid.unit), unit, self.label_fmt(align="center"))
        used = {grid.value, grid.unit}
        used.update(range(grid.label_start, grid.value))
        if grid.previous is not None:
            used.add(grid.previous)
            self._previous_cell(row, field)
        self._blank_cells(row, [i for i in range(grid.width) if i not in used])
        label_width = sum(c.width for c in grid.columns[grid.label_start:grid.value])
        height = text_height(label, label_width) + 4
        if field.kind is FieldKind.LONGTEXT:
            height = max(height, 45)
        ws.set_row(row, height)
        self.row += 1

    def _previous_cell(self, row: int, field: FieldDef) -> None:
        col = self.grid.sheet_col(self.grid.previous)
        cell_format = self.label_fmt(bg_color="#F2F2F2", font_color="#595959",
                                     num_format=self.input_fmt_num(field.kind))
        value = self.previous.get(field.key) if field.cumulative else None
        cell = to_cell(field, value, self.locale)
        self._write_value(row, col, cell, cell_format)

    @staticmethod
    def input_fmt_num(kind: FieldKind) -> str:
        return {FieldKind.PERCENT: "0.0#%", FieldKind.INTEGER: "0"}.get(kind, "General")

    def _attachment_note(self, row: int, col: int) -> None:
        note = self.t(N_("Upload this file on the web form."))
        self.ws.write_string(row, col, note, self.label_fmt(font_color="#595959", italic=True))

    # -- repeating tables ----------------------------------------------------------------------

    def _write_table(self, field: FieldDef) -> None:
        grid, ws = self.grid, self.ws
        start = grid.label_start
        label = self._field_label(field)
        if field.max_rows:
            label += " " + self.t(N_("(at most %(max)s rows)")) % {"max": field.max_rows}
        self._marker(OTHER_MARKER)
        self._span(start, grid.width - 1, self.row, label, self.label_fmt(bold=True, indent=1))
        if grid.number is not None and grid.number < start:
            self._blank_cells(self.row, [grid.number])
        self.row += 1

        header_format = self.label_fmt(bold=True, align="center", bg_color="#EDEDED")
        self._marker(OTHER_MARKER)
        height = _LINE_HEIGHT + 7
        for j, column in enumerate(field.columns):
            text = self._field_label(column)
            index = start + j
            ws.write_string(self.row, grid.sheet_col(index), text, header_format)
            height = max(height, text_height(text, grid.columns[index].width))
        self._blank_cells(self.row, [i for i in range(grid.width)
                                     if not start <= i < start + len(field.columns)])
        ws.set_row(self.row, height)
        self.row += 1

        rows = self.values.get(field.key)
        rows = [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []
        count = max(field.min_rows, self.table_rows, len(rows))
        if field.max_rows:
            count = max(min(count, field.max_rows), len(rows))
        slots = {c.key: grid.columns[start + j].slot for j, c in enumerate(field.columns)}
        marker = table_marker(field.key, slots)
        first_row = self.row
        for n in range(count):
            data = rows[n] if n < len(rows) else {}
            self._marker(marker)
            for j, column in enumerate(field.columns):
                self._input(self.row, grid.sheet_col(start + j), column, data.get(column.key),
                            (field.key, n, column.key), validate=False)
            if grid.number is not None and grid.number < start:
                ws.write_string(self.row, grid.sheet_col(grid.number), str(n + 1),
                                self.label_fmt(align="center"))
            others = [i for i in range(grid.width)
                      if not start <= i < start + len(field.columns) and i != grid.number]
            self._blank_cells(self.row, others)
            self.row += 1
        last_row = self.row - 1
        for j, column in enumerate(field.columns):
            col = grid.sheet_col(start + j)
            options = self._validation(column)
            if options:
                ws.data_validation(first_row, col, last_row, col, options)
        first = xl_rowcol_to_cell(first_row, grid.sheet_col(start), row_abs=True, col_abs=True)
        last = xl_rowcol_to_cell(last_row, grid.sheet_col(start + len(field.columns) - 1),
                                 row_abs=True, col_abs=True)
        self.names[f"tb_{field.key}"] = f"{first}:{last}"
        self.cells[(field.key, None, None)] = xl_rowcol_to_cell(first_row - 2,
                                                                grid.sheet_col(start))

    # -- input cells -----------------------------------------------------------------------------

    def _write_formulas(self) -> None:
        """Calculated fields as real, locked Excel formulas over their input cells; the
        server's value is the cached result, and the reader recomputes it anyway."""
        def cell(key: str) -> str:
            return self.cells[(key, None, None)]

        def kind_of(key: str) -> FieldKind | None:
            source = self.definition.field(key)
            return source.kind if source else None

        for row, col, field in self.formulas:
            cached = calculate_field(field, self.values)
            given = self.values.get(field.key, cached)
            if given != cached:
                # A consolidated rate over the units that gave every input, not a formula
                # of the totals (which may hold more units): the value as computed.
                shown = to_cell(field, given, self.locale)
                self.ws.write(row, col, "" if shown is None else shown,
                              self.calculated_fmt(field.kind))
                self.ws.write_comment(row, col, self.t(CALCULATED_OVER_NOTE),
                                      {"x_scale": 2, "y_scale": 0.8})
                continue
            shown = to_cell(field, cached, self.locale)
            self.ws.write_formula(row, col, excel_formula(field, cell, kind_of),
                                  self.calculated_fmt(field.kind),
                                  "" if shown is None else shown)
            self.ws.write_comment(row, col, self.t(CALCULATED_NOTE),
                                  {"x_scale": 2, "y_scale": 0.8})

    def calculated_fmt(self, kind: FieldKind) -> Any:
        return self.label_fmt(bg_color="#E2EFDA", num_format=self.input_fmt_num(kind))

    def _input(self, row: int, col: int, column: Column, value: Any, key: CellKey,
               *, validate: bool = True) -> None:
        calculated = isinstance(column, FieldDef) and column.is_calculated
        if not self.off.applies(key[0]) or (
                calculated and not all(self.off.applies(k) for k in inputs(column))):
            # Locked and greyed: the reader ignores it and the server never counts it. A
            # formula over an input that does not apply is empty on the server: so here.
            self.ws.write_string(row, col, self.t(N_("Not applicable")),
                                 self.label_fmt(bg_color=_OFF_BG, font_color=_OFF_FONT,
                                                italic=True, align="center"))
            self.cells[key] = xl_rowcol_to_cell(row, col)
            return
        if calculated:
            self.ws.write_blank(row, col, None, self.calculated_fmt(column.kind))
            self.formulas.append((row, col, column))
            self.cells[key] = xl_rowcol_to_cell(row, col)
            self.names[f"tb_{key[0]}"] = xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)
            return
        cell_format = self.input_fmt(column.kind)
        self._write_value(row, col, to_cell(column, value, self.locale), cell_format)
        ref = xl_rowcol_to_cell(row, col)
        self.cells[key] = ref
        if key[1] is None:
            self.names[f"tb_{key[0]}"] = xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)
        if validate:
            options = self._validation(column)
            if options:
                self.ws.data_validation(row, col, row, col, options)

    # -- applicability ---------------------------------------------------------------------------

    def _not_applicable_suffix(self) -> str:
        return "（" + self.t(N_("Not applicable")) + "）"

    def _applies_note(self, scope: str, key: str) -> str:
        """When a part that depends on answers applies, for a cell comment."""
        condition = self.on_answers.get((scope, key))
        if condition is None:
            return ""
        yes, no = yes_no_labels(self.locale)
        parts = [f"“{label}”：{(yes if answer else no) if isinstance(answer, bool) else answer}"
                 for label, answer in condition_parts(self.definition, condition, self.locale)]
        if not parts:
            return self.t(N_("Fill in only when your other answers call for it; otherwise "
                             "it is ignored."))
        separator = "; " if self.locale.startswith("en") else "；"
        return self.t(N_("Fill in only when %(condition)s; otherwise it is ignored.")) % {
            "condition": separator.join(parts)}

    def _write_value(self, row: int, col: int, value: Any, cell_format: Any) -> None:
        ws = self.ws
        if value is None:
            ws.write_blank(row, col, None, cell_format)
        elif isinstance(value, str):
            ws.write_string(row, col, value, cell_format)
        elif isinstance(value, date):
            ws.write_datetime(row, col, value, cell_format)
        elif isinstance(value, int | float | Decimal):
            ws.write_number(row, col, float(value) if isinstance(value, Decimal) else value,
                            cell_format)
        else:
            ws.write_string(row, col, str(value), cell_format)

    def _validation(self, column: Column) -> dict[str, Any] | None:
        t, kind = self.t, column.kind
        options: dict[str, Any] = {"ignore_blank": True, "error_title": t(N_("Check the entry"))}
        low, high = column.min, column.max
        if kind in (FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.PERCENT):
            scale = Decimal(100) if kind is FieldKind.PERCENT else Decimal(1)
            options["validate"] = "integer" if kind is FieldKind.INTEGER else "decimal"
            options.update(_bounds(low, high, scale))
            shown = {"min": format_number(low) if low is not None else "",
                     "max": format_number(high) if high is not None else ""}
            if kind is FieldKind.INTEGER:
                message = (N_("Enter a whole number from %(min)s to %(max)s.") if
                           low is not None and high is not None else
                           N_("Enter a whole number of at least %(min)s.") if low is not None else
                           N_("Enter a whole number of at most %(max)s.") if high is not None
                           else N_("Enter a whole number."))
            else:
                message = (N_("Enter a number from %(min)s to %(max)s.") if
                           low is not None and high is not None else
                           N_("Enter a number of at least %(min)s.") if low is not None else
                           N_("Enter a number of at most %(max)s.") if high is not None
                           else N_("Enter a number."))
            options["error_message"] = t(message) % shown
        elif kind is FieldKind.DATE:
            options.update(validate="date", criteria="between", minimum=date(1900, 1, 1),
                           maximum=date(9999, 12, 31),
                           error_message=t(N_("Enter a date such as 2024-06-30.")))
        elif kind is FieldKind.CHOICE:
            labels = tuple(choice_label(column, c.value, self.locale) for c in column.choices)
            options.update(validate="list", source=self._list_source(labels),
                           error_message=t(N_("Choose one of the options in the list.")))
        elif kind is FieldKind.YESNO:
            options.update(validate="list", source=list(yes_no_labels(self.locale)),
                           error_message=t(N_("Choose one of the options in the list.")))
        elif kind is FieldKind.MULTICHOICE:
            labels = [choice_label(column, c.value, self.locale) for c in column.choices]
            options.update(validate="any", input_title=t(N_("Several options")),
                           input_message=_clip(
                               t(N_("Separate several options with %(separator)s: %(options)s"))
                               % {"separator": MULTI_SEPARATOR,
                                  "options": MULTI_SEPARATOR.join(labels)}, 255))
            return options
        elif kind in (FieldKind.TEXT, FieldKind.LONGTEXT) and column.max_length:
            options.update(validate="length", criteria="<=", value=column.max_length,
                           error_message=t(N_("Enter at most %(max)s characters."))
                           % {"max": column.max_length})
        else:
            options["validate"] = "any"
        help_text = getattr(column, "help", None)
        if help_text:
            english = getattr(column, "help_en", None)
            text = english if self.locale.startswith("en") and english else help_text
            options["input_title"] = _clip(column.text("label", self.locale), 32)
            options["input_message"] = _clip(text, 255)
        if options["validate"] == "any" and "input_message" not in options:
            return None
        options["error_message"] = _clip(options.get("error_message", ""), 255)
        return options

    # -- footer -----------------------------------------------------------------------------------

    def _write_footer(self) -> None:
        notes = (self.definition.notes_en if self.locale.startswith("en")
                 and self.definition.notes_en else self.definition.notes)
        for note in notes:
            self._merged_row(note, self.fmt(align="left"))
        self._marker(OTHER_MARKER)
        self.row += 1
        parts = [
            self.t(N_("Reporting unit (seal):")),
            self.t(N_("Person in charge (signature):")),
            self.t(N_("Date: ____ / __ / __")),
        ]
        grid = self.grid
        bounds = _split(grid.width, len(parts))
        self._marker(OTHER_MARKER)
        for (start, end), text in zip(bounds, parts, strict=True):
            self._span(start, end, self.row, text, self.fmt(bold=True, align="left"))
        self.ws.set_row(self.row, 40)
        self.row += 1


CALCULATED_NOTE = N_("Calculated from the other figures by a formula: nothing to fill in.")
CALCULATED_OVER_NOTE = N_("Computed over the units that gave every input of this figure (see "
                          "who is in it), so not a formula of the totals shown.")


def _split(width: int, parts: int) -> list[tuple[int, int]]:
    """*parts* contiguous column ranges covering *width* (at least *parts*) columns."""
    size, extra = divmod(width, parts)
    bounds, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0) - 1
        bounds.append((start, end))
        start = end + 1
    return bounds


def _bounds(low: Decimal | None, high: Decimal | None, scale: Decimal) -> dict[str, Any]:
    def number(value: Decimal) -> int | float:
        scaled = value / scale
        return int(scaled) if scaled == scaled.to_integral_value() else float(scaled)

    if low is not None and high is not None:
        return {"criteria": "between", "minimum": number(low), "maximum": number(high)}
    if low is not None:
        return {"criteria": ">=", "value": number(low)}
    if high is not None:
        return {"criteria": "<=", "value": number(high)}
    return {"criteria": "between", "minimum": -_BIG, "maximum": _BIG}


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
