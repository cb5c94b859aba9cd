"""API saves at 50 clients: the application against a bare Flask endpoint, then an audit.

50 concurrent savers on 127.0.0.1 for 30 s against ``server.wsgi:app`` and
against ``bench/bare_app.py`` (one insert per PUT), both under the same gunicorn
settings (those of ``tianbao serve``: gthread, 2 workers × 4 threads unless
given), in interleaved rounds (bare, app, bare, app, …), each run on a fresh
database of its own. Each run's savers first save for 5 s of warm-up, which is
audited but not timed (its p99 is printed apart). For every run it prints the
throughput (acknowledged saves per second), the PUTs' p50/p95/p99, the errors,
and the audit of the history
(every acknowledged save stored exactly once: lost, duplicated, misplaced); then
per round the application's share of the bare throughput, and the medians. The
server CPU a save is the gunicorn workers' user and system time over the run
(``/proc``) divided by the acknowledged saves: what bounds the throughput when the
cores are the bottleneck.

The saver loop is a real client's: it reads its report once (GET, the ETag),
then PUTs a new value of the 报送人 field with ``If-Match`` naming the revision
the previous PUT's answer carried, and reads again only after an answer that
was not a success. Both sides are driven by the same loop, so the throughput
counts PUTs only. (``bench/load.py`` keeps its GET before every PUT.)

The set-up, the server, the client, the PUT with its bounded retries and the
audit are ``bench/load.py``'s.

Usage::

    python bench/http_save.py [--savers 50] [--seconds 30] [--warm-up 5] [--rounds 3]
        [--workers 2] [--threads 4] [--database-url postgresql://…] [--json]

Exits 1 when any run lost, duplicated or misplaced a save, answered an error,
or acknowledged nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402  (bench/load.py: the machinery shared with the fault runs)

# The first second of a run is its own case: 50 clients arriving at once at workers
# whose caches are cold (their first saves waited 600-700 ms where the next ones waited
# 240). Saves answered in the warm-up are audited, not timed.
WARM_UP = 5.0


def lean_saver(target: load.Target, port: int, period: str, deadline: float,
               tally: load.Tally) -> None:
    """GET once, then PUT after PUT from the revision the last answer named, until
    *deadline*; GET again only when a PUT was not acknowledged."""
    client = load.Client(port, target.token)
    path = load.report_path(period, target.unit)
    revision: int | None = None
    counter = 0
    try:
        while time.monotonic() < deadline:
            if revision is None:
                revision = load.current_revision(client, path, tally)
                if revision is None:
                    continue
            counter += 1
            revision = load.put(client, path, f"s{target.index}-{counter}", revision,
                                target, tally)
    finally:
        client.close()


def parse(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--savers", type=int, default=50, help="concurrent API clients")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="how long each run's measured saves last")
    parser.add_argument("--warm-up", type=load.warm_up_seconds, default=WARM_UP, metavar="S",
                        help="seconds of saves before the measured ones, in each run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved bare/app rounds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--database-url", help="a PostgreSQL server to create a database on "
                        "per run (default: a fresh SQLite file per run)")
    parser.add_argument("--json", action="store_true", help="print each run as JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.seconds > 3600 or args.savers < 1 or args.rounds < 1:
        parser.error("--seconds must be in (0, 3600], --savers and --rounds at least 1")
    return args


def run_args(args, *, bare: bool) -> argparse.Namespace:
    """What ``load.run`` takes: no faults, one report per saver."""
    return argparse.Namespace(
        savers=args.savers, seconds=args.seconds, warm_up=args.warm_up,
        workers=args.workers, threads=args.threads,
        database_url=args.database_url, shared=None, kill_worker_every=None,
        kill_master_at=None, kill_pg_backends_every=None, bare=bare, log=None)


def line(result: dict) -> str:
    errors = ", ".join(f"{kind} × {n}" for kind, n in result["errors"].items()) or "none"
    cpu = "?" if result["server_cpu_ms_per_save"] is None \
        else f"{result['server_cpu_ms_per_save']:.1f} ms"
    cold = "" if result["warm_up_p99_ms"] is None \
        else f" (warm-up p99 {result['warm_up_p99_ms']:.0f} ms)"
    return (f"{result['served']:>4}: {result['saves_per_second']:7.1f} saves/s, "
            f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, "
            f"p99 {result['p99_ms']:.0f} ms{cold}, server CPU {cpu} a save; errors: {errors}; "
            f"acknowledged {result['acknowledged']}, lost {result['lost']}, duplicated "
            f"{result['duplicated']}, misplaced {result['misplaced']}")


def failed(result: dict) -> bool:
    return bool(result["lost"] or result["duplicated"] or result["misplaced"]
                or result["errors"] or not result["acknowledged"])


def main(argv: list[str]) -> int:
    args = parse(argv)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{database}: {args.savers} savers × {args.seconds:g} s measured after "
          f"{args.warm_up:g} s of warm-up, {args.workers} workers × "
          f"{args.threads} threads (gthread), {args.rounds} interleaved rounds", flush=True)
    rounds = []
    for number in range(1, args.rounds + 1):
        done = {}
        for side in ("bare", "app"):
            result = load.run(run_args(args, bare=side == "bare"), lean_saver)
            done[side] = result
            print(json.dumps(result, ensure_ascii=False) if args.json
                  else f"round {number} {line(result)}", flush=True)
        bare, app = done["bare"]["saves_per_second"], done["app"]["saves_per_second"]
        ratio = app / bare if bare else 0.0
        print(f"round {number}: app / bare throughput {ratio:.1%}", flush=True)
        rounds.append({**done, "ratio": ratio})

    def median(side: str, key: str) -> float:
        return statistics.median(r[side][key] for r in rounds)

    def cpu(side: str) -> str:
        found = [r[side]["server_cpu_ms_per_save"] for r in rounds
                 if r[side]["server_cpu_ms_per_save"] is not None]
        return f"{statistics.median(found):.1f} ms" if found else "?"

    print(f"medians of {len(rounds)}: bare {median('bare', 'saves_per_second'):.1f} saves/s, "
          f"app {median('app', 'saves_per_second'):.1f} saves/s, app / bare "
          f"{statistics.median(r['ratio'] for r in rounds):.1%}; app p50 "
          f"{median('app', 'p50_ms'):.0f} ms, p95 {median('app', 'p95_ms'):.0f} ms, p99 "
          f"{median('app', 'p99_ms'):.0f} ms (bare p99 {median('bare', 'p99_ms'):.0f} ms); "
          f"server CPU a save: bare {cpu('bare')}, app {cpu('app')}")
    bad = [r[side] for r in rounds for side in ("bare", "app") if failed(r[side])]
    print("audit: " + ("every acknowledged save stored exactly once, no errors" if not bad
                       else f"{len(bad)} run(s) with errors, lost, duplicated or misplaced "
                            "saves (above)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
