"""The consolidated numeric figures of a subtree, from each report's packed vector.

The same rules as :mod:`forms.consolidation` (one definition: the property tests
compare both), computed from ``reports.figures`` (one packed vector of a report's
numbers per row, :func:`server.services.report_values.pack`), so that a province's
figures never bring its JSON documents, nor one row per figure, into Python:

* the children of the unit are the nearest reporting units below it (one query of
  ids and paths; the ids go back to the database in one parameter on SQLite, written
  into the statement as one array constant on PostgreSQL);
* a total aggregates the children's counted reports (approved, or submitted too
  with the switch) by each field's rule; a field that did not apply to a child is
  never counted, not even as zero;
* a cumulative figure of a child whose report does not count is carried forward
  from its latest approved report within the field's span (like for like);
* 本期新增 compares the same units in both periods; the units whose own figure fell
  are fetched on demand (:func:`unit_falls`);
* calculated fields are recomputed from the consolidated inputs.

Why vectors rather than ``report_values``' rows added up by the database: a
period of 100,000 units is 5.2 million rows there (one per report and field), and
reading that many rows is seconds on any engine (SQLite's ``GROUP BY`` alone sorts
them all: 9-20 s on this project's machine). Here each child is one row of about half
a kilobyte: the period's reports are read once (tens of megabytes), and each field is
a strided slice of an ``array('q')``, added up, counted and compared in C
(:class:`_Pile`); the sums are exact Python integers of millionths. The number of
statements depends on the template, never on the subtree; memory stays bounded (the
vectors are added up a chunk at a time). Yes/no and choice tallies and text lists are
not numbers: they stay with :mod:`forms.consolidation`.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain, compress
from operator import lt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    String,
    and_,
    cast,
    event,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from forms.calculated import calculate
from forms.consolidation import MEAN_PLACES, Counts, raw_inputs
from forms.definition import Aggregation, CumulativeSpan, Definition, FieldDef, same_span
from forms.periods import Period
from forms.validation import increments as increments_of
from server.models import TemplateVersion, Unit, UnitPlacement, UnitTag
from server.models.reporting import Assignment, Report, Status
from server.services.assignments import assignment_periods, version_for
from server.services.owing import owing_units
from server.services.report_values import (
    ABSENT,
    BLANK,
    OFF,
    SCALE,
    from_micros,
    pack_rows,
    packed_size,
    stored_fields,
    unpack,
)

AGGREGATED = (Aggregation.SUM, Aggregation.MIN, Aggregation.MAX, Aggregation.MEAN,
              Aggregation.LAST)


@dataclass(frozen=True)
class UnitFall:
    """A child's own cumulative figure lower than its latest approved one before."""

    unit_id: int
    field_key: str
    value: Any
    previous: Any
    previous_period: str


@dataclass
class Rollup:
    """The numeric figures of one unit's subtree for one period."""

    period: str
    previous_period: str | None
    children: int  # the nearest reporting units below
    counted: int  # of which counted with a report of the period
    carried_units: int  # of which not counted but carrying cumulative figures forward
    values: dict[str, Any] = field(default_factory=dict)  # totals and calculated fields
    counts: dict[str, Counts] = field(default_factory=dict)  # who is in each total
    previous_values: dict[str, Any] = field(default_factory=dict)
    increments: dict[str, Any] = field(default_factory=dict)
    falls: list[UnitFall] | None = None  # with ``falls=True``: as :func:`unit_falls`
    # With ``over=True``, per calculated field: how many counted children gave every
    # input, and the ids of the first :data:`OVER_LISTED` of them in tree order.
    over: dict[str, tuple[int, list[int]]] | None = None


@dataclass
class _Sums:
    """Per field: the aggregates of one query's rows, in millionths."""

    total: int = 0
    least: int | None = None
    most: int | None = None
    parts: int = 0
    blank: int = 0
    off: int = 0
    last: tuple[int, int] | None = None  # (position in tree order, micros)

    def merge(self, other: _Sums) -> _Sums:
        least = [v for v in (self.least, other.least) if v is not None]
        most = [v for v in (self.most, other.most) if v is not None]
        lasts = [v for v in (self.last, other.last) if v is not None]
        return _Sums(self.total + other.total, min(least) if least else None,
                     max(most) if most else None, self.parts + other.parts,
                     self.blank + other.blank, self.off + other.off,
                     max(lasts) if lasts else None)


def _pg_array(ids: Sequence[int]) -> Any:
    """*ids* as one PostgreSQL integer array constant, written into the statement when it
    runs (a literal-execute parameter: the compiled statement stays cached without it).

    A constant, unlike a bound parameter cast to ``integer[]``, is known to the planner:
    it counts the elements of an ``unnest`` and turns ``column = ANY(array)`` into one
    hash table probed per row (PostgreSQL 14+) instead of a scan of the array per row.
    (psycopg's per-element adaptation of a list would cost about a second for 100,000 ids.)
    """
    text = "{" + ",".join(map(str, map(int, ids))) + "}"  # int: digits only, nothing else
    return cast(literal(text, type_=String, literal_execute=True), ARRAY(Integer))


def ids_in(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """*column* IN *ids*, whatever their number, in one statement: on PostgreSQL a test
    against a hashed array constant, on SQLite a JSON array (one bound parameter) read by
    ``json_each``."""
    if session.get_bind().dialect.name == "postgresql":
        return column == func.any(_pg_array(ids))
    return column.in_(select(_json_ids(ids).c.value))


def _json_ids(ids: Iterable[int]) -> Any:
    """SQLite: *ids* as a table (column ``value``), the list one JSON parameter read by
    ``json_each``."""
    return func.json_each(json.dumps(list(ids))).table_valued("value")


def _id_rows(ids: Sequence[int]) -> Any:
    """SQLite: a derived table of *ids* (column ``id``, :func:`_json_ids`): what a query
    joins its rows to, unit by unit, through an index (instead of testing each of its
    rows against a list). In id order, so that the index is walked forwards (in tree
    order the probes jump about the index: at 100,000 units reading the reports took
    twice as long); the rows' order never matters."""
    table = _json_ids(sorted(ids))
    return select(table.c.value.label("id")).subquery("kids")


class _Listed:
    """The rows of a query restricted to units of a list, in the form each database runs
    best over a province's 100,000 units.

    SQLite joins the list (a derived table, :func:`_id_rows`) unit by unit to the index of
    the rows; PostgreSQL tests each row against the list as a hashed array constant
    (``unit_id = ANY('{…}')``): the plan is then the floor's own (a scan of the period's
    rows, taken as they come), where a join let the planner hash millions of rows and
    probe them with the list."""

    def __init__(self, session: Session, ids: Sequence[int]):
        self.ids = list(ids)
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self.rows = None if self.postgresql else _id_rows(self.ids)

    def restrict(self, query: Any, entity: Any, column: Any) -> Any:
        """*query* over *entity*, limited to the rows whose *column* is listed."""
        if self.postgresql:
            return query.where(column == func.any(_pg_array(self.ids)))
        return query.join_from(self.rows, entity, column == self.rows.c.id)


def unit_paths(session: Session, assignment: Assignment, unit: Unit, period: str
               ) -> Iterator[tuple[int, str]]:
    """(id, path) of *unit* and the units below it owing *period*, in tree order (path
    order: a unit's subtree follows it), read as plain rows with the subtree's bounds
    read first (:func:`~server.services.owing.owing_units` with a session)."""
    if session.autoflush:
        session.flush()
    return _rows(session.connection(), owing_units(assignment, period, unit, session=session)
                 .with_only_columns(Unit.id, UnitPlacement.path))


def child_ids(session: Session, assignment: Assignment, unit: Unit, period: str) -> list[int]:
    """The ids of the nearest reporting units below *unit* owing *period*, in tree order
    (one query of ids and paths, no objects).

    In path order a unit's subtree follows it: a unit is a child unless it lies below
    the last child found, one string comparison each."""
    found: list[int] = []
    last: str | None = None
    root = unit.id
    for unit_id, path in unit_paths(session, assignment, unit, period):
        if unit_id == root or (last is not None and path.startswith(last)):
            continue
        found.append(unit_id)
        last = path
    return found


def _counted_statuses(include_submitted: bool) -> list[str]:
    return [Status.APPROVED, Status.SUBMITTED] if include_submitted else [Status.APPROVED]


def _in_span(fields: Iterable[FieldDef], period: str, column: Any, key_column: Any
             ) -> ColumnElement[bool]:
    """SQL: the row's period (*column*) is within its field's span as seen from *period*
    (a year-span field: the same calendar year; period keys start with the year)."""
    yearly = [f.key for f in fields if f.cumulative_span is CumulativeSpan.YEAR]
    if not yearly:
        return literal(True)
    year = f"{Period.parse(period).year:04d}"
    return or_(key_column.not_in(yearly),
               and_(column >= year, column < f"{int(year) + 1:04d}"))



def _mask(keep: Callable[[int], bool]) -> bytes:
    """A ``bytes.translate`` table reading each flag byte of a column as 1 (in) or 0."""
    return bytes(1 if keep(flag) else 0 for flag in range(256))


_APPLYING = _mask(lambda flag: flag == 0)  # a value, and the field applied
_NUMBER = _mask(lambda flag: not flag & (BLANK | ABSENT))  # a value, applying or not


def _both(first: bytes, second: bytes) -> bytes:
    """Two masks of 0/1 bytes, 1 where both are: in C, as two large integers."""
    return (int.from_bytes(first, "little") & int.from_bytes(second, "little")
            ).to_bytes(len(first), "little")


def _numbers(raw: bytes | bytearray) -> array:
    """Packed little-endian millionths as an ``array('q')``."""
    numbers = array("q")
    numbers.frombytes(raw)
    if sys.byteorder == "big":  # pragma: no cover - every machine it runs on is little
        numbers.byteswap()
    return numbers


class _Pile:
    """The vectors of some reports (in the roll-up's field order), added up field by field.

    Vectors are appended as they are read and added up every :attr:`CHUNK` reports, so
    memory stays bounded whatever the subtree. Joined end to end they are one array of
    64-bit words (:func:`~server.services.report_values.packed_size`), so a field is a
    column: a strided slice of the numbers (``array('q')``) and of the flag bytes.
    Which reports a column counts is a 0/1 mask made by ``bytes.translate`` of its flags
    (*counts*: an applying value, or any value for the like-for-like figure before,
    which is the unit's figure whatever applied then), and with *gated* only where the
    same unit's vector of the period (appended alongside, row by row) has an applying
    value. Sums (``sum``: exact integers), counts (``bytes.count``), least and most
    (``min``/``max`` of ``itertools.compress``) and the last in tree order run in C, with
    no Python loop over the reports."""

    CHUNK = 8192

    def __init__(self, width: int, columns: Mapping[str, int], *, counts: bytes = _APPLYING,
                 extremes: bool = False, lasts: Collection[str] = (), gated: bool = False):
        self.width, self.columns, self.counts = width, dict(columns), counts
        self.extremes, self.lasts, self.gated = extremes, set(lasts) & set(columns), gated
        self.vectors: list[bytes] = []
        self.gates: list[bytes] = []
        self.positions = array("q")
        self.sums: dict[str, _Sums] = {}

    def add(self, vector: bytes, position: int = 0, gate: bytes | None = None) -> None:
        """One report's vector (*position*: its unit's place in tree order, for a field
        whose rule is the last; *gate*: the flags of its unit's vector of the period, as
        :meth:`_Layout.flags` gives them)."""
        self.vectors.append(vector)
        if self.gated:
            self.gates.append(gate)
        if self.lasts:
            self.positions.append(position)
        if len(self.vectors) >= self.CHUNK:
            self._add_up()

    def result(self) -> dict[str, _Sums]:
        """Per field key, the aggregates of every vector appended (keys no report has
        are left out)."""
        self._add_up()
        return self.sums

    def _add_up(self) -> None:
        rows, width = len(self.vectors), self.width
        if not rows:
            return
        size = packed_size(width)
        joined = b"".join(self.vectors)
        numbers, gates = _numbers(joined), b"".join(self.gates)
        for key, at in self.columns.items():
            column, flag = numbers[at::size // 8], joined[8 * width + at::size]
            if flag.count(ABSENT) == rows:
                continue  # a field of none of these reports' versions
            mask = flag.translate(self.counts)
            if self.gated:
                mask = _both(mask, gates[at::size - 8 * width].translate(_APPLYING))
            parts = mask.count(1)
            sums = _Sums(sum(column) if parts == rows else sum(compress(column, mask)),
                         parts=parts, blank=flag.count(BLANK),
                         off=flag.count(OFF) + flag.count(OFF | BLANK))
            if self.extremes and parts:
                sums.least = min(compress(column, mask))
                sums.most = max(compress(column, mask))
            if key in self.lasts and parts:
                sums.last = max(compress(zip(self.positions, column, strict=True), mask))
            self.sums[key] = self.sums[key].merge(sums) if key in self.sums else sums
        self.vectors, self.gates, self.positions = [], [], array("q")


OVER_LISTED = 50  # ids of the units a calculated figure is over, kept by the roll-up


class _Over:
    """Per calculated field, the counted children whose vector of the period gave every
    input (an applying value in each column): a 0/1 mask per input column by
    ``bytes.translate``, combined as large integers, counted and compressed in C."""

    def __init__(self, layout: _Layout, definition: Definition):
        self.layout, self.width = layout, layout.width
        self.inputs = {fld.key: [layout.index.get(key) for key in raw_inputs(definition, fld)]
                       for fld in definition.calculated_fields()}
        self.vectors: list[bytes] = []
        self.positions: list[int] = []
        self.found = {key: (0, []) for key in self.inputs}

    def add(self, vector: bytes, position: int) -> None:
        self.vectors.append(vector)
        self.positions.append(position)
        if len(self.vectors) >= _Pile.CHUNK:
            self._count()

    def result(self) -> dict[str, tuple[int, list[int]]]:
        self._count()
        return self.found

    def _count(self) -> None:
        rows, size = len(self.vectors), self.layout.size
        if not rows:
            return
        joined = b"".join(self.vectors)
        for key, columns in self.inputs.items():
            if not columns or None in columns:
                continue  # an input no report stores: no child gives it
            gave = -1
            for at in columns:
                gave &= int.from_bytes(joined[8 * self.width + at::size].translate(_APPLYING),
                                       "little")
            mask = gave.to_bytes(rows, "little")
            count, first = self.found[key]
            self.found[key] = (count + mask.count(1), sorted(
                [*first, *compress(self.positions, mask)])[:OVER_LISTED])
        self.vectors, self.positions = [], []


def _merged(*found: dict[str, _Sums]) -> dict[str, _Sums]:
    out: dict[str, _Sums] = {}
    for sums in found:
        for key, part in sums.items():
            out[key] = out[key].merge(part) if key in out else part
    return out


class _Layout:
    """Vectors in the roll-up's field order (the stored fields of the template version of
    the period): a report of another version is re-ordered by field key, which keeps its
    meaning across versions (a field its version lacks is :data:`ABSENT`)."""

    def __init__(self, session: Session, version: TemplateVersion):
        self.version_id = version.id
        self.keys = [f.key for f in stored_fields(version.definition)]
        self.index = {key: at for at, key in enumerate(self.keys)}
        self.width = len(self.keys)
        self.size = packed_size(self.width)
        # Where each other version of the template keeps these fields, read up front: no
        # version is looked up while the reports stream (on PostgreSQL their connection is
        # busy until the last row).
        self.maps: dict[int, list[int | None]] = {
            other.id: self._where(other) for other in session.scalars(
                select(TemplateVersion).where(TemplateVersion.key == version.key,
                                              TemplateVersion.id != version.id))}

    def _where(self, other: TemplateVersion) -> list[int | None]:
        """Per field of this order, its place in *other*'s vectors (None: not stored)."""
        theirs = {f.key: at for at, f in enumerate(stored_fields(other.definition))}
        return [theirs.get(key) for key in self.keys]

    def columns(self, fields: Iterable[FieldDef]) -> dict[str, int]:
        return {f.key: self.index[f.key] for f in fields}

    def flags(self, vector: bytes) -> bytes:
        """The flag bytes of a vector in this order (with their padding)."""
        return vector[8 * self.width:]

    def vector(self, version_id: int, figures: bytes | None) -> bytes:
        """A report's vector in this order (as stored, when it is of this version)."""
        if version_id == self.version_id and figures is not None \
                and len(figures) == self.size:
            return figures
        where = self.maps[version_id]  # a report is on a version of its template
        if figures is None:  # a report never given figures (no save yet): none stored
            return pack_rows(None for _ in self.keys)
        numbers, flags = unpack(figures)
        return pack_rows(None if at is None or flags[at] & ABSENT else {
            "micros": None if flags[at] & BLANK else numbers[at],
            "applies": not flags[at] & OFF} for at in where)


_STREAMING = "tianbao.rollup.streaming"


@event.listens_for(Engine, "before_cursor_execute")
def _not_while_streaming(connection: Any, *_args: Any) -> None:
    """Refuse a statement on a connection whose roll-up rows are still streaming."""
    if connection.info.get(_STREAMING):
        raise RuntimeError("a statement on a connection still streaming a roll-up's rows")


def _rows(connection: Any, query: Any) -> Iterator[tuple]:
    """The rows of *query* as the driver gives them (plain tuples, no result processing:
    every column read here is an integer, a string or bytes), streamed a chunk at a time.

    PostgreSQL: in binary format (a vector's bytes as they are; the text format would send
    them hex-encoded, twice the size, and decode them again) and streamed in chunks of rows
    by libpq (``Cursor.stream``), which unlike a server-side cursor (``DECLARE``) lets the
    planner scan in parallel and needs no round trip per chunk; memory stays one chunk.
    SQLite: ``fetchmany`` on the statement's own cursor (a driver call per row cost more
    than the roll-up's own work on each).

    Until the last row nothing else may run on the connection (PostgreSQL's driver holds
    it: a statement would wait for ever); one is refused on both databases alike
    (:func:`_not_while_streaming`)."""
    if connection.dialect.name == "postgresql":
        compiled = query.compile(dialect=connection.dialect,
                                 compile_kwargs={"render_postcompile": True})
        cursor = connection.connection.driver_connection.cursor(binary=True)
        rows = cursor.stream(compiled.string, compiled.params, binary=True, size=_Pile.CHUNK)
        end = rows.close  # ends the stream (cancelled if unfinished)
    else:
        cursor = connection.execute(query).cursor
        rows = chain.from_iterable(iter(lambda: cursor.fetchmany(_Pile.CHUNK), []))
        end = None
    connection.info[_STREAMING] = True
    try:
        yield from rows
    finally:
        connection.info.pop(_STREAMING, None)
        if end is not None:
            end()
        cursor.close()


def _in_year(period: str, other: str) -> bool:
    """*other* lies in *period*'s calendar year (period keys start with the year): the
    span of a year-span cumulative field (:func:`_in_span`, in Python)."""
    year = Period.parse(period).year
    return f"{year:04d}" <= other < f"{year + 1:04d}"


def _reports(listed: _Listed, assignment: Assignment, periods: Sequence[str]) -> Any:
    """The listed children's reports of *periods*: unit, period, status, version and
    vector."""
    return listed.restrict(
        select(Report.unit_id, Report.period, Report.status, Report.template_version_id,
               Report.figures)
        .where(Report.assignment_id == assignment.id, Report.period.in_(periods)),
        Report, Report.unit_id)


def _latest_periods(listed: _Listed, assignment: Assignment, period: str) -> Any:
    """Each listed child's latest approved period before *period* (from
    ``ix_reports_rollup`` alone)."""
    return listed.restrict(
        select(Report.unit_id, func.max(Report.period).label("period"))
        .where(Report.assignment_id == assignment.id, Report.status == Status.APPROVED,
               Report.period < period), Report, Report.unit_id).group_by(Report.unit_id)


def _latest_reports(session: Session, assignment: Assignment, period: str,
                    ids: Sequence[int], latest_of: Mapping[int, str]) -> Any:
    """The vectors of *ids*' latest approved reports before *period* (*latest_of*: each
    one's period): unit, period, version and vector.

    PostgreSQL: per such period, its units as a hashed array constant (as many tests as
    distinct periods, not units), which the planner estimates right; a join to each
    unit's latest period was estimated at a thirtieth of its rows. SQLite: that join,
    unit by unit, through the index."""
    columns = select(Report.unit_id, Report.period, Report.template_version_id,
                     Report.figures)
    if session.get_bind().dialect.name == "postgresql":
        by_period: dict[str, list[int]] = {}
        for unit_id in ids:
            by_period.setdefault(latest_of[unit_id], []).append(unit_id)
        return columns.where(Report.assignment_id == assignment.id, or_(false(), *(
            and_(Report.period == at, Report.unit_id == func.any(_pg_array(units)))
            for at, units in sorted(by_period.items()))))
    latest = _latest(session, assignment, period, ids)
    return columns.select_from(latest).join(Report, and_(
        Report.assignment_id == assignment.id, Report.unit_id == latest.c.unit_id,
        Report.period == latest.c.period))


def _latest(session: Session, assignment: Assignment, period: str, ids: Sequence[int]):
    """A derived table: each of *ids*' latest approved period before *period*."""
    return _latest_periods(_Listed(session, ids), assignment, period).subquery()


def _value(fld: FieldDef, sums: _Sums | None) -> Any:
    """The figure of *fld* from its aggregates (None when nothing was counted)."""
    if sums is None or not sums.parts:
        return None
    rule = fld.effective_aggregation
    if rule is Aggregation.SUM:
        micros: Any = sums.total
    elif rule is Aggregation.MIN:
        micros = sums.least
    elif rule is Aggregation.MAX:
        micros = sums.most
    elif rule is Aggregation.LAST:
        micros = sums.last[1] if sums.last else None
    else:  # the mean, rounded as forms.consolidation.aggregate rounds it
        mean = Decimal(sums.total) / SCALE / sums.parts
        return mean.quantize(MEAN_PLACES, rounding=ROUND_HALF_UP)
    return from_micros(fld, micros)


def rollup(session: Session, assignment: Assignment, unit: Unit, period: str, *,
           include_submitted: bool = False, carry_forward: bool = True,
           children: Sequence[int] | None = None, previous: bool = True,
           keys: Collection[str] | None = None, falls: bool = False,
           over: bool = False) -> Rollup:
    """The numeric figures of *unit*'s subtree for *period* (the caller checked scope).

    Without *previous*, only the period's own figures (totals, coverage, calculated
    fields): nothing of the period before is read, no previous values or 本期新增. With
    *keys*, only those fields' figures (and the calculated ones that can be computed
    from them). With *falls* (and *previous*, every field), also the children whose own
    figure fell (:attr:`Rollup.falls`, as :func:`unit_falls` finds them), compared in the
    same pass as each counted child's latest approved vector meets its vector now: the
    period's vectors are read once for both. With *over*, also who each calculated figure
    is computed over (:attr:`Rollup.over`), from the same vectors of the period.

    Reads, whatever the subtree: each child's latest approved period before this one
    (``ix_reports_rollup`` alone); the children's reports of the period (one vector
    each: the counted ones make the totals and coverage, :class:`_Pile`); with
    *previous*, their reports of the period before (its totals, and the latest approved
    figures of the children whose latest is that period); and the vectors of the few
    children whose latest approved report is older, when they carry a figure forward or
    compare like for like.
    """
    if falls and (keys is not None or not previous):
        raise ValueError("the falls compare every field with the period before")
    periods = assignment_periods(assignment)
    at = periods.index(period)
    previous_period = periods[at - 1] if at > 0 else None
    version = version_for(assignment, period)
    definition = version.definition
    if children is None:
        children = child_ids(session, assignment, unit, period)
    fields = [f for f in stored_fields(definition) if f.effective_aggregation in AGGREGATED
              and (keys is None or f.key in keys)]
    cumulative = [f for f in fields if f.cumulative]
    statuses = set(_counted_statuses(include_submitted))
    before_period = previous_period if previous else None
    # The cumulative figures compared like for like: each counted unit's figure now with
    # its own latest approved one before (within the span), the carried ones with theirs.
    like = [f for f in cumulative
            if before_period is not None and same_span(f, period, before_period)]
    lasts = {f.key for f in fields if f.effective_aggregation is Aggregation.LAST}
    extremes = any(f.effective_aggregation in (Aggregation.MIN, Aggregation.MAX)
                   for f in fields)
    order = {unit_id: position for position, unit_id in enumerate(children)} if lasts else {}
    layout = _Layout(session, version)
    width, kids = layout.width, _Listed(session, children)
    # Year-span fields carry forward and compare only within the period's year: the
    # vectors of another year go to piles without those columns.
    yearly = {f.key for f in cumulative if f.cumulative_span is CumulativeSpan.YEAR}

    def piles(chosen: Sequence[FieldDef], **options: Any) -> dict[bool, _Pile]:
        columns = layout.columns(chosen)
        return {True: _Pile(width, columns, **options),
                False: _Pile(width, {k: v for k, v in columns.items() if k not in yearly},
                             **options)}

    # Core statements (no ORM rows): the reports' rows are plain tuples read as they come
    # (flushed first, as the session would before a query of its own).
    if session.autoflush:
        session.flush()
    connection = session.connection()
    latest_of: dict[int, str] = dict(_rows(connection, _latest_periods(kids, assignment,
                                                                         period)))
    now = _Pile(width, layout.columns(fields), extremes=extremes, lasts=lasts)
    before = _Pile(width, layout.columns(f for f in fields if not f.cumulative),
                   extremes=extremes)
    kept = piles(cumulative, extremes=extremes, lasts=lasts)
    liked = piles(like, counts=_NUMBER, extremes=extremes, gated=True)
    carry = carry_forward and bool(cumulative)
    counted: set[int] = set()
    gates: dict[int, bytes] = {}  # a counted child's flags now: what gates like for like
    years: dict[str, bool] = {}
    # The falls: a counted child's vector now waits for its latest approved one (the
    # like-for-like fields are those a fall can be in: cumulative, within the span).
    fell = _Falls(layout, like, period, children) if falls else None
    gave = _Over(layout, definition) if over else None
    place = {unit_id: at for at, unit_id in enumerate(children)} if over else {}
    nows: dict[int, bytes] = {}

    def latest(unit_id: int, latest_period: str, vector: bytes) -> None:
        """A child's latest approved vector, once it is known whether the child counts:
        compared like for like, or carried forward."""
        if latest_period not in years:
            years[latest_period] = _in_year(period, latest_period)
        if unit_id in counted:
            if like:
                liked[years[latest_period]].add(vector, gate=gates[unit_id])
            if fell is not None and like:
                fell.add(unit_id, latest_period, nows.pop(unit_id), vector)
        elif carry:
            kept[years[latest_period]].add(vector, order.get(unit_id, -1))

    # Both periods in one statement (one scan of the reports on PostgreSQL), in whatever
    # order they come: a latest approved vector of the period before waits until its
    # unit's report of the period has been read, or the end (the unit has none).
    seen: set[int] = set()
    waiting: dict[int, bytes] = {}
    use_latest = bool(like) or carry
    periods = [period] if before_period is None else [period, before_period]
    for unit_id, row_period, status, version_id, figures in _rows(
            connection, _reports(kids, assignment, periods)):
        if row_period == period:
            seen.add(unit_id)
            if status in statuses:
                vector = layout.vector(version_id, figures)
                counted.add(unit_id)
                now.add(vector, order.get(unit_id, -1))
                if gave is not None:
                    gave.add(vector, place[unit_id])
                if like:
                    gates[unit_id] = layout.flags(vector)
                    if fell is not None and unit_id in latest_of:
                        nows[unit_id] = vector
            if unit_id in waiting:
                latest(unit_id, before_period, waiting.pop(unit_id))
            continue
        is_latest = use_latest and latest_of.get(unit_id) == row_period
        if status in statuses or is_latest:
            vector = layout.vector(version_id, figures)
            if status in statuses:
                before.add(vector)
            if is_latest:
                if unit_id in seen:
                    latest(unit_id, row_period, vector)
                else:
                    waiting[unit_id] = vector
    for unit_id, vector in waiting.items():
        latest(unit_id, before_period, vector)
    waiting.clear()
    uncounted = [c for c in children if c not in counted]
    carrying = [c for c in uncounted if c in latest_of] if carry else []
    older = [c for c in children if c in latest_of and latest_of[c] != before_period
             and ((like and c in counted) or (carry and c not in counted))]
    for unit_id, latest_period, version_id, figures in _rows(
            connection, _latest_reports(session, assignment, period, older, latest_of)):
        latest(unit_id, latest_period, layout.vector(version_id, figures))

    current = now.result()
    carried = _merged(kept[True].result(), kept[False].result())
    result = Rollup(period, previous_period, len(children), len(counted), 0,
                    falls=fell.result() if fell is not None else None)
    if gave is not None:
        result.over = {key: (count, [children[at] for at in first])
                       for key, (count, first) in gave.result().items()}
    off_by_tags = _off_by_tags(session, definition, fields, uncounted)
    for fld in fields:
        here, kept_sums = current.get(fld.key, _Sums()), carried.get(fld.key, _Sums())
        merged = here.merge(kept_sums) if fld.cumulative else here
        result.values[fld.key] = _value(fld, merged)  # None: nothing counted
        off = here.off + off_by_tags.get(fld.key, 0)
        result.counts[fld.key] = Counts(len(children) - off, here.parts, kept_sums.parts,
                                        here.blank, off)
    result.carried_units = len(carrying) if carried else 0
    result.values.update(_calculated(definition, result.values))

    if before_period is not None:
        earlier = before.result()
        figures_before = {f.key: _value(f, earlier.get(f.key)) for f in fields
                          if not f.cumulative}
        same = _merged(liked[True].result(), liked[False].result())
        for fld in like:
            sums = same.get(fld.key, _Sums()).merge(carried.get(fld.key, _Sums()))
            figures_before[fld.key] = (None if fld.effective_aggregation is Aggregation.LAST
                                       else _value(fld, sums))
        result.previous_values = {k: v for k, v in
                                  _calculated(definition, figures_before).items()
                                  if v is not None}
    result.increments = increments_of(definition, result.values,
                                      result.previous_values or None, period=period,
                                      previous_period=previous_period)
    return result


def _calculated(definition: Definition, values: dict[str, Any]) -> dict[str, Any]:
    """*values* with each calculated field recomputed from them (dropped when it has none)."""
    out = dict(values)
    computed = calculate(definition, {**out, **{f.key: None
                                               for f in definition.calculated_fields()}})
    for fld in definition.calculated_fields():
        if computed.get(fld.key) is not None:
            out[fld.key] = computed[fld.key]
    return out


def _off_by_tags(session: Session, definition: Definition, fields: Sequence[FieldDef],
                 uncounted: Sequence[int]) -> dict[str, int]:
    """Per field, how many children not counted its tag conditions rule out: the tagged
    ones are read (one query) and grouped by their set of tags."""
    from forms.applicability import applies_by_tags

    tags: dict[int, set[str]] = {}
    for unit_id, tag in session.execute(select(UnitTag.unit_id, UnitTag.tag).where(
            ids_in(session, UnitTag.unit_id, uncounted))):
        tags.setdefault(unit_id, set()).add(tag)
    by_set: dict[frozenset[str], int] = {frozenset(): len(uncounted) - len(tags)}
    for found in tags.values():
        by_set[frozenset(found)] = by_set.get(frozenset(found), 0) + 1
    off: dict[str, int] = {}
    for tag_set, count in by_set.items():
        if not count:
            continue
        scope = applies_by_tags(definition, tag_set)
        for fld in fields:
            if not scope.applies(fld.key):
                off[fld.key] = off.get(fld.key, 0) + count
    return off


class _Falls:
    """The counted children whose own cumulative figure is lower than their latest
    approved one before the period (within its span), from pairs of vectors in the
    roll-up's order: compared a chunk at a time field by field (``operator.lt`` mapped
    over two columns, in C); only the few figures lower are looked at one by one (both
    given, the one now applying, the span)."""

    def __init__(self, layout: _Layout, like: Sequence[FieldDef], period: str,
                 children: Sequence[int]):
        self.layout, self.like, self.period = layout, list(like), period
        self.columns = layout.columns(like)
        self.position = {unit_id: at for at, unit_id in enumerate(children)}
        self.chunk: list[tuple[int, str, bytes, bytes]] = []
        self.found: list[tuple[int, int, UnitFall]] = []

    def add(self, unit_id: int, then_period: str, now: bytes, then: bytes) -> None:
        """A counted child's vector of the period (*now*) and its latest approved one."""
        self.chunk.append((unit_id, then_period, now, then))
        if len(self.chunk) >= _Pile.CHUNK:
            self._compare()

    def result(self) -> list[UnitFall]:
        """The falls in tree order, then field order."""
        self._compare()
        return [fall for *_, fall in sorted(self.found, key=lambda item: item[:2])]

    def _compare(self) -> None:
        chunk, width, words = self.chunk, self.layout.width, self.layout.size // 8
        if not chunk or not self.like:
            chunk.clear()
            return
        here = _numbers(b"".join(now for _unit, _period, now, _then in chunk))
        then = _numbers(b"".join(then for _unit, _period, _now, then in chunk))
        for at, fld in enumerate(self.like):
            column = self.columns[fld.key]
            for row in compress(range(len(chunk)), map(lt, here[column::words],
                                                       then[column::words])):
                unit_id, then_period, now_vector, then_vector = chunk[row]
                if now_vector[8 * width + column] != 0 or \
                        then_vector[8 * width + column] & (BLANK | ABSENT):
                    continue  # blank or not applying now, or no figure then
                if fld.cumulative_span is CumulativeSpan.YEAR and \
                        not _in_year(self.period, then_period):
                    continue
                self.found.append((self.position[unit_id], at, UnitFall(
                    unit_id, fld.key, from_micros(fld, here[row * words + column]),
                    from_micros(fld, then[row * words + column]), then_period)))
        chunk.clear()


def unit_falls(session: Session, assignment: Assignment, unit: Unit, period: str, *,
               include_submitted: bool = False, children: Sequence[int] | None = None
               ) -> list[UnitFall]:
    """The counted children whose own cumulative figure is lower than their latest approved
    one before *period* (within its span): fetched when asked for, not with the totals.

    From the same vectors as :func:`rollup`: the counted children's vectors of the
    period, then their latest approved ones, compared a chunk at a time field by field
    (``operator.lt`` mapped over two columns, in C); only the few figures lower are
    looked at one by one (both given, the one now applying, the span)."""
    version = version_for(assignment, period)
    definition = version.definition
    like = [f for f in stored_fields(definition)
            if f.cumulative and f.effective_aggregation in AGGREGATED]
    if children is None:
        children = child_ids(session, assignment, unit, period)
    statuses = set(_counted_statuses(include_submitted))
    layout = _Layout(session, version)
    kids = _Listed(session, children)
    # Core statements (no ORM rows): the reports' rows are plain tuples read as they come
    # (flushed first, as the session would before a query of its own).
    if session.autoflush:
        session.flush()
    connection = session.connection()
    latest_of: dict[int, str] = dict(_rows(connection, _latest_periods(kids, assignment,
                                                                         period)))
    now: dict[int, bytes] = {}
    for unit_id, _period, status, version_id, figures in _rows(
            connection, _reports(kids, assignment, [period])):
        if status in statuses and unit_id in latest_of:
            now[unit_id] = layout.vector(version_id, figures)
    falls = _Falls(layout, like, period, children)
    for unit_id, then_period, version_id, figures in _rows(
            connection, _latest_reports(session, assignment, period, list(now), latest_of)):
        falls.add(unit_id, then_period, now[unit_id], layout.vector(version_id, figures))
    return falls.result()
