"""SQLite: SQLite's online backup, consistent while the server keeps writing.

The copy is made in one step (``pages=-1``) inside one read transaction; with WAL
mode on, writers carry on meanwhile and the copy is the database as it was when
the step began.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import Engine

from server.backup.archive import BackupRefused

DAMAGED = _l("The database in the backup is damaged: %(problem)s")


def snapshot(engine: Engine, target: Path) -> str | None:
    """Copy the live database into *target*; the Alembic revision of the copy."""
    live = engine.raw_connection()
    try:
        with closing(sqlite3.connect(target)) as copy:
            live.driver_connection.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")  # one standalone file
            return _revision(copy)
    finally:
        live.close()


def restore(engine: Engine, source: Path) -> None:
    """Replace the live database's content with *source*, page by page, in place.

    Copying into the open database (rather than replacing its file) keeps the WAL
    and the other processes' connections consistent: they see the restored data.
    """
    with closing(sqlite3.connect(source)) as backup:
        problem = backup.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise BackupRefused(DAMAGED, problem=problem)
        live = engine.raw_connection()
        try:
            backup.backup(live.driver_connection, pages=-1)
        finally:
            live.close()


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None
