"""A report's history: every revision, the audit trail, and what changed between two revisions."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from forms.definition import Definition, FieldDef
from forms.diff import Change, diff_values
from forms.values import loads_values
from server.db import db_session
from server.locale import current_locale_code
from server.models.reporting import Revision
from server.reporting.blueprint import bp
from server.reporting.loading import load_or_404, report_args
from server.services import reporting

SOURCE_LABELS = {
    "web": _l("Web form"),
    "excel": _l("Excel upload"),
    "api": _l("API"),
    "consolidation": _l("Consolidation"),
    "autosave": _l("Saved automatically"),
}

EVENT_LABELS = {
    "saved": _l("Saved"),
    "submitted": _l("Submitted"),
    "returned": _l("Returned"),
    "approved": _l("Approved"),
    "unapproved": _l("Approval withdrawn"),
    "withdrawn": _l("Withdrawn by the unit"),
}


def source_label(source: str) -> str:
    return str(SOURCE_LABELS.get(source, source))


def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


@dataclass(frozen=True)
class Comparison:
    """Revision *a* (older) against revision *b*; number 0 stands for the empty report."""

    a: int
    b: int
    changes: list[Change]
    remarks: tuple[str, str] | None  # (before, after) when the remarks changed


def field_place(definition: Definition, fld: FieldDef) -> str:
    """Where a field sits in the form: "3 淘汰落后工艺设备" (empty for header fields)."""
    item = definition.item_of(fld.key)
    if item is None:
        return ""
    return f"{item.number} {item.text('title', current_locale_code())}"


def _number(name: str, default: int, allowed: set[int]) -> int:
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return default
    return value if value in allowed else default


def compare(definition: Definition, revisions: list[Revision]) -> Comparison | None:
    """The comparison chosen in the query (?a=&b=), by default the previous against the latest."""
    if not revisions:
        return None
    by_number = {r.number: r for r in revisions}
    latest = max(by_number)
    b = _number("b", latest, set(by_number))
    a = _number("a", max((n for n in by_number if n < b), default=0), set(by_number) | {0})
    if a > b:
        a, b = b, a
    older, newer = by_number.get(a), by_number[b]
    before = loads_values(definition, older.values) if older else {}
    after = loads_values(definition, newer.values)
    old_remarks = older.remarks if older else ""
    remarks = (old_remarks, newer.remarks) if old_remarks != newer.remarks else None
    return Comparison(a, b, diff_values(definition, before, after), remarks)


@bp.get("/<assignment>/<unit>/<period>/history")
@login_required
def history(assignment: str, unit: str, period: str):
    view = load_or_404(assignment, unit, period)
    session = db_session()
    revisions, events = [], []
    if view.report is not None:
        revisions = list(reporting.revisions(session, view.report))
        events = list(reporting.events(session, view.report))
    return render_template(
        "reporting/history.html", view=view, definition=view.definition, args=report_args(view),
        revisions=revisions, events=events, comparison=compare(view.definition, revisions),
        source_label=source_label, event_label=event_label,
        field_place=lambda fld: field_place(view.definition, fld),
    )
