"""Consolidations over the API: a unit's figures from its children, and the merged downloads.

``/consolidations/{assignment}/{unit}/{period}`` answers what the consolidation
page shows (``services.consolidation.figures``): the totals with the part each
child gave, which children are missing and where a reported figure differs from
its children's. ``include_submitted=true`` counts submitted reports too, not only
approved ones. Consolidators and administrators only (403 for others); units
outside the scope, and units without children under the assignment, answer 404.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import ngettext

from forms.consolidation import Counts, Part
from forms.values import jsonable
from server import event_downloads
from server.api import schemas, serializers
from server.api.auth import api_user, check_role
from server.api.blueprint import bp
from server.api.jobs import accepted_if_large, series_accepted_if_large
from server.api.problems import ApiError
from server.api.reports import body_object
from server.db import db_session
from server.downloads import CSV, XLSX, send_written
from server.labels import tally_label
from server.locale import current_locale_code
from server.models import Role
from server.services import closing, consolidation, jobs, merged, targets
from server.services import events as event_service
from server.services.consolidation import ChildState, Figures

CONSOLIDATION = "/consolidations/<assignment>/<unit>/<period>"
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


def _include_submitted() -> bool:
    raw = request.args.get("include_submitted", "").strip().lower()
    if raw in TRUE or raw in FALSE:
        return raw in TRUE
    raise ApiError(400, "bad_request",
                   _("include_submitted must be true or false, not “%(value)s”.", value=raw))


def _flag(name: str, default: bool) -> bool:
    raw = request.args.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE or raw in FALSE:
        return raw in TRUE
    raise ApiError(400, "bad_request",
                   _("%(name)s must be true or false, not “%(value)s”.", name=name, value=raw))


def _figures(assignment: str, unit: str, period: str) -> Figures:
    user = check_role(Role.CONSOLIDATOR, Role.ADMIN)
    include_submitted = _include_submitted()
    carry_forward = _flag("carry_forward", True)
    # NotVisible (also NotConsolidating: no children to consolidate) answers 404.
    return consolidation.figures(db_session(), user, assignment, unit, period,
                                 include_submitted=include_submitted,
                                 carry_forward=carry_forward)


def _plain(value: Any) -> Any:
    """One typed value as JSON (Decimal → number, date → ISO text)."""
    return jsonable({"value": value})["value"]


def _child(state: ChildState) -> schemas.ConsolidationChild:
    return schemas.ConsolidationChild(unit=serializers.unit_ref(state.unit), status=state.status,
                                      included=state.included, late=state.late,
                                      carried_from=state.carried_from)


def consolidation_of(figures: Figures) -> schemas.Consolidation:
    result = figures.result
    notes = {c.unit.code: c.report.explanations or {} for c in figures.children
             if c.report is not None}
    return schemas.Consolidation(
        assignment=figures.assignment.key,
        unit=serializers.unit_ref(figures.unit),
        period=figures.period,
        template=figures.template.key,
        version=figures.template.version,
        include_submitted=figures.include_submitted,
        carry_forward=figures.carry_forward,
        values=jsonable(figures.values),
        increments=jsonable(figures.increments),
        previous_values=jsonable(figures.previous_values),
        overall=_counts(figures.overall, figures.overall.sentence(
            ngettext, carrying=figures.carry_forward, locale=current_locale_code())),
        falls=[schemas.Fall(unit=f.unit_code, name=f.unit_name, field=f.field_key,
                            value=_plain(f.value), previous=_plain(f.previous),
                            previous_period=f.previous_period) for f in figures.falls],
        previous_period=figures.previous_period,
        children=[_child(c) for c in figures.children],
        missing=[_child(c) for c in figures.missing],
        mismatches=[schemas.Mismatch(
            unit=serializers.unit_ref(m.unit), field=m.field_key,
            reported=_plain(m.reported), computed=_plain(m.computed),
            difference=_plain(m.difference),
            depth=m.depth,
        ) for m in figures.mismatches],
        provenance={key: [_part(part, notes.get(part.unit_code, {}).get(key, ""))
                          for part in parts]
                    for key, parts in result.provenance.items()
                    if key not in result.tallies},
        calculated=[f.key for f in figures.definition.calculated_fields()],
        tallies={key: [schemas.TallyCount(
            option=entry.option, label=tally_label(figures.definition.field(key), entry.option),
            count=entry.count, units=[_part(part) for part in entry.units])
            for entry in entries]
            for key, entries in result.tallies.items()},
        targets=serializers.target_list(
            figures.definition,
            targets.for_consolidation(db_session(), figures)),
        **serializers.plan_phases(figures.definition, figures.assignment),
        coverage={key: _coverage(figures, key) for key in result.provenance},
        closed=_closure(figures),
    )


def _closure(figures: Figures) -> schemas.Closure | None:
    closure = figures.closure
    if closure is None:
        return None
    return schemas.Closure(unit=serializers.unit_ref(closure.unit), closed_at=closure.closed_at,
                           closed_by=closure.closed_by.username if closure.closed_by else None)


def _part(part: Part, explanation: str = "") -> schemas.Part:
    return schemas.Part(unit=part.unit_code, name=part.unit_name, value=_plain(part.value),
                        revision=part.revision, explanation=explanation,
                        carried_from=part.carried_from)


def _counts(counts: Counts, text: str, not_applicable: list[str] | None = None
            ) -> schemas.FigureCoverage:
    return schemas.FigureCoverage(applies=counts.applies, reported=counts.reported,
                                  carried=counts.carried, blank=counts.blank,
                                  never=counts.never, text=text,
                                  not_applicable=not_applicable or [])


def _coverage(figures: Figures, key: str) -> schemas.FigureCoverage:
    cov = figures.coverage(key)
    return _counts(cov, figures.coverage_sentence(key, ngettext, current_locale_code()),
                   [u.code for u in cov.not_applicable])


@bp.get(CONSOLIDATION)
def get_consolidation(assignment: str, unit: str, period: str):
    return schemas.answer(consolidation_of(_figures(assignment, unit, period)))


@bp.post(CONSOLIDATION + "/close")
def close_period(assignment: str, unit: str, period: str):
    """Close the period for the unit's subtree (every report owed must be approved)."""
    figures = _figures(assignment, unit, period)
    closing.close(db_session(), api_user(), figures.assignment, figures.unit, figures.period)
    return schemas.answer(consolidation_of(_figures(assignment, unit, period)))


@bp.post(CONSOLIDATION + "/reopen")
def reopen_period(assignment: str, unit: str, period: str):
    """Reopen the period with a reason (``{"reason": "..."}``), recorded with who and when."""
    figures = _figures(assignment, unit, period)
    reason = body_object().get("reason")
    if not isinstance(reason, str):
        raise ApiError(400, "bad_request", _("“%(name)s” must be a string.", name="reason"))
    closing.reopen(db_session(), api_user(), figures.assignment, figures.unit, figures.period,
                   reason)
    return schemas.answer(consolidation_of(_figures(assignment, unit, period)))


def _events(assignment: str, unit: str, period: str) -> event_service.EventExport | None:
    """An event assignment is not consolidated per period: its events within the period's
    days stand for the merged workbook and the flat data (None for other assignments)."""
    user = check_role(Role.CONSOLIDATOR, Role.ADMIN)
    window = event_service.period_window(db_session(), user, assignment, unit, period)
    if window is None:
        return None
    return event_service.export(db_session(), user, window.assignment, since=window.since,
                                until=window.until, locale=current_locale_code())


@bp.get(CONSOLIDATION + "/merged.xlsx")
def get_merged_workbook(assignment: str, unit: str, period: str):
    found = _events(assignment, unit, period)
    if found is not None:
        return event_downloads.workbook_response(found)
    figures = _figures(assignment, unit, period)
    accepted = accepted_if_large(figures, jobs.MERGED)
    if accepted is not None:
        return accepted
    locale = current_locale_code()
    return send_written(lambda output: merged.write_merged(db_session(), figures, output,
                                                    locale=locale, translate=_),
                 XLSX, merged.merged_filename(figures, locale))


@bp.get("/consolidations/<assignment>/<unit>/series.xlsx")
def get_series_workbook(assignment: str, unit: str):
    """One unit's cumulative indicators across the periods; 202 with a job when large."""
    user = check_role(Role.CONSOLIDATOR, Role.ADMIN)
    locale = current_locale_code()
    name = merged.series_filename(db_session(), user, assignment, unit, locale)  # else 404
    accepted = series_accepted_if_large(user, assignment, unit)
    if accepted is not None:
        return accepted
    return send_written(lambda output: merged.write_series(db_session(), user, assignment,
                                                           unit, output, locale=locale,
                                                           translate=_),
                        XLSX, name)


@bp.get(CONSOLIDATION + "/flat.csv")
def get_flat_csv(assignment: str, unit: str, period: str):
    found = _events(assignment, unit, period)
    if found is not None:
        return event_downloads.csv_response(found)
    figures = _figures(assignment, unit, period)
    accepted = accepted_if_large(figures, jobs.FLAT_CSV)
    if accepted is not None:
        return accepted
    locale = current_locale_code()
    return send_written(lambda output: merged.write_flat_csv(db_session(), figures, output,
                                                      locale=locale, translate=_),
                 CSV, merged.csv_filename(figures, locale))
