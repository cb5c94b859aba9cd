"""The dashboard of a county over 12 monthly periods, 1,000 and 10,000 units, against
the plain SQL aggregate as the floor.

A synthetic county (20 towns, villages under them, companies under the villages) and
a monthly template, bulk-inserted into a fresh database with a report for about 85%
of the unit-months in random states (not timed). Measured per size, interleaved,
medians of 3:

* **page**: ``GET /review/dashboard`` for the county over the 12 months, rendered by
  the application (login once beforehand): owing, the grouped query, the never
  reported units, the SVG charts, the template;
* **build**: ``server.services.dashboard.build`` alone (the queries);
* **floor**: one hand-written ``SELECT period, status, late, count(*) FROM reports
  WHERE assignment_id = ? GROUP BY …``: the aggregate with no owing, tree or page.

Usage: ``python bench/dashboard.py [--units 1000 10000] [--database-url URL]``
(default: a SQLite file in a temporary folder; a PostgreSQL URL is emptied first).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from forms.definition import Definition  # noqa: E402
from server import migrate  # noqa: E402
from server.app import create_app  # noqa: E402
from server.db import Base, database, unit_of_work  # noqa: E402
from server.models import Role, Unit, UnitPlacement  # noqa: E402
from server.models.units import child_path  # noqa: E402

ROOT_PATH = child_path(None, 1)
from server.models.reporting import Report  # noqa: E402
from server.services import accounts  # noqa: E402
from server.services import assignments as assignment_service  # noqa: E402
from server.services import dashboard as dashboard_service  # noqa: E402
from server.services import templates as template_service  # noqa: E402

NOW = datetime(2026, 1, 20, 2, tzinfo=UTC)  # 2025-01 … 2025-11 are past due, 2025-12 not
PERIODS = [f"2025-{m:02d}" for m in range(1, 13)]
TOWNS, VILLAGES_PER_TOWN = 20, 10
PASSWORD = "bench-password-1"
DEFINITION = {
    "key": "bench-monthly", "title": "月度排查情况表", "title_en": "Monthly checks",
    "source": {"issuer": "测试县安委办", "title": "《测试方案》"},
    "schedule": {"frequency": "monthly", "due": {"rule": "after_end", "months": 0, "day": 10},
                 "first": "2025-01", "last": "2025-12"},
    "sections": [{"key": "s1", "number": "一", "title": "排查", "items": [
        {"key": "i01", "number": "1", "title": "排查隐患", "fields": [
            {"key": "found", "kind": "integer", "label": "排查隐患", "min": 0}]}]}],
}


def build(session: Session, size: int) -> None:
    """A county of *size* units below it, its placements and reports, bulk-inserted."""
    rng = random.Random(size)
    units = [dict(id=1, code="C0", name="测试县", kind="county", parent_id=None, path=ROOT_PATH,
                  depth=0, active=True)]
    next_id = 2
    towns, villages = [], []
    for t in range(TOWNS):
        units.append(dict(id=next_id, code=f"T{t}", name=f"第{t}镇", kind="town", parent_id=1,
                          path=child_path(ROOT_PATH, next_id), depth=1, active=True))
        towns.append(units[-1])
        next_id += 1
    for t, town in enumerate(towns):
        for v in range(VILLAGES_PER_TOWN):
            units.append(dict(id=next_id, code=f"T{t}V{v}", name=f"第{t}镇{v}村",
                              kind="village", parent_id=town["id"],
                              path=child_path(town['path'], next_id), depth=2, active=True))
            villages.append(units[-1])
            next_id += 1
    i = 0
    while len(units) < size + 1:
        village = villages[i % len(villages)]
        units.append(dict(id=next_id, code=f"E{i}", name=f"企业{i}", kind="company",
                          parent_id=village["id"], path=child_path(village['path'], next_id),
                          depth=3, active=True))
        next_id += 1
        i += 1
    session.execute(insert(Unit), units)
    session.execute(insert(UnitPlacement), [
        dict(unit_id=u["id"], parent_id=u["parent_id"], path=u["path"], depth=u["depth"])
        for u in units])
    template_service.publish(session, Definition.model_validate(DEFINITION), origin="upload")
    template = template_service.get_version(session, "bench-monthly", 1)
    assignment_service.create_assignment(session, key="bench", template=template,
                                         root=session.get(Unit, 1))
    assignment = assignment_service.get_assignment(session, "bench")
    batch = []
    for unit in units[1:]:
        for period in PERIODS:
            draw = rng.random()
            if draw < 0.15:
                continue
            status = ("approved" if draw < 0.6 else "submitted" if draw < 0.85
                      else "draft" if draw < 0.95 else "returned")
            batch.append(dict(assignment_id=assignment.id, unit_id=unit["id"], period=period,
                              template_version_id=template.id, status=status, revision=1,
                              values={"found": 1}, late=status in ("approved", "submitted")
                              and rng.random() < 0.2))
            if len(batch) >= 5000:
                session.execute(insert(Report), batch)
                batch = []
    if batch:
        session.execute(insert(Report), batch)
    accounts.create_user(session, "bench-admin", PASSWORD, Role.ADMIN, None)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def prepare(size: int, url: str, folder: Path):
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder),
                      "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    engine = database(app).engine
    migrate.upgrade(engine)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    with app.app_context(), Session(engine) as session, unit_of_work(session):
        build(session, size)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    dashboard_service.utcnow = lambda: NOW  # the clock of the figures
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "bench-admin",
                                                "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return app, engine, client


def measure(app, engine, client) -> dict[str, float]:
    url = "/review/dashboard?assignment=bench&unit=C0&first=2025-01&last=2025-12"

    def page():
        response = client.get(url)
        assert response.status_code == 200 and b"chart-timeliness" in response.data

    def service():
        with app.app_context(), Session(engine) as session:
            assignment = assignment_service.get_assignment(session, "bench")
            dashboard_service.build(session, assignment, session.get(Unit, 1), PERIODS,
                                    now=NOW)

    def floor():
        with engine.connect() as connection:
            connection.execute(text(
                "SELECT period, status, late, count(*) FROM reports WHERE assignment_id = "
                "(SELECT id FROM assignments WHERE key = 'bench') "
                "GROUP BY period, status, late")).all()

    return {"page": timed(page), "build": timed(service), "floor": timed(floor)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setups = {}
        for size in args.units:
            url = args.database_url or f"sqlite:///{folder / f'dash-{size}.db'}"
            if args.database_url and len(args.units) > 1:
                raise SystemExit("one size per run with --database-url (the data is replaced)")
            setups[size] = prepare(size, url, folder)
            measure(*setups[size])  # warm caches and templates
        runs: dict[int, list[dict[str, float]]] = {size: [] for size in args.units}
        for _ in range(3):  # interleaved
            for size in args.units:
                runs[size].append(measure(*setups[size]))
        for size in args.units:
            med = {key: statistics.median(r[key] for r in runs[size]) for key in runs[size][0]}
            print(f"{size:>6} units × {len(PERIODS)} periods: page {med['page'] * 1000:.0f} ms, "
                  f"queries {med['build'] * 1000:.0f} ms, SQL floor {med['floor'] * 1000:.1f} ms; "
                  f"page / floor {med['page'] / med['floor']:.1f}×")
        for _app, engine, _client in setups.values():
            engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
