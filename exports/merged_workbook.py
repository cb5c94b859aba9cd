"""The merged workbook of a consolidator: one .xlsx for a unit, template and period.

Sheets, in tab order:

0. With a ``summary`` (the server always gives one): the reader's sheets of
   ``exports.summary_sheets`` — the compact 汇总表 first, then (after the official
   form below) by unit, texts and parts.
1. **Summary** — the official form (the layout of ``exports.template_workbook``)
   filled with the consolidated values, the previous period's figures beside
   the cumulative ones, ready to print, sign and seal.
   **Targets** (when the form has any) — each of the plan's targets judged on
   the consolidated figures (``forms.targets``): target, deadline, value, status.
2. **Completeness** — every unit of the subtree: status, whether it counts in
   the totals, submitted at, late, submitter, phone, revision, version.
3. **Validation issues** — every unit's issues, rendered in the reader's language, with
   the unit's 说明 beside a corrected or unusual figure.
4. **Data** — one row per unit × field across all descendants, with an
   autofilter, ready for a pivot table (continued on "Data (2)"… past Excel's
   1,048,576 rows).
5. **Answers counted** — when the form has yes/no or choice fields: for each
   field and answer, how many children gave it and which ones (the tallies of
   ``forms.consolidation``).
6. One sheet per direct child, in the official layout with its report.

**No sheet is cut.** Every sheet that grows with the units — completeness, issues,
explanations, data, and the reader's by-unit, texts and parts sheets — goes on,
past Excel's 1,048,576 rows (``EXCEL_MAX_ROWS``, or the ``max_rows`` given), on a
sheet of the same translated title ("明细数据 (2)"…) with the header row repeated;
``MergedWorkbook.sheets_of`` lists them.

**Near XlsxWriter's floor.** The flat rows repeat each field's item number, label
and unit worked out once per template version and locale (``FieldResolver.row_fields``),
and a table row goes to XlsxWriter's undecorated writers with formats resolved once
per sheet; only unusual cells (dates, Decimals, long or multi-line text) take the
general ``write_cell`` path. ``bench/merged.py`` measures the distance.

Calculated fields (rates) are real formulas over the consolidated input cells
in the summary (and over the child's cells in a child's sheet), with the
server's value as the cached result: a rate is recomputed, never summed.

**Constant memory.** The workbook is written in XlsxWriter's ``constant_memory``
mode: each sheet keeps only its current row in memory and flushes the rows
before it to a temporary file, so 10,000 units cost no more memory than 100.
That mode needs every sheet written row by row, top to bottom, while the
official-layout writer (``_FormWriter``) goes back to earlier rows (the item
number is merged down over the indicator rows once they are written). So the
layout sheets are first *recorded* — every cell, row height and merge of one
sheet, a few hundred calls — then *replayed* sorted by row into the streaming
sheet; a merge that spans rows is registered and its cells written row by row.
Memory is one layout sheet at a time.

The reports arrive once, as an iterator in tree order. Each report is written
straight away to the completeness, issues and data sheets (each streaming
sheet advances on its own), and a direct child's layout sheet is added when its
report passes. That is why the child sheets come last in tab order — which also
keeps the four overview sheets at hand when there are many children. Past
``max_child_sheets`` children (a workbook with thousands of tabs helps nobody
and each streaming sheet holds a temporary file open) the remaining children
are only in the data sheet; the completeness sheet says where each child is.

Strings are always written as strings, never as formulas; numbers as numbers.
Labels follow the locale: the caller's *translate* for the workbook's own
texts, the definitions' ``*_en`` texts for the form's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from math import isfinite
from typing import IO, Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_range

from exports.figure_notes import NOTE_HEADERS, NOTES, note_rows
from exports.flat_data import (
    FLAT_HEADERS,
    FieldResolver,
    UnitReport,
    data_fields,
    tally_answer,
    unit_rows,
)
from exports.identity import Identity
from exports.summary_sheets import Sheets, SummaryInput, print_setup
from exports.template_workbook import _FormWriter
from forms.applicability import Applicability
from forms.consolidation import Part, TallyEntry
from forms.definition import Definition, FieldKind, Severity
from forms.i18n import N_
from forms.periods import SHANGHAI
from forms.targets import KIND_LABELS, Progress
from forms.targets import STATUS_LABELS as STATUS_LABELS_TARGET
from forms.targets import summary as target_summary

EXCEL_MAX_ROWS = 1_048_576
SHEET_NAME_MAX = 31
CELL_TEXT_MAX = 32_767 // 2  # characters; Excel counts UTF-16 units, up to 2 per character
DEFAULT_MAX_CHILD_SHEETS = 200
_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})

SUMMARY = N_("Summary")
# Under the summary's period: the units in its figures.
COUNTED_UNITS = N_("Units counted: %(coverage)s")
CARRIED_FROM = N_("Carried forward from %(period)s")
COMPLETENESS = N_("Completeness")
ISSUES = N_("Validation issues")
DATA = N_("Data")
PERIOD_STATUS = N_("Period status")
PERIOD_STATUS_HEADERS = (N_("Unit"), N_("Period"), N_("Closed"), N_("Closed at"),
                         N_("Closed by"), N_("Closed for"))
CLOSED_YES, CLOSED_NO = N_("Closed"), N_("Open, not closed")

COMPLETENESS_HEADERS: tuple[str, ...] = (
    N_("Unit code"),
    N_("Unit"),
    N_("Parent unit code"),
    N_("Level"),
    N_("Status"),
    N_("Counted in the totals"),
    N_("Submitted at"),
    N_("Late"),
    N_("Submitted by"),
    N_("Phone"),
    N_("Revision"),
    N_("Template version"),
    N_("Sheet"),
)
ISSUE_HEADERS: tuple[str, ...] = (
    N_("Unit code"),
    N_("Unit"),
    N_("Severity"),
    N_("Field key"),
    N_("Field"),
    N_("Table row"),
    N_("Message"),
    N_("The unit's explanation"),
)
STATUS_LABELS: dict[str, str] = {
    "not_started": N_("Not reported"),
    "draft": N_("Draft"),
    "submitted": N_("Submitted"),
    "returned": N_("Returned"),
    "approved": N_("Approved"),
}
SEVERITY_LABELS = {Severity.ERROR: N_("Error"), Severity.WARNING: N_("Warning")}
YES, NO = N_("Yes"), N_("No")
ONLY_IN_DATA = N_("in the data sheet only")
TALLIES = N_("Answers counted")
TALLY_HEADERS: tuple[str, ...] = (
    N_("Field key"),
    N_("Field"),
    N_("Answer"),
    N_("Units"),
    N_("Which units"),
)
DATA_WIDTHS = (12, 24, 12, 6, 9, 8, 6, 18, 36, 16, 12, 10, 40, 12, 10, 10, 10, 10)
TARGETS = N_("Targets")
TARGET_HEADERS: tuple[str, ...] = (
    N_("Item"),
    N_("Indicator"),
    N_("Kind of target"),
    N_("Target"),
    N_("Deadline"),
    N_("Current value"),
    N_("Status"),
    N_("Progress"),
)


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class ClosedPeriod:
    """A closing in force over the merged unit's period, as the workbook states it."""

    unit_name: str  # the unit it was closed for (the merged one or one above)
    closed_at: str  # local time, as shown to people
    closed_by: str


@dataclass
class MergedWorkbook:
    """What was written: sheet names and where the summary's values are."""

    summary_sheet: str
    summary_cells: dict[str, str]  # field key -> cell such as "F12"
    child_sheets: dict[str, str] = field(default_factory=dict)  # unit code -> sheet
    child_cells: dict[str, dict[str, str]] = field(default_factory=dict)  # unit code -> cells
    data_sheets: list[str] = field(default_factory=list)
    completeness_sheet: str = ""
    issues_sheet: str = ""
    notes_sheet: str = ""  # the 说明 beside flagged figures, with their acknowledgement
    tallies_sheet: str = ""
    targets_sheet: str = ""
    summary_table_sheet: str = ""  # the compact 汇总表, first in tab order
    by_unit_sheet: str = ""
    texts_sheet: str = ""
    parts_sheet: str = ""
    status_sheet: str = ""
    data_rows: int = 0
    units: int = 0
    # A sheet that outgrew Excel's rows -> all its sheets in order ("Data", "Data (2)", …);
    # every sheet that grows with the units continues this way, its header repeated.
    continued: dict[str, list[str]] = field(default_factory=dict)

    def sheets_of(self, first: str) -> list[str]:
        """*first* and the sheets it continues on (just *first* when it did not overflow)."""
        return self.continued.get(first, [first])


def write_merged_workbook(
    output: str | os.PathLike[str] | IO[bytes],
    definition: Definition,
    *,
    unit_code: str,
    unit_name: str,
    period: str,
    consolidated: Mapping[str, Any],
    reports: Iterable[UnitReport],
    previous_consolidated: Mapping[str, Any] | None = None,
    previous_period: str | None = None,
    versions: Mapping[int, Definition] | None = None,
    locale: str = "zh_CN",
    translate: Callable[[str], str] = _same,
    max_child_sheets: int = DEFAULT_MAX_CHILD_SHEETS,
    tallies: Mapping[str, Sequence[TallyEntry]] | None = None,
    targets: Sequence[Progress] = (),
    coverage: Mapping[str, str] | None = None,
    coverage_overall: str = "",
    summary: SummaryInput | None = None,
    lists: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    provenance: Mapping[str, Sequence[Part]] | None = None,
    closed: ClosedPeriod | None = None,
    progress: Callable[[int], None] | None = None,
    max_rows: int | None = None,
) -> MergedWorkbook:
    """Write the merged workbook of *unit_code* for *period* to *output*.


    *consolidated* holds the consolidator's figures (typed values, e.g.
    ``forms.consolidation.consolidate(...).values`` or the office's edited
    report); *reports* every unit below, in tree order, each once. *versions*
    maps template versions to their definitions so that reports made under
    another version are labelled and laid out by their own form. *output* is a
    path or a binary file object (streaming needs a real file system for its
    temporary files; an in-memory workbook would defeat constant memory).
    *targets* is the progress of the plan's targets on the consolidated figures.
    *coverage_overall* says which units are in the figures ("17 个单位：4 个本期已计入，
    9 个沿用上期，4 个从未报送"), under the summary's period; *coverage* says it per
    figure, for the figures where it differs, in a note beside the figure. With
    *summary*, the reader's sheets of ``exports.summary_sheets`` come first (汇总表,
    by unit) and the texts (*lists*) and the figures' parts (*provenance*) follow.
    A *closed* period is stated on the period status sheet (an open one says it is
    not closed). *progress* is called with the number of units written so far after
    each unit (a background job shows it as a progress bar). *max_rows* is the rows
    of one sheet, header included (Excel's limit): a table longer than that continues
    on further sheets named after it ("数据 (2)"), each with the header row
    (default: :data:`EXCEL_MAX_ROWS`).
    """
    writer = _MergedWriter(
        output, definition, unit_code=unit_code, unit_name=unit_name, period=period,
        versions=versions, locale=locale, translate=translate,
        max_child_sheets=max_child_sheets,
    )
    writer.tallies = tallies or {}
    writer.targets = list(targets)
    writer.coverage = dict(coverage or {})
    writer.coverage_overall = coverage_overall
    writer.summary, writer.lists, writer.provenance = summary, lists or {}, provenance or {}
    writer.closed = closed
    writer.progress = progress
    writer.max_rows = max(2, max_rows or EXCEL_MAX_ROWS)
    return writer.write(consolidated, previous_consolidated, previous_period, reports)


class _MergedWriter:
    def __init__(
        self,
        output: Any,
        definition: Definition,
        *,
        unit_code: str,
        unit_name: str,
        period: str,
        versions: Mapping[int, Definition] | None,
        locale: str,
        translate: Callable[[str], str],
        max_child_sheets: int,
    ):
        self.output = output
        self.definition = definition
        self.unit_code = unit_code
        self.unit_name = unit_name
        self.period = period
        self.resolver = FieldResolver(definition, versions)
        self.locale = locale
        self.t = translate
        self.max_child_sheets = max(0, max_child_sheets)
        self.names = _SheetNames()
        self.formats: dict[tuple, Any] = {}
        self.tallies: Mapping[str, Sequence[TallyEntry]] = {}
        self.targets: list[Progress] = []
        self.coverage: dict[str, str] = {}
        self.coverage_overall = ""
        self.summary: SummaryInput | None = None
        self.lists: Mapping[str, Sequence[tuple[str, str]]] = {}
        self.provenance: Mapping[str, Sequence[Part]] = {}
        self.closed: ClosedPeriod | None = None
        self.progress: Callable[[int], None] | None = None
        self.max_rows = EXCEL_MAX_ROWS
        self.continued: dict[str, list[str]] = {}

    def write(
        self,
        consolidated: Mapping[str, Any],
        previous_consolidated: Mapping[str, Any] | None,
        previous_period: str | None,
        reports: Iterable[UnitReport],
    ) -> MergedWorkbook:
        self.book = xlsxwriter.Workbook(self.output, {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        })
        try:
            return self._write_sheets(consolidated, previous_consolidated, previous_period,
                                      reports)
        finally:
            self.book.close()

    def _write_sheets(
        self,
        consolidated: Mapping[str, Any],
        previous_consolidated: Mapping[str, Any] | None,
        previous_period: str | None,
        reports: Iterable[UnitReport],
    ) -> MergedWorkbook:
        reader = by_unit = None
        table_name = ""
        if self.summary is not None:
            reader = Sheets(self.book, self.definition, locale=self.locale, translate=self.t,
                            claim=self.names.claim, max_rows=self.max_rows,
                            continued=self.continued)
            table_name = reader.summary(self.summary)
        summary_name = self.names.claim(self.t(SUMMARY))
        banner = (self.t(COUNTED_UNITS) % {"coverage": self.coverage_overall}
                  if self.coverage_overall else "")
        summary = self._layout_sheet(
            summary_name, self.definition, self.unit_code, self.unit_name, consolidated,
            previous_consolidated, previous_period, comments=True, notes=self.coverage,
            banner=banner,
        )
        result = MergedWorkbook(summary_name, summary.field_cells())
        if reader is not None:
            result.summary_table_sheet = table_name
            by_unit = reader.by_unit()
            result.by_unit_sheet = by_unit.name
            result.texts_sheet = reader.texts(self.lists)
            result.parts_sheet = reader.parts(self.provenance)
        self.book.get_worksheet_by_name(table_name or summary_name).activate()

        self.text = self.book.add_format({"text_wrap": False, "valign": "top"})
        self.wrapped = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.date_format = self.book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
        self.time_format = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm",
                                                 "valign": "top"})
        if self.targets:
            result.targets_sheet = self._targets_sheet()
        completeness = self._table(COMPLETENESS, COMPLETENESS_HEADERS,
                                   (12, 24, 12, 6, 10, 10, 17, 6, 12, 15, 8, 8, 24))
        issues = self._table(ISSUES, ISSUE_HEADERS, (12, 24, 8, 18, 30, 8, 70, 40))
        data = self._table(DATA, FLAT_HEADERS, DATA_WIDTHS)
        notes = self._table(NOTES, NOTE_HEADERS, (12, 24, 6, 18, 30, 12, 60, 50, 14, 17))
        result.completeness_sheet, result.issues_sheet = completeness.name, issues.name
        result.notes_sheet = notes.name
        if any(self.tallies.values()):
            result.tallies_sheet = self._tally_sheet()

        for report in reports:
            result.units += 1
            if self.progress is not None:
                self.progress(result.units)
            if by_unit is not None and report.depth == 1:
                by_unit.add(report.unit_code, report.unit_name, report.values,
                            counted=report.included and report.has_report,
                            carried_from=report.carried_from)
            sheet = self._child_sheet(report, result)
            self._completeness_row(completeness, report, sheet)
            self._issue_rows(issues, report)
            for note in note_rows(report, self.resolver, self.locale, self.t):
                notes.add([*note[:-1], _local_time(note.acknowledged_at)], self)
            for row in unit_rows(report, self.resolver, self.locale, self.t):
                data.add(row, self)
                result.data_rows += 1
        for table in (completeness, issues, notes, data):
            table.finish()
        if by_unit is not None:
            by_unit.finish()
        result.data_sheets = list(data.names)
        result.status_sheet = self._status_sheet()
        result.continued = {names[0]: list(names) for names in self.continued.values()
                            if len(names) > 1}
        return result

    def _status_sheet(self) -> str:
        """Whether the period was closed, when, by whom and for which unit."""
        table = self._table(PERIOD_STATUS, PERIOD_STATUS_HEADERS, (24, 12, 16, 18, 14, 24))
        closed = self.closed
        table.add([self.unit_name, self.period,
                   self.t(CLOSED_YES) if closed else self.t(CLOSED_NO),
                   closed.closed_at if closed else "", closed.closed_by if closed else "",
                   closed.unit_name if closed else ""], self)
        table.finish()
        return table.name

    def _tally_sheet(self) -> str:
        table = self._table(TALLIES, TALLY_HEADERS, (18, 36, 14, 8, 70))
        separator = ", " if self.locale.startswith("en") else "、"
        for fld in data_fields(self.definition):
            for entry in self.tallies.get(fld.key, ()):
                table.add([fld.key, fld.text("label", self.locale),
                           tally_answer(fld, entry.option, self.locale, self.t), entry.count,
                           separator.join(p.unit_name or p.unit_code for p in entry.units)],
                          self)
        table.finish()
        return table.name

    # -- official-layout sheets --------------------------------------------------

    def _layout_sheet(self, name, definition, code, unit_name, values, previous,
                      previous_period, *, comments: bool,
                      off: Applicability | None = None,
                      notes: Mapping[str, str] | None = None,
                      banner: str = "") -> _LayoutWriter:
        layout = _LayoutWriter(
            definition, Identity(definition.key, definition.version, code, self.period, unit_name),
            secret=b"", locale=self.locale, translate=self.t, values=values or {},
            previous=previous or {}, previous_period=previous_period, table_rows=1,
        )
        if off is not None:  # a unit's own sheet: what does not apply to it reads 不适用
            layout.off, layout.on_answers = off, {}
        layout.field_notes = dict(notes or {})
        layout.banner = banner
        layout.write_sheet(self.book, name, self.formats, comments=comments)
        return layout

    def _child_sheet(self, report: UnitReport, result: MergedWorkbook) -> str | None:
        """The direct child's layout sheet, when it reported and the cap allows one."""
        if report.depth != 1 or not report.has_report:
            return None
        if len(result.child_sheets) >= self.max_child_sheets:
            return self.t(ONLY_IN_DATA)
        name = self.names.claim(report.unit_name or report.unit_code)
        definition = self.resolver.for_version(report.version)
        # A report that does not count shows nothing; figures carried forward for it are
        # another period's, listed in the data sheet with where they come from.
        shown = {} if report.carried_from else report.values
        layout = self._layout_sheet(
            name, definition, report.unit_code,
            report.unit_name, shown, report.previous, report.previous_period,
            comments=False, off=report.applicability(definition),
        )
        result.child_sheets[report.unit_code] = name
        result.child_cells[report.unit_code] = layout.field_cells()
        return name

    def _targets_sheet(self) -> str:
        table = self._table(TARGETS, TARGET_HEADERS, (8, 30, 14, 10, 12, 12, 10, 70))
        t = self.t
        for item in self.targets:
            section_item = self.definition.item_of(item.field.key)
            table.add([
                section_item.number if section_item else "",
                item.field.text("label", self.locale),
                t(KIND_LABELS[item.kind]),
                item.target.value,
                item.deadline,
                item.value,
                t(STATUS_LABELS_TARGET[item.status]),
                target_summary(item, t, self.locale, self.definition),
            ], self)
        table.finish()
        return table.name

    # -- streaming tables ------------------------------------------------------------

    def _table(self, title: str, headers: tuple[str, ...], widths: tuple[int, ...]) -> _Table:
        """A streaming table sheet, continued on a sheet of the same title when full."""
        table = _Table(self._table_sheet(title, headers, widths), len(headers), widths,
                       limit=self.max_rows,
                       more=lambda: self._table_sheet(title, headers, widths))
        self.continued[table.names[0]] = table.names
        return table

    def _table_sheet(self, title: str, headers: tuple[str, ...], widths: tuple[int, ...]) -> Any:
        ws = self.book.add_worksheet(self.names.claim(self.t(title)))
        bold = self.formats.get(("table-header",))
        if bold is None:
            bold = self.formats[("table-header",)] = self.book.add_format(
                {"bold": True, "bg_color": "#D9E1F2", "border": 1, "valign": "vcenter"})
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        for col, header in enumerate(headers):
            ws.write_string(0, col, self.t(header), bold)
        ws.freeze_panes(1, 0)
        print_setup(ws, self.t(title), self.t, wide=sum(widths) > 90)
        return ws

    def _completeness_row(self, table: _Table, report: UnitReport, sheet: str | None) -> None:
        t = self.t
        status = STATUS_LABELS.get(report.status)
        submitted = _local_time(report.submitted_at)
        table.add([
            report.unit_code,
            report.unit_name,
            report.parent_code or "",
            report.depth,
            t(status) if status else report.status,
            (t(CARRIED_FROM) % {"period": report.carried_from} if report.carried_from
             else t(YES if report.included and report.has_report else NO)),
            submitted,
            t(YES if report.late else NO),
            report.submitter,
            report.phone,
            report.revision,
            report.version,
            sheet or "",
        ], self)

    def _issue_rows(self, table: _Table, report: UnitReport) -> None:
        definition = self.resolver.for_version(report.version)
        for issue in report.issues:
            fld = definition.field(issue.field) if issue.field else None
            if fld is not None:
                fld = self.resolver.label_field(fld.key, fld)
            table.add([
                report.unit_code,
                report.unit_name,
                self.t(SEVERITY_LABELS.get(issue.severity, str(issue.severity))),
                issue.field or "",
                fld.text("label", self.locale) if fld is not None else "",
                issue.row + 1 if issue.row is not None else None,
                issue.render(self.t, self.locale),
                report.explanations.get(issue.field, "") if issue.needs_figure_note else "",
            ], self)

    def write_cell(self, ws: Any, row: int, col: int, value: Any) -> None:
        """One cell of a streaming table: strings as strings, numbers as numbers."""
        if value is None or value == "":
            return
        if isinstance(value, str):
            value = clip_cell_text(value)
            ws.write_string(row, col, value, self.wrapped if "\n" in value else self.text)
        elif isinstance(value, bool):
            ws.write_string(row, col, str(value), self.text)
        elif isinstance(value, int | float | Decimal):
            ws.write_number(row, col, float(value) if isinstance(value, Decimal) else value)
        elif isinstance(value, datetime):
            ws.write_datetime(row, col, value, self.time_format)
        elif isinstance(value, date):
            ws.write_datetime(row, col, value, self.date_format)
        else:
            ws.write_string(row, col, str(value), self.text)


class _Table:
    """A streaming sheet with a header row: rows are appended, never revisited. Past
    *limit* rows (header included) it goes on in the sheet *more* makes."""

    def __init__(self, ws: Any, width: int, widths: tuple[int, ...], *,
                 limit: int = EXCEL_MAX_ROWS, more: Callable[[], Any] | None = None):
        self.width = width
        self.widths = widths
        self.limit = limit
        self.more = more
        self.names: list[str] = []
        self._start(ws)

    def _start(self, ws: Any) -> None:
        self.ws = ws
        # XlsxWriter's own undecorated writers (what its write_row calls): the public ones
        # first parse the arguments for "A1" notation, for every cell.
        self.write_string = getattr(ws, "_write_string", ws.write_string)
        self.write_number = getattr(ws, "_write_number", ws.write_number)
        self.rows = _RowWriter.for_sheet(ws)
        self.names.append(ws.get_name())
        self.row = 1

    @property
    def name(self) -> str:
        return self.names[0]

    def add(self, cells: Sequence[Any], writer: _MergedWriter) -> None:
        """One row. A row of plain cells (text, int, float) is serialised at once by
        :class:`_RowWriter`; otherwise the common cells go straight to XlsxWriter's
        undecorated writers and anything else takes ``write_cell``'s way. All three
        write the same cell with the same format."""
        if self.row >= self.limit:
            if self.more is None:
                raise ValueError(f"sheet {self.ws.get_name()!r} is full")
            self.finish()
            self._start(self.more())
        row = self.row
        text, wrapped = writer.text, writer.wrapped
        if self.rows is not None and self.rows.write(row, cells, text, wrapped):
            self.row = row + 1
            return
        write_string, write_number = self.write_string, self.write_number
        for col, value in enumerate(cells):
            kind = value.__class__
            if kind is str:
                if not value:
                    continue
                if len(value) > CELL_TEXT_MAX:
                    value = clip_cell_text(value)
                write_string(row, col, value, wrapped if "\n" in value else text)
            elif kind is int or kind is float:
                write_number(row, col, value)
            elif value is not None:
                writer.write_cell(self.ws, row, col, value)
        self.row = row + 1

    def finish(self) -> None:
        self.ws.autofilter(0, 0, max(self.row - 1, 1), self.width - 1)


# What XlsxWriter would escape or mark in an inline string (``xmlwriter._escape_data``,
# ``_escape_control_characters`` and ``utility._preserve_whitespace``): a string with any
# of these leaves the row to XlsxWriter itself.
_NOT_PLAIN = re.compile(r"^\s|\s$|[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")


class _RowWriter:
    """One row of plain cells of a constant-memory sheet, serialised in one go.

    XlsxWriter's constant-memory mode keeps the current row as a dict of cell tuples
    and, when the next row starts, turns each cell into XML through several calls
    (dimensions, type dispatch, attribute escaping, the cell reference): most of the
    time of a long data sheet. A table row is known whole when it is added, so this
    writes the very XML XlsxWriter writes for it (``<row r=…>``, inline strings with
    their format's index, numbers as ``%.16G``) straight to the sheet's row file, after
    letting XlsxWriter flush any row it holds. Only rows it can write exactly are
    taken: text without anything to escape, finite numbers, blanks; no row format,
    height or comment. Any other row is left to XlsxWriter (``write`` answers False).
    """

    def __init__(self, ws: Any):
        self.ws = ws
        self.refs: list[str] = []

    @classmethod
    def for_sheet(cls, ws: Any) -> _RowWriter | None:
        """A writer for *ws*, or None when it is not a sheet this class knows to write."""
        needed = ("fh", "previous_row", "row_info", "comments", "col_info",
                  "_write_single_row", "_check_dimensions")
        if not getattr(ws, "constant_memory", False) or not all(
                hasattr(ws, name) for name in needed):
            return None
        if getattr(ws, "excel_version", 2007) == 2010:
            return None  # rows carry x14ac attributes there
        return cls(ws)

    def _ref(self, col: int) -> str:
        refs = self.refs
        while len(refs) <= col:
            refs.append(xl_col_to_name(len(refs)))
        return refs[col]

    def write(self, row: int, cells: Sequence[Any], text: Any, wrapped: Any) -> bool:
        ws = self.ws
        if (row in ws.row_info or row in ws.comments or row <= ws.previous_row
                or ws.default_row_height != ws.original_row_height):
            return False
        ws._write_single_row(row)  # the row XlsxWriter holds (the header) goes first
        number = str(row + 1)
        parts = []
        first = last = -1
        col_info = ws.col_info
        for col, value in enumerate(cells):
            kind = value.__class__
            if kind is str:
                if not value:
                    continue
                if len(value) > CELL_TEXT_MAX:
                    value = clip_cell_text(value)
                if _NOT_PLAIN.search(value):
                    return False
                style = (wrapped if "\n" in value else text)._get_xf_index()
                parts.append(f'<c r="{self._ref(col)}{number}" s="{style}" t="inlineStr">'
                             f"<is><t>{value}</t></is></c>")
            elif kind is int or kind is float:
                if kind is float and not isfinite(value):
                    return False
                info = col_info.get(col)
                if info is not None and info.column_format is not None:
                    return False
                parts.append(f'<c r="{self._ref(col)}{number}"><v>{value:.16G}</v></c>')
            elif value is None:
                continue
            else:
                return False
            if first < 0:
                first = col
            last = col
        if first < 0:
            return True  # nothing to write: XlsxWriter writes no row either
        ws._check_dimensions(row, first)
        ws._check_dimensions(row, last)
        ws.fh.write(f'<row r="{number}">{"".join(parts)}</row>')
        return True


def clip_cell_text(value: Any) -> Any:
    """Text cut to what one Excel cell holds, ending in "…" so the cut shows.

    A consolidated narrative lists every unit below; for thousands of units
    it outgrows a cell, and the full texts stay in the data sheet.
    """
    if isinstance(value, str) and len(value) > CELL_TEXT_MAX:
        return value[:CELL_TEXT_MAX - 1] + "…"
    return value


def _local_time(moment: datetime | None) -> datetime | None:
    """A stored (UTC) moment as Beijing wall-clock time, which Excel shows as is."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


class _SheetNames:
    """Valid, unique worksheet names (Excel compares them case-insensitively)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, wanted: str) -> str:
        base = " ".join(wanted.translate(_FORBIDDEN).split()).strip("'").strip()
        base = base[:SHEET_NAME_MAX].strip() or "Sheet"
        name, n = base, 1
        while name.casefold() in self.taken or name.casefold() == "history":
            n += 1
            suffix = f" ({n})"
            name = base[:SHEET_NAME_MAX - len(suffix)].rstrip() + suffix
        self.taken.add(name.casefold())
        return name


# -- the official layout, recorded and replayed row by row -------------------------------


class _LayoutWriter(_FormWriter):
    """The template's form writer turned into a read-only report sheet.

    Inputs become plain bordered cells (no data validation, no protection, no
    hidden marker cells: this workbook is read and printed, not uploaded).
    """

    def write_sheet(self, book: Any, name: str, formats: dict[tuple, Any], *,
                    comments: bool) -> None:
        self.book = book
        self._formats = formats  # shared, so a thousand sheets reuse a few dozen formats
        self.sheet_name = name
        real = book.add_worksheet(name)
        self.ws = _Recorder(real, comments=comments)
        self._write_form()
        self._write_formulas()
        self.ws.replay()
        self.ws = real

    def field_cells(self) -> dict[str, str]:
        """Field key -> the cell holding its value (repeating tables: their title)."""
        return {key: ref for (key, row, _), ref in self.cells.items() if row is None}

    def input_fmt(self, kind: FieldKind) -> Any:
        props: dict[str, Any] = {"border": 1, "num_format": self.input_fmt_num(kind)}
        if kind is FieldKind.DATE:
            props.update(num_format="yyyy-mm-dd", align="left")
        elif kind in (FieldKind.TEXT, FieldKind.LONGTEXT):
            props.update(num_format="@", valign="top")
        return self.fmt(**props)

    def _validation(self, column: Any) -> None:
        return None

    def _write_value(self, row: int, col: int, value: Any, cell_format: Any) -> None:
        super()._write_value(row, col, clip_cell_text(value), cell_format)

    def _attachment_note(self, row: int, col: int) -> None:
        self.ws.write_blank(row, col, None, self.label_fmt())


# Worksheet calls that concern one row (or a range of rows) and so must be replayed in order.
_ROW_CALLS = frozenset({"write_string", "write_number", "write_blank", "write_datetime",
                        "write", "write_formula", "set_row", "write_comment"})
# Those of them that write one cell, with an undecorated twin taking the same arguments.
_CELL_CALLS = ("write_string", "write_number", "write_blank", "write_datetime", "write_formula")
# Calls a read-only report leaves out.
_DROPPED_CALLS = frozenset({"protect", "data_validation"})


def _recorded(name: str) -> Any:
    """A recorder's method for the row-bound worksheet call *name*, made once per class."""

    def record(self: _Recorder, row: int, *args: Any, **kwargs: Any) -> int:
        calls = self._calls
        calls.append((row, len(calls), name, (row, *args), kwargs))
        return 0
    return record


class _Recorder:
    """Stands in for a worksheet: records row-bound calls, forwards the others."""

    def __init__(self, ws: Any, *, comments: bool):
        self._ws = ws
        self._comments = comments
        self._calls: list[tuple[int, int, str, tuple, dict]] = []

    def __getattr__(self, name: str) -> Any:
        if name in _DROPPED_CALLS:
            return lambda *args, **kwargs: None
        if name in _ROW_CALLS:
            return _recorded(name).__get__(self)
        return getattr(self._ws, name)

    # The calls a form makes hundreds of times, recorded without a closure made per call
    # (the others go through ``__getattr__`` above and are recorded the same way). The
    # reader's markers (row 0, column A) are left out here already, as replay would.
    def write_string(self, row: int, *args: Any, **kwargs: Any) -> int:
        if row == 0 or (args and args[0] == 0):
            return 0
        calls = self._calls
        calls.append((row, len(calls), "write_string", (row, *args), kwargs))
        return 0

    write_blank = _recorded("write_blank")
    write_number = _recorded("write_number")
    set_row = _recorded("set_row")

    def merge_range(self, r1: int, c1: int, r2: int, c2: int, data: Any, fmt: Any = None) -> int:
        self._calls.append((r1, len(self._calls), "merge_range", (r1, c1, r2, c2, data, fmt), {}))
        return 0

    def replay(self) -> None:
        ws = self._ws
        # The cell writers behind the public ones (which first look for "A1" notation:
        # the form writer always gives row and column numbers).
        plain = {name: getattr(ws, "_" + name, getattr(ws, name)) for name in _CELL_CALLS}
        calls = sorted(self._calls, key=lambda call: (call[0], call[1]))
        kept = [call for call in _split_merges(calls)
                if not (call[2] == "write_comment" and not self._comments)
                and not _is_marker(call[2], call[3])]
        # Without comments (whose shapes are placed by the row heights XlsxWriter keeps)
        # a row can be serialised whole; the last one stays with XlsxWriter, which writes
        # it on closing, when its formats may be numbered for the first time.
        rows = None if self._comments else _LayoutRows.for_sheet(ws)
        start = 0
        while start < len(kept):
            end = start + 1
            while end < len(kept) and kept[end][0] == kept[start][0]:
                end += 1
            group = kept[start:end]
            if rows is None or end == len(kept) or not rows.write(group):
                for _row, _seq, name, args, kwargs in group:
                    if name == "merge_rows":
                        _register_merge(ws, *args)
                    elif name in plain and not kwargs and args[0].__class__ is int:
                        plain[name](*args)
                    else:
                        getattr(ws, name)(*args, **kwargs)
            start = end
        self._calls.clear()


class _LayoutRows:
    """A replayed layout row serialised whole, as XlsxWriter would write it.

    The row's calls are known at once (sorted by row), so instead of storing each cell
    for XlsxWriter to turn into XML when the next row starts, the cells are resolved
    here (the last call on a cell wins, a blank without a format is no cell), the row
    tag is XlsxWriter's own (``_write_row``, from what ``set_row`` stored) and the cells
    are written in column order. A row with anything else — a formula, a date, a
    comment, row options or a format, text to escape, a cell outside the sheet's
    column formats — returns False and is replayed call by call.
    """

    def __init__(self, ws: Any):
        self.ws = ws
        self.refs: list[str] = []

    @classmethod
    def for_sheet(cls, ws: Any) -> _LayoutRows | None:
        rows = _RowWriter.for_sheet(ws)
        return cls(ws) if rows is not None and hasattr(ws, "_write_row") else None

    def _ref(self, col: int) -> str:
        refs = self.refs
        while len(refs) <= col:
            refs.append(xl_col_to_name(len(refs)))
        return refs[col]

    def write(self, calls: list[tuple]) -> bool:
        ws = self.ws
        row = calls[0][0]
        if row <= ws.previous_row or row in ws.row_info or row in ws.comments:
            return False
        cells: dict[int, tuple[str, Any, Any]] = {}
        height: tuple | None = None
        merges: list[tuple] = []
        dims: tuple[int, ...] = ()  # columns merge_range checks even without a cell
        for _row, _seq, name, args, kwargs in calls:
            if kwargs:
                return False
            if name == "set_row":
                if len(args) > 3 or (len(args) == 3 and args[2] is not None):
                    return False
                height = args
                continue
            if name == "merge_rows":
                merges.append(args)
                continue
            if name == "merge_range":  # one row (merges over rows arrive split)
                r1, c1, r2, c2, value, fmt = args
                if r1 != row or r2 != row or c1 >= c2:
                    return False
                merges.append((r1, c1, r2, c2, True))
                dims += (c1, c2)
                if fmt is not None:  # XlsxWriter stores no blank without a format
                    for col in range(c1 + 1, c2 + 1):
                        cells[col] = ("blank", None, fmt)
                name, args = "write", (r1, c1, value, fmt)
            if name not in _LAYOUT_CELLS or len(args) != 4 or args[0] != row:
                return False
            _, col, value, fmt = args
            if name == "write_blank" or (name == "write" and value == ""):
                if fmt is not None:
                    cells[col] = ("blank", None, fmt)
                continue
            kind = value.__class__
            if kind is str and name in ("write_string", "write"):
                if len(value) > ws.xls_strmax // 2 or _NOT_PLAIN.search(value):
                    return False
                cells[col] = ("text", value, fmt)
            elif (kind is int or kind is float) and name in ("write_number", "write"):
                if kind is float and not isfinite(value):
                    return False
                cells[col] = ("number", value, fmt)
            else:
                return False
        if not cells:
            return False
        for col, (_kind, _value, fmt) in cells.items():
            if fmt is None:
                info = ws.col_info.get(col)
                if info is not None and info.column_format is not None:
                    return False
        for r1, c1, _r2, c2, *checked in merges:
            if checked and any((r1, c) in ws.merged_cells for c in range(c1, c2 + 1)):
                return False  # an overlap: XlsxWriter says so
        ws._write_single_row(row)  # the row XlsxWriter holds goes first
        for r1, c1, r2, c2, *checked in merges:
            if checked:
                ws._check_dimensions(r1, c1)
                ws._check_dimensions(r2, c2)
                cell_range = xl_range(r1, c1, r2, c2)
                for col in range(c1, c2 + 1):
                    ws.merged_cells[(r1, col)] = cell_range
            _register_merge(ws, r1, c1, r2, c2)
        info = None
        if height is not None:
            ws.set_row(*height)
            info = ws.row_info.pop(row)  # written here, not again when the next row starts
        columns = sorted(cells)
        ws._check_dimensions(row, min((columns[0], *dims)))
        ws._check_dimensions(row, max((columns[-1], *dims)))
        ws._write_row(row, None, info)
        number = str(row + 1)
        parts = []
        for col in columns:
            kind, value, fmt = cells[col]
            style = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
            ref = self._ref(col) + number
            if kind == "text":
                parts.append(f'<c r="{ref}"{style} t="inlineStr"><is><t>{value}</t></is></c>')
            elif kind == "number":
                parts.append(f'<c r="{ref}"{style}><v>{value:.16G}</v></c>')
            else:
                parts.append(f'<c r="{ref}"{style}/>')
        parts.append("</row>")
        ws.fh.write("".join(parts))
        return True


# The cell calls a layout row may be serialised with (each as (row, col, value, format)).
_LAYOUT_CELLS = frozenset({"write_string", "write_number", "write_blank", "write"})


def _is_marker(name: str, args: tuple) -> bool:
    """The template's hidden row 0 and column A hold reader markers, not content."""
    if not name.startswith("write") or name == "write_comment":
        return False
    return args[0] == 0 or args[1] == 0


def _split_merges(calls: list[tuple]) -> list[tuple]:
    """Multi-row merges as a registration plus cells at each row, re-sorted by row."""
    if not any(name == "merge_range" and args[0] != args[2] for _, _, name, args, _ in calls):
        return calls
    out = []
    for row, seq, name, args, kwargs in calls:
        if name != "merge_range" or args[0] == args[2]:
            out.append((row, seq, name, args, kwargs))
            continue
        r1, c1, r2, c2, data, fmt = args
        out.append((r1, seq, "merge_rows", (r1, c1, r2, c2), {}))
        out.append((r1, seq, "write", (r1, c1, data, fmt), {}))
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                if (r, c) != (r1, c1):
                    out.append((r, seq, "write_blank", (r, c, None, fmt), {}))
    return sorted(out, key=lambda call: (call[0], call[1]))


def _register_merge(ws: Any, r1: int, c1: int, r2: int, c2: int) -> None:
    """Declare a merged range whose cells are written separately, row by row.

    ``merge_range`` writes the whole block at once, which in constant-memory
    mode would flush the rows below before their other cells are written;
    XlsxWriter keeps merges as a plain list it writes out on close.
    """
    ws.merge.append([r1, c1, r2, c2])
