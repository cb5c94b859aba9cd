"""``tianbao backup`` and ``restore``: the whole database to one file and back."""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import gettext as _

from server import backup as backups
from server import migrate
from server.cli.common import command, engine


@command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup_command(file: Path, force: bool) -> None:
    """Write a consistent snapshot of the database to FILE, even while serving."""
    manifest = backups.create(engine(), file, force=force)
    click.echo(_("Backup of the %(kind)s database (revision %(revision)s) written to %(file)s.",
                 kind=manifest.kind, revision=manifest.revision or "-", file=file))


@command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(file: Path, yes: bool) -> None:
    """Replace all data of the database with the backup in FILE."""
    with backups.opened(engine(), file) as backup:
        if not yes:
            click.confirm(_("Replace all data of %(database)s with the backup made at "
                            "%(time)s? This cannot be undone.",
                            database=engine().url.render_as_string(hide_password=True),
                            time=backup.manifest.created_at), abort=True)
        upgraded_from = backups.restore(engine(), backup)
    click.echo(_("Restored the backup made at %(time)s.", time=backup.manifest.created_at))
    if upgraded_from:
        click.echo(_("The restored data was upgraded from schema revision %(old)s to %(new)s.",
                     old=upgraded_from, new=migrate.current_revision(engine())))
