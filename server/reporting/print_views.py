"""The report in the official printed layout, to be signed and stamped."""

from __future__ import annotations

from flask import render_template
from flask_login import login_required

from server.reporting.blueprint import bp
from server.reporting.display import progress_column
from server.reporting.loading import load_or_404, report_args


@bp.get("/<assignment>/<unit>/<period>/print")
@login_required
def print_view(assignment: str, unit: str, period: str):
    view = load_or_404(assignment, unit, period)
    scope = view.applicability()
    return render_template("reporting/print.html", view=view, definition=view.definition,
                           args=report_args(view), progress=progress_column(view.definition),
                           off=scope.fields, off_sections=scope.sections)
