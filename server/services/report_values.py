"""The numeric figures of each report kept as rows the database adds up (``report_values``).

What a save stores is already validated and typed: it is written here once, in
the save's transaction, so a roll-up never parses a report's JSON back through the
user-input coercion. One row per numeric input field of the report's template
version (calculated fields are recomputed from consolidated inputs, never added):
``applies`` says whether the field applied to the unit when it saved (by its tags
and answers), ``micros`` is the value times 10**6 (NULL: left blank). The report's
status is copied onto its rows and kept in step by a flush listener, so every
workflow change (submit, return, approve, unapprove) moves them in the same
transaction; a deleted report takes its rows with it (ON DELETE CASCADE).

The same figures are also kept on the report's own row, packed into one vector
(``reports.figures``, :func:`pack`): what a roll-up reads, one row per child instead
of one per child and field (52 at the 21-item table), added up column by column in
C (:mod:`server.services.rollup`). It lives on the report row rather than in a table of
its own because every write that moves it already writes that row: a save sets it in
the same conditional UPDATE that claims the revision (no extra statement: a save's
statements are bounded), and a workflow change needs nothing (the status is on the
row). The rows here stay what the parts of a total are listed from.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, event, inspect, select, update
from sqlalchemy.orm import Session, attributes

from forms.applicability import Applicability, applicability
from forms.definition import Definition, FieldDef, FieldKind
from forms.values import loads_values
from server.db import upsert
from server.models.reporting import Report, ReportValue
from server.models.templates import TemplateVersion
from server.models.units import Unit, UnitTag

SCALE = 10**6
ONE_MICRO = Decimal(1) / SCALE

# The flag byte of each figure in a packed vector: two bits, no sentinel in the numbers.
BLANK = 1  # no value (its number is 0)
OFF = 2  # the field did not apply to the unit (its number is the value if it had one)
ABSENT = 4  # not a field of the report's template version (only in vectors re-ordered
#             for another version, :func:`server.services.rollup`)


def stored_fields(definition: Definition) -> list[FieldDef]:
    """The fields of *definition* kept as rows: numeric inputs (not calculated ones)."""
    return list(definition.derived("stored_fields", lambda: tuple(
        f for f in definition.numeric_fields() if not f.is_calculated)))


def to_micros(value: Any) -> int | None:
    """A typed number as an exact integer of millionths (rounded half up beyond six places)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value * SCALE
    return int((Decimal(value) * SCALE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_micros(fld: FieldDef, micros: int | Decimal | float | None) -> int | Decimal | None:
    """The number back from millionths: an int for an integer field, else a Decimal."""
    if micros is None:
        return None
    exact = Decimal(int(micros)) / SCALE if not isinstance(micros, Decimal) else micros / SCALE
    if fld.kind is FieldKind.INTEGER and exact == exact.to_integral_value():
        return int(exact)
    return exact.normalize() if exact != 0 else Decimal(0)


def rows(report: Any, definition: Definition, values: Mapping[str, Any],
         scope: Applicability) -> list[dict[str, Any]]:
    """The rows of *report* for its typed *values* (what applied to the unit: *scope*)."""
    return _rows(report, stored_fields(definition), values, scope)


def _rows(report: Any, fields: Iterable[FieldDef], values: Mapping[str, Any],
          scope: Applicability) -> list[dict[str, Any]]:
    common = {"report_id": report.id, "assignment_id": report.assignment_id,
              "unit_id": report.unit_id, "period": report.period, "status": str(report.status)}
    return [{**common, "field_key": fld.key, "applies": scope.applies(fld.key),
             "micros": to_micros(values.get(fld.key))} for fld in fields]


def packed_size(count: int) -> int:
    """The length of the packed vector of *count* figures: the numbers, then the flags
    padded to whole 8-byte words, so that vectors joined end to end are one array of
    64-bit words in which a field is every ``packed_size(count) // 8``-th word."""
    return 8 * count + 8 * -(-count // 8)


def pack_rows(new_rows: Iterable[Mapping[str, Any] | None]) -> bytes:
    """The packed vector of one report's rows (:func:`rows`, in their order; None for a
    field without a row, :data:`ABSENT`: counted nowhere, as no row is).

    *n* signed 64-bit millionths (little-endian: the vector reads the same on any
    machine), then *n* flag bytes (:data:`BLANK`, :data:`OFF`), then padding to a whole
    word (:func:`packed_size`). ``report_values.micros`` is a BigInteger, so every
    stored figure fits; a blank one is 0, so a column adds up as it stands. Python's
    sums of these are exact integers."""
    numbers = array("q")
    flags = bytearray()
    for row in new_rows:
        if row is None:
            numbers.append(0)
            flags.append(ABSENT)
            continue
        micros = row["micros"]
        numbers.append(0 if micros is None else micros)
        flags.append((BLANK if micros is None else 0) | (0 if row["applies"] else OFF))
    if sys.byteorder == "big":  # pragma: no cover - every machine it runs on is little
        numbers.byteswap()
    flags += bytes([ABSENT]) * (packed_size(len(flags)) - 9 * len(flags))
    return numbers.tobytes() + bytes(flags)


def pack(definition: Definition, values: Mapping[str, Any], scope: Applicability) -> bytes:
    """The packed vector of typed *values* (what applied to the unit: *scope*), in the
    order of :func:`stored_fields` of *definition*: what ``reports.figures`` holds."""
    return pack_rows({"micros": to_micros(values.get(fld.key)), "applies": scope.applies(fld.key)}
                     for fld in stored_fields(definition))


def unpack(figures: bytes) -> tuple[array, bytes]:
    """The numbers (millionths) and flag bytes of a packed vector."""
    count = len(figures) // 9
    while packed_size(count) > len(figures):
        count -= 1
    numbers = array("q", figures[:8 * count])
    if sys.byteorder == "big":  # pragma: no cover
        numbers.byteswap()
    return numbers, figures[8 * count:9 * count]


def write(session: Session, new_rows: Iterable[dict[str, Any]],
          connection: Connection | None = None) -> None:
    """Insert or replace rows (one statement): a report keeps its template version, so
    its set of fields never changes and an upsert replaces every row it had."""
    new_rows = list(new_rows)
    if not new_rows:
        return
    statement = upsert(session, ReportValue.__table__, ["report_id", "field_key"],
                       ["status", "applies", "micros"])
    (connection or session).execute(statement, new_rows)


def save(session: Session, report: Report, definition: Definition,
         values: Mapping[str, Any], scope: Applicability,
         before: tuple[Mapping[str, Any], Applicability] | None = None) -> None:
    """Keep *report*'s rows in step with the values it now holds.

    *before* are the values and applicability its rows were written for (None: unknown,
    or no rows yet): then only the rows of fields whose figure or applicability changed
    are written, none at all when a save changed only texts (most saves)."""
    write_fields(session, report, changed(definition, values, scope, before), values, scope)


def changed(definition: Definition, values: Mapping[str, Any], scope: Applicability,
            before: tuple[Mapping[str, Any], Applicability] | None) -> list[FieldDef]:
    """The stored fields whose figure or applicability differ from *before*, the values
    and applicability the report's rows and vector were written for (every stored field
    when *before* is None: unknown, or nothing written yet). When none differ, neither
    the rows nor the vector (:func:`pack`) change."""
    fields = stored_fields(definition)
    if before is None:
        return fields
    old_values, old_scope = before  # typed numbers that compare equal: the same millionths
    # Set operations over the keys that differ, not a test of every field: most saves
    # change a few figures or only texts.
    moved = scope.fields ^ old_scope.fields
    if values != old_values:
        moved = moved.union(k for k in values.keys() | old_values.keys()
                            if values.get(k) != old_values.get(k))
    return [f for f in fields if f.key in moved] if moved else []


def write_fields(session: Session, report: Report, fields: Iterable[FieldDef],
                 values: Mapping[str, Any], scope: Applicability) -> None:
    """Insert or replace the rows of *report*'s *fields* (see :func:`changed`)."""
    write(session, _rows(report, fields, values, scope))


def retag(session: Session, unit_ids: Iterable[int], chunk: int = 500) -> None:
    """Whether each field applies follows the units' tags: after their tags changed, the
    rows of every report of *unit_ids* are worked out again (tags change rarely; a roll-up
    reads the rows, never the documents)."""
    ids = list(unit_ids)
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        tags: dict[int, set[str]] = {}
        for unit_id, tag in session.execute(
                select(UnitTag.unit_id, UnitTag.tag).where(UnitTag.unit_id.in_(part))):
            tags.setdefault(unit_id, set()).add(tag)
        new_rows: list[dict[str, Any]] = []
        vectors: list[dict[str, Any]] = []
        for report in session.execute(
                select(Report.id, Report.assignment_id, Report.unit_id, Report.period,
                       Report.status, Report.values.label("document"),
                       Report.template_version_id).where(Report.unit_id.in_(part))):
            definition = session.get(TemplateVersion, report.template_version_id).definition
            values = loads_values(definition, report.document or {})
            scope = applicability(definition, frozenset(tags.get(report.unit_id, ())), values)
            mine = rows(report, definition, values, scope)
            new_rows += mine
            vectors.append({"figures_of": report.id, "figures": pack_rows(mine)})
        write(session, new_rows)
        if vectors:
            session.execute(_SET_FIGURES, vectors)


_SET_FIGURES = (update(Report.__table__)
                .where(Report.__table__.c.id == bindparam("figures_of"))
                .values(figures=bindparam("figures")))


_TYPED = "report_values.typed"  # session.info: what the before-flush hook worked out


def _typed(session: Session, report: Report
           ) -> tuple[Definition, dict[str, Any], Applicability] | None:
    """The definition, typed values and applicability of an ORM *report* (None while its
    version or unit is not there)."""
    version = session.get(TemplateVersion, report.template_version_id)
    unit = session.get(Unit, report.unit_id)
    if version is None or unit is None:
        return None
    definition = version.definition
    values = loads_values(definition, report.values or {})
    return definition, values, applicability(definition, unit.tags, values)


@event.listens_for(Session, "before_flush")
def _pack_reports(session: Session, _context: Any, _instances: Any) -> None:
    """A report inserted or given new values through the ORM gets its packed vector in
    the same INSERT or UPDATE (a status change needs nothing: it is on the row)."""
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Report) or not (
                obj in session.new or attributes.get_history(obj, "values").has_changes()):
            continue
        with session.no_autoflush:
            typed = _typed(session, obj)
        if typed is not None:
            obj.figures = pack(*typed)
            # Kept for the rows written after the flush (a new report has no id before).
            session.info.setdefault(_TYPED, {})[obj] = typed


@event.listens_for(Session, "after_flush")
def _follow_reports(session: Session, _context: Any) -> None:
    """Reports written through the ORM keep their rows in step in the same flush: a new
    report or new values rewrite its rows, a new status moves theirs. (A save writes its
    values with a conditional UPDATE and calls :func:`save` itself.)"""
    typed_before = session.info.pop(_TYPED, {})
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Report):
            continue
        if obj in session.new or attributes.get_history(obj, "values").has_changes():
            typed = typed_before.get(obj) or _typed(session, obj)
            if typed is not None:
                write(session, rows(obj, *typed), connection=session.connection())
        elif attributes.get_history(obj, "status").has_changes():
            session.connection().execute(
                update(ReportValue.__table__)
                .where(ReportValue.__table__.c.report_id == obj.id)
                .values(status=str(obj.status)))


def backfill(connection: Connection, batch: int = 2000) -> int:
    """Write the rows of every stored report from its JSON document (the migration that
    creates the table runs this once; the document is the record). Returns the count of
    reports written. Core only: it runs inside a migration, without the ORM session."""
    reports, versions, tags = (Report.__table__, TemplateVersion.__table__,
                               UnitTag.__table__)
    definitions = {row.id: Definition.from_json(row.definition_json) for row in
                   connection.execute(select(versions.c.id, versions.c.definition_json))}
    unit_tags: dict[int, set[str]] = {}
    for row in connection.execute(select(tags.c.unit_id, tags.c.tag)):
        unit_tags.setdefault(row.unit_id, set()).add(row.tag)
    table = ReportValue.__table__
    # Migration 0017 runs this before ``reports.figures`` exists (0030 adds it and fills it
    # from the rows); later, the vector is written with the rows.
    vectors = "figures" in {c["name"] for c in inspect(connection).get_columns("reports")}
    pending: list[dict[str, Any]] = []
    packed: list[dict[str, Any]] = []
    written = 0
    for report in connection.execute(
            select(reports.c.id, reports.c.assignment_id, reports.c.unit_id, reports.c.period,
                   reports.c.status, reports.c["values"].label("document"),
                   reports.c.template_version_id)):
        definition = definitions[report.template_version_id]
        values = loads_values(definition, report.document or {})
        scope = applicability(definition, frozenset(unit_tags.get(report.unit_id, ())), values)
        mine = rows(report, definition, values, scope)
        pending += mine
        if vectors:
            packed.append({"figures_of": report.id, "figures": pack_rows(mine)})
        written += 1
        if len(pending) >= batch:
            connection.execute(table.insert(), pending)
            pending = []
    if pending:
        connection.execute(table.insert(), pending)
    # After the reading: SQLite leaves undefined a row updated under an open read of its table.
    for start in range(0, len(packed), batch):
        connection.execute(_SET_FIGURES, packed[start:start + batch])
    return written


def repack(connection: Connection, report_ids: Iterable[int] | None = None,
           batch: int = 2000) -> None:
    """Write the packed vector of each report (every one, or *report_ids*) from its rows
    here (migration 0030 fills ``reports.figures`` with it). Core only, a batch of reports
    at a time, each batch read completely before its updates (SQLite leaves undefined a
    row updated under an open read of its table)."""
    reports, table, versions = Report.__table__, ReportValue.__table__, TemplateVersion.__table__
    order = {row.id: [f.key for f in stored_fields(Definition.from_json(row.definition_json))]
             for row in connection.execute(select(versions.c.id, versions.c.definition_json))}
    chosen = None if report_ids is None else sorted(set(report_ids))
    after = 0
    while True:
        query = select(reports.c.id, reports.c.template_version_id).where(reports.c.id > after)
        if chosen is not None:
            query = query.where(reports.c.id.in_(chosen[:batch]))
            chosen = chosen[batch:]
        found = connection.execute(query.order_by(reports.c.id).limit(batch)).all()
        if not found:
            return
        after = found[-1].id
        stored: dict[int, dict[str, dict[str, Any]]] = {}
        for row in connection.execute(
                select(table.c.report_id, table.c.field_key, table.c.applies, table.c.micros)
                .where(table.c.report_id >= found[0].id, table.c.report_id <= after)):
            stored.setdefault(row.report_id, {})[row.field_key] = {
                "micros": row.micros, "applies": row.applies}
        connection.execute(_SET_FIGURES, [
            {"figures_of": report.id, "figures": pack_rows(
                stored.get(report.id, {}).get(key) for key in order[report.template_version_id])}
            for report in found])
