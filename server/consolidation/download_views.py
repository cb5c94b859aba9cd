"""Downloads of a consolidation: the merged workbook, the flat data as CSV, and one unit's
cumulative figures across the periods of the plan.

Each file is written to an anonymous temporary file and streamed from there, so
a subtree of thousands of units never sits in memory as one response body. The
file names follow the reader's language; ``send_file`` adds the RFC 5987
``filename*`` when a name is not ASCII.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm

from server.auth.access import roles_required
from server.consolidation.blueprint import bp
from server.consolidation.figures_views import event_export, figures_or_404
from server.db import db_session
from server.downloads import CSV, XLSX, send_written
from server.locale import current_locale_code
from server.models import Role
from server.pdf import send_pdf
from server.services import jobs, merged


@bp.get("/<assignment>/<unit>/<period>/merged.xlsx")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def index_merged(assignment: str, unit: str, period: str):
    """The merged workbook: summary, completeness, issues, data and one sheet per child.

    Above the background threshold it is prepared by a worker: the answer is the job's
    progress page. An event assignment's period answers with its events workbook for the
    period's days."""
    moved = event_export("review.events_workbook", assignment, unit, period)
    if moved is not None:
        return moved
    figures = figures_or_404(assignment, unit, period)
    locale = current_locale_code()
    size = jobs.in_background(db_session(), figures)
    if size is not None:
        return _start_page(figures, jobs.MERGED, size)
    return send_written(
        lambda out: merged.write_merged(db_session(), figures, out, locale=locale,
                                        translate=gettext),
        XLSX, merged.merged_filename(figures, locale))


@bp.get("/<assignment>/<unit>/<period>/summary.pdf")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def index_summary_pdf(assignment: str, unit: str, period: str):
    """The leader's summary (汇总表) alone, printed to PDF; 503 without LibreOffice."""
    figures = figures_or_404(assignment, unit, period)
    locale = current_locale_code()
    data = merged.write_summary_pdf_workbook(db_session(), figures, locale=locale,
                                             translate=gettext)
    return send_pdf(data, merged.summary_pdf_filename(figures, locale))


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
    size = jobs.in_background(db_session(), figures)
    if size is not None:
        return _start_page(figures, jobs.FLAT_CSV, size)
    return send_written(
        lambda out: merged.write_flat_csv(db_session(), figures, out, locale=locale,
                                          translate=gettext),
        CSV, merged.csv_filename(figures, locale))


class StartForm(FlaskForm):
    """Empty: carries the CSRF token of the "prepare the file" button."""


def _start_page(figures, kind: str, size: int):
    """A large export is prepared in the background: a page with the button that starts it
    (a GET never changes anything)."""
    return render_template("jobs/start.html", unit_name=figures.unit.name, size=size,
                           form=StartForm(), action=request.full_path.rstrip("?"))


@bp.post("/<assignment>/<unit>/<period>/merged.xlsx")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def start_merged(assignment: str, unit: str, period: str):
    return _start(jobs.MERGED, assignment, unit, period)


@bp.post("/<assignment>/<unit>/<period>/data.csv")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def start_csv(assignment: str, unit: str, period: str):
    return _start(jobs.FLAT_CSV, assignment, unit, period)


def _start(kind: str, assignment: str, unit: str, period: str):
    """Start the background export (the same one again while it runs) and show its page."""
    figures = figures_or_404(assignment, unit, period)
    if not StartForm().validate_on_submit():
        abort(400)
    session = db_session()
    job = jobs.start_export(session, current_user._get_current_object(), kind, figures,
                            jobs.ExportRequest(figures.assignment.key, figures.unit.code,
                                               figures.period, figures.include_submitted,
                                               figures.carry_forward, current_locale_code()),
                            merged.subtree_size(session, figures))
    return redirect(url_for("jobs.detail", job_id=job.id))


@bp.get("/<assignment>/<unit>/series.xlsx")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def index_series(assignment: str, unit: str):
    """One unit's cumulative indicators across all periods of the plan, with increments.

    Above the background threshold (the subtree's reporting units) it is prepared by a
    worker, as the merged workbook is."""
    session, user = db_session(), current_user._get_current_object()
    locale = current_locale_code()
    name = merged.series_filename(session, user, assignment, unit, locale)  # NotVisible: 404
    if jobs.series_in_background(session, user, assignment, unit) is not None:
        units, _periods = merged.series_size(session, user, assignment, unit)
        _assignment, subject = merged.series_subject(session, user, assignment, unit)
        return render_template("jobs/start.html", unit_name=subject.name, size=units,
                               form=StartForm(), action=request.full_path.rstrip("?"))
    return send_written(
        lambda out: merged.write_series(session, user, assignment, unit, out,
                                        locale=locale, translate=gettext),
        XLSX, name)


@bp.post("/<assignment>/<unit>/series.xlsx")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def start_series(assignment: str, unit: str):
    """Start the background series (the same one again while it runs) and show its page."""
    session, user = db_session(), current_user._get_current_object()
    merged.series_subject(session, user, assignment, unit)  # NotVisible: 404
    if not StartForm().validate_on_submit():
        abort(400)
    units, periods = merged.series_size(session, user, assignment, unit)
    job = jobs.start_series(session, user, assignment, unit, current_locale_code(),
                            units * periods)
    return redirect(url_for("jobs.detail", job_id=job.id))
