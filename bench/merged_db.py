"""The merged workbook exported from the database, end to end, for 1,000 and 10,000 units.

The same synthetic town as ``bench/merged.py`` (10 villages, the other units
companies under them, the 21-item template, a previous period for 本期新增),
stored in a fresh SQLite database (not timed). Measured in one run, per size:

* **db export**: ``server.services.merged.write_merged`` as the download and the
  CLI run it: the subtree streamed from one query, values decoded, validation
  issues computed per unit, the workbook written;
* **pure export**: ``exports.merged_workbook.write_merged_workbook`` fed the same
  reports generated in memory (what ``bench/merged.py`` calls *ours*).
  ``db / pure`` is what reading and checking the reports in the database costs;
* **figures**: ``server.services.consolidation.figures``, the consolidation the
  export starts from (timed separately);
* **peak memory** under tracemalloc, in a second pass: of the export (figures
  already computed) and of the figures. The export's should not grow with the
  units; the figures hold the direct children's reports.

Usage: ``python bench/merged_db.py [--units 1000 10000]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from forms.values import jsonable  # noqa: E402
from server import migrate  # noqa: E402
from server.app import create_app  # noqa: E402
from server.db import database, unit_of_work  # noqa: E402
from server.models import Role, Unit  # noqa: E402
from server.models.reporting import Report  # noqa: E402
from server.services import accounts, consolidation, merged  # noqa: E402
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
                  path="/1/", depth=0, active=True)]
    company_ids: dict[int, int] = {}
    next_id = 2 + pure.VILLAGES
    for v in range(pure.VILLAGES):
        village_id = 2 + v
        units.append(dict(id=village_id, code=syn.village_code(v), name=syn.village_name(v),
                          kind="village", parent_id=1, path=f"/1/{village_id}/", depth=1,
                          active=True))
        for i in syn.companies[v]:
            company_ids[i] = next_id
            units.append(dict(id=next_id, code=f"C{i:06d}", name=f"企业{i}", kind="company",
                              parent_id=village_id, path=f"/1/{village_id}/{next_id}/",
                              depth=2, active=True, contact_name=f"联系人{i}",
                              contact_phone="13800000000"))
            next_id += 1
    session.execute(insert(Unit), units)
    town = session.get(Unit, 1)
    assignment = assignment_service.create_assignment(
        session, key="bench", template=template, root=town, kinds=["village", "company"])
    moment = datetime(2025, 1, 3, 2, 0, tzinfo=UTC)
    contact = {"reporter": "联系人", "phone": "13800000000"}

    def row(unit_id: int, period: str, values: dict) -> dict:
        return dict(assignment_id=assignment.id, unit_id=unit_id, period=period,
                    template_version_id=template.id, status="approved", revision=1,
                    values=jsonable({**contact, **values}), submitted_at=moment, late=False)

    batch = [row(2 + v, pure.PERIOD, syn.village_values[v]) for v in range(pure.VILLAGES)]
    for i, unit_id in company_ids.items():
        values, previous = syn.company(i)
        batch += [row(unit_id, pure.PERIOD, values), row(unit_id, pure.PREVIOUS, previous)]
        if len(batch) >= 2000:
            session.execute(insert(Report), batch)
            batch = []
    if batch:
        session.execute(insert(Report), batch)
    accounts.create_user(session, "bench-admin", "bench-password-1", Role.ADMIN, None)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    fn()
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return top - base


def run(size: int, folder: Path) -> dict:
    syn = pure.Synthetic(pure.pick_definition(), size)
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / f'bench-{size}.db'}",
                      "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench"})
    engine = database(app).engine
    migrate.upgrade(engine)
    with app.app_context(), Session(engine, expire_on_commit=False) as session:
        with unit_of_work(session):
            build(session, syn)
        admin = accounts.get_user(session, "bench-admin")
        now = datetime(2026, 1, 1, tzinfo=UTC)

        def figures():
            return consolidation.figures(session, admin, "bench", "350582100", pure.PERIOD,
                                         now=now)

        t_figures, found = timed(figures)
        out = folder / f"db-{size}.xlsx"
        t_db, result = timed(lambda: merged.write_merged(
            session, found, str(out), locale="zh_CN", translate=same, now=now))
        t_pure, _ = timed(lambda: pure.ours(syn, folder / f"pure-{size}.xlsx"))
        mem_export = peak(lambda: merged.write_merged(
            session, found, str(out), locale="zh_CN", translate=same, now=now))
        mem_figures = peak(figures)
    engine.dispose()
    return dict(size=size, rows=result.data_rows, figures=t_figures, db=t_db, pure=t_pure,
                mem_export=mem_export, mem_figures=mem_figures)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.units:
            f = run(size, Path(tmp))
            print(f"{f['size']:>6} units, {f['rows']:,} data rows: "
                  f"db export {f['db']:.1f} s = {f['db'] / f['pure']:.2f}× the pure export "
                  f"({f['pure']:.1f} s); figures {f['figures']:.2f} s; "
                  f"peak memory: export {pure.mib(f['mem_export'])}, "
                  f"figures {pure.mib(f['mem_figures'])}")


if __name__ == "__main__":
    main(sys.argv[1:])
