"""``tianbao worker``: the job runner's consumer, and the one ``tianbao serve`` starts."""

from __future__ import annotations

import logging
import subprocess
import sys

import click
from flask import current_app
from flask_babel import gettext as _

from server.cli.common import command, require_migrated
from server.jobs.runner import run_consumer

# What the ``tianbao`` console script runs, wherever it is installed.
TIANBAO = [sys.executable, "-c", "from server.cli import main; main()"]


@command("worker")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 32),
              help="Tasks run at the same time.")
def worker_command(threads: int) -> None:
    """Run queued jobs and the periodic ones (notifications) until stopped."""
    require_migrated()
    # The consumer and the tasks say what they do through logging: to standard error.
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    storage = (_("the Redis server") if current_app.config.get("REDIS_URL")
               else _("an SQLite file in the instance folder"))
    click.echo(_("Worker started: queue in %(storage)s (press Ctrl+C to stop)",
                 storage=storage), err=True)
    run_consumer(current_app._get_current_object(), workers=threads)


def start_worker_process() -> subprocess.Popen:
    """A ``tianbao worker`` beside the web server, with the same environment."""
    return subprocess.Popen([*TIANBAO, "worker"])


def stop_worker_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
