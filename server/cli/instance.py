"""``tianbao init``, ``serve`` and ``db``: the instance's database and its server."""

from __future__ import annotations

import click
from flask_babel import gettext as _

from forms.loader import DefinitionError
from server import migrate
from server.cli.common import Failure, command, engine, group, require_migrated
from server.cli.worker import start_worker_process, stop_worker_process
from server.db import db_session, unit_of_work
from server.demo import demo_password, load_demo
from server.locale import translate_definition_error
from server.services import templates as template_service
from server.serving import address_in_use
from server.wsgi import serve


@command("init")
@click.option("--demo", is_flag=True, help="Also load the demo organisation and accounts.")
def init_command(demo: bool) -> None:
    """Create or upgrade the database and load built-in data (safe to run again)."""
    migrate.upgrade(engine())
    click.echo(_("Database ready (revision %(revision)s).",
                 revision=migrate.current_revision(engine())))
    try:
        with unit_of_work(db_session()) as session:
            results = template_service.load_files(session)
    except DefinitionError as exc:
        raise Failure(translate_definition_error(exc)) from None
    loaded = sum(1 for r in results if r.status != "unchanged")
    click.echo(_("Built-in templates: %(count)s new or changed.", count=loaded))
    if demo:
        with unit_of_work(db_session()) as session:
            summary = load_demo(session, demo_password())
        click.echo(_("Demo data: %(units)s units and %(users)s accounts added.",
                     units=summary.units_created, users=summary.users_created))
        click.echo(summary.reports.describe())
        click.echo(summary.accounts_overview())


@command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Number of worker processes.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker process.")
@click.option("--no-worker", is_flag=True,
              help="Do not start a job worker (run “tianbao worker” elsewhere).")
def serve_command(host: str, port: int, workers: int, threads: int, no_worker: bool) -> None:
    """Serve the application with gunicorn (production WSGI server) and one job worker."""
    require_migrated()
    if address_in_use(host, port):
        raise Failure(_("Another server is already listening on %(host)s:%(port)s; stop it "
                        "or choose another port with --port.", host=host, port=port))
    click.echo(_("Serving on http://%(host)s:%(port)s/ (press Ctrl+C to stop)",
                 host=host, port=port))
    job_worker = None if no_worker else start_worker_process()
    try:
        serve(host=host, port=port, workers=workers, threads=threads)
    finally:
        if job_worker is not None:
            stop_worker_process(job_worker)


@group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema (to the newest revision by default)."""
    migrate.upgrade(engine(), revision)
    click.echo(_("Database at revision %(revision)s.",
                 revision=migrate.current_revision(engine()) or "-"))


@db_group.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema (one revision by default)."""
    migrate.downgrade(engine(), revision)
    click.echo(_("Database at revision %(revision)s.",
                 revision=migrate.current_revision(engine()) or "-"))


@db_group.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    current = migrate.current_revision(engine())
    head = migrate.head_revision()
    click.echo(current or "-")
    if current != head:
        click.echo(_("Newest revision: %(revision)s. Run “tianbao db upgrade”.", revision=head))
