"""The API's objects built from the services' results: units, issues and reports.

Each builds a model of ``server.api.schemas``; a view answers its JSON
(``schemas.answer``). Values are the typed values of
``forms.values`` made JSON-able (numbers stay numbers, dates ISO); messages are
rendered in the request's language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from forms.applicability import conditions
from forms.definition import Definition, Phase, current_phase
from forms.events import EventInfo
from forms.issues import flagged_figures
from forms.periods import days_until
from forms.targets import Progress
from forms.values import jsonable
from server.api import schemas
from server.db import db_session
from server.locale import current_locale_code, translate_issue
from server.models import Unit
from server.models.accounts import utcnow
from server.models.reporting import late_or_overdue
from server.services import assignments as assignment_service
from server.services import reporting, targets
from server.services.reporting import ReportView


def unit_ref(unit: Unit | None) -> schemas.UnitRef | None:
    return schemas.UnitRef(code=unit.code, name=unit.name) if unit is not None else None


def issue(found: Any) -> schemas.Issue:
    """An issue object from a ``forms.issues.Issue`` or an ``exports.messages.CellIssue``.

    Table issues also name their ``row`` (0-based) and ``column``; workbook issues
    their ``sheet`` and ``cell``.
    """
    return schemas.Issue(
        field=found.field, code=found.code, severity=found.severity,
        message=translate_issue(found),
        params={k: _plain(v) for k, v in found.params.items()},
        **{extra: getattr(found, extra, None) for extra in ("row", "column", "sheet", "cell")})


def issues(found: Iterable[Any]) -> list[schemas.Issue]:
    return [issue(i) for i in found]


def message_issue(field: str | None, code: str, message: str, *, severity: str = "error",
                  **params: Any) -> schemas.Issue:
    """An issue object for a problem the API finds itself (an unknown field, a missing comment)."""
    return schemas.Issue(field=field, code=code, severity=severity, message=message,
                         params={k: _plain(v) for k, v in params.items()})


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)


def due_moved(assignment, period: str) -> dict[str, Any]:
    """``due_moved_from`` and ``due_note`` when the assignment moved the due date."""
    found = assignment_service.due(assignment, period, db_session())
    if found.shift is None:
        return {}
    return {"due_moved_from": found.shift.original,
            "due_note": found.reason(current_locale_code())}


def is_late(view: ReportView, now: datetime | None = None) -> bool:
    """Submitted after the deadline, or still open after it."""
    return late_or_overdue(view.status, bool(view.report and view.report.late),
                           days_until(view.due, now or utcnow()))


def report(view: ReportView, extra_issues: Iterable[Any] = (),
           stored: list[Any] | None = None) -> schemas.Report:
    """The report as GET /reports/… answers it.

    ``issues`` is what a submission would check now (nothing for a report not
    started), after *extra_issues* (e.g. the warnings about what was just typed).
    *stored* are those issues when the caller has just computed them (a save).
    """
    if stored is None:
        stored = reporting.issues_for(view) if view.report is not None else []
    saved = view.report
    return schemas.Report(
        assignment=view.plan.key,
        unit=unit_ref(view.unit),
        period=view.period,
        template=view.template.key,
        version=view.template.version,
        status=view.status,
        revision=view.revision,
        due=view.due,
        **due_moved(view.plan, view.period),
        late=is_late(view),
        submitted_at=saved.submitted_at if saved else None,
        values=jsonable(view.values),
        increments=jsonable(view.increments),
        calculated=[f.key for f in view.definition.calculated_fields()],
        issues=issues([*extra_issues, *stored]),
        remarks=saved.remarks if saved else "",
        explanations=dict(saved.explanations or {}) if saved else {},
        flagged=flagged_figures(stored),
        targets=report_targets(view),
        **plan_phases(view.definition, view.plan),
        applies=applies(view),
        skipped=list(view.skipped),
        event=event_details(saved.event) if saved is not None and saved.event else None,
        field_comments=field_comments(
            view.definition, reporting.returned_comments(db_session(), saved)),
    )


def field_comments(definition: Definition, event: Any) -> list[schemas.FieldComment] | None:
    """The comments on single fields of a return (None without any)."""
    if event is None or not event.field_comments:
        return None
    locale = current_locale_code()
    found = []
    for comment in event.field_comments:
        fld = definition.field(comment.field_key)
        found.append(schemas.FieldComment(
            field=comment.field_key, label=fld.text("label", locale) if fld else "",
            comment=comment.comment))
    return found


def event_details(stored: dict[str, Any]) -> schemas.EventDetails:
    info = EventInfo.from_json(stored)
    return schemas.EventDetails(
        at=info.at, location=info.location,
        latitude=None if info.latitude is None else str(info.latitude),
        longitude=None if info.longitude is None else str(info.longitude),
        attachments=[schemas.Attachment.model_validate(a) for a in info.attachments])


class _Kept:
    """Parts of answers kept by what they depend on (a key): the same key gives the same
    objects, which are only read. A part is reused only for the very definition it was
    built from (a key holds the definition's id, which a dropped definition's successor
    may reuse). Cleared when full."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._parts: dict[tuple, tuple[Definition, Any]] = {}

    def get(self, key: tuple | None, definition: Definition, build: Callable[[], Any]) -> Any:
        """The part kept for *key*, else ``build()`` (kept unless *key* is None)."""
        kept = self._parts.get(key) if key is not None else None
        if kept is not None and kept[0] is definition:
            return kept[1]
        found = build()
        if key is not None:
            if len(self._parts) >= self._size:
                self._parts.clear()
            self._parts[key] = (definition, found)
        return found


_TARGETS = _Kept(512)  # by targets.report_key
_PHASES = _Kept(256)  # by definition, the assignment's own phases and the language


def report_targets(view: ReportView) -> list[schemas.TargetProgress]:
    """The report's targets with their sentences in the request's language."""
    return _TARGETS.get(
        targets.report_key(view, current_locale_code()), view.definition,
        lambda: target_list(view.definition, targets.for_report(db_session(), view)))


def target_list(definition: Definition, found: Iterable[Progress]) -> list[schemas.TargetProgress]:
    """Targets as the API answers them, each with its sentence in the request's language."""
    locale = current_locale_code()
    out = []
    for item in targets.shown(definition, list(found), locale):
        data = item.progress.to_dict()
        data["label"] = item.progress.field.text("label", locale)
        data["text"] = item.text
        out.append(schemas.TargetProgress.model_validate(data))
    return out


def plan_phases(definition: Definition, assignment: Any,
                now: datetime | None = None) -> dict[str, Any]:
    """``phases`` (the plan's phases as the assignment adjusts them) and ``phase`` (the one
    today falls in), in the request's language."""
    own = getattr(assignment, "phases", None) or ()
    key = (id(definition), current_locale_code(),
           tuple(tuple(sorted(entry.items())) for entry in own))
    try:
        hash(key)
    except TypeError:  # phases the key cannot hold: built afresh
        key = None
    found = _PHASES.get(key, definition, lambda: [
        phase(p) for p in targets.phases(definition, assignment)])
    return {"phases": found, "phase": current_phase(found, targets.today(now))}


def phase(found: Phase | None) -> schemas.PlanPhase | None:
    if found is None:
        return None
    return schemas.PlanPhase(key=found.key, name=found.text("name", current_locale_code()),
                         start=found.start, end=found.end)


def applies(view: ReportView) -> dict[str, bool]:
    """Whether each field with a condition applies to the unit, given its answers."""
    governed = {key for c in conditions(view.definition) for key in c.governs}
    if not governed:
        return {}
    scope = view.applicability()
    return {f.key: scope.applies(f.key) for f in view.definition.fields() if f.key in governed}
