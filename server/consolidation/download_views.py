"""Downloads of a consolidation: the merged workbook, the flat data as CSV, and one unit's
cumulative figures across the periods of the plan.

Each file is written to an anonymous temporary file and streamed from there, so
a subtree of thousands of units never sits in memory as one response body. The
file names follow the reader's language; ``send_file`` adds the RFC 5987
``filename*`` when a name is not ASCII.
"""

from __future__ import annotations

from flask_babel import gettext
from flask_login import current_user

from server.auth.access import roles_required
from server.consolidation.blueprint import bp
from server.consolidation.figures_views import event_export, figures_or_404
from server.db import db_session
from server.downloads import CSV, XLSX, send_written
from server.locale import current_locale_code
from server.models import Role
from server.services import merged


@bp.get("/<assignment>/<unit>/<period>/merged.xlsx")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def index_merged(assignment: str, unit: str, period: str):
    """The merged workbook: summary, completeness, issues, data and one sheet per child.
    An event assignment's period answers with its events workbook for the period's days."""
    moved = event_export("review.events_workbook", assignment, unit, period)
    if moved is not None:
        return moved
    figures = figures_or_404(assignment, unit, period)
    locale = current_locale_code()
    return send_written(
        lambda out: merged.write_merged(db_session(), figures, out, locale=locale,
                                        translate=gettext),
        XLSX, merged.merged_filename(figures, locale))


@bp.get("/<assignment>/<unit>/<period>/data.csv")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def index_csv(assignment: str, unit: str, period: str):
    """The flat data (unit × field) of the subtree, UTF-8 with a byte-order mark; for an
    event assignment, its events CSV for the period's days."""
    moved = event_export("review.events_csv", assignment, unit, period)
    if moved is not None:
        return moved
    figures = figures_or_404(assignment, unit, period)
    locale = current_locale_code()
    return send_written(
        lambda out: merged.write_flat_csv(db_session(), figures, out, locale=locale,
                                          translate=gettext),
        CSV, merged.csv_filename(figures, locale))


@bp.get("/<assignment>/<unit>/series.xlsx")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def index_series(assignment: str, unit: str):
    """One unit's cumulative indicators across all periods of the plan, with increments."""
    session, user = db_session(), current_user._get_current_object()
    locale = current_locale_code()
    name = merged.series_filename(session, user, assignment, unit, locale)  # NotVisible: 404
    return send_written(
        lambda out: merged.write_series(session, user, assignment, unit, out,
                                        locale=locale, translate=gettext),
        XLSX, name)
