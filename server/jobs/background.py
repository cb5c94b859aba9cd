"""The background jobs' work: run a queued export, clean up expired files (of jobs, and
the pending files of refused event forms that no save claimed)."""

from __future__ import annotations

from server.db import db_session, unit_of_work
from server.services import events, jobs


def run_job(job_id: int) -> str:
    """Run the job *job_id* (a merged export) and record its outcome; its status."""
    return jobs.run(db_session(), job_id)


def clean_up() -> int:
    """Remove the files and rows of jobs past their time."""
    return jobs.clean_up(db_session())


def clean_up_pending_files() -> int:
    """Delete the pending files of refused event forms that expired unclaimed."""
    session = db_session()
    with unit_of_work(session):
        return events.clean_up_pending(session)
