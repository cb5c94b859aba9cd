"""``bench/load.py`` under faults: every acknowledged save is in the history exactly once.

Ten seconds of concurrent API savers against a real gunicorn while workers are
killed, the master is killed and restarted and, on PostgreSQL, the server's
connections are terminated. On PostgreSQL the script creates and drops a
database of its own next to the test database.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith(("postgresql", "postgres:"))
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRESQL else [])


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_acknowledged_save_is_lost_or_duplicated_when_the_server_is_killed(backend):
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--json", "--seconds", "10",
               "--savers", "6", "--workers", "2", "--threads", "4",
               "--kill-worker-every", "2", "--kill-master-at", "5"]
    if backend == "postgresql":
        command += ["--database-url", os.environ["DATABASE_URL"],
                    "--kill-pg-backends-every", "3"]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode in (0, 1), run.stderr
    result = json.loads(run.stdout.splitlines()[-1])

    assert result["database"] == backend
    assert result["faults"]["workers_killed"] >= 1
    assert result["faults"]["master_killed"] == 1
    if backend == "postgresql":
        assert result["faults"]["pg_backends_terminated"] >= 1
    assert result["acknowledged"] >= 20, result
    assert (result["lost"], result["duplicated"], result["misplaced"]) == (0, 0, 0), result
