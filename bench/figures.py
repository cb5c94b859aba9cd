"""The consolidated figures of a province-sized subtree, from the database, against a floor.

Builds a five-level tree (province → prefectures → counties → towns → villages,
the same fan-out at each office level, the villages filling the rest) of 1,000,
10,000 and 100,000 units, bulk-inserted with the 21-item quarterly table
(``chidian-progress``, 52 numeric inputs): every village reports 2024Q3 and
2024Q4, approved, except one in ten whose 2024Q4 report is only submitted (its
cumulative figures are carried forward from 2024Q3). Each report is written with
its ``report_values`` rows and its packed vector (``reports.figures``) made from
those same rows, as a save writes both. Offices do not report, so the root's
children are all the villages. Then, per database, in a child process
of its own (so its peak memory is its own):

* **figures**: ``server.services.rollup.rollup`` of the root for 2024Q4, what the
  consolidation page shows: totals, coverage, carried-forward figures, 本期新增
  like for like, falls, calculated rates;
* **floor**: one ``SELECT field_key, SUM(micros) … GROUP BY field_key`` over the
  same numbers (the period's rows of the assignment, no tree, no rules);

interleaved (floor, figures, floor, figures, …), medians of 3, and the child's
peak resident memory (``VmHWM``, the interpreter and the app included).

Usage: ``python bench/figures.py [--units 1000 10000 100000] [--pg URL] [--no-pg]
[--no-sqlite] [--dir DIR [--reuse]] [--build-only] [--profile]``;
``URL`` is a PostgreSQL server database to create the bench databases on
(``postgresql://postgres@127.0.0.1:5432/postgres`` by default). ``--dir`` keeps the
SQLite files there (default: a temporary folder removed at the end); ``--reuse`` measures
the SQLite files in ``--dir`` and the PostgreSQL databases left by an earlier run instead
of building them again (upgraded to the current migrations first). ``--profile`` prints a
cProfile of one roll-up per database to standard error.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from forms.definition import FieldKind  # noqa: E402
from forms.values import jsonable  # noqa: E402
from server import migrate  # noqa: E402
from server.db import make_engine, unit_of_work  # noqa: E402
from server.models import Assignment, Unit, UnitPlacement  # noqa: E402
from server.models.reporting import Report, ReportValue  # noqa: E402
from server.models.units import child_path  # noqa: E402
from server.services import assignments as assignment_service  # noqa: E402
from server.services import rollup  # noqa: E402
from server.services import templates as template_service  # noqa: E402
from server.services.report_values import pack_rows, stored_fields, to_micros  # noqa: E402

TEMPLATE = "chidian-progress"
PERIODS = ("2024Q3", "2024Q4")
PERIOD = PERIODS[-1]
BATCH = 20_000


def shape(size: int) -> list[int]:
    """Units per level: the same fan-out for the four office levels, villages the rest."""
    fan = 2
    while 1 + fan + fan**2 + fan**3 + fan**3 * 2 <= size and fan**4 < size:
        fan += 1
    fan -= 1
    offices = [1, fan, fan**2, fan**3]
    return [*offices, size - sum(offices)]


def values_of(fields, rng: random.Random, before: dict | None) -> dict:
    out = {}
    for fld in fields:
        if fld.kind is FieldKind.INTEGER:
            value = rng.randint(0, 40)
        else:
            value = Decimal(rng.randint(0, 4000)) / 100
        if fld.cumulative and before is not None and before.get(fld.key) is not None:
            value = before[fld.key] + value  # a running total grows
        out[fld.key] = value
    return out


def build(url: str, size: int) -> None:
    """The tree, the assignment and the reports with their rows and vectors, bulk-inserted."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    rng = random.Random(size)
    with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
        template_service.load_files(session)
        template = template_service.latest(session, TEMPLATE)
        definition = template.definition
        fields = stored_fields(definition)
        levels = shape(size)
        kinds = ("province", "prefecture", "county", "town", "village")
        units, placements, by_level = [], [], [[(1, child_path(None, 1))]]
        next_id = 2
        for depth, count in enumerate(levels[1:], start=1):
            parents = by_level[depth - 1]
            here = []
            for n in range(count):
                parent_id, parent_path = parents[n % len(parents)]
                path = child_path(parent_path, next_id)
                here.append((next_id, path))
                next_id += 1
            by_level.append(here)
        for depth, level in enumerate(by_level):
            for unit_id, path in level:
                parent = int(path.strip("/").split("/")[-2]) if depth else None
                units.append(dict(id=unit_id, code=f"U{unit_id:06d}", name=f"单位{unit_id}",
                                  kind=kinds[depth], parent_id=parent, path=path, depth=depth,
                                  active=True))
                placements.append(dict(unit_id=unit_id, parent_id=parent, path=path,
                                       depth=depth))
        for start in range(0, len(units), BATCH):
            session.execute(insert(Unit), units[start:start + BATCH])
            session.execute(insert(UnitPlacement), placements[start:start + BATCH])
        assignment = assignment_service.create_assignment(
            session, key="bench", template=template, root=session.get(Unit, 1),
            kinds=["village"])
        session.flush()
        moment = datetime(2025, 1, 3, 2, 0, tzinfo=UTC)
        report_id = 0
        reports, rows = [], []

        def flush() -> None:
            session.execute(insert(Report.__table__), reports)
            session.execute(insert(ReportValue.__table__), rows)
            reports.clear()
            rows.clear()

        for unit_id, _path in by_level[-1]:
            before = None
            for period in PERIODS:
                values = values_of(fields, rng, before)
                before = values
                report_id += 1
                status = ("submitted" if period == PERIOD and unit_id % 10 == 0
                          else "approved")
                mine = [dict(report_id=report_id, field_key=f.key,
                             assignment_id=assignment.id, unit_id=unit_id, period=period,
                             status=status, applies=True, micros=to_micros(values[f.key]))
                        for f in fields]
                # The packed vector of the same rows, as a save writes both.
                reports.append(dict(id=report_id, assignment_id=assignment.id,
                                    unit_id=unit_id, period=period,
                                    template_version_id=template.id, status=status,
                                    revision=1, values=jsonable(values), remarks="",
                                    explanations={}, submitted_at=moment, late=False,
                                    figures=pack_rows(mine)))
                rows += mine
            if len(reports) >= BATCH // 20:
                flush()
        if reports:
            flush()
    # Statistics for the planners; on PostgreSQL a VACUUM too, which sets the visibility
    # map as autovacuum would on a table this size (index-only scans need it).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql"
                                else "ANALYZE"))
    engine.dispose()


def built(url: str) -> bool:
    """Whether *url* holds a complete bench tree (an earlier run's, for ``--reuse``)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM assignments WHERE key = 'bench'")).scalar() == 1
    except Exception:  # no such database or table yet
        return False
    finally:
        engine.dispose()


def measure(url: str, profile: bool = False) -> dict:
    """In a child process: floor and figures interleaved, medians of 3, peak memory."""
    engine = make_engine(url)
    migrate.upgrade(engine)  # a reused database gets the current indexes
    floor_times, figure_times = [], []
    with Session(engine) as session:
        assignment = session.scalar(select(Assignment).where(Assignment.key == "bench"))
        root = session.get(Unit, 1)
        floor = (select(ReportValue.field_key, func.sum(ReportValue.micros))
                 .where(ReportValue.assignment_id == assignment.id,
                        ReportValue.period == PERIOD)
                 .group_by(ReportValue.field_key))
        for _ in range(3):
            start = time.perf_counter()
            sums = session.execute(floor).all()
            floor_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            found = rollup.rollup(session, assignment, root, PERIOD)
            figure_times.append(time.perf_counter() - start)
            session.expire_all()
        if profile:
            import cProfile
            import pstats
            profiler = cProfile.Profile()
            profiler.enable()
            rollup.rollup(session, assignment, root, PERIOD)
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    engine.dispose()
    return dict(floor=statistics.median(floor_times), figures=statistics.median(figure_times),
                sums=len(sums), children=found.children, counted=found.counted,
                carried=found.carried_units,
                rss=peak_memory())


def peak_memory() -> int:
    """This process's peak resident memory in bytes: ``VmHWM``, which starts afresh at
    ``exec`` (Linux keeps ``ru_maxrss`` across it, so a child started by a parent that
    has just built a large tree would report the parent's memory)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(url: str, profile: bool = False) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", url,
                          *(["--profile"] if profile else [])], check=True,
                         stdout=subprocess.PIPE, stderr=None if profile else subprocess.PIPE,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def pg_database(server: str, name: str, reuse: bool = False) -> str:
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    if reuse and built(url):
        return url
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--dir", help="keep the SQLite files in this folder")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the databases an earlier run left instead of building")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--build-only", action="store_true",
                        help="build (or keep, with --reuse) the databases, measure nothing")
    parser.add_argument("--measure")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.profile)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.units:
            targets = [] if args.no_sqlite else [
                ("SQLite", f"sqlite:///{folder / f'figures-{size}.db'}")]
            if not args.no_pg:
                targets.append(("PostgreSQL", pg_database(args.pg, f"bench_figures_{size}",
                                                          args.reuse)))
            for name, url in targets:
                start = time.perf_counter()
                if not (args.reuse and built(url)):
                    if name == "SQLite":
                        (folder / f"figures-{size}.db").unlink(missing_ok=True)
                    build(url, size)
                built_in = time.perf_counter() - start
                if args.build_only:
                    print(f"{size:>7,} units, {name}: built in {built_in:.0f} s", flush=True)
                    continue
                m = child(url, args.profile)
                print(f"{size:>7,} units ({shape(size)}), {name:<10}: figures "
                      f"{m['figures']:.3f} s, floor {m['floor']:.3f} s "
                      f"= {m['figures'] / m['floor']:.2f}× the floor; peak {m['rss'] / 2**20:.0f}"
                      f" MB; {m['children']:,} children, {m['counted']:,} counted, "
                      f"{m['carried']:,} carried (built in {built_in:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
