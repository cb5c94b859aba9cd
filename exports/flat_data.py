"""The reports of a subtree as flat rows (one per unit × field), and as CSV.

The input model is plain data that the server builds from the database: one
:class:`UnitReport` per unit below the consolidator, in tree order, typically
from a generator so that 10,000 units stream through without being held at
once. Flat rows are what a pivot table wants: unit code, name, parent, level,
period, template version, item number, field key and label, the value, the
本期新增 increment of cumulative fields and the unit of measure.

Reports of different template versions merge by field key: a field's label
comes from the consolidator's definition when it knows the key, otherwise from
the definition of the version the unit reported under.

The CSV is UTF-8 with a byte-order mark, so Excel and WPS open Chinese text
right, and text cells that a spreadsheet would run as a formula are prefixed
with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from exports.cell_values import choice_label, to_cell, yes_no_labels
from forms.applicability import Applicability, applicability
from forms.consolidation import UNANSWERED, Counts, TallyEntry
from forms.definition import Definition, FieldDef, FieldKind
from forms.i18n import N_
from forms.issues import Issue
from forms.validation import increments
from forms.values import format_number

# The value of a field that does not apply to the unit (applies_when).
NOT_APPLICABLE = N_("Not applicable")
# The status of a unit with no report for the period (as the server names it).
NOT_STARTED = "not_started"
BOM = "\ufeff"
# What a spreadsheet may read as the start of a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_CSV_BATCH = 500


@dataclass(frozen=True)
class UnitReport:
    """One unit of the subtree with its report for the period (or none).

    ``depth`` is 1 for the consolidator's direct children, 2 below them, and so
    on. ``values`` and ``previous`` are typed values (see ``forms.values``);
    ``previous`` is the unit's report of ``previous_period``, the latest earlier
    period it reported, from which the 本期新增 increments are derived.
    ``included`` says whether the report counts in the consolidated figures
    (e.g. a submitted but not yet approved report when only approved ones do).
    A unit that has not reported has status :data:`NOT_STARTED` and no values.
    """

    unit_code: str
    unit_name: str
    parent_code: str | None
    depth: int
    period: str
    template: str
    version: int | None = None
    status: str = NOT_STARTED
    submitted_at: datetime | None = None
    late: bool = False
    submitter: str = ""
    phone: str = ""
    revision: int | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    previous: Mapping[str, Any] | None = None
    previous_period: str | None = None
    issues: Sequence[Issue] = ()
    included: bool = True
    # 说明 beside flagged figures (corrections, outliers), by field key
    explanations: Mapping[str, str] = field(default_factory=dict)
    tags: frozenset[str] | None = None  # the unit's tags (None: not known)
    # Who approved the report, and so acknowledged its explained figures, and when.
    acknowledged_by: str = ""
    acknowledged_at: datetime | None = None
    # Not counted this period: ``values`` are its cumulative figures carried forward
    # from its approved report of this period (they count in the totals, like for like).
    carried_from: str | None = None
    carried_version: int | None = None  # the template version of the carried report

    @property
    def has_report(self) -> bool:
        return self.status != NOT_STARTED

    def applicability(self, definition: Definition) -> Applicability:
        """What of *definition* applies to this unit, given its tags and answers."""
        return applicability(definition, self.tags, self.values)


class FlatRow(NamedTuple):
    unit_code: str
    unit_name: str
    parent_code: str
    level: int
    period: str
    version: int | None
    item_number: str
    field_key: str
    field_label: str
    value: Any  # str, int, float or date: what goes into the cell
    increment: int | float | None
    unit: str
    explanation: str = ""  # the unit's 说明 beside a flagged figure
    carried_from: str = ""  # the period a carried-forward value comes from
    # Level 0 rows of the consolidated figures: who is in each (forms.consolidation.Counts).
    applies: int | None = None
    counted: int | None = None
    carried: int | None = None
    never: int | None = None


# Column headers of the flat data, in FlatRow order.
FLAT_HEADERS: tuple[str, ...] = (
    N_("Unit code"),
    N_("Unit"),
    N_("Parent unit code"),
    N_("Level"),
    N_("Period"),
    N_("Template version"),
    N_("Item"),
    N_("Field key"),
    N_("Field"),
    N_("Value"),
    N_("New this period"),
    N_("Unit of measure"),
    N_("Explanation"),
    N_("Carried forward from"),
    N_("Units it applies to"),
    N_("Counted this period"),
    N_("Units carried forward"),
    N_("Units never reported"),
)


class FieldResolver:
    """Finds a field by key across template versions, the consolidator's first."""

    def __init__(self, definition: Definition, versions: Mapping[int, Definition] | None = None):
        self.definition = definition
        self.versions = dict(versions or {})
        self.versions.setdefault(definition.version, definition)
        self._item_numbers: dict[int, dict[str, str]] = {}
        self._row_fields: dict[tuple[int, str], list[_RowField]] = {}

    def for_version(self, version: int | None) -> Definition:
        """The definition a report of *version* was made with (the main one if unknown)."""
        if version is None:
            return self.definition
        return self.versions.get(version, self.definition)

    def label_field(self, key: str, own: FieldDef) -> FieldDef:
        """The field whose labels name *key*: the consolidator's when it has one."""
        return self.definition.field(key) or own

    def item_number(self, definition: Definition, key: str) -> str:
        numbers = self._item_numbers.get(id(definition))
        if numbers is None:
            numbers = {f.key: item.number for _, item in definition.items() for f in item.fields}
            self._item_numbers[id(definition)] = numbers
        return numbers.get(key, "")

    def row_fields(self, own: Definition, locale: str) -> list[_RowField]:
        """What the flat rows of a report made with *own* repeat for each field: its
        item number, key, label and unit of measure in *locale*, worked out once per
        version and locale rather than once per unit × field."""
        cache_key = (id(own), locale)
        found = self._row_fields.get(cache_key)
        if found is None:
            found = self._row_fields[cache_key] = []
            for fld in data_fields(own):
                named = self.label_field(fld.key, fld)
                found.append(_RowField(
                    fld, fld.key,
                    self.item_number(self.definition, fld.key) or self.item_number(own, fld.key),
                    named.text("label", locale), unit_of_measure(named, locale),
                    fld.cumulative))
        return found


class _RowField(NamedTuple):
    fld: FieldDef
    key: str
    item_number: str
    label: str
    unit: str
    cumulative: bool


def data_fields(definition: Definition) -> list[FieldDef]:
    """The fields that make flat rows: the items' fields (the header's reporter and
    phone are contact details, listed on the completeness sheet instead)."""
    return [f for _, item in definition.items() for f in item.fields]


def unit_rows(report: UnitReport, resolver: FieldResolver, locale: str,
              translate: Callable[[str], str] = lambda s: s) -> Iterator[FlatRow]:
    """The flat rows of one unit: one per field it gave a value for, and one saying
    不适用 for each field that does not apply to it (distinct from an empty answer, and
    never a number a pivot table would add)."""
    if not report.values:
        return
    version = report.carried_version if report.carried_from else report.version
    own = resolver.for_version(version)
    scope = report.applicability(own)
    grown = increments(own, report.values, report.previous, period=report.period,
                       previous_period=report.previous_period)
    values, explanations = report.values, report.explanations
    code, name, parent = report.unit_code, report.unit_name, report.parent_code or ""
    depth, period, carried = report.depth, report.period, report.carried_from or ""
    off = None
    for fld, key, item_number, label, unit, cumulative in resolver.row_fields(own, locale):
        if scope.applies(key):
            value = values.get(key)
            if value is None:
                continue
            yield FlatRow(
                code, name, parent, depth, period, version, item_number, key, label,
                flat_value(fld, value, locale),
                _number(grown.get(key)) if cumulative else None,
                unit,
                str(explanations.get(key) or "").strip() if explanations else "",
                carried,
            )
        else:
            if off is None:
                off = translate(NOT_APPLICABLE)
            yield FlatRow(code, name, parent, depth, period, version, item_number, key, label,
                          off, None, unit, "", carried)


def flat_rows(
    definition: Definition,
    reports: Iterable[UnitReport],
    *,
    versions: Mapping[int, Definition] | None = None,
    locale: str = "zh_CN",
    translate: Callable[[str], str] = lambda s: s,
) -> Iterator[FlatRow]:
    """Every unit's flat rows, in the order of *reports*."""
    resolver = FieldResolver(definition, versions)
    for report in reports:
        yield from unit_rows(report, resolver, locale, translate)


NOT_ANSWERED = N_("Not answered")
UNITS_COUNTED = N_("units")


def tally_answer(fld: FieldDef, option: str, locale: str,
                 translate: Callable[[str], str] = lambda s: s) -> str:
    """One answer of a tally as shown: 是/否, a choice label, or "not answered"."""
    if option == UNANSWERED:
        return translate(NOT_ANSWERED)
    if fld.kind is FieldKind.YESNO:
        yes, no = yes_no_labels(locale)
        return yes if option == "yes" else no
    return choice_label(fld, option, locale)


def tally_rows(
    definition: Definition,
    tallies: Mapping[str, Sequence[TallyEntry]],
    *,
    unit_code: str,
    unit_name: str,
    period: str,
    locale: str = "zh_CN",
    translate: Callable[[str], str] = lambda s: s,
) -> Iterator[FlatRow]:
    """The consolidating unit's tallies as flat rows (level 0): one per field and answer,
    labelled "field：answer", the value being how many units gave it. Which units they
    are is in their own rows of the same field key."""
    separator = ": " if locale.startswith("en") else "："
    resolver = FieldResolver(definition)
    for fld in data_fields(definition):
        for entry in tallies.get(fld.key, ()):
            yield FlatRow(
                unit_code, unit_name, "", 0, period, definition.version,
                resolver.item_number(definition, fld.key), fld.key,
                fld.text("label", locale) + separator
                + tally_answer(fld, entry.option, locale, translate),
                entry.count, None, translate(UNITS_COUNTED),
            )


def total_rows(
    definition: Definition,
    values: Mapping[str, Any],
    grown: Mapping[str, Any],
    coverage: Mapping[str, Counts],
    *,
    unit_code: str,
    unit_name: str,
    period: str,
    locale: str = "zh_CN",
) -> Iterator[FlatRow]:
    """The consolidating unit's numeric figures as flat rows (level 0), each with who is
    in it: the units it applies to, counted this period, carried forward, never reported."""
    resolver = FieldResolver(definition)
    for fld in data_fields(definition):
        counts = coverage.get(fld.key)
        if counts is None or not fld.is_numeric:
            continue
        value = values.get(fld.key)
        yield FlatRow(
            unit_code, unit_name, "", 0, period, definition.version,
            resolver.item_number(definition, fld.key), fld.key, fld.text("label", locale),
            None if value is None else flat_value(fld, value, locale),
            _number(grown.get(fld.key)) if fld.cumulative else None,
            unit_of_measure(fld, locale), "", "",
            counts.applies, counts.reported, counts.carried, counts.never,
        )


def unit_of_measure(fld: FieldDef, locale: str) -> str:
    if fld.unit:
        return fld.text("unit", locale)
    return "%" if fld.kind is FieldKind.PERCENT else ""


def flat_value(fld: FieldDef, value: Any, locale: str) -> Any:
    """A typed value as one flat cell.

    Percentages stay in percentage points (85 for 85 %, with the unit "%"), so
    that a pivot table sums and averages them in the same units as the form.
    A repeating table becomes one line per row.
    """
    if fld.kind is FieldKind.PERCENT and isinstance(value, int | Decimal):
        return _number(value)
    if fld.kind is FieldKind.TABLE and isinstance(value, list):
        return "\n".join(_table_row(fld, row, locale) for row in value if isinstance(row, Mapping))
    if fld.kind is FieldKind.ATTACHMENT and isinstance(value, Mapping):
        return str(value.get("name", ""))
    return to_cell(fld, value, locale)


def _table_row(fld: FieldDef, row: Mapping[str, Any], locale: str) -> str:
    parts = []
    for col in fld.columns:
        cell = to_cell(col, row.get(col.key), locale)
        if cell is not None:
            shown = cell.isoformat() if isinstance(cell, date) else format_number(cell)
            parts.append(f"{col.text('label', locale)}: {shown}")
    return "; ".join(parts)


def _number(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# -- CSV ----------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """*text* made inert for spreadsheets: a leading formula character gets a ``'``."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_cell(value: Any) -> str:
    """One CSV cell: numbers as plain digits, dates as ISO, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return neutralise(str(value))
    if isinstance(value, int | float | Decimal):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return format_number(Decimal(repr(value)) if isinstance(value, float) else value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def flat_csv(
    definition: Definition,
    reports: Iterable[UnitReport],
    *,
    versions: Mapping[int, Definition] | None = None,
    locale: str = "zh_CN",
    translate: Callable[[str], str] = lambda s: s,
) -> Iterator[str]:
    """The flat rows as CSV text chunks: a BOM and the header first, then batches of rows.

    Encode the chunks as UTF-8 (e.g. in a streamed HTTP response).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(translate(h)) for h in FLAT_HEADERS])
    yield BOM + _drain(buffer)
    pending = 0
    for row in flat_rows(definition, reports, versions=versions, locale=locale,
                         translate=translate):
        writer.writerow([csv_cell(v) for v in row])
        pending += 1
        if pending >= _CSV_BATCH:
            yield _drain(buffer)
            pending = 0
    if pending:
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
