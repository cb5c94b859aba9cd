"""Long work in the background: a merged export of a large subtree runs as a job.

A job is a row first (:class:`~server.models.jobs.Job`: owner, kind, parameters,
status, units done of total), written in the caller's unit of work; the job
runner is told after the commit, as for the outbox. A worker runs it
(:func:`run`): the export reports each unit it writes, and the progress is
written on a connection of its own at most a few times a second, so the page's
progress bar advances while the export's own transaction reads on. The file is
kept in the instance folder's ``jobs`` directory until ``expires_at``; the
periodic :func:`clean_up` removes it and the row after that. When the file is
ready (or the work failed) its owner gets a notification in the app.

Imports run as jobs too: a unit table, applied all or nothing (on SQLite its progress is
written beside it, see :class:`ProgressBeside`), and a bulk workbook upload, each workbook
read in a transaction of its own with its outcome stored with the job as data (the
results table of its page, in every language).

Only the owner sees a job: anyone else is answered NotVisible (404).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from exports.bulk import Upload, expand_uploads
from forms.periods import SHANGHAI, Period
from server.db import unit_of_work
from server.locale import DEFAULT_LOCALE, LANGUAGES, current_locale_code
from server.models import Role, User
from server.models.accounts import utcnow
from server.models.jobs import Job, JobStatus
from server.models.notifications import Channel
from server.services import merged, outbox
from server.services import units as unit_service
from server.services import workbooks as workbook_service
from server.services.consolidation import Figures
from server.services.consolidation import figures as consolidation_figures
from server.services.errors import NotVisible, problem_text

log = logging.getLogger(__name__)

PENDING_KEY = "tianbao.jobs_pending"  # job ids to queue once the session commits (runner)
FOLDER = "jobs"
MERGED, FLAT_CSV, SERIES, UNITS_IMPORT = "merged", "csv", "series", "units-import"
BULK_UPLOAD = "bulk-upload"  # workbooks uploaded at once (批量上传), read by a worker
KINDS = (MERGED, FLAT_CSV)
PROGRESS_INTERVAL = 0.25  # seconds between two progress writes
STALE = "stale"  # the error of a job no worker took in time
STALE_MESSAGE = _l("No worker took this job in time, so it was stopped. Start it again; if "
                   "it stops again, tell the administrator that the background worker seems "
                   "not to be running.")
LOST = "worker_lost"  # the error of a running job whose worker stopped being heard from
LOST_MESSAGE = _l("The background worker stopped before this job was finished, so it was "
                  "marked failed. Start it again; if it stops again, tell the administrator "
                  "the time it stopped at.")
BULK_FAILED_MESSAGE = _l("The uploaded workbooks could not be read. Upload them again; if it "
                         "fails again, tell the administrator the time it failed at.")
FAILED_MESSAGE = _l("The export could not be made. Try again; if it fails again, tell the "
                    "administrator the time it failed at.")


@dataclass(frozen=True)
class ExportRequest:
    """What a merged export is asked for, as the page or the API passes it."""

    assignment: str
    unit: str
    period: str
    include_submitted: bool = False
    carry_forward: bool = True
    locale: str = DEFAULT_LOCALE

    def params(self) -> dict[str, Any]:
        return {"assignment": self.assignment, "unit": self.unit, "period": self.period,
                "include_submitted": self.include_submitted,
                "carry_forward": self.carry_forward, "locale": self.locale}


def threshold() -> int:
    return int(current_app.config.get("BACKGROUND_UNITS", 2000))


def queued_for_at_most() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("JOB_QUEUED_MINUTES", 60)))


def silent_for_at_most() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("JOB_STALE_MINUTES", 30)))


def keep_for() -> timedelta:
    return timedelta(hours=int(current_app.config.get("JOB_FILES_HOURS", 24)))


def folder(app=None) -> Path:
    path = Path((app or current_app).config["INSTANCE_PATH"]) / FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def in_background(session: Session, figures: Figures) -> int | None:
    """The number of units a merged export of *figures* writes when that is above the
    threshold (it should run as a job), else None (write it now)."""
    size = merged.subtree_size(session, figures)
    return size if size > threshold() else None


def start_export(session: Session, user: User, kind: str, figures: Figures,
                 request: ExportRequest, total: int) -> Job:
    """Add the job of a merged export (workbook or CSV) of *figures* for *user*; queued
    for a worker when the caller's unit of work commits. The same export asked for again
    while it is queued or running is that job (no second one)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown export kind {kind!r}")
    params = request.params()
    for running in session.scalars(select(Job).where(
            Job.user_id == user.id, Job.kind == kind,
            Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))):
        if running.params == params:
            return running
    name = (merged.merged_filename(figures, request.locale) if kind == MERGED
            else merged.csv_filename(figures, request.locale))
    job = Job(user_id=user.id, kind=kind, params=params, status=JobStatus.QUEUED,
              done=0, total=total, file_name=name, title=_title(figures, request.locale),
              stored_as="", error="")
    session.add(job)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(job.id)
    return job


def series_in_background(session: Session, user: User, assignment_key: str,
                         unit_code: str) -> int | None:
    """The work (units × periods) of the series of *unit_code* when its subtree is above the
    threshold (it should run as a job), else None (write it now). NotVisible passes."""
    units, periods = merged.series_size(session, user, assignment_key, unit_code)
    return units * periods if units > threshold() else None


def start_series(session: Session, user: User, assignment_key: str, unit_code: str,
                 locale: str, total: int) -> Job:
    """Add the job of one unit's series across the periods (the same one again while it is
    queued or running); queued when the caller's unit of work commits."""
    params = {"assignment": assignment_key, "unit": unit_code, "locale": locale}
    for running in session.scalars(select(Job).where(
            Job.user_id == user.id, Job.kind == SERIES,
            Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))):
        if running.params == params:
            return running
    assignment, unit = merged.series_subject(session, user, assignment_key, unit_code)
    job = Job(user_id=user.id, kind=SERIES, params=params, status=JobStatus.QUEUED,
              done=0, total=total,
              file_name=merged.series_filename(session, user, assignment_key, unit_code,
                                               locale),
              title=f"{unit.name} · {assignment.key}", stored_as="", error="")
    session.add(job)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(job.id)
    return job


def is_workbook(job: Job) -> bool:
    """Whether the job's file is a workbook (else CSV)."""
    return job.kind != FLAT_CSV


def start_units_import(session: Session, user: User, data: bytes, filename: str,
                       total: int) -> Job:
    """Add the job that applies an already checked unit table of *total* rows; the upload
    waits in the jobs folder until the worker has applied it."""
    stored = f"upload-{secrets.token_hex(8)}{Path(filename).suffix.lower()[:8]}"
    (folder() / stored).write_bytes(data)
    job = Job(user_id=user.id, kind=UNITS_IMPORT, params={"upload": stored,
                                                          "filename": filename},
              status=JobStatus.QUEUED, done=0, total=total, file_name=filename,
              title=filename, stored_as="", error="", summary="")
    session.add(job)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(job.id)
    return job


def start_bulk_upload(session: Session, user: User, uploads: list[tuple[str, bytes]],
                      total: int) -> Job:
    """Add the job that reads a bulk upload of *total* workbooks (files, or .zip bundles
    of them) for *user*: the uploaded files wait in the jobs folder, and stay there with
    the job until its files are cleaned up."""
    kept = []
    for filename, data in uploads:
        stored = f"upload-{secrets.token_hex(8)}{Path(filename).suffix.lower()[:8]}"
        (folder() / stored).write_bytes(data)
        kept.append({"upload": stored, "filename": filename})
    names = ", ".join(filename for filename, _data in uploads)
    name = names if len(names) <= 120 else names[:119] + "…"
    job = Job(user_id=user.id, kind=BULK_UPLOAD, params={"uploads": kept},
              status=JobStatus.QUEUED, done=0, total=total, file_name=name, title=name,
              stored_as="", error="", summary="")
    session.add(job)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(job.id)
    return job


def _title(figures: Figures, locale: str) -> str:
    return f"{figures.unit.name} · {Period.parse(figures.period).label(locale)}"


def get_for(session: Session, user: User, job_id: int) -> Job:
    """*user*'s job *job_id*; NotVisible (404) for anyone else's or an unknown one."""
    job = session.get(Job, job_id)
    if job is None or job.user_id != user.id:
        raise NotVisible(what=str(job_id))
    return _with_progress_beside(job)


def mine(session: Session, user: User, limit: int = 50) -> list[Job]:
    """*user*'s jobs whose files are not cleaned up yet, newest first."""
    return [_with_progress_beside(job) for job in session.scalars(
        select(Job).where(Job.user_id == user.id)
        .order_by(Job.created_at.desc(), Job.id.desc()).limit(limit))]


def file_path(job: Job) -> Path | None:
    """Where the finished job's file lies, or None (not done, expired, removed)."""
    if job.status != JobStatus.DONE or not job.stored_as:
        return None
    if job.expires_at is not None and _aware(job.expires_at) <= utcnow():
        return None
    path = folder() / job.stored_as
    return path if path.is_file() else None


def error_text(job: Job) -> str:
    """The failed job's message in the current language (empty unless it failed)."""
    if job.status != JobStatus.FAILED:
        return ""
    if job.error == "import_refused":
        return import_summary(job)
    if job.kind == BULK_UPLOAD and job.error not in (STALE, LOST):
        return str(BULK_FAILED_MESSAGE)
    if job.error == STALE:
        return str(STALE_MESSAGE)
    if job.error == LOST:
        return str(LOST_MESSAGE)
    return str(FAILED_MESSAGE)


def fail_stale(session: Session, now: datetime | None = None) -> list[int]:
    """Mark failed, with their owner told, the jobs still queued ``JOB_QUEUED_MINUTES``
    after they were created (their enqueue failed, or the queue was lost with its
    worker): their pages stop waiting and say to start again. A worker that takes such a
    job later finds it no longer queued and leaves it. The ids marked."""
    now = now or utcnow()
    before = now - queued_for_at_most()
    stale = list(session.scalars(select(Job.id).where(Job.status == JobStatus.QUEUED,
                                                      Job.created_at <= before)))
    session.rollback()
    marked = []
    for job_id in stale:
        with unit_of_work(session):
            # Conditional, as the worker's claim is: a job a worker took meanwhile stays.
            won = session.execute(
                update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED)
                .values(status=JobStatus.FAILED, error=STALE)
                .execution_options(synchronize_session=False)).rowcount
            if won:
                _finished(session, job_id, JobStatus.FAILED, error=STALE)
                marked.append(job_id)
                _drop_upload(session.get(Job, job_id))
    return marked


def fail_lost(session: Session, now: datetime | None = None) -> list[int]:
    """Mark failed, with their owner told, the running jobs whose worker wrote no progress
    for ``JOB_STALE_MINUTES`` (it was killed, or its machine went away): their pages stop
    waiting. The UPDATE repeats the condition on the heartbeat, so a worker that writes
    progress meanwhile keeps its job. The ids marked."""
    now = now or utcnow()
    before = now - silent_for_at_most()
    # A job claimed before heartbeats were recorded is judged by when it started.
    silent = or_(Job.heartbeat_at <= before,
                 (Job.heartbeat_at.is_(None)) & (Job.started_at <= before))
    lost = [job_id for job_id in session.scalars(select(Job.id).where(
        Job.status == JobStatus.RUNNING, silent))
        if not _heard_beside(job_id, before)]  # a unit import on SQLite: see ProgressBeside
    session.rollback()
    marked = []
    for job_id in lost:
        with unit_of_work(session):
            won = session.execute(
                update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING, silent)
                .values(status=JobStatus.FAILED, error=LOST)
                .execution_options(synchronize_session=False)).rowcount
            if won:
                _finished(session, job_id, JobStatus.FAILED, error=LOST)
                marked.append(job_id)
                _drop_upload(session.get(Job, job_id))
    return marked


def _drop_upload(job: Job) -> None:
    """Remove the waiting upload of a units import that will not run any more (a bulk
    upload's files stay until the job's own time is up, see :func:`clean_up`)."""
    if job.kind == UNITS_IMPORT and job.params.get("upload"):
        (folder() / job.params["upload"]).unlink(missing_ok=True)


def _files_of(job: Job) -> list[str]:
    """The names in the jobs folder of the job's files: its result, a bulk upload's files,
    the progress written beside it (left there when its worker was killed)."""
    names = [job.stored_as] if job.stored_as else []
    names.append(_beside_path(job.id).name)
    if job.kind == BULK_UPLOAD:
        names += [item["upload"] for item in job.params.get("uploads", ())]
    return names


# -- the worker's side ---------------------------------------------------------------------


class Progress:
    """Writes ``done`` of a job on a connection of its own, at most every interval, with
    the time of the write as the job's heartbeat (see :func:`fail_lost`)."""

    def __init__(self, engine, job_id: int, interval: float = PROGRESS_INTERVAL) -> None:
        self.engine, self.job_id, self.interval = engine, job_id, interval
        self.last = 0.0

    def __call__(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        self._write(done)

    def _write(self, done: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(Job).where(Job.id == self.job_id,
                                                 Job.status == JobStatus.RUNNING)
                               .values(done=done, heartbeat_at=utcnow()))


class ProgressBeside(Progress):
    """The progress of work whose own transaction holds SQLite's one write lock (a unit
    import, all or nothing): no other connection can write the job's row until it commits,
    so ``done`` and the heartbeat go to a small file beside the job's files instead, read
    by the pages, the API and :func:`fail_lost` while the job runs (SQLite means one
    machine: the web servers and the worker share the instance folder)."""

    def _write(self, done: int) -> None:
        path = _beside_path(self.job_id)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps({"done": done, "at": utcnow().isoformat()}))
        partial.replace(path)  # a reader sees the last whole write, never half of one


def _beside_path(job_id: int) -> Path:
    return folder() / f"progress-{job_id}.json"


def _read_beside(job_id: int) -> tuple[int, datetime] | None:
    """(done, heartbeat) written beside the running job *job_id*, or None."""
    try:
        found = json.loads(_beside_path(job_id).read_text())
        return int(found["done"]), datetime.fromisoformat(found["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _heard_beside(job_id: int, since: datetime) -> bool:
    found = _read_beside(job_id)
    return found is not None and _aware(found[1]) > since


def _with_progress_beside(job: Job) -> Job:
    """*job* with the progress its worker wrote beside it while its row was locked; the
    values are shown, never written back (they are not changes of the session's)."""
    if job.status != JobStatus.RUNNING:
        return job
    found = _read_beside(job.id)
    if found is not None and found[0] > (job.done or 0):
        set_committed_value(job, "done", found[0])
        set_committed_value(job, "heartbeat_at", found[1])
    return job


def run(session: Session, job_id: int, *, interval: float | None = None) -> str:
    """Run the job *job_id* (in a worker); its final status."""
    interval = PROGRESS_INTERVAL if interval is None else interval
    with unit_of_work(session):
        # Claimed by one conditional UPDATE: a job queued twice runs once.
        now = utcnow()
        won = session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now)
            .execution_options(synchronize_session=False)).rowcount
        job = session.get(Job, job_id)
        if job is None or not won:
            return job.status if job is not None else "gone"
        session.refresh(job)
        user, params, kind = job.user, dict(job.params), job.kind
    engine = session.get_bind()
    progress = Progress(engine, job_id, interval)
    if kind == UNITS_IMPORT:
        return _run_units_import(session, job_id, params, progress, user)
    if kind == BULK_UPLOAD:
        return _run_bulk_upload(session, job_id, params, progress, user.id)
    stored_as = f"{job_id}-{secrets.token_hex(8)}.{'csv' if kind == FLAT_CSV else 'xlsx'}"
    target = folder() / stored_as
    try:
        with force_locale(params.get("locale") or DEFAULT_LOCALE):
            if kind == SERIES:
                _write_series(session, user, params, target, progress)
                session.rollback()
                progress(session.get(Job, job_id).total, force=True)
                _finish(session, job_id, JobStatus.DONE, stored_as=stored_as)
                return session.get(Job, job_id).status
            figures = consolidation_figures(
                session, user, params["assignment"], params["unit"], params["period"],
                include_submitted=bool(params.get("include_submitted")),
                carry_forward=bool(params.get("carry_forward", True)))
            locale = params.get("locale") or DEFAULT_LOCALE
            with open(target, "wb") as output:
                if kind == MERGED:
                    written = merged.write_merged(session, figures, output, locale=locale,
                                                  translate=gettext, progress=progress)
                    done = written.units
                else:
                    done = merged.write_flat_csv(session, figures, output, locale=locale,
                                                 translate=gettext, progress=progress)
        session.rollback()  # the export's reading transaction
        progress(done, force=True)
        _finish(session, job_id, JobStatus.DONE, stored_as=stored_as)
    except Exception:
        log.exception("background job %s failed", job_id)
        session.rollback()
        target.unlink(missing_ok=True)
        _finish(session, job_id, JobStatus.FAILED, error="export_failed")
    return session.get(Job, job_id).status


def _write_series(session: Session, user: User, params: dict[str, Any], target: Path,
                  progress: Progress) -> None:
    merged.write_series(session, user, params["assignment"], params["unit"], target,
                        locale=params.get("locale") or DEFAULT_LOCALE, translate=gettext,
                        progress=progress)


def _run_units_import(session: Session, job_id: int, params: dict[str, Any],
                      progress: Progress, user: User) -> str:
    """Apply the uploaded unit table in one transaction; all or nothing, as on the page."""
    upload = folder() / params["upload"]
    summary, error = "", ""
    # The import writes in one transaction. PostgreSQL lets the progress be written on a
    # connection of its own beside it; SQLite has one writer at a time, so there the
    # progress and heartbeat go to a file beside the job's files until it commits.
    during = (progress if session.get_bind().dialect.name != "sqlite"
              else ProgressBeside(progress.engine, job_id, progress.interval))
    try:
        with unit_of_work(session):
            report = unit_service.import_units(
                session, upload.read_bytes(), params.get("filename") or upload.name,
                progress=lambda done, _total: during(done),
                actor=user)  # the audit log names who uploaded it, not the worker
            if not report.ok:
                raise _Refused(report)
        progress(len(report.created) + len(report.updated), force=True)
        summary = json.dumps({"created": len(report.created), "updated": len(report.updated),
                              "moved": len(report.moved)})
        status = JobStatus.DONE
    except _Refused as refused:  # the table changed since it was checked: nothing applied
        summary = json.dumps({"problems": [problem_text(p) for p in refused.report.problems]},
                             ensure_ascii=False)
        status, error = JobStatus.FAILED, "import_refused"
    except Exception:
        log.exception("background job %s failed", job_id)
        status, error = JobStatus.FAILED, "import_failed"
    finally:
        upload.unlink(missing_ok=True)
    _finish(session, job_id, status, error=error, summary=summary)
    _beside_path(job_id).unlink(missing_ok=True)
    return status


def _run_bulk_upload(session: Session, job_id: int, params: dict[str, Any],
                     progress: Progress, user_id: int) -> str:
    """Read the uploaded workbooks one by one, each saved (or not) in a transaction of its
    own, as the page does now; the outcome of each is stored with the job as data, in every
    language, and the progress (files read of total) is written after each."""
    kept = [(folder() / item["upload"], item["filename"]) for item in params["uploads"]]
    records: list[dict[str, Any]] = []
    try:
        uploads = expand_uploads([(name, path.read_bytes()) for path, name in kept])
        for index, upload in enumerate(uploads, 1):
            records.append(_read_one(session, user_id, upload))
            progress(index, force=index == len(uploads))
        status, error = JobStatus.DONE, ""
    except Exception:
        log.exception("background job %s failed", job_id)
        session.rollback()
        status, error = JobStatus.FAILED, "import_failed"
    _finish(session, job_id, status, error=error,
            summary=json.dumps({"outcomes": records}, ensure_ascii=False))
    return status


def _read_one(session: Session, user_id: int, upload: Upload) -> dict[str, Any]:
    """One workbook of a bulk upload read for the uploader's account as it is now (its scope
    and role when the worker reads it, not when it uploaded), as a stored result line."""
    try:
        with unit_of_work(session):
            user = session.get(User, user_id, populate_existing=True)
            if user is None or not user.active or user.role not in (Role.CONSOLIDATOR,
                                                                      Role.ADMIN):
                return _skipped(upload.filename, NO_LONGER_ALLOWED)
            locale = user.locale if user.locale in LANGUAGES else DEFAULT_LOCALE
            with force_locale(locale):  # a workbook with problems is marked in its language
                outcome = workbook_service.import_one(session, user, upload)
        rows = {}
        for code in LANGUAGES:
            with force_locale(code):
                rows[code] = workbook_service.result_row(outcome)
        return workbook_service.row_record(rows)
    except Exception:
        log.exception("a workbook of a background upload could not be read")
        session.rollback()
        return _skipped(upload.filename, UNREADABLE)


NO_LONGER_ALLOWED = _l("the account that uploaded it may no longer upload workbooks for "
                       "other units.")
UNREADABLE = _l("it could not be read because of an unexpected error. Upload it again.")


def _skipped(filename: str, reason) -> dict[str, Any]:
    rows = {}
    for code in LANGUAGES:
        with force_locale(code):
            rows[code] = workbook_service.skipped_row(filename, str(reason))
    return workbook_service.row_record(rows)


def bulk_rows(job: Job) -> list[workbook_service.ResultRow]:
    """The results table of a finished bulk upload in the current language."""
    if job.kind != BULK_UPLOAD or not job.summary:
        return []
    return workbook_service.rows_from_records(json.loads(job.summary).get("outcomes", ()),
                                              current_locale_code(), DEFAULT_LOCALE)


class _Refused(Exception):
    def __init__(self, report) -> None:
        super().__init__("refused")
        self.report = report


def import_summary(job: Job) -> str:
    """What a units import did ("3 units created, …"), in the current language."""
    if job.kind == BULK_UPLOAD:
        if job.status != JobStatus.DONE:
            return ""
        return workbook_service.counts_text(workbook_service.count_by_result(bulk_rows(job)))
    if job.kind != UNITS_IMPORT or not job.summary:
        return ""
    found = json.loads(job.summary)
    if "problems" in found:
        return " ".join(found["problems"])
    return gettext("%(created)s units created, %(updated)s updated, %(moved)s moved.",
                   **found)


def _finish(session: Session, job_id: int, status: str, *, stored_as: str = "",
            error: str = "", summary: str = "") -> None:
    with unit_of_work(session):
        _finished(session, job_id, status, stored_as=stored_as, error=error, summary=summary)


def _finished(session: Session, job_id: int, status: str, *, stored_as: str = "",
              error: str = "", summary: str = "") -> None:
    """Record the outcome and tell the owner, in the caller's unit of work."""
    now = utcnow()
    job = session.get(Job, job_id)
    session.refresh(job)
    job.status, job.finished_at, job.error = status, now, error
    job.stored_as, job.summary = stored_as, summary
    job.expires_at = now + keep_for()
    if status == JobStatus.DONE:
        job.done = max(job.done, job.total) if job.total else job.done
    _notify(session, job)


def _notify(session: Session, job: Job) -> None:
    """The owner's bell: the file is ready (with the link to it), or the work failed."""
    user = job.user
    locale = user.locale if user.locale in LANGUAGES else DEFAULT_LOCALE
    with force_locale(locale):
        if job.kind == BULK_UPLOAD:
            subject = (gettext("Upload read: %(name)s", name=job.file_name)
                       if job.status == JobStatus.DONE
                       else gettext("Upload not read: %(name)s", name=job.file_name))
            text = import_summary(job) or error_text(job)
        elif job.kind == UNITS_IMPORT:
            subject = (gettext("Import finished: %(name)s", name=job.file_name)
                       if job.status == JobStatus.DONE
                       else gettext("Import refused: %(name)s", name=job.file_name))
            text = import_summary(job) or error_text(job)
        elif job.status == JobStatus.DONE:
            subject = gettext("Your download is ready: %(name)s", name=job.file_name)
            text = gettext("%(title)s: the file %(name)s is ready to download until "
                           "%(until)s.", title=job.title, name=job.file_name,
                           until=_local(job.expires_at))
        else:
            subject = gettext("Your download failed: %(name)s", name=job.file_name)
            text = error_text(job)
    outbox.enqueue(session, channel=Channel.APP, recipient=str(user.id), subject=subject,
                   text=text, kind=f"job-{job.status}", link=f"/jobs/{job.id}",
                   user_id=user.id, step=str(job.id))


def _local(moment: datetime) -> str:
    return _aware(moment).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def clean_up(session: Session, now: datetime | None = None) -> int:
    """Mark failed the jobs queued for longer than ``JOB_QUEUED_MINUTES`` (see
    :func:`fail_stale`) and the running ones not heard from for ``JOB_STALE_MINUTES`` (see
    :func:`fail_lost`), then remove the files and rows of jobs past their time; the number
    removed."""
    now = now or utcnow()
    fail_stale(session, now)
    fail_lost(session, now)
    with unit_of_work(session):
        expired = list(session.scalars(select(Job).where(Job.expires_at <= now)))
        for job in expired:
            for name in _files_of(job):
                (folder() / name).unlink(missing_ok=True)
        if expired:
            session.execute(delete(Job).where(Job.id.in_([j.id for j in expired])))
    return len(expired)

