"""The merged workbook exported from the database as a download does it, against a DB floor.

The synthetic town of ``bench/merged.py`` (the 21-item template, a previous
period for 本期新增), here with thousands of direct children: one village per
five units (200 at 1,000 units, 2,000 at 10,000), four companies under each,
stored in a fresh SQLite database (bulk-inserted, not timed). Per size, in
rounds that alternate which side goes first (medians of ``--repeats`` rounds,
3 by default; wall-clock and CPU time of the process):

* **download**: what the download and ``tianbao export merged`` run:
  ``server.services.consolidation.figures`` (the totals, coverage, mismatches),
  then ``server.services.merged.write_merged`` (the subtree streamed from one
  query, values decoded, validation issues computed per unit, the workbook
  written, with its 200 child sheets in the official layout);
* **DB floor**: a bare ``SELECT`` of the same rows (every unit below the town with
  its report of the period and of the period before, values as stored), read to
  the end, plus XlsxWriter writing the very cells of our flat-data and completeness
  sheets (computed beforehand, as in ``bench/merged.py``'s floor, not timed);
* the parts of the download: the figures alone, and the export alone;
* **peak memory** under tracemalloc, in a separate pass (``--no-memory`` skips it):
  of the export (figures already computed) and of the figures.

Usage: ``python bench/merged_db.py [--units 1000 10000] [--repeats 3] [--no-memory]
[--database-url URL]``. With ``--database-url`` (one size per run) the town is stored in
that database instead, which must be empty (PostgreSQL: a database of its own).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, inspect, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from forms.values import jsonable  # noqa: E402
from server import migrate  # noqa: E402
from server.app import create_app  # noqa: E402
from server.db import database, unit_of_work  # noqa: E402
from server.models import Role, Unit, UnitPlacement  # noqa: E402
from server.models.units import child_path  # noqa: E402

ROOT_PATH = child_path(None, 1)
from server.models.reporting import Assignment, Report  # noqa: E402
from server.services import accounts, consolidation, merged, report_values  # noqa: E402
from server.services import assignments as assignment_service  # noqa: E402
from server.services import templates as template_service  # noqa: E402


def _pure_bench():
    spec = importlib.util.spec_from_file_location("bench_merged", ROOT / "bench" / "merged.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_merged"] = module
    spec.loader.exec_module(module)
    return module


pure = _pure_bench()


def same(text: str) -> str:
    return text


def build(session: Session, syn) -> None:
    """The town, villages and companies with their reports, bulk-inserted."""
    template_service.load_files(session)
    template = template_service.latest(session, pure.TEMPLATE)
    units = [dict(id=1, code="350582100", name="池店镇", kind="town", parent_id=None,
                  path=ROOT_PATH, depth=0, active=True)]
    company_ids: dict[int, int] = {}
    next_id = 2 + syn.villages
    for v in range(syn.villages):
        village_id = 2 + v
        units.append(dict(id=village_id, code=syn.village_code(v), name=syn.village_name(v),
                          kind="village", parent_id=1, path=child_path(ROOT_PATH, village_id),
                          depth=1, active=True))
        for i in syn.companies[v]:
            company_ids[i] = next_id
            units.append(dict(id=next_id, code=f"C{i:06d}", name=f"企业{i}", kind="company",
                              parent_id=village_id,
                              path=child_path(child_path(ROOT_PATH, village_id), next_id),
                              depth=2, active=True, contact_name=f"联系人{i}",
                              contact_phone="13800000000"))
            next_id += 1
    session.execute(insert(Unit), units)
    session.execute(insert(UnitPlacement), [  # the tree as it stands, since forever
        dict(unit_id=u["id"], parent_id=u["parent_id"], path=u["path"], depth=u["depth"],
             valid_from=None, valid_to=None) for u in units])
    town = session.get(Unit, 1)
    assignment = assignment_service.create_assignment(
        session, key="bench", template=template, root=town, kinds=["village", "company"])
    moment = datetime(2025, 1, 3, 2, 0, tzinfo=UTC)
    contact = {"reporter": "联系人", "phone": "13800000000"}

    def row(unit_id: int, period: str, values: dict) -> dict:
        return dict(assignment_id=assignment.id, unit_id=unit_id, period=period,
                    template_version_id=template.id, status="approved", revision=1,
                    values=jsonable({**contact, **values}), submitted_at=moment, late=False)

    batch = [row(2 + v, pure.PERIOD, syn.village_values[v]) for v in range(syn.villages)]
    for i, unit_id in company_ids.items():
        values, previous = syn.company(i)
        batch += [row(unit_id, pure.PERIOD, values), row(unit_id, pure.PREVIOUS, previous)]
        if len(batch) >= 2000:
            session.execute(insert(Report), batch)
            batch = []
    if batch:
        session.execute(insert(Report), batch)
    # The figures' rows and packed vectors, as every save writes them with the report:
    # without them the roll-up would find nothing to add up.
    report_values.backfill(session.connection())
    accounts.create_user(session, "bench-admin", "bench-password-1", Role.ADMIN, None)


def peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    fn()
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return top - base


def bare_select(session: Session, assignment_id: int) -> int:
    """The floor's query: every unit below the town with its reports of the period and
    the one before, values as stored, read to the end; returns the rows read."""
    rows = 0
    statement = (
        select(Unit.code, Unit.name, Unit.path, Unit.contact_name, Unit.contact_phone,
               Report.period, Report.status, Report.revision, Report.values,
               Report.submitted_at, Report.late)
        .join(Report, Report.unit_id == Unit.id)
        .where(Report.assignment_id == assignment_id, Unit.id != 1,
               Report.period.in_((pure.PERIOD, pure.PREVIOUS)))
        .order_by(Unit.path))
    for _ in session.execute(statement, execution_options={"yield_per": merged.BATCH}):
        rows += 1
    return rows


def run(size: int, folder: Path, repeats: int, memory: bool, url: str | None = None) -> dict:
    syn = pure.Synthetic(pure.pick_definition(), size, max(size // 5, 1))
    app = create_app({"DATABASE_URL": url or f"sqlite:///{folder / f'bench-{size}.db'}",
                      "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench"})
    engine = database(app).engine
    if url and inspect(engine).get_table_names():
        raise SystemExit(f"{engine.url.render_as_string()}: not an empty database")
    migrate.upgrade(engine)
    out = folder / f"db-{size}.xlsx"
    with app.app_context(), Session(engine, expire_on_commit=False) as session:
        with unit_of_work(session):
            build(session, syn)
        admin = accounts.get_user(session, "bench-admin")
        assignment_id = session.scalar(select(Assignment.id).where(Assignment.key == "bench"))
        now = datetime(2026, 1, 1, tzinfo=UTC)

        def figures():
            return consolidation.figures(session, admin, "bench", "350582100", pure.PERIOD,
                                         now=now)

        def export(found):
            return merged.write_merged(session, found, str(out), locale="zh_CN",
                                       translate=same, now=now)

        def download():
            return export(figures())

        result = download()  # a warm-up, not timed: imports, caches, the database file
        cells = pure.floor_cells(syn)

        def floor():
            bare_select(session, assignment_id)
            pure.floor(cells, folder / f"floor-{size}.xlsx")

        times = pure.interleaved({"download": download, "floor": floor}, repeats)
        cells = ([], [])  # the floor's cells freed
        found = figures()
        parts = pure.interleaved({"figures": figures, "export": lambda: export(found)}, 1)
        mem_export = mem_figures = None
        if memory:
            mem_export = peak(lambda: export(found))
            mem_figures = peak(figures)
    engine.dispose()
    return dict(size=size, villages=syn.villages, rows=result.data_rows,
                sheets=len(result.child_sheets), times=times, parts=parts,
                mem_export=mem_export, mem_figures=mem_figures)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--database-url", help="an empty database to use instead of SQLite")
    args = parser.parse_args(argv)
    if args.database_url and len(args.units) > 1:
        parser.error("--database-url takes one size (--units N)")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.units:
            f = run(size, Path(tmp), args.repeats, not args.no_memory, args.database_url)
            t = f["times"]
            wall = pure.median(t["download"], 0) / pure.median(t["floor"], 0)
            cpu = pure.median(t["download"], 1) / pure.median(t["floor"], 1)
            rounds = ", ".join(f"{d[0] / fl[0]:.2f}"
                               for d, fl in zip(t["download"], t["floor"], strict=True))
            print(f"{f['size']:,} units ({f['villages']:,} direct children, "
                  f"{f['sheets']} child sheets), {f['rows']:,} data rows; medians of "
                  f"{len(t['floor'])} interleaved rounds:")
            print(f"  download {pure.median(t['download'], 0):7.1f} s wall "
                  f"{pure.median(t['download'], 1):7.1f} s CPU")
            print(f"  DB floor {pure.median(t['floor'], 0):7.1f} s wall "
                  f"{pure.median(t['floor'], 1):7.1f} s CPU")
            print(f"  download / DB floor = {wall:.2f} wall, {cpu:.2f} CPU (rounds, wall: "
                  f"{rounds})")
            p = f["parts"]
            print(f"  of which figures {p['figures'][0][0]:.1f} s wall "
                  f"{p['figures'][0][1]:.1f} s CPU, export {p['export'][0][0]:.1f} s wall "
                  f"{p['export'][0][1]:.1f} s CPU (one run)")
            if f["mem_export"] is not None:
                print(f"  peak memory: export {pure.mib(f['mem_export'])}, "
                      f"figures {pure.mib(f['mem_figures'])}")


if __name__ == "__main__":
    main(sys.argv[1:])
