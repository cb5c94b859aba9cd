"""Concurrent API savers against a real gunicorn, with faults, then an audit of the history.

Every acknowledged save must be in the report's history exactly once, whatever
happened to the server in between: a worker killed mid-request, the master
killed and restarted, PostgreSQL connections terminated. That is the promise
of the API (one commit per request, before the answer; a repeated ``PUT`` with
the values of the current revision answers that revision), and this script
checks it from the outside, the way a provincial platform's script would see it.

Set-up, all its own: a fresh SQLite file in a temporary folder, or with
``--database-url postgresql://…`` a new database on that server (created and
dropped by the script; no other database or schema is touched); migrations,
the built-in catalogue, a town with one village per report, an assignment of
``chidian-progress``, one submitter account and token per saver. gunicorn
serves ``server.wsgi:app`` on a free port of 127.0.0.1 with the settings of
``tianbao serve`` (``server/serving.py``: gthread workers, each listening on its own
socket on Linux); the savers start once every worker has built its application
(``bench/gunicorn_ready.py``).

Each saver loops for the given seconds: GET its report (the ETag), PUT a new
value of the 报送人 text field (``s<saver>-<counter>``, never reused) with
``If-Match``. A connection error or a 5xx repeats the same PUT a bounded number
of times; a 2xx is one acknowledged save. Savers own one report each, unless
``--shared K`` spreads them over K reports: then 409 answers are expected and
not counted as lost. At the end every report's ``/history`` is read and:

* lost — acknowledged values absent from the history;
* duplicated — values (acknowledged or not) in more than one revision;
* misplaced — acknowledged values found at another revision than the answer said.

Exits 1 when any of them is not 0, or when nothing was acknowledged.

Usage::

    python bench/load.py [--savers 8] [--workers 2] [--threads 4] [--seconds 10]
        [--warm-up S] [--database-url postgresql://postgres@127.0.0.1:5432/test] [--shared K]
        [--kill-worker-every S] [--kill-master-at S] [--kill-pg-backends-every S]
        [--bare | --against-bare]

``--bare`` serves ``bench/bare_app.py`` instead, the floor: a Flask endpoint doing
one insert per PUT under the same gunicorn settings; ``--against-bare`` runs both,
the bare one first, and prints the application's share of the bare throughput.

``--warm-up S`` lets the savers save for S seconds before the measured seconds: the
throughput, the latencies and the server's CPU count the saves answered after it
(the first p99 apart), the audit every save.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ASSIGNMENT = "load"
TEMPLATE = "chidian-progress"
FIELD = "reporter"  # a text field of every template's header
RETRIES = 6  # further attempts of one PUT after a connection error or a 5xx
REQUEST_TIMEOUT = 15.0


# -- the database ---------------------------------------------------------------------------


class OwnDatabase:
    """A database that belongs to this run: an SQLite file, or a new PostgreSQL database."""

    def __init__(self, folder: Path, server_url: str | None) -> None:
        self.server_url = server_url
        self.name = None
        if server_url is None:
            self.url = f"sqlite:///{folder / 'load.db'}"
            return
        from sqlalchemy.engine import make_url

        self.name = f"tianbao_load_{uuid.uuid4().hex[:10]}"
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.url = make_url(server_url).set(database=self.name).render_as_string(
            hide_password=False)

    @property
    def is_postgresql(self) -> bool:
        return self.name is not None

    def _admin(self, sql: str, *params) -> list:
        """Run *sql* on the server's given database, outside any transaction."""
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(self.server_url).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False),
                             autocommit=True) as connection:
            cursor = connection.execute(sql, params or None)
            return cursor.fetchall() if cursor.description else []

    def terminate_backends(self) -> int:
        """Terminate every connection to this run's database (the server's, mid-request)."""
        rows = self._admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", self.name)
        return sum(1 for (done,) in rows if done)

    def drop(self) -> None:
        if self.is_postgresql:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@dataclass
class Target:
    """One saver: its token and the report it writes."""

    index: int
    token: str
    unit: str


def set_up(url: str, folder: Path, savers: int, reports: int) -> tuple[str, list[Target]]:
    """Migrate, then create the tree, the assignment, the accounts and their tokens."""
    from server import migrate
    from server.app import create_app
    from server.db import database, unit_of_work
    from server.models import Role
    from server.services import accounts, tokens, units
    from server.services import templates as template_service
    from server.services.assignments import assignment_periods, create_assignment

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder),
                      "SECRET_KEY": "load-bench"})
    engine = database(app).engine
    migrate.upgrade(engine)
    targets = []
    with app.app_context(), unit_of_work(database(app).session()) as session:
        template_service.load_files(session)
        template = template_service.latest(session, TEMPLATE)
        town = units.create_unit(session, "LOAD", "负载测试镇", "town")
        villages = [units.create_unit(session, f"LOAD-{r:03d}", f"负载测试村{r}", "village",
                                      town) for r in range(reports)]
        assignment = create_assignment(session, key=ASSIGNMENT, template=template, root=town)
        period = assignment_periods(assignment)[0]
        for i in range(savers):
            village = villages[i % reports]
            user = accounts.create_user(session, f"saver-{i}", "load-bench-password-7",
                                        Role.SUBMITTER, village, check_password=False)
            _token, secret = tokens.create(session, user, "load")
            targets.append(Target(i, secret, village.code))
    database(app).session.remove()
    engine.dispose()
    return period, targets


# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """The processes whose parent is *pid* (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …; comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """The CPU time (user and system) the processes *pids* have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Server:
    """gunicorn serving the application on 127.0.0.1, as ``tianbao serve`` configures it."""

    def __init__(self, env: dict, port: int, workers: int, threads: int, log: Path,
                 app_spec: str = "server.wsgi:app") -> None:
        self.env, self.port, self.workers, self.threads = env, port, workers, threads
        self.app_spec = app_spec
        self.log = log.open("ab")
        self.process: subprocess.Popen | None = None
        self.groups: list[int] = []

    def start(self) -> None:
        """Start gunicorn and wait until every worker has built its application and the
        server answers: clients that connect while one worker is still loading all go to
        the others and stay there (keep-alive)."""
        ready = Path(tempfile.mkdtemp(prefix="tianbao-ready-"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--threads", str(self.threads),
             "--graceful-timeout", "5",
             "--config", str(ROOT / "bench" / "gunicorn_ready.py"), self.app_spec],
            cwd=ROOT, env={**self.env, "TIANBAO_BENCH_READY": str(ready)}, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.groups.append(self.process.pid)
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise SystemExit(f"gunicorn exited with {self.process.returncode}; "
                                     f"see {self.log.name}")
                workers = children(self.process.pid)
                loaded = {int(p.name) for p in ready.iterdir()}
                if len(workers) >= self.workers and loaded.issuperset(workers) \
                        and self._answers():
                    return
                time.sleep(0.1)
        finally:
            shutil.rmtree(ready, ignore_errors=True)
        raise SystemExit("gunicorn's workers did not all answer within 60 seconds")

    def log_tail(self, lines: int = 40) -> str:
        """The last *lines* of the server's log (its errors, worker restarts)."""
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def _answers(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", "/api/v1/openapi.json")
            return connection.getresponse().status == 200
        except OSError:
            return False

    def kill_worker(self) -> bool:
        workers = children(self.process.pid)
        if not workers:
            return False
        os.kill(random.choice(workers), signal.SIGKILL)
        return True

    def kill_master_and_restart(self) -> None:
        """SIGKILL the master; its orphaned workers finish on their own (or are killed after
        5 s), then a new master binds the same port."""
        orphans = children(self.process.pid)
        self.process.kill()
        self.process.wait()
        deadline = time.monotonic() + 5
        while any(alive(p) for p in orphans) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in orphans:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for group in self.groups:  # orphaned workers of a killed master, if any remain
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self.log.close()


# -- the savers -----------------------------------------------------------------------------


@dataclass
class Tally:
    """What the savers saw; one lock, as many threads add to it."""

    acknowledged: dict[str, tuple[str, int]] = field(default_factory=dict)  # value → report
    # (when the answer came, how long the save took), one per acknowledged save
    latencies: list[tuple[float, float]] = field(default_factory=list)
    errors: collections.Counter = field(default_factory=collections.Counter)
    acknowledged_on_retry: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1


class Client:
    """One keep-alive connection to the server, reopened after any failure."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        self.connection: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: dict | None = None,
             headers: dict | None = None) -> tuple[int, dict, dict]:
        """(status, JSON body, headers); raises OSError/HTTPException when no answer came."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                         timeout=REQUEST_TIMEOUT)
        sent = {**self.headers, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, body=data, headers=sent)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {}
        return response.status, answer, dict(response.getheaders())

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def report_path(period: str, unit: str) -> str:
    return f"/api/v1/reports/{ASSIGNMENT}/{unit}/{period}"


def saver(target: Target, port: int, period: str, deadline: float, tally: Tally) -> None:
    """GET, then PUT a new value with If-Match, until *deadline*; each PUT retried (bounded)."""
    client = Client(port, target.token)
    path = report_path(period, target.unit)
    counter = 0
    try:
        while time.monotonic() < deadline:
            revision = current_revision(client, path, tally)
            if revision is None:
                continue
            counter += 1
            value = f"s{target.index}-{counter}"
            put(client, path, value, revision, target, tally)
    finally:
        client.close()


def current_revision(client: Client, path: str, tally: Tally) -> int | None:
    """The report's revision from a GET, or None (tallied, after a short pause)."""
    try:
        status, answer, _ = client.call("GET", path)
    except (OSError, http.client.HTTPException):
        tally.error("GET: no answer")
        time.sleep(0.05)
        return None
    if status != 200:
        tally.error(f"GET: {status}")
        time.sleep(0.05)
        return None
    return answer["revision"]


def put(client: Client, path: str, value: str, revision: int, target: Target,
        tally: Tally) -> int | None:
    """One save: the same PUT until it is answered with anything but a 5xx (bounded).

    The revision the save was acknowledged as (the answer's ETag), or None."""
    body = {"values": {FIELD: value}}
    began = time.monotonic()
    for attempt in range(RETRIES + 1):
        if attempt:
            time.sleep(min(0.05 * 2 ** attempt, 1.0))
        try:
            status, answer, _ = client.call("PUT", path, body, {"If-Match": f'"{revision}"'})
        except (OSError, http.client.HTTPException):
            tally.error("PUT: no answer (retried)")
            continue
        if status >= 500:
            tally.error(f"PUT: {status} {answer.get('code', '')} (retried)".replace("  ", " "))
            continue
        if status in (200, 201):
            if answer.get("values", {}).get(FIELD) != value:
                tally.error("PUT: 2xx with other values")
                return None
            with tally.lock:
                tally.acknowledged[value] = (target.unit, answer["revision"])
                answered = time.monotonic()
                tally.latencies.append((answered, answered - began))
                tally.acknowledged_on_retry += attempt > 0
            return answer["revision"]
        tally.error(f"PUT: {status} {answer.get('code', '')}".strip())
        return None
    tally.error("PUT: gave up after retries")
    return None


# -- faults ---------------------------------------------------------------------------------


def faults(server: Server, db: OwnDatabase, args, deadline: float, done: collections.Counter,
           stop: threading.Event) -> None:
    """Kill workers, the master and PostgreSQL backends on schedule until *deadline*."""
    start = time.monotonic()
    due = {
        "worker": start + args.kill_worker_every if args.kill_worker_every else None,
        "master": start + args.kill_master_at if args.kill_master_at else None,
        "backends": start + args.kill_pg_backends_every
        if args.kill_pg_backends_every and db.is_postgresql else None,
    }
    while not stop.wait(0.05) and time.monotonic() < deadline:
        now = time.monotonic()
        if due["worker"] and now >= due["worker"]:
            done["worker"] += server.kill_worker()
            due["worker"] = now + args.kill_worker_every
        if due["master"] and now >= due["master"]:
            server.kill_master_and_restart()
            done["master"] += 1
            due["master"] = None
        if due["backends"] and now >= due["backends"]:
            done["backends"] += db.terminate_backends()
            due["backends"] = now + args.kill_pg_backends_every


# -- the audit ------------------------------------------------------------------------------


@dataclass
class Audit:
    lost: list[str]
    duplicated: list[str]
    misplaced: list[str]
    revisions: int


def audit(port: int, period: str, targets: list[Target], tally: Tally) -> Audit:
    """Compare what was acknowledged with every report's history."""
    owners = {}
    for target in targets:
        owners.setdefault(target.unit, target.token)
    found: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    revisions = 0
    for unit, token in owners.items():
        client, path = Client(port, token), report_path(period, unit) + "/history"
        try:
            status, history, _ = client.call("GET", path)
            if status != 200:
                # Asked once more, to tell a passing failure from one that stays.
                again = client.call("GET", path)[0]
                raise SystemExit(f"the history of {unit} answered {status}: {history} "
                                 f"(asked again at once: {again})")
        finally:
            client.close()
        for revision in history["revisions"]:
            revisions += 1
            value = (revision["values"] or {}).get(FIELD)
            if value:
                found[value].append((unit, revision["number"]))
    lost = [v for v in tally.acknowledged if v not in found]
    duplicated = [v for v, places in found.items() if len(places) > 1]
    misplaced = [v for v, place in tally.acknowledged.items()
                 if v in found and len(found[v]) == 1 and found[v][0] != place]
    return Audit(lost, duplicated, misplaced, revisions)


# -- the run --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run(args, loop=None) -> dict:
    """One run of the savers (*loop*, default :func:`saver`) against a fresh server and
    database; the audit and the figures as a dict."""
    loop = loop or saver
    with tempfile.TemporaryDirectory(prefix="tianbao-load-") as tmp:
        folder = Path(tmp)
        db = OwnDatabase(folder, args.database_url)
        server = None
        try:
            reports = args.shared or args.savers
            period, targets = set_up(db.url, folder, args.savers, reports)
            env = dict(os.environ, DATABASE_URL=db.url, SECRET_KEY="load-bench",
                       TIANBAO_INSTANCE_PATH=str(folder), PYTHONPATH=str(ROOT))
            app_spec = "server.wsgi:app"
            if args.bare:
                from bare_app import create_table

                create_table(db.url)
                env.update(TIANBAO_BARE="1", PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'bench'}")
                app_spec = "bare_app:app"
            server = Server(env, free_port(), args.workers, args.threads,
                            Path(args.log) if args.log else folder / "gunicorn.log", app_spec)
            server.start()

            tally, done, stop = Tally(), collections.Counter(), threading.Event()
            workers = children(server.process.pid)
            measured_from = time.monotonic() + args.warm_up
            deadline = measured_from + args.seconds
            threads = [threading.Thread(target=loop, args=(t, server.port, period, deadline,
                                                            tally)) for t in targets]
            chaos = threading.Thread(target=faults,
                                     args=(server, db, args, deadline, done, stop))
            for thread in [*threads, chaos]:
                thread.start()
            time.sleep(max(0.0, measured_from - time.monotonic()))
            cpu_before = cpu_seconds(workers)
            for thread in threads:
                # Bounded: a saver stops starting saves at the deadline, and one save is at
                # most (RETRIES + 1) attempts of REQUEST_TIMEOUT plus the pauses between them.
                thread.join(timeout=max(0.0, deadline - time.monotonic())
                            + (RETRIES + 1) * (REQUEST_TIMEOUT + 1) + 10)
            elapsed = time.monotonic() - measured_from
            # The workers' CPU over the run (a worker killed by a fault takes its share away).
            server_cpu = cpu_seconds(workers) - cpu_before
            cold = [seconds for answered, seconds in tally.latencies if answered < measured_from]
            latencies = [seconds for answered, seconds in tally.latencies
                         if answered >= measured_from]
            stop.set()
            chaos.join()
            if any(thread.is_alive() for thread in threads):
                raise SystemExit("a saver did not finish in its bounded time")
            if server.process.poll() is not None:
                server.start()  # the audit needs an answering server
            try:
                found = audit(server.port, period, targets, tally)
            except SystemExit as failure:  # with what the server said and who served
                raise SystemExit(
                    f"{failure}\nworkers at the start {sorted(workers)}, at the audit "
                    f"{sorted(children(server.process.pid))}; the server's last words:\n"
                    f"{server.log_tail()}") from None
        finally:
            if server is not None:
                server.stop()
            db.drop()
    return {
        "database": "postgresql" if db.is_postgresql else "sqlite",
        "savers": args.savers, "reports": reports, "workers": args.workers,
        "threads": args.threads, "seconds": round(elapsed, 1),
        "faults": {"workers_killed": done["worker"], "master_killed": done["master"],
                   "pg_backends_terminated": done["backends"]},
        "warm_up_seconds": args.warm_up,
        "acknowledged": len(tally.acknowledged),
        "acknowledged_on_retry": tally.acknowledged_on_retry,
        "lost": len(found.lost), "duplicated": len(found.duplicated),
        "misplaced": len(found.misplaced), "revisions": found.revisions,
        "examples": {"lost": found.lost[:5], "duplicated": found.duplicated[:5],
                     "misplaced": found.misplaced[:5]},
        "saves_per_second": round(len(latencies) / elapsed, 1),
        "server_cpu_ms_per_save": round(server_cpu * 1000 / len(latencies), 2)
        if latencies else None,
        "served": "bare" if args.bare else "app",
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "warm_up_p99_ms": round(percentile(cold, 0.99) * 1000, 1) if cold else None,
        "errors": dict(sorted(tally.errors.items())),
    }


def describe(result: dict) -> str:
    faults_done = result["faults"]
    lines = [
        f"{result['served']}, {result['database']}: {result['savers']} savers on "
        f"{result['reports']} reports, "
        f"{result['workers']} workers × {result['threads']} threads, {result['seconds']} s",
        f"faults: {faults_done['workers_killed']} workers killed, "
        f"{faults_done['master_killed']} master killed and restarted, "
        f"{faults_done['pg_backends_terminated']} PostgreSQL backends terminated",
        f"acknowledged {result['acknowledged']} ({result['acknowledged_on_retry']} on a retry), "
        f"lost {result['lost']}, duplicated {result['duplicated']}, "
        f"misplaced {result['misplaced']} ({result['revisions']} revisions in the history)",
        f"throughput {result['saves_per_second']} acknowledged saves/s, "
        f"latency p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
        f"p99 {result['p99_ms']} ms; server CPU {result['server_cpu_ms_per_save']} ms a save",
        "errors: " + (", ".join(f"{kind} × {n}" for kind, n in result["errors"].items())
                      or "none"),
    ]
    for kind, values in result["examples"].items():
        if values:
            lines.append(f"{kind}, e.g.: {', '.join(values)}")
    return "\n".join(lines)


def warm_up_seconds(text: str) -> float:
    """The argument of ``--warm-up``: seconds in [0, 600]."""
    seconds = float(text)
    if not 0 <= seconds <= 600:
        raise argparse.ArgumentTypeError("must be in [0, 600]")
    return seconds


def parse(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--savers", type=int, default=8, help="concurrent API clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long savers save")
    parser.add_argument("--warm-up", type=warm_up_seconds, default=0.0, metavar="S",
                        help="seconds of saves before those measured (audited all the same)")
    parser.add_argument("--database-url", help="a PostgreSQL server to create a database on "
                        "(default: a fresh SQLite file)")
    parser.add_argument("--shared", type=int, metavar="K",
                        help="spread the savers over K reports (409 answers expected)")
    parser.add_argument("--kill-worker-every", type=float, metavar="S",
                        help="SIGKILL a random gunicorn worker every S seconds")
    parser.add_argument("--kill-master-at", type=float, metavar="S",
                        help="SIGKILL the gunicorn master after S seconds and restart it")
    parser.add_argument("--kill-pg-backends-every", type=float, metavar="S",
                        help="terminate the run's PostgreSQL connections every S seconds")
    parser.add_argument("--bare", action="store_true",
                        help="serve bench/bare_app.py (one insert per PUT) instead of the app")
    parser.add_argument("--against-bare", action="store_true",
                        help="run the bare app first, then the app, and print the ratio")
    parser.add_argument("--log", metavar="FILE", help="keep gunicorn's output in FILE")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.seconds > 3600 or args.savers < 1:
        parser.error("--seconds must be in (0, 3600] and --savers at least 1")
    if args.shared is not None and not 1 <= args.shared <= args.savers:
        parser.error("--shared must be between 1 and the number of savers")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    results = [run(argparse.Namespace(**{**vars(args), "bare": True}))] \
        if args.against_bare else []
    results.append(run(args))
    for result in results:
        print(json.dumps(result, ensure_ascii=False) if args.json else describe(result))
    if args.against_bare:
        bare, ours = results
        ratio = ours["saves_per_second"] / bare["saves_per_second"] \
            if bare["saves_per_second"] else 0.0
        print(f"app / bare throughput: {ratio:.0%}")
    failed = any(r["lost"] or r["duplicated"] or r["misplaced"] or not r["acknowledged"]
                 for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
