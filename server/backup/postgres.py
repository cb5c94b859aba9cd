"""PostgreSQL: ``pg_dump --format=custom``, restored with ``pg_restore`` and ``psql`` at once.

The tools get the connection parameters of the configured URL as options and the
password in ``PGPASSWORD``, never on the command line (where ``ps`` would show it).
When the URL confines the application to one schema (``options=-csearch_path=…``),
only that schema is dumped and restored.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import URL

from server.backup.archive import BackupRefused

MISSING_TOOL = _l("%(tool)s was not found. Install the PostgreSQL client programs of the "
                  "server's version and make sure they are on PATH.")
TOOL_FAILED = _l("%(tool)s failed, nothing was changed: %(detail)s")
OTHER_SCHEMA = _l("The backup holds the schema “%(backup)s” but this server uses “%(current)s”.")
SEARCH_PATH = re.compile(r"search_path\s*=\s*([^\s,]+)")


def schema_of(url: URL) -> str | None:
    """The schema named by the URL's ``options`` (``-csearch_path=…``), if any."""
    options = url.query.get("options")
    options = " ".join(options) if isinstance(options, tuple) else options or ""
    match = SEARCH_PATH.search(options)
    return match.group(1).strip('"') if match else None


def check_schema(url: URL, schema: str | None) -> None:
    if schema != schema_of(url):
        raise BackupRefused(OTHER_SCHEMA, backup=schema or "public",
                            current=schema_of(url) or "public")


def dump(url: URL, target: Path) -> str | None:
    """Dump the database (or the URL's schema) into *target*; the schema dumped."""
    schema = schema_of(url)
    options = ["--format=custom", "--no-owner", "--no-privileges", f"--file={target}"]
    if schema:
        options.append(f"--schema={schema}")
    _run("pg_dump", url, options)
    return schema


# Tables of a newer schema than the backup's (a table a later migration added that
# references an older one) would stop ``--clean`` from dropping the older tables, so
# every table of the schema goes first, in the same transaction as the restore.
DROP_TABLES = """DO $$ DECLARE t record; BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = {schema} LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', {schema}, t.tablename);
  END LOOP;
END $$;
"""


def restore(url: URL, source: Path) -> None:
    """Replace the schema's tables by the dump's content, all or nothing.

    pg_restore writes the dump as SQL; psql runs it after dropping the schema's
    tables, in one transaction that stops at the first error.
    """
    script = _run("pg_restore", None, ["--clean", "--if-exists", "--no-owner",
                                       "--no-privileges", "--file=-", str(source)])
    schema = "'" + (schema_of(url) or "public").replace("'", "''") + "'"
    _run("psql", url, ["--single-transaction", "--quiet", "--set=ON_ERROR_STOP=1",
                       "--file=-"], stdin=DROP_TABLES.format(schema=schema) + script)


def _run(tool: str, url: URL | None, options: list[str], stdin: str | None = None) -> str:
    """Run a client program (against *url*, if given) and return what it printed."""
    program = shutil.which(tool)
    if program is None:
        raise BackupRefused(MISSING_TOOL, tool=tool)
    command = [program, *options, *(_connection(url) if url is not None else [])]
    result = subprocess.run(command, env=_environment(url) if url is not None else None,
                            capture_output=True, text=True, check=False, input=stdin)
    if result.returncode != 0:
        detail = " ".join(result.stderr.strip().splitlines()[-3:]) or str(result.returncode)
        raise BackupRefused(TOOL_FAILED, tool=tool, detail=detail)
    return result.stdout


def _connection(url: URL) -> list[str]:
    options = [f"--dbname={url.database or 'postgres'}"]
    host = url.host or url.query.get("host")
    if host:
        options.append(f"--host={host}")
    if url.port:
        options.append(f"--port={url.port}")
    if url.username:
        options.append(f"--username={url.username}")
    return [*options, "--no-password"]


def _environment(url: URL) -> dict[str, str]:
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = url.password
    sslmode = url.query.get("sslmode")
    if isinstance(sslmode, str):
        environment["PGSSLMODE"] = sslmode
    return environment
