"""Plain JSON shapes of the API's objects: units, issues, dates and reports.

Values are the typed values of ``forms.values`` made JSON-able (numbers stay
numbers, dates ISO); messages are rendered in the request's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from forms.periods import days_until
from forms.values import jsonable
from server.locale import translate_issue
from server.models import Unit
from server.models.accounts import utcnow
from server.models.reporting import late_or_overdue
from server.services import reporting
from server.services.reporting import ReportView


def timestamp(value: datetime | None) -> str | None:
    """An ISO 8601 instant; the database's naive datetimes are UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def unit_ref(unit: Unit | None) -> dict[str, str] | None:
    return {"code": unit.code, "name": unit.name} if unit is not None else None


def issue(found: Any) -> dict[str, Any]:
    """An issue object from a ``forms.issues.Issue`` or an ``exports.messages.CellIssue``.

    Table issues also name their ``row`` (0-based) and ``column``; workbook issues
    their ``sheet`` and ``cell``.
    """
    data: dict[str, Any] = {
        "field": found.field,
        "code": found.code,
        "severity": str(found.severity),
        "message": translate_issue(found),
        "params": {k: _plain(v) for k, v in found.params.items()},
    }
    for extra in ("row", "column", "sheet", "cell"):
        value = getattr(found, extra, None)
        if value is not None:
            data[extra] = value
    return data


def issues(found: Iterable[Any]) -> list[dict[str, Any]]:
    return [issue(i) for i in found]


def message_issue(field: str | None, code: str, message: str, *, severity: str = "error",
                  **params: Any) -> dict[str, Any]:
    """An issue object for a problem the API finds itself (an unknown field, a missing comment)."""
    return {"field": field, "code": code, "severity": severity, "message": message,
            "params": {k: _plain(v) for k, v in params.items()}}


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)


def is_late(view: ReportView, now: datetime | None = None) -> bool:
    """Submitted after the deadline, or still open after it."""
    return late_or_overdue(view.status, bool(view.report and view.report.late),
                           days_until(view.due, now or utcnow()))


def report(view: ReportView, extra_issues: Iterable[Any] = ()) -> dict[str, Any]:
    """The report as GET /reports/… answers it.

    ``issues`` is what a submission would check now (nothing for a report not
    started), after *extra_issues* (e.g. the warnings about what was just typed).
    """
    stored = reporting.issues_for(view) if view.report is not None else []
    saved = view.report
    return {
        "assignment": view.assignment.key,
        "unit": unit_ref(view.unit),
        "period": view.period,
        "template": view.template.key,
        "version": view.template.version,
        "status": str(view.status),
        "revision": view.revision,
        "due": day(view.due),
        "late": is_late(view),
        "submitted_at": timestamp(saved.submitted_at) if saved else None,
        "values": jsonable(view.values),
        "increments": jsonable(view.increments),
        "issues": issues([*extra_issues, *stored]),
        "remarks": saved.remarks if saved else "",
    }
