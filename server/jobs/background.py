"""The background jobs' work: run a queued export, clean up expired files."""

from __future__ import annotations

from server.db import db_session
from server.services import jobs


def run_job(job_id: int) -> str:
    """Run the job *job_id* (a merged export) and record its outcome; its status."""
    return jobs.run(db_session(), job_id)


def clean_up() -> int:
    """Remove the files and rows of jobs past their time."""
    return jobs.clean_up(db_session())
