"""Finding the report a URL names, within the signed-in account's scope."""

from __future__ import annotations

from flask_login import current_user

from server.db import db_session
from server.services import reporting
from server.services.reporting import ReportView


def load_or_404(assignment: str, unit: str, period: str) -> ReportView:
    """The report view; unknown or out of scope raises NotVisible, answered with 404
    (revealing nothing) by ``server.refusals``."""
    return reporting.load(db_session(), current_user._get_current_object(), assignment, unit,
                          period)


def report_args(view: ReportView) -> dict[str, str]:
    """The URL arguments of the report's pages."""
    return {"assignment": view.assignment.key, "unit": view.unit.code, "period": view.period}
