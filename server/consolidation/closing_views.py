"""Closing and reopening a period for a unit's subtree, from its consolidation page."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from server.auth.access import roles_required
from server.consolidation.blueprint import bp
from server.consolidation.figures_views import figures_or_404, index_figures
from server.consolidation.forms import CloseForm, ReopenForm
from server.db import db_session
from server.labels import period_label
from server.models import Role
from server.refusals import on_refusal
from server.services import closing


def _back(figures):
    return redirect(url_for("consolidation.index_figures", assignment=figures.assignment.key,
                            unit=figures.unit.code, period=figures.period))


@bp.post("/<assignment>/<unit>/<period>/close")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def close_period(assignment: str, unit: str, period: str):
    figures = figures_or_404(assignment, unit, period)
    form = CloseForm()
    on_refusal(lambda _refusal: (index_figures(assignment, unit, period), 409))
    if form.validate_on_submit():
        closing.close(db_session(), current_user._get_current_object(), figures.assignment,
                      figures.unit, figures.period)
        flash(_("%(period)s is closed for %(unit)s: its reports can no longer change.",
                period=period_label(figures.period), unit=figures.unit.name), "success")
    return _back(figures)


@bp.post("/<assignment>/<unit>/<period>/reopen")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def reopen_period(assignment: str, unit: str, period: str):
    figures = figures_or_404(assignment, unit, period)
    form = ReopenForm()
    on_refusal(lambda _refusal: (index_figures(assignment, unit, period, reopen_form=form), 400),
               form=form)
    if form.validate_on_submit():
        closing.reopen(db_session(), current_user._get_current_object(), figures.assignment,
                       figures.unit, figures.period, form.reason.data or "")
        flash(_("%(period)s is open again for %(unit)s.",
                period=period_label(figures.period), unit=figures.unit.name), "success")
    return _back(figures)
