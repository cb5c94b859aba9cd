"""The pages of background jobs: "my downloads", one job's progress, its JSON and its file.

Every route reads the signed-in account's own jobs only; another account's job is
404. The progress page refreshes itself without JavaScript (a meta refresh while
the job runs); with JavaScript it polls the JSON and moves the bar in place.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, send_file, url_for
from flask_login import current_user, login_required

from server.db import db_session
from server.downloads import CSV, XLSX, content_disposition
from server.models.jobs import Job, JobStatus
from server.services import jobs

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
REFRESH_SECONDS = 2


def _job(job_id: int) -> Job:
    return jobs.get_for(db_session(), current_user._get_current_object(), job_id)  # else 404


def status_json(job: Job) -> dict:
    """What the page's script and the API read: status, units done of total, the link."""
    found = {"id": job.id, "kind": job.kind, "status": job.status, "done": job.done,
             "total": job.total, "percent": job.percent, "file_name": job.file_name,
             "created_at": job.created_at.isoformat(),
             "finished_at": job.finished_at.isoformat() if job.finished_at else None,
             "expires_at": job.expires_at.isoformat() if job.expires_at else None,
             "error": jobs.error_text(job), "summary": jobs.import_summary(job),
             "download": None}
    if jobs.file_path(job) is not None:
        found["download"] = url_for("jobs.download", job_id=job.id)
    return found


@bp.get("/")
@login_required
def index():
    """My downloads: the account's background jobs, newest first, with their files."""
    found = jobs.mine(db_session(), current_user._get_current_object())
    return render_template("jobs/index.html", jobs=found, file_path=jobs.file_path,
                           error_text=jobs.error_text, import_summary=jobs.import_summary)


@bp.get("/<int:job_id>")
@login_required
def detail(job_id: int):
    job = _job(job_id)
    running = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    rows = jobs.bulk_rows(job)  # the results of a bulk upload, one line per workbook
    return render_template("jobs/detail.html", job=job, running=running,
                           refresh=REFRESH_SECONDS, ready=jobs.file_path(job) is not None,
                           error=jobs.error_text(job), summary=jobs.import_summary(job),
                           rows=rows, counts_line=jobs.import_summary(job))


@bp.get("/<int:job_id>.json")
@login_required
def detail_json(job_id: int):
    response = jsonify(status_json(_job(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:job_id>/file")
@login_required
def download(job_id: int):
    return send_job_file(_job(job_id))


def send_job_file(job: Job):
    """The file of a finished job as a download (404 before it is ready or once expired);
    the caller has checked that the job is the account's own."""
    path = jobs.file_path(job)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=XLSX if jobs.is_workbook(job) else CSV,
                         as_attachment=True, download_name=job.file_name, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(job.file_name)
    return response
