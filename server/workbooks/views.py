"""Routes: download a report's template workbook, upload it filled, bulk upload.

Every report URL is resolved within the account's scope (404 otherwise). An
upload's result page lists each problem with its sheet, cell and field; when
nothing was saved because of errors, it links to the workbook handed back with
the problems marked.
"""

from __future__ import annotations

import io

from flask import abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from server.auth.access import roles_required
from server.db import db_session
from server.models import Role
from server.pdf import send_pdf
from server.reporting.loading import load_or_404, report_args
from server.services import jobs, reporting
from server.services import workbooks as workbook_service
from server.services.reporting import ReportView
from server.workbooks.blueprint import bp

ACCEPT = ".xlsx,.xls,.ods"


def may_upload(view: ReportView) -> bool:
    """Whether the signed-in account may upload a filled workbook for *view*."""
    user = current_user._get_current_object()
    return reporting.can_edit(user, view) or reporting.can_file_for(user, view)


@bp.app_context_processor
def _workbook_helpers() -> dict:
    return {"workbook_upload_allowed": may_upload}


@bp.get("/reports/<assignment>/<unit>/<period>/workbook.xlsx")
@login_required
def download(assignment: str, unit: str, period: str):
    view = load_or_404(assignment, unit, period)
    workbook = workbook_service.template_for(db_session(), current_user._get_current_object(), view)
    return _xlsx(workbook.data, workbook.filename)


@bp.get("/reports/<assignment>/<unit>/<period>/report.pdf")
@login_required
def download_pdf(assignment: str, unit: str, period: str):
    """The report's official form, filled as its web form is, printed to PDF with the
    form's print settings (upright when the form is narrow): the form sheet, then the
    unit's 说明 of the figures it explained (none: no 说明 page), never the hidden sheets;
    503 without LibreOffice."""
    view = load_or_404(assignment, unit, period)
    workbook = workbook_service.template_for(db_session(), current_user._get_current_object(), view)
    printed = workbook_service.for_print(workbook.data)
    return send_pdf(printed, workbook.filename.rsplit(".", 1)[0] + ".pdf")


@bp.post("/reports/<assignment>/<unit>/<period>/workbook")
@login_required
def upload(assignment: str, unit: str, period: str):
    view = load_or_404(assignment, unit, period)
    files = _chosen_files("workbook")
    if not files:
        return _upload_page(view, None, _("Choose a filled workbook to upload.")), 400
    name = files[0].filename or "workbook.xlsx"
    outcome = workbook_service.import_upload(db_session(), current_user._get_current_object(), view,
                                    files[0].read(), name)
    return _upload_page(view, outcome), 200 if outcome.saved else 422


def _upload_page(view: ReportView, outcome, problem: str | None = None) -> str:
    return render_template("workbooks/upload_result.html", view=view, args=report_args(view),
                           outcome=outcome, problem=problem,
                           lines=workbook_service.issue_lines(outcome) if outcome else [],
                           summary=workbook_service.summary(outcome) if outcome else "")


@bp.get("/workbooks/annotated/<token>")
@login_required
def annotated(token: str):
    stored = workbook_service.annotated_file(db_session(), current_user._get_current_object(),
                                             token)
    if stored is None:
        abort(404)
    return _xlsx(stored.data, stored.filename)


@bp.route("/review/uploads", methods=["GET", "POST"])
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def bulk():
    """Upload many workbooks; an upload of more workbooks than the background threshold is
    read by a worker and answered with the job's page, a smaller one here and now."""
    outcomes, problem = None, None
    if request.method == "POST":
        files = _chosen_files("files")
        if not files:
            problem = _("Choose one or more workbooks, or a .zip file holding them.")
        else:
            uploads = [(f.filename or "workbook.xlsx", f.read()) for f in files]
            session, user = db_session(), current_user._get_current_object()
            size = workbook_service.bulk_size(uploads)
            if size > jobs.threshold():
                job = jobs.start_bulk_upload(session, user, uploads, size)
                return redirect(url_for("jobs.detail", job_id=job.id))
            outcomes = workbook_service.import_bulk(session, user, uploads)
    rows = [workbook_service.result_row(o) for o in outcomes or []]
    counts = workbook_service.count_by_result(outcomes or [])
    # Nothing saved and nothing to correct: every file was refused.
    refused = bool(outcomes) and all(o.result == workbook_service.REFUSED for o in outcomes)
    status = 400 if problem else 422 if refused else 200
    return render_template("workbooks/bulk.html", rows=rows, problem=problem,
                           counts_line=workbook_service.counts_text(counts),
                           posted=outcomes is not None, accept=ACCEPT + ",.zip"), status


def _chosen_files(name: str) -> list[FileStorage]:
    """The uploaded files of field *name* (a form sent without choosing one sends an empty one)."""
    return [f for f in request.files.getlist(name) if f and f.filename]


def _xlsx(data: bytes, filename: str):
    return send_file(io.BytesIO(data), mimetype=workbook_service.XLSX_TYPE, as_attachment=True,
                     download_name=filename, max_age=0)
