"""An assignment as a report's view reads it: plain, shared data, known by its rows' content.

Every report request reads its assignment, the assignment's versions and their template
versions. As ORM entities that read was a tenth of an API save's work, for rows that
change a few times a year. An :class:`AssignmentPlan` holds the same columns as frozen
data, built once per process and shared by its requests (threads included), and every
request checks that it is still what the rows say: the view's statement reads the rows'
:func:`fingerprint` beside the unit (no statement of its own), and a plan whose
fingerprint differs is read again (:func:`read_plan`) and the view's statement run
again with it. A change to any column of the assignment, or to which template version
a period uses (a published version never changes), changes the fingerprint; nothing has
to remember to clear a cache.

A plan answers what the assignment services read of an assignment (``versions`` with
their ``from_period`` and ``template_version``, ``kinds``, the dates, the phases), so
``server.services.assignments`` takes either. What needs the ORM row (its units, a
closure, the consolidation) asks the view for it, which loads it then.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import String, bindparam, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from forms.definition import Definition
from forms.values import loads_values
from server.models.reporting import Assignment, AssignmentVersion
from server.models.templates import DEFINITIONS, TemplateVersion

_SEPARATOR = "\x1f"  # the unit separator: in none of the columns' texts (JSON escapes it)


@dataclass(frozen=True)
class PlanTemplate:
    """A template version as an assignment uses it, with its parsed definition."""

    id: int
    key: str
    version: int
    title: str
    checksum: str
    definition: Definition


@dataclass(frozen=True)
class PlanVersion:
    """From *from_period* on, the assignment's reports use *template_version*."""

    from_period: str
    template_version: PlanTemplate


@dataclass(frozen=True)
class AssignmentPlan:
    """The columns of an assignment and its versions, read once and shared (see the
    module docstring). ``phases`` and ``reminder_policy`` are the stored JSON: read only."""

    id: int
    key: str
    template_key: str
    root_unit_id: int
    consolidating_unit_id: int
    unit_kinds: str
    include_root: bool
    first_period: str
    last_period: str
    active: bool
    phases: Any
    due_phase: str | None
    reminder_policy: Any
    shift_to_workday: bool
    versions: tuple[PlanVersion, ...]
    fingerprint: str

    @property
    def kinds(self) -> list[str]:
        return Assignment.kinds.fget(self)

    @cached_property
    def _templates(self) -> dict[int, PlanTemplate]:
        return {v.template_version.id: v.template_version for v in self.versions}

    def template(self, version_id: int) -> PlanTemplate | None:
        """The template version *version_id* if one of the plan's versions uses it."""
        return self._templates.get(version_id)

    def template_of(self, report: Any) -> Any:
        """The template version *report* was saved with: the plan's when one of its
        versions uses it (nothing to read), else the report's own row."""
        return self.template(report.template_version_id) or report.template_version

    def typed_values(self, report: Any) -> dict[str, Any]:
        """The typed values of a report of the assignment (empty for None)."""
        if report is None:
            return {}
        return loads_values(self.template_of(report).definition, report.values)


def fingerprint(assignment_id: ColumnElement) -> ColumnElement[str]:
    """The text that changes whenever a plan of the assignment *assignment_id* would: its
    columns, then each version's period and template version (a published template
    version never changes). A scalar subquery, for the view's statement; equal for equal
    rows as long as the database lists the versions in the same order (a change of order
    only makes the plan be read again, never served stale)."""
    assignments, versions = Assignment.__table__, AssignmentVersion.__table__
    each = _joined(versions.c.from_period, versions.c.template_version_id)
    # The separator as written text too: given as a string, it is a parameter rendered
    # into the statement's text again at every execution.
    parts = (select(func.aggregate_strings(each, _written(_SEPARATOR)))
             .where(versions.c.assignment_id == assignments.c.id)
             .correlate(assignments).scalar_subquery())
    # Correlated to the assignments of an enclosing statement that has them (read_plan's),
    # else reading the row *assignment_id* names (the view's).
    return (select(_joined(*assignments.c, parts))
            .where(assignments.c.id == assignment_id).correlate(assignments).scalar_subquery())


def _joined(*columns) -> ColumnElement[str]:
    """*columns* as one text, each NULL as empty, separated by :data:`_SEPARATOR`; the
    constants are written into the statement (as parameters, each would cost every
    execution its processing)."""
    empty, separator = _written(""), _written(_SEPARATOR)
    text = None
    for column in columns:
        part = func.coalesce(cast(column, String), empty)
        text = part if text is None else text + separator + part
    return text


def _written(text: str) -> ColumnElement[str]:
    """The constant *text* (no quote in it) written into the statement."""
    return literal_column(f"'{text}'", String)


_COLUMNS = ("id", "key", "template_key", "root_unit_id", "consolidating_unit_id", "unit_kinds",
            "include_root", "first_period", "last_period", "active", "phases", "due_phase",
            "reminder_policy", "shift_to_workday")
_BY_KEY = (
    select(*(Assignment.__table__.c[name] for name in _COLUMNS),
           fingerprint(Assignment.__table__.c.id).label("fingerprint"),
           AssignmentVersion.from_period, TemplateVersion.id.label("template_id"),
           TemplateVersion.key.label("template_key_"), TemplateVersion.version,
           TemplateVersion.title, TemplateVersion.checksum)
    .outerjoin(AssignmentVersion, AssignmentVersion.assignment_id == Assignment.id)
    .outerjoin(TemplateVersion, TemplateVersion.id == AssignmentVersion.template_version_id)
    .where(Assignment.key == bindparam("plan_key"))
    .order_by(AssignmentVersion.from_period)
)


class _Plans:
    """The plans of this process by assignment key (few: a process serves a few plans)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._plans: dict[str, AssignmentPlan] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> AssignmentPlan | None:
        return self._plans.get(key)

    def keep(self, plan: AssignmentPlan) -> None:
        with self._lock:
            if len(self._plans) >= self._size:
                self._plans.clear()
            self._plans[plan.key] = plan


PLANS = _Plans()


def read_plan(session: Session, key: str) -> AssignmentPlan | None:
    """The plan of the assignment *key* as its rows stand (kept for the next requests), or
    None when there is no such assignment."""
    rows = session.execute(_BY_KEY, {"plan_key": key}).all()
    if not rows:
        return None
    first = rows[0]
    versions = tuple(PlanVersion(row.from_period, _template(session, row))
                     for row in rows if row.template_id is not None)
    plan = AssignmentPlan(**{name: first._mapping[name] for name in _COLUMNS},
                          versions=versions, fingerprint=first.fingerprint)
    PLANS.keep(plan)
    return plan


def _template(session: Session, row) -> PlanTemplate:
    published = (row.version, row.checksum)
    definition = DEFINITIONS.recall(row.template_id, published)
    if definition is None:  # its text, once per process and version
        text = session.scalar(select(TemplateVersion.definition_json)
                              .where(TemplateVersion.id == row.template_id))
        definition = DEFINITIONS.get(row.template_id, text, published)
    return PlanTemplate(row.template_id, row.template_key_, row.version, row.title,
                        row.checksum, definition)
