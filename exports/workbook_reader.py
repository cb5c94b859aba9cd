"""Reading a filled template workbook back into typed values.

:func:`read_workbook` takes the uploaded bytes and answers with a
:class:`ReadResult`: which report the workbook belongs to, the typed values
and every problem found, each with its sheet and cell. It never raises on
what it is given: a file that is not a spreadsheet, a zip bomb, a forged
identity or a workbook of another unit all come back as refusals with a
message that says what to do.

Order of the checks: size → (in a sandboxed child process, see
``exports.sandbox``: format from the content → zip safety and sheet extents →
parse with python-calamine, which reads .xlsx, .xls and .ods, also as re-saved
by Excel, WPS and LibreOffice, into plain rows) → identity sheet → signature → the report the
caller expects → the template version (``resolve``) → the form sheet and its
markers (see ``exports.identity``) → each input through
:func:`forms.values.coerce`, which accepts full-width digits, thousands
separators, numbers stored as text and "12家" (with a warning).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from python_calamine import CalamineWorkbook, PasswordError
from xlsxwriter.utility import xl_rowcol_to_cell

from exports import sandbox
from exports.cell_values import from_cell
from exports.event_sheet import EventEntries, read_event_sheet
from exports.identity import (
    IDENTITY_SHEET,
    LISTS_SHEET,
    Identity,
    cell_text,
    is_identity_sheet,
    is_slot,
    parse_identity,
    parse_marker,
)
from exports.limits import DEFAULT_LIMITS, Limits, check_size, inspect_upload
from exports.messages import CellIssue, file_error
from exports.notes_sheet import read_notes
from exports.template_workbook import CellKey
from forms.calculated import calculate
from forms.definition import Definition, FieldDef, FieldKind, Severity
from forms.issues import Issue
from forms.periods import Period
from forms.values import coerce, is_blank

log = logging.getLogger(__name__)

Resolve = Callable[[str, int], Definition | None]


@dataclass
class ReadResult:
    """What an upload holds.

    ``identity`` and ``definition`` are None when the file was refused before
    its form could be read. ``values`` holds every field found in the form
    (None when blank; attachments are never in a workbook). ``raw`` keeps
    what the cells held, to write a workbook back with the user's entries.
    ``cells`` maps (field, table row, column) to the cell reference.
    """

    filename: str
    format: str | None = None
    identity: Identity | None = None
    definition: Definition | None = None
    sheet: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    issues: list[CellIssue] = field(default_factory=list)
    cells: dict[CellKey, str] = field(default_factory=dict)
    # The 说明 sheet's notes by field key; None when the workbook has no such sheet.
    explanations: dict[str, str] | None = None
    # An event report's time and place as typed on the event sheet; None without one.
    event: EventEntries | None = None

    @property
    def ok(self) -> bool:
        """True when nothing blocks saving (warnings may remain)."""
        return self.definition is not None and not self.errors

    @property
    def refused(self) -> bool:
        """True when the file could not be matched to a report and read at all."""
        return self.definition is None

    @property
    def errors(self) -> list[CellIssue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[CellIssue]:
        return [i for i in self.issues if not i.is_error]

    def drop(self, keys: Iterable[str]) -> list[str]:
        """Forget the fields *keys* (those that do not apply to the unit): their cells are
        ignored, whatever they hold ("不适用", "/", 0). Returns those that held something."""
        keys = set(keys)
        held = [k for k in self.raw if k in keys and not is_blank(self.raw[k])
                and self.raw[k] != []]
        for key in keys:
            self.values.pop(key, None)
            self.raw.pop(key, None)
        self.issues = [i for i in self.issues if i.field not in keys]
        return held

    def cell_of(self, key: str, row: int | None = None, column: str | None = None) -> str | None:
        """The cell of a field (or of one cell of a repeating table)."""
        return self.cells.get((key, row, column)) or self.cells.get((key, None, None))

    def locate(self, issues: Iterable[Issue]) -> list[CellIssue]:
        """Place issues found later (e.g. by ``forms.validation.validate``) at their cells."""
        return [self._located(issue) for issue in issues]

    def _located(self, issue: Issue) -> CellIssue:
        definition = self.definition
        fdef = definition.field(issue.field) if definition and issue.field else None
        cell = self.cell_of(issue.field, issue.row, issue.column) if issue.field else None
        return CellIssue(
            issue.severity, issue.code, dict(issue.params), field=issue.field,
            label=fdef.label if fdef else None, label_en=fdef.label_en if fdef else None,
            sheet=self.sheet if cell else None, cell=cell, row=issue.row, column=issue.column,
        )


def read_workbook(
    data: bytes,
    filename: str,
    *,
    secret: bytes,
    resolve: Resolve,
    expected: Identity | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ReadResult:
    """Read an uploaded template workbook.

    *secret* is the server's signing key; *resolve* returns the definition of
    a template key and version, or None when it is unknown or retired;
    *expected* is the report the upload is meant for (template, unit and period
    are compared; the version may differ as long as *resolve* accepts it).
    """
    if not secret:
        raise ValueError("read_workbook needs the server's signing secret")
    result = ReadResult(filename=filename)
    try:
        _read(result, bytes(data), secret=secret, resolve=resolve, expected=expected,
              limits=limits)
    except Exception:
        # Parsers can fail in unforeseen ways on hostile files; the user gets a
        # clear refusal and the log keeps the details.
        log.exception("could not read workbook %r", filename)
        _refuse(result, file_error("corrupt_file", filename=filename))
    except BaseException as exc:  # a Rust panic surfaces as pyo3's PanicException
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        log.exception("could not read workbook %r", filename)
        _refuse(result, file_error("corrupt_file", filename=filename))
    return result


def _refuse(result: ReadResult, issue: CellIssue) -> None:
    result.identity = result.definition = result.sheet = None
    result.values, result.raw, result.cells = {}, {}, {}
    result.issues = [issue]


@dataclass(frozen=True)
class Sheets:
    """What the sandboxed parse sends back: plain rows of the sheets, in the file's order."""

    format: str
    rows: dict[str, list[list[Any]]]

    @property
    def names(self) -> list[str]:
        return list(self.rows)


def load_sheets(data: bytes, filename: str, limits: Limits) -> Sheets | CellIssue:
    """Check and parse an upload into plain rows. Runs in the sandbox child.

    The dropdown lists sheet is left out (never read); the cells of all the
    other sheets together stay within ``limits.max_cells``.
    """
    file_format, problem = inspect_upload(data, filename, limits)
    if problem is not None:
        return problem
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError:
        return file_error("password_protected", filename=filename)
    except Exception:
        return file_error("corrupt_file", filename=filename)
    rows: dict[str, list[list[Any]]] = {}
    budget = limits.max_cells
    try:
        for name in book.sheet_names:
            if name == LISTS_SHEET or name in rows:
                continue
            sheet = book.get_sheet_by_name(name)  # each sheet is loaded once
            end = sheet.end
            cells = (end[0] + 1) * (end[1] + 1) if end is not None else 0
            if cells > budget:
                return file_error("sheet_too_large", sheet=name, cell=xl_rowcol_to_cell(*end))
            budget -= cells
            rows[name] = sheet.to_python(skip_empty_area=False) if end is not None else []
    except Exception:  # damaged XML inside a readable zip, a sheet listed but missing
        return file_error("corrupt_file", filename=filename)
    return Sheets(file_format or "", rows)


# The function the sandbox runs; a module attribute so that a test can put a crasher here.
PARSER = load_sheets


def failure_issue(failure: sandbox.Failure, filename: str) -> CellIssue:
    """The refusal of a file whose parse crashed or went over its limits."""
    code = "reader_over_limit" if failure.kind == sandbox.OVER_LIMIT else "reader_crashed"
    log.warning("parsing %r failed in the sandbox: %s", filename, failure.detail)
    return file_error(code, filename=filename)


def _read(result: ReadResult, data: bytes, *, secret: bytes, resolve: Resolve,
          expected: Identity | None, limits: Limits) -> None:
    filename = result.filename
    problem = check_size(data, filename, limits)
    if problem is not None:
        return _refuse(result, problem)
    book = sandbox.run(PARSER, data, filename, limits)
    if isinstance(book, sandbox.Failure):
        return _refuse(result, failure_issue(book, filename))
    if isinstance(book, CellIssue):
        return _refuse(result, book)
    result.format = book.format

    names = book.names
    identity_rows = None
    if IDENTITY_SHEET in names:
        identity_rows = book.rows[IDENTITY_SHEET]
    else:  # the sheet was renamed, e.g. by a converter: find it by its content
        for name in names:
            if is_identity_sheet(book.rows[name]):
                identity_rows = book.rows[name]
                break
    if not identity_rows or not is_identity_sheet(identity_rows):
        return _refuse(result, file_error("no_identity", filename=filename))

    identity, pairs = parse_identity(identity_rows)
    if identity is None or not identity.verify(pairs.get("signature", ""), secret):
        return _refuse(result, file_error("bad_signature", filename=filename))
    mismatch = _mismatch(identity, expected, filename)
    if mismatch is not None:
        return _refuse(result, mismatch)
    definition = resolve(identity.template, identity.version)
    if definition is None:
        return _refuse(result, file_error("unknown_template", filename=filename,
                                          template=identity.template, version=identity.version))

    preferred = pairs.get("sheet", "")
    candidates = [preferred] if preferred in names else []
    candidates += [n for n in names if n not in (preferred, IDENTITY_SHEET, LISTS_SHEET)]
    for name in candidates:
        rows = book.rows[name]
        slots = _column_slots(rows)
        if slots:
            result.identity, result.definition, result.sheet = identity, definition, name
            _read_form(result, rows, slots, definition)
            result.explanations = read_notes(
                (book.rows[n] for n in names if n not in (name, IDENTITY_SHEET)), definition)
            if definition.is_event:
                result.event = read_event_sheet(
                    (n, book.rows[n]) for n in names if n not in (name, IDENTITY_SHEET))
            return None
    return _refuse(result, file_error("no_form_sheet", filename=filename))


def _mismatch(identity: Identity, expected: Identity | None, filename: str) -> CellIssue | None:
    if expected is None:
        return None
    if identity.template != expected.template:
        return file_error("wrong_template", filename=filename, got=identity.template,
                          expected=expected.template)
    if identity.unit != expected.unit:
        return file_error("wrong_unit", filename=filename, got=_unit(identity),
                          expected=_unit(expected))
    if identity.period != expected.period:
        params = {}
        for name, key in (("got", identity.period), ("expected", expected.period)):
            try:
                period = Period.parse(key)
                params[name], params[f"{name}_en"] = period.label("zh_CN"), period.label("en")
            except ValueError:
                params[name] = key
        return file_error("wrong_period", filename=filename, **params)
    return None


def _unit(identity: Identity) -> str:
    return f"{identity.unit_name} ({identity.unit})" if identity.unit_name else identity.unit


def _column_slots(rows: list[list[Any]]) -> dict[str, int]:
    """Slot id → column index, from the hidden ``tb:cols`` row."""
    for row in rows:
        if row and parse_marker(row[0]).kind == "cols":
            return {cell_text(v): c for c, v in enumerate(row) if c > 0 and is_slot(v)}
    return {}


@dataclass
class _TableRow:
    row: int
    columns: dict[str, int]  # column key → column index


def _read_form(result: ReadResult, rows: list[list[Any]], slots: dict[str, int],
               definition: Definition) -> None:
    sheet = result.sheet
    found: dict[str, tuple[int, int]] = {}
    tables: dict[str, list[_TableRow]] = {}
    current: tuple[str, dict[str, int]] | None = None

    for r, row in enumerate(rows):
        marker = parse_marker(row[0] if row else None)
        if marker.kind == "f":
            current = None
            for key, slot in marker.slots:
                if slot not in slots:
                    continue
                place = (r, slots[slot])
                if key in found:
                    _duplicate(result, definition, key, place, found[key])
                else:
                    found[key] = place
        elif marker.kind == "t":
            columns = {key: slots[slot] for key, slot in marker.slots if slot in slots}
            current = (marker.table, columns)
            tables.setdefault(marker.table, []).append(_TableRow(r, columns))
        elif marker.kind == "":
            if current is not None:  # a row the user inserted into a table
                tables[current[0]].append(_TableRow(r, current[1]))
            else:
                _extra_row(result, row, r)
        else:
            current = None

    cells, raws, values = result.cells, result.raw, result.values
    for fdef in definition.fields():
        key, kind = fdef.key, fdef.kind
        if kind is FieldKind.ATTACHMENT:
            continue
        place = found.get(key)
        if fdef.formula is not None:  # calculated: recomputed below, whatever the cell holds
            if place is not None:
                cells[(key, None, None)] = _cell_ref(*place)
            continue
        if kind is FieldKind.TABLE:
            if key in tables:
                _read_table(result, rows, fdef, tables[key])
                continue
        elif place is not None:
            r, c = place
            ref = _cell_ref(r, c)
            cells[(key, None, None)] = ref
            row = rows[r] if r < len(rows) else ()
            raw = from_cell(fdef, row[c] if c < len(row) else None)
            value, issues = coerce(fdef, raw)
            raws[key] = raw
            values[key] = value
            if issues:
                result.issues.extend(_at(i, fdef, sheet, ref) for i in issues)
            continue
        result.issues.append(CellIssue(Severity.ERROR, "field_missing",
                                       _label_params(fdef), field=key, label=fdef.label,
                                       label_en=fdef.label_en))
    calculated = calculate(definition, result.values)
    for fdef in definition.calculated_fields():
        result.values[fdef.key] = calculated[fdef.key]


def _read_table(result: ReadResult, rows: list[list[Any]], fdef: FieldDef,
                table_rows: list[_TableRow]) -> None:
    sheet = result.sheet
    first = table_rows[0]
    first_col = min(first.columns.values(), default=1)
    result.cells[(fdef.key, None, None)] = xl_rowcol_to_cell(first.row, first_col)
    raw_rows: list[dict[str, Any]] = []
    places: list[_TableRow] = []
    for table_row in table_rows:
        raw_row = {
            col.key: from_cell(col, _cell(rows, table_row.row, table_row.columns[col.key]))
            for col in fdef.columns if col.key in table_row.columns
        }
        if all(is_blank(v) for v in raw_row.values()):
            continue
        raw_rows.append(raw_row)
        places.append(table_row)
    for index, place in enumerate(places):
        for key, c in place.columns.items():
            result.cells[(fdef.key, index, key)] = xl_rowcol_to_cell(place.row, c)
    value, issues = coerce(fdef, raw_rows)
    result.raw[fdef.key] = raw_rows
    result.values[fdef.key] = value
    for issue in issues:
        ref = result.cell_of(fdef.key, issue.row, issue.column)
        result.issues.append(_at(issue, fdef, sheet, ref))


def _at(issue: Issue, fdef: FieldDef, sheet: str | None, cell: str | None) -> CellIssue:
    return CellIssue(issue.severity, issue.code, dict(issue.params), field=fdef.key,
                     label=fdef.label, label_en=fdef.label_en, sheet=sheet, cell=cell,
                     row=issue.row, column=issue.column)


def _label_params(fdef: FieldDef) -> dict[str, Any]:
    params: dict[str, Any] = {"label": fdef.label}
    if fdef.label_en:
        params["label_en"] = fdef.label_en
    return params


def _duplicate(result: ReadResult, definition: Definition, key: str,
               place: tuple[int, int], first: tuple[int, int]) -> None:
    fdef = definition.field(key)
    if fdef is None:
        return
    result.issues.append(CellIssue(
        Severity.WARNING, "field_duplicated",
        {**_label_params(fdef), "other": xl_rowcol_to_cell(*first)},
        field=key, label=fdef.label, label_en=fdef.label_en, sheet=result.sheet,
        cell=xl_rowcol_to_cell(*place),
    ))


def _extra_row(result: ReadResult, row: list[Any], r: int) -> None:
    for c, value in enumerate(row):
        if c > 0 and not is_blank(value):
            result.issues.append(CellIssue(
                Severity.WARNING, "extra_row_ignored", {"row": r + 1},
                sheet=result.sheet, cell=xl_rowcol_to_cell(r, c),
            ))
            return


@lru_cache(maxsize=4096)
def _cell_ref(row: int, col: int) -> str:
    """The reference ("C12") of a cell the markers place: the same few in every upload."""
    return xl_rowcol_to_cell(row, col)


def _cell(rows: list[list[Any]], r: int, c: int) -> Any:
    if r < len(rows):
        row = rows[r]
        if c < len(row):
            return row[c]
    return None
