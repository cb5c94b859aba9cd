"""Background jobs in the API: a large merged export answers ``202 Accepted`` with a job
resource (``Location``); poll ``GET /jobs/{job}`` until ``links.download`` is set."""

from __future__ import annotations

from flask import url_for

from server.api import schemas
from server.api.auth import api_user
from server.api.blueprint import bp
from server.db import db_session, unit_of_work
from server.jobs.pages import send_job_file
from server.locale import current_locale_code
from server.models.jobs import Job
from server.services import jobs
from server.services.consolidation import Figures


def job_resource(job: Job) -> schemas.Job:
    ready = jobs.file_path(job) is not None
    return schemas.Job(
        id=job.id, kind=job.kind, status=job.status, done=job.done, total=job.total,
        percent=job.percent, file_name=job.file_name, created_at=job.created_at,
        finished_at=job.finished_at, expires_at=job.expires_at, error=jobs.error_text(job),
        links=schemas.JobLinks(job=url_for("api.get_job", job_id=job.id),
                               download=url_for("api.get_job_file", job_id=job.id)
                               if ready else None))


def accepted_if_large(figures: Figures, kind: str):
    """``202 Accepted`` with a new (or the same running) job when the export is above the
    threshold; None to answer with the file now."""
    session = db_session()
    total = jobs.in_background(session, figures)
    if total is None:
        return None
    with unit_of_work(session):  # a GET: committed here, so that a worker can run it
        job = jobs.start_export(
            session, api_user(), kind, figures,
            jobs.ExportRequest(figures.assignment.key, figures.unit.code, figures.period,
                               figures.include_submitted, figures.carry_forward,
                               current_locale_code()), total)
    location = url_for("api.get_job", job_id=job.id)
    return schemas.answer(job_resource(job)), 202, {"Location": location}


def series_accepted_if_large(user, assignment: str, unit: str):
    """``202 Accepted`` with the series job when the unit's subtree is above the threshold;
    None to answer with the file now."""
    session = db_session()
    total = jobs.series_in_background(session, user, assignment, unit)
    if total is None:
        return None
    with unit_of_work(session):
        job = jobs.start_series(session, user, assignment, unit, current_locale_code(), total)
    return (schemas.answer(job_resource(job)), 202,
            {"Location": url_for("api.get_job", job_id=job.id)})


@bp.get("/jobs/<int(max=2147483647):job_id>")
def get_job(job_id: int):
    """The job: status, units done of total, the download link once ready (404 if not
    the account's own)."""
    return schemas.answer(job_resource(jobs.get_for(db_session(), api_user(), job_id)))


@bp.get("/jobs/<int(max=2147483647):job_id>/file")
def get_job_file(job_id: int):
    return send_job_file(jobs.get_for(db_session(), api_user(), job_id))
