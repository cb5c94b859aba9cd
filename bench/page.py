"""The consolidation page of a large subtree: time to answer and size of the HTML.

Builds the tree of ``bench/figures.py`` (five levels; offices do not report, so
every village is a direct child of the root: a 20,000-unit tree gives the root
about 19,000 children, nine in ten counted, one in ten carried forward from
2024Q3), signs in as an administrator through the login form and times
``GET /consolidation/bench/<root>/2024Q4`` with Flask's test client (the whole
request: scope, figures, targets, closing, template), in a child process of its
own so that its peak memory (``ru_maxrss``, interpreter and app included) is the
page's. Medians of the runs after one warm-up, of the wall time and of the process's CPU
time (SQLite works in the process, so on a loaded machine the CPU time is the steadier
measure of the page's own work; PostgreSQL's work is not in it).

Usage: ``python bench/page.py [--units 2000 20000] [--runs 3] [--pg URL]
[--no-sqlite] [--keep DIR]``; with ``--pg`` the same on a PostgreSQL database created
there. With ``--keep`` the trees are kept (SQLite files in ``DIR``, the ``bench_page_N``
database) and reused by the next run with ``--keep``.
To time another checkout of the code (the "before" of bench/README.md), run that
checkout's copy of this file (it puts its own folder first on the path) with
``PYTHONPATH`` set to that checkout.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import figures as tree_bench  # noqa: E402

PERIOD = tree_bench.PERIOD
USER, PASSWORD = "bench-admin", "bench-password-1"


def measure(url: str, runs: int, instance: str) -> dict:
    """In a child process: sign in, one warm-up, then *runs* timed requests."""
    from server.app import create_app
    from server.db import unit_of_work
    from server.models import Role
    from server.services import accounts

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance,
                      "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        from server.db import db_session
        session = db_session()
        with unit_of_work(session):
            if accounts.get_user(session, USER) is None:
                accounts.create_user(session, USER, PASSWORD, Role.ADMIN, None)
    client = app.test_client()
    form = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    login = client.post("/auth/login", data={"username": USER, "password": PASSWORD,
                                             "csrf_token": token})
    assert login.status_code == 302, login.status_code
    path = f"/consolidation/bench/U{1:06d}/{PERIOD}"
    times, cpu, size = [], [], 0
    for run in range(runs + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        elapsed, used = time.perf_counter() - start, time.process_time() - start_cpu
        assert response.status_code == 200, response.status_code
        size = len(response.get_data())
        if run:
            times.append(elapsed)
            cpu.append(used)
    return dict(page=statistics.median(times), runs=times, cpu=statistics.median(cpu),
                html=size, rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def child(url: str, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as instance:
        out = subprocess.run([sys.executable, __file__, "--measure", url, "--runs", str(runs),
                              "--instance", instance], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--measure")
    parser.add_argument("--instance")
    parser.add_argument("--keep", help="a folder to keep (and reuse) the SQLite databases in;"
                        " with --pg, the PostgreSQL database left by an earlier run is reused")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.runs, args.instance)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        for size in args.units:
            targets = [] if args.no_sqlite else [
                ("SQLite", f"sqlite:///{folder / f'page-{size}.db'}")]
            if args.pg:
                targets.append(("PostgreSQL", tree_bench.pg_database(
                    args.pg, f"bench_page_{size}", reuse=bool(args.keep))))
            for name, url in targets:
                if not tree_bench.built(url):
                    tree_bench.build(url, size)
                m = child(url, args.runs)
                print(f"{size:>7,} units, {name:<10}: page {m['page']:.3f} s (median of "
                      f"{len(m['runs'])}: {', '.join(f'{t:.3f}' for t in m['runs'])}), "
                      f"CPU {m['cpu']:.3f} s, "
                      f"HTML {m['html'] / 1024:,.0f} KiB, peak {m['rss'] / 2**20:.0f} MB",
                      flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
