"""The huey instance of an application, its tasks, and the consumer that runs them.

huey needs its instance before tasks can be declared, and the storage depends on
the application's settings, so the instance is built per application, on first
use, and the tasks are registered on it then (:func:`_register_tasks`). Web
processes only enqueue; ``tianbao worker`` (:func:`run_consumer`) runs the
consumer and the periodic tasks. Any number of web servers and workers may share
one Redis (or, on one machine, one SQLite queue file).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from sqlalchemy import event

from server.db import database

EXTENSION_KEY = "tianbao.jobs"
JOBS_PENDING = "tianbao.jobs_pending"  # ids of background jobs added by a session
SQLITE_QUEUE_FILE = "jobs.sqlite3"
log = logging.getLogger(__name__)


class Jobs:
    """An application's job runner: the huey instance and its tasks, built when first used."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._huey: Huey | None = None
        self.tasks: dict[str, Callable] = {}

    @property
    def huey(self) -> Huey:
        if self._huey is None:
            self._huey = make_huey(self.app.config)
            self.tasks = _register_tasks(self._huey, self.app)
        return self._huey

    def enqueue(self, name: str, *args):
        """Queue the task *name* for a worker."""
        self.huey  # noqa: B018 - builds the instance and its tasks
        return self.tasks[name](*args)


def make_huey(config) -> Huey:
    """Redis storage when ``REDIS_URL`` is set, else an SQLite file in the instance folder."""
    name = config.get("JOBS_QUEUE_NAME") or "tianbao"
    if config.get("REDIS_URL"):
        return RedisHuey(name, url=config["REDIS_URL"], results=False, utc=True)
    folder = Path(config["INSTANCE_PATH"])
    folder.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(folder / SQLITE_QUEUE_FILE), results=False, utc=True,
                      timeout=30)


def _in_app(app: Flask, work: Callable) -> Callable:
    @functools.wraps(work)
    def run(*args):
        with app.app_context():
            return work(*args)
    return run


def _register_tasks(huey: Huey, app: Flask) -> dict[str, Callable]:
    # The tasks' work; imported here to keep start-up light.
    from server.jobs import background, delivery

    deliver = huey.task(name="deliver_notifications")(_in_app(app, delivery.deliver))
    # Retries whose back-off has run out and leases of workers that died are picked up
    # every minute even when nothing new is queued.
    huey.periodic_task(crontab(minute="*"), name="deliver_notifications_every_minute")(
        _in_app(app, delivery.deliver))
    # Reminders: every hour (each is written once, whatever the number of runs).
    huey.periodic_task(crontab(minute="5"), name="write_reminders_every_hour")(
        _in_app(app, delivery.write_reminders))
    run_job = huey.task(name="run_job")(_in_app(app, background.run_job))
    # Expired files, and jobs left queued too long: every ten minutes (a small query).
    huey.periodic_task(crontab(minute="*/10"), name="clean_up_jobs")(
        _in_app(app, background.clean_up))
    huey.periodic_task(crontab(minute="41"), name="clean_up_pending_files_every_hour")(
        _in_app(app, background.clean_up_pending_files))
    return {"deliver_notifications": deliver, "run_job": run_job,
            "write_reminders": huey.task(name="write_reminders")(
                _in_app(app, delivery.write_reminders))}


def init_jobs(app: Flask) -> Jobs:
    """Attach the job runner to *app*; new outbox rows wake a worker after each commit."""
    jobs = Jobs(app)
    app.extensions[EXTENSION_KEY] = jobs
    factory = database(app).session.session_factory

    @event.listens_for(factory, "after_commit")
    def _wake_worker(session) -> None:
        if session.info.pop("tianbao.outbox_pending", False):
            try:
                jobs.enqueue("deliver_notifications")
            except Exception:  # noqa: BLE001 - the periodic task delivers it within a minute
                log.exception("could not queue the delivery of notifications")
        for job_id in session.info.pop(JOBS_PENDING, ()):
            try:
                jobs.enqueue("run_job", job_id)
            except Exception:  # noqa: BLE001 - the job stays queued; its page says so
                log.exception("could not queue background job %s", job_id)

    return jobs


def jobs_of(app: Flask | None = None) -> Jobs:
    return (app or current_app).extensions[EXTENSION_KEY]


def make_consumer(app: Flask, workers: int = 2) -> Consumer:
    """A consumer of *app*'s queue with worker threads and the periodic scheduler."""
    return jobs_of(app).huey.create_consumer(workers=workers, worker_type="thread",
                                             periodic=True, check_worker_health=True)


def run_consumer(app: Flask, workers: int = 2) -> None:
    """Run until SIGINT (finish the tasks in hand) or SIGTERM (stop now)."""
    make_consumer(app, workers).run()
