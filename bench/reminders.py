"""The reminder scheduler over a town of many units: the first run of a step's day
(every message written) and the hourly runs after it (nothing to write).

A town with 10 villages and the other units companies under them, each with one
submitter account (e-mail and mobile) and a contact phone; the quarterly 21-item
assignment; e-mail, SMS and the WeCom robot configured. Stored in a fresh SQLite
database (not timed). The floor: the first run's rows inserted again by one bare
executemany INSERT (no rendering, no per-row conflict check).
Usage: ``python bench/reminders.py [--units 1000 5000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from forms.periods import SHANGHAI  # noqa: E402
from server import migrate  # noqa: E402
from server.app import create_app  # noqa: E402
from server.db import database, unit_of_work  # noqa: E402
from server.models import Notification, Role, Unit, UnitPlacement, User  # noqa: E402
from server.models.units import child_path  # noqa: E402
from server.services import assignments as assignment_service  # noqa: E402
from server.services import reminders  # noqa: E402
from server.services import templates as template_service  # noqa: E402

VILLAGES = 10


def build(session: Session, size: int) -> None:
    template_service.load_files(session)
    root = child_path(None, 1)
    units = [dict(id=1, code="T", name="镇", kind="town", parent_id=None, path=root, depth=0,
                  active=True)]
    for v in range(VILLAGES):
        units.append(dict(id=2 + v, code=f"V{v}", name=f"村{v}", kind="village", parent_id=1,
                          path=child_path(root, 2 + v), depth=1, active=True))
    for n in range(size - VILLAGES - 1):
        unit_id, parent = 2 + VILLAGES + n, 2 + n % VILLAGES
        units.append(dict(id=unit_id, code=f"C{n:06d}", name=f"企业{n}", kind="company",
                          parent_id=parent, path=child_path(child_path(root, parent), unit_id),
                          depth=2,
                          active=True, contact_phone=f"139{n:08d}"))
    session.execute(insert(Unit), units)
    session.execute(insert(UnitPlacement), [
        dict(unit_id=u["id"], parent_id=u["parent_id"], path=u["path"], depth=u["depth"])
        for u in units])
    session.execute(insert(User), [
        dict(username=f"u{u['id']}", password_hash="x", role=Role.SUBMITTER, unit_id=u["id"],
             active=True, email=f"u{u['id']}@example.test", mobile=f"138{u['id']:08d}",
             notify_on_submission=False, reminders_opt_out=False, session_token=f"t{u['id']}")
        for u in units[1:]])
    session.execute(insert(User), [dict(username="hz", password_hash="x", role=Role.CONSOLIDATOR,
                                        unit_id=1, active=True, session_token="hz")])
    assignment_service.create_assignment(
        session, key="bench", template=template_service.get_version(
            session, "chidian-progress", 1), root=session.get(Unit, 1))


def run(size: int, folder: Path) -> dict:
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / f'bench-{size}.db'}",
                      "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench",
                      "SMTP_HOST": "127.0.0.1", "SMS_URL": "http://127.0.0.1:1/sms",
                      "WECOM_WEBHOOK": "http://127.0.0.1:1/wecom"})
    engine = database(app).engine
    migrate.upgrade(engine)
    out = {}
    with app.app_context(), Session(engine, expire_on_commit=False) as session:
        with unit_of_work(session):
            build(session, size)
        for label, moment in (("first", datetime(2026, 7, 5, 9, tzinfo=SHANGHAI)),
                              ("repeat", datetime(2026, 7, 5, 10, tzinfo=SHANGHAI)),
                              ("escalation", datetime(2026, 7, 12, 9, tzinfo=SHANGHAI))):
            start = time.perf_counter()
            with unit_of_work(session):
                reminders.run(session, moment, checkpoint=session.commit)
            out[label] = time.perf_counter() - start
        out["rows"] = session.scalar(select(func.count()).select_from(Notification))
        # The floor: the first run's rows written by one bare executemany INSERT.
        first = session.scalars(select(Notification).where(Notification.step == "due")).all()
        copies = [{column.name: getattr(row, column.key) for column in
                   Notification.__table__.columns if column.name != "id"} | {
                   "step": "floor", "key": f"{row.key}:floor"} for row in first]
        start = time.perf_counter()
        with unit_of_work(session):
            session.execute(insert(Notification), copies)
        out["floor"] = time.perf_counter() - start
        out["first_rows"] = len(first)
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 5000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for size in args.units:
            r = run(size, Path(folder))
            print(f"{size:>6} units: first run {r['first']:.2f} s ({r['first_rows']} rows; "
                  f"{r['first'] / r['floor']:.1f}× one bare INSERT of them, {r['floor']:.2f} s), "
                  f"repeat {r['repeat']:.2f} s, escalation day {r['escalation']:.2f} s")


if __name__ == "__main__":
    main()
