"""The sheets of a merged workbook that a leader reads: a compact 汇总表, the units side by
side, their texts grouped by item, and the parts of every figure.

The official layout (``exports.template_workbook``) is the form to sign and seal, one
item after the other with every unit's text inline: long, and made to be filled in.
These sheets are made to be read and printed instead:

* **汇总表** — one row per figure of the form, grouped by section and item: the total,
  本期新增, last period's figure, who is in it where that differs from the units as a
  whole, and the target's progress. The header says which unit, which period, when the
  data were taken and which units are counted. No text, no input boxes.
* **By unit** — the consolidator's direct children in rows, the key indicators (the
  first figure of each item, a cumulative one when it has one) in columns, each unit
  saying whether its report is counted, carried forward or missing; carried-forward
  figures are set apart (grey italics) and their period named.
* **Texts** — each item's texts, unit by unit (what the official form lists inline).
* **Parts** — every part of every figure: unit, value, revision, carried from.

Every sheet prints on A4 (landscape when wide), fit to the page width, with its header
row repeated, its title above and 第 N 页 共 M 页 below. Pure: xlsxwriter and ``forms``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from exports.template_workbook import text_height
from forms.consolidation import Part
from forms.definition import Definition, FieldDef, FieldKind, Item
from forms.i18n import N_
from forms.targets import STATUS_LABELS, Progress
from forms.values import format_number

SUMMARY_TABLE = N_("Summary table")
BY_UNIT = N_("By unit")
TEXTS = N_("Texts")
PARTS = N_("Parts")
PAGE_OF = N_("Page &P of &N")

HEAD_UNIT = N_("Consolidating unit: %(unit)s")
HEAD_PERIOD = N_("Period: %(period)s")
HEAD_AS_OF = N_("Data as of: %(time)s")
HEAD_COUNTED = N_("Units counted: %(coverage)s")
HEAD_STRICT = N_("Strict view: only this period's reports are in the figures.")
HEAD_SUBMITTED = N_("Submitted reports not yet approved are counted too.")
TEXTS_ELSEWHERE = N_("Each unit's texts are on the sheet “%(sheet)s”; each figure's parts "
                     "on the sheet “%(parts)s”.")
SIGNED = N_("Prepared by: %(preparer)s    Phone: %(phone)s    Reviewed by: %(reviewer)s    "
            "(seal)")
# Who reviewed: whoever closed the period for the unit, else the approver of its own report.
REVIEWED_CLOSED = N_("%(name)s (closed the period on %(date)s)")
REVIEWED_APPROVED = N_("%(name)s (approved on %(date)s)")
SIGNATURE_LINE = "______________"  # to sign by hand: nobody closed nor approved yet
CARRIED_LEGEND = N_("Grey italics: a figure carried forward from the unit's latest approved "
                    "report (its period in the “Counted” column).")

SUMMARY_HEADERS = (N_("No."), N_("Item"), N_("Indicator"), N_("Value"), N_("Unit of measure"),
                   N_("New this period"), N_("Last period"),
                   N_("Units in this figure, where they differ"), N_("Target"))
SUMMARY_WIDTHS = (5, 26, 40, 10, 7, 10, 10, 28, 16)

COUNTED = N_("Counted")
NOT_COUNTED = N_("Not counted")
CARRIED = N_("Carried forward from %(period)s")
TEXT_HEADERS = (N_("No."), N_("Item"), N_("Field"), N_("Unit"), N_("Text"))
TEXT_WIDTHS = (5, 22, 16, 18, 80)
PART_HEADERS = (N_("Field key"), N_("Field"), N_("Unit code"), N_("Unit"), N_("Value"),
                N_("Revision"), N_("Carried forward from"))
PART_WIDTHS = (18, 36, 14, 24, 12, 8, 16)

FONT = 9
LINE = 12.0  # points per line of text at FONT


def height(text: str, width: float) -> float:
    """Row height (points) that shows *text* wrapped in a column *width* characters wide
    at this sheet's font size (a CJK character takes two)."""
    return text_height(text, width * 11 / FONT) * LINE / 15 if text else LINE + 3


def print_setup(ws: Any, title: str, translate: Callable[[str], str], *, wide: bool,
                header_row: int = 0) -> None:
    """A sheet that prints as a document: A4, landscape when wide, fit to the page width,
    the header row on every page, the sheet's title above and page numbers below."""
    ws.set_paper(9)  # A4
    if wide:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    ws.set_header("&C&B" + title.replace("&", "&&"))
    ws.set_footer("&C" + translate(PAGE_OF))


def key_indicators(definition: Definition) -> list[FieldDef]:
    """One figure per item: its first cumulative number, else its first number."""
    found = []
    for _, item in definition.items():
        numbers = [f for f in item.fields if f.is_numeric and not f.is_calculated]
        cumulative = [f for f in numbers if f.cumulative]
        if cumulative or numbers:
            found.append((cumulative or numbers)[0])
    return found


@dataclass
class SummaryInput:
    """What the compact summary shows, all computed by the caller."""

    unit_name: str
    period_label: str
    as_of: datetime | None
    coverage: str  # the units as a whole, in words
    values: Mapping[str, Any]
    increments: Mapping[str, Any]
    previous: Mapping[str, Any]
    coverage_by_field: Mapping[str, str]  # in words, where it differs from the whole
    targets: Sequence[Progress] = ()
    preparer: str = ""
    phone: str = ""
    # Who reviewed, the day, and whether by closing the period (else by approving).
    reviewer: str = ""
    reviewed_on: Any = None  # a date
    reviewer_closed: bool = False
    strict: bool = False
    include_submitted: bool = False


def reviewed_by(data: SummaryInput, t: Callable[[str], str]) -> str:
    """The 审核人 of the summary: who closed the period or approved the office's report,
    and when; a line to sign by hand when nobody has."""
    if not data.reviewer:
        return SIGNATURE_LINE
    day = data.reviewed_on.isoformat() if data.reviewed_on is not None else "—"
    message = REVIEWED_CLOSED if data.reviewer_closed else REVIEWED_APPROVED
    return t(message) % {"name": data.reviewer, "date": day}


class Sheets:
    """Writes the reader's sheets into an open xlsxwriter workbook (constant memory: each
    sheet top to bottom)."""

    def __init__(self, book: Any, definition: Definition, *, locale: str,
                 translate: Callable[[str], str], claim: Callable[[str], str],
                 max_rows: int, continued: dict[str, list[str]] | None = None):
        self.book, self.definition, self.locale, self.t = book, definition, locale, translate
        self.claim = claim
        # Rows of one sheet, header included: a longer list continues on a sheet of the
        # same title ("分单位 (2)"), its header repeated; *continued* records the sheets.
        self.max_rows = max_rows
        self.continued = continued if continued is not None else {}
        base = {"font_size": FONT, "valign": "top", "text_wrap": True}
        self.f_text = book.add_format({**base, "border": 1})
        self.f_number = book.add_format({**base, "border": 1, "num_format": "#,##0.##"})
        self.f_carried = book.add_format({**base, "border": 1, "num_format": "#,##0.##",
                                          "italic": True, "font_color": "#555555",
                                          "bg_color": "#EEEEEE"})
        self.f_head = book.add_format({**base, "bold": True, "border": 1,
                                       "bg_color": "#D9E1F2", "valign": "vcenter"})
        self.f_section = book.add_format({**base, "bold": True, "border": 1,
                                          "bg_color": "#F2F2F2"})
        self.f_title = book.add_format({"bold": True, "font_size": 14, "align": "center",
                                        "valign": "vcenter"})
        self.f_line = book.add_format({"font_size": FONT, "text_wrap": True, "valign": "top"})

    # -- 汇总表 ---------------------------------------------------------------------------

    def summary(self, data: SummaryInput) -> str:
        t, locale, d = self.t, self.locale, self.definition
        name = self.claim(t(SUMMARY_TABLE))
        ws = self.book.add_worksheet(name)
        last = len(SUMMARY_HEADERS) - 1
        width = sum(SUMMARY_WIDTHS)
        for col, w in enumerate(SUMMARY_WIDTHS):
            ws.set_column(col, col, w)
        row = 0
        ws.set_row(row, 24)
        ws.merge_range(row, 0, row, last, d.text("title", locale), self.f_title)
        row += 1
        lines = [t(HEAD_UNIT) % {"unit": data.unit_name}, t(HEAD_PERIOD) % {
            "period": data.period_label}]
        if data.as_of is not None:
            lines.append(t(HEAD_AS_OF) % {"time": data.as_of.strftime("%Y-%m-%d %H:%M")})
        head = "    ".join(lines)
        counted = t(HEAD_COUNTED) % {"coverage": data.coverage}
        if data.strict:
            counted += " " + t(HEAD_STRICT)
        if data.include_submitted:
            counted += " " + t(HEAD_SUBMITTED)
        for text in (head, counted):
            ws.set_row(row, height(text, width))
            ws.merge_range(row, 0, row, last, text, self.f_line)
            row += 1
        header_row = row
        ws.set_row(row, LINE * 2 + 2)
        for col, header in enumerate(SUMMARY_HEADERS):
            ws.write_string(row, col, t(header), self.f_head)
        row += 1
        targets = {p.field.key: p for p in data.targets}
        for section in d.sections:
            title = section.text("title", locale)
            ws.merge_range(row, 0, row, last, f"{section.number} {title}".strip(),
                           self.f_section)
            row += 1
            for item in section.items:
                row = self._item_rows(ws, row, item, data, targets)
        row += 1
        for text in (t(TEXTS_ELSEWHERE) % {"sheet": t(TEXTS), "parts": t(PARTS)},
                     t(SIGNED) % {"preparer": data.preparer or "—", "phone": data.phone or "—",
                                  "reviewer": reviewed_by(data, t)}):
            ws.set_row(row, height(text, width))
            ws.merge_range(row, 0, row, last, text, self.f_line)
            row += 1
        ws.freeze_panes(header_row + 1, 0)
        print_setup(ws, d.text("title", locale), t, wide=True, header_row=header_row)
        ws.print_area(0, 0, row - 1, last)
        return name

    def _item_rows(self, ws: Any, row: int, item: Item, data: SummaryInput,
                   targets: Mapping[str, Progress]) -> int:
        """The item's figures, one row each, its number and title merged down beside them."""
        numbers = [f for f in item.fields if f.is_numeric]
        if not numbers:
            return row
        title = item.text("title", self.locale)
        heights = []
        for fld in numbers:
            heights.append(max(height(fld.text("label", self.locale), SUMMARY_WIDTHS[2]),
                               height(data.coverage_by_field.get(fld.key, ""),
                                      SUMMARY_WIDTHS[7]),
                               height(self._target(targets.get(fld.key)), SUMMARY_WIDTHS[8])))
        heights[-1] += max(0.0, height(title, SUMMARY_WIDTHS[1]) - sum(heights))
        first = row
        for i, fld in enumerate(numbers):
            ws.set_row(row, heights[i])
            if i == 0:
                ws.write_string(row, 0, item.number, self.f_text)
                ws.write_string(row, 1, title, self.f_text)
            else:
                ws.write_blank(row, 0, None, self.f_text)
                ws.write_blank(row, 1, None, self.f_text)
            ws.write_string(row, 2, fld.text("label", self.locale), self.f_text)
            self._number(ws, row, 3, fld, data.values.get(fld.key))
            ws.write_string(row, 4, _unit(fld, self.locale), self.f_text)
            self._number(ws, row, 5, fld, data.increments.get(fld.key) if fld.cumulative
                         else None)
            self._number(ws, row, 6, fld, data.previous.get(fld.key))
            ws.write_string(row, 7, data.coverage_by_field.get(fld.key, ""), self.f_text)
            ws.write_string(row, 8, self._target(targets.get(fld.key)), self.f_text)
            row += 1
        if row - first > 1:
            # Merged down without rewriting the rows above (constant memory writes each
            # row once): xlsxwriter keeps merges as a list it writes out on close.
            ws.merge.append([first, 0, row - 1, 0])
            ws.merge.append([first, 1, row - 1, 1])
        return row

    def _target(self, progress: Progress | None) -> str:
        if progress is None:
            return ""
        status = self.t(STATUS_LABELS[progress.status])
        goal = format_number(progress.target.value)
        return f"{status}（{goal}）" if not self.locale.startswith("en") else f"{status} ({goal})"

    def _number(self, ws: Any, row: int, col: int, fld: FieldDef, value: Any,
                carried: bool = False) -> None:
        fmt = self.f_carried if carried else self.f_number
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            ws.write_blank(row, col, None, fmt)
        elif fld.kind is FieldKind.PERCENT:
            ws.write_number(row, col, float(value), fmt)  # percentage points, as on the form
        else:
            ws.write_number(row, col, float(value) if isinstance(value, Decimal) else value,
                            fmt)

    # -- by unit ------------------------------------------------------------------------

    def by_unit(self) -> ByUnit:
        name, ws, fields = self._by_unit_sheet()
        by_unit = ByUnit(self, ws, name, fields)
        self.continued[name] = by_unit.names
        return by_unit

    def _by_unit_sheet(self) -> tuple[str, Any, list[FieldDef]]:
        t = self.t
        fields = key_indicators(self.definition)
        name = self.claim(t(BY_UNIT))
        ws = self.book.add_worksheet(name)
        widths = [12, 22, 14, *([10] * len(fields))]
        for col, w in enumerate(widths):
            ws.set_column(col, col, w)
        labels = [t(N_("Unit code")), t(N_("Unit")), t(COUNTED),
                  *(f"{f.text('label', self.locale)}" + (f"（{_unit(f, self.locale)}）"
                                                        if _unit(f, self.locale) else "")
                    for f in fields)]
        ws.set_row(0, max(height(label, 10) for label in labels))
        for col, label in enumerate(labels):
            ws.write_string(0, col, label, self.f_head)
        ws.freeze_panes(1, 3)
        print_setup(ws, t(BY_UNIT), t, wide=sum(widths) > 90)
        return name, ws, fields

    # -- texts and parts ----------------------------------------------------------------

    def _list_sheet(self, title: str, headers: Sequence[str], widths: Sequence[float]
                    ) -> tuple[str, Any]:
        """A new sheet of one row per entry: its column widths and translated headers."""
        name = self.claim(self.t(title))
        ws = self.book.add_worksheet(name)
        for col, w in enumerate(widths):
            ws.set_column(col, col, w)
        for col, header in enumerate(headers):
            ws.write_string(0, col, self.t(header), self.f_head)
        return name, ws

    def texts(self, lists: Mapping[str, Sequence[tuple[str, str]]]) -> str:
        locale = self.locale
        sheets = _ListSheets(self, TEXTS, TEXT_HEADERS, TEXT_WIDTHS, filtered=False)
        for _, item in self.definition.items():
            for fld in item.fields:
                for unit_name, text in lists.get(fld.key, ()):
                    ws, row = sheets.next_row()
                    ws.set_row(row, height(text, TEXT_WIDTHS[4]))
                    for col, value in enumerate((item.number, item.text("title", locale),
                                                 fld.text("label", locale), unit_name, text)):
                        ws.write_string(row, col, value, self.f_text)
        return sheets.finish()

    def parts(self, provenance: Mapping[str, Sequence[Part]]) -> str:
        locale = self.locale
        sheets = _ListSheets(self, PARTS, PART_HEADERS, PART_WIDTHS, filtered=True)
        for fld in self.definition.numeric_fields():
            for part in provenance.get(fld.key, ()):
                ws, row = sheets.next_row()
                ws.write_string(row, 0, fld.key, self.f_text)
                ws.write_string(row, 1, fld.text("label", locale), self.f_text)
                ws.write_string(row, 2, part.unit_code, self.f_text)
                ws.write_string(row, 3, part.unit_name, self.f_text)
                self._number(ws, row, 4, fld, part.value, carried=bool(part.carried_from))
                if part.revision is not None:
                    ws.write_number(row, 5, part.revision, self.f_text)
                ws.write_string(row, 6, part.carried_from or "", self.f_text)
        return sheets.finish()


class _ListSheets:
    """A list of one row per entry on as many sheets of one title as its rows need."""

    def __init__(self, sheets: Sheets, title: str, headers: Sequence[str],
                 widths: Sequence[float], *, filtered: bool):
        self.sheets, self.title, self.headers, self.widths = sheets, title, headers, widths
        self.filtered = filtered
        self.names: list[str] = []
        self._start()
        sheets.continued[self.names[0]] = self.names

    def _start(self) -> None:
        name, self.ws = self.sheets._list_sheet(self.title, self.headers, self.widths)
        self.names.append(name)
        self.row = 1

    def next_row(self) -> tuple[Any, int]:
        """The sheet and row of the next entry (a new sheet when this one is full)."""
        if self.row >= self.sheets.max_rows:
            self._close()
            self._start()
        self.row += 1
        return self.ws, self.row - 1

    def _close(self) -> None:
        t = self.sheets.t
        self.ws.freeze_panes(1, 0)
        if self.filtered:
            self.ws.autofilter(0, 0, max(self.row - 1, 1), len(self.headers) - 1)
        print_setup(self.ws, t(self.title), t, wide=True)

    def finish(self) -> str:
        self._close()
        return self.names[0]


class ByUnit:
    """The by-unit sheet, one row per direct child as the reports stream past (continued
    on another by-unit sheet past the sheets' row limit)."""

    def __init__(self, sheets: Sheets, ws: Any, name: str, fields: list[FieldDef]):
        self.sheets, self.ws, self.name, self.fields = sheets, ws, name, fields
        self.names = [name]
        self.row = 1

    def add(self, unit_code: str, unit_name: str, values: Mapping[str, Any], *,
            counted: bool, carried_from: str | None) -> None:
        s, t = self.sheets, self.sheets.t
        if self.row >= max(s.max_rows - 2, 2):  # the last two rows of a sheet: the legend
            self._close()
            name, self.ws, _ = s._by_unit_sheet()
            self.names.append(name)
            self.row = 1
        ws = self.ws
        state = (t(CARRIED) % {"period": carried_from} if carried_from
                 else t(COUNTED if counted else NOT_COUNTED))
        ws.set_row(self.row, max(height(unit_name, 22), height(state, 14)))
        ws.write_string(self.row, 0, unit_code, s.f_text)
        ws.write_string(self.row, 1, unit_name, s.f_text)
        ws.write_string(self.row, 2, state, s.f_text)
        for col, fld in enumerate(self.fields, start=3):
            s._number(ws, self.row, col, fld, values.get(fld.key) if (counted or carried_from)
                      else None, carried=bool(carried_from))
        self.row += 1

    def _close(self) -> None:
        self.ws.print_area(0, 0, max(self.row - 1, 1), len(self.fields) + 2)

    def finish(self) -> None:
        """The legend two rows below the last unit."""
        legend = self.sheets.t(CARRIED_LEGEND)
        self.ws.write_string(self.row + 1, 0, legend, self.sheets.f_line)
        self.ws.print_area(0, 0, self.row + 1, len(self.fields) + 2)


def _unit(fld: FieldDef, locale: str) -> str:
    if fld.unit:
        return fld.text("unit", locale)
    return "%" if fld.kind is FieldKind.PERCENT else ""
