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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, event, select, update
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


def stored_fields(definition: Definition) -> list[FieldDef]:
    """The fields of *definition* kept as rows: numeric inputs (not calculated ones)."""
    return [f for f in definition.numeric_fields() if not f.is_calculated]


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
    fields = stored_fields(definition)
    if before is not None:  # typed numbers that compare equal are the same millionths
        old_values, old_scope = before
        fields = [f for f in fields if values.get(f.key) != old_values.get(f.key)
                  or scope.applies(f.key) != old_scope.applies(f.key)]
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
        for report in session.execute(
                select(Report.id, Report.assignment_id, Report.unit_id, Report.period,
                       Report.status, Report.values.label("document"),
                       Report.template_version_id).where(Report.unit_id.in_(part))):
            definition = session.get(TemplateVersion, report.template_version_id).definition
            values = loads_values(definition, report.document or {})
            scope = applicability(definition, frozenset(tags.get(report.unit_id, ())), values)
            new_rows += rows(report, definition, values, scope)
        write(session, new_rows)


@event.listens_for(Session, "after_flush")
def _follow_reports(session: Session, _context: Any) -> None:
    """Reports written through the ORM keep their rows in step in the same flush: a new
    report or new values rewrite its rows, a new status moves theirs. (A save writes its
    values with a conditional UPDATE and calls :func:`save` itself.)"""
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Report):
            continue
        if obj in session.new or attributes.get_history(obj, "values").has_changes():
            version = session.get(TemplateVersion, obj.template_version_id)
            unit = session.get(Unit, obj.unit_id)
            if version is None or unit is None:
                continue
            definition = version.definition
            values = loads_values(definition, obj.values or {})
            write(session, rows(obj, definition, values,
                                applicability(definition, unit.tags, values)),
                  connection=session.connection())
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
    pending: list[dict[str, Any]] = []
    written = 0
    for report in connection.execute(
            select(reports.c.id, reports.c.assignment_id, reports.c.unit_id, reports.c.period,
                   reports.c.status, reports.c["values"].label("document"),
                   reports.c.template_version_id)):
        definition = definitions[report.template_version_id]
        values = loads_values(definition, report.document or {})
        scope = applicability(definition, frozenset(unit_tags.get(report.unit_id, ())), values)
        pending += rows(report, definition, values, scope)
        written += 1
        if len(pending) >= batch:
            connection.execute(table.insert(), pending)
            pending = []
    if pending:
        connection.execute(table.insert(), pending)
    return written
