"""The work of one API save, counted in instructions: the application against the bare endpoint.

``bench/http_save.py`` times saves through gunicorn, and on a shared machine its figures
move with the machine: the same code gave between 3.2 and 6 ms of server CPU a save from
one run to the next. This counts the instructions instead (valgrind's callgrind), which
repeat to a few parts in a thousand, so a change that saves a tenth of a save's work shows
as such. Both sides run in-process under the Flask test client, each in a process of its
own under callgrind: 150 saves to warm up (caches filled, a full garbage collection done),
then ``--saves`` saves counted, the counting switched on and off around them
(``callgrind_control``). The application's save is a saver's of ``http_save.py``: a PUT
of the 21-item table's 报送人 with ``If-Match`` naming the revision the last answer gave;
the bare endpoint's is ``bench/bare_app.py``'s PUT (one insert). The test client's own
work is on both sides, as a real client's is on the machine ``http_save.py`` runs on.

Prints the instructions a save of each side and the bare endpoint's work as a share of
the application's: what ``http_save.py``'s throughput share follows when the cores are the
bottleneck (its clients' work aside).

With ``--earlier N`` the saver's unit has handed in N earlier quarters, approved, each
with every figure of the table filled in, and the counted saves are of the next quarter:
a save late in the plan, which reads and checks against those reports (the history, the
previous quarter, the targets).

Usage::

    python bench/save_work.py [--saves 100] [--earlier N] [--database-url postgresql://…]

Needs valgrind (its ``callgrind_control``); exits 2 without it.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402  (bench/load.py: the set-up and the saver's report)

WARM_UP = 150
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def hand_in_earlier(app, client, headers: dict, unit: str, earlier: int) -> str:
    """The unit's first *earlier* quarters saved with every figure and approved; the next
    quarter's key."""
    from sqlalchemy import update

    from server.db import database, unit_of_work
    from server.models import Report
    from server.models.accounts import utcnow
    from server.models.reporting import Status
    from server.services import assignments as assignment_service
    from server.services.report_values import stored_fields

    with app.app_context():
        session = database(app).session()
        assignment = assignment_service.get_assignment(session, load.ASSIGNMENT)
        *handed_in, next_period = assignment_service.assignment_periods(assignment)[:earlier + 1]
        definition = assignment_service.version_for(assignment, next_period).definition
        database(app).session.remove()
    for number, period in enumerate(handed_in, start=1):
        answer = client.put(load.report_path(period, unit), headers={**headers, "If-Match": '"0"'},
                            json={"values": {f.key: 10 * number
                                             for f in stored_fields(definition)}})
        if answer.status_code != 200:
            raise SystemExit(f"handing in {period} was answered {answer.status_code}")
    with app.app_context(), unit_of_work(database(app).session()) as session:
        session.execute(update(Report).where(Report.period.in_(handed_in))
                        .values(status=Status.APPROVED, submitted_at=utcnow()))
    return next_period


def child(side: str, url: str, folder: str, period: str, token: str, unit: str,
          saves: int, earlier: int = 0) -> None:
    """Runs under callgrind: warm up, then count *saves* PUTs of *side*."""
    os.environ.update(DATABASE_URL=url, SECRET_KEY="load-bench", TIANBAO_INSTANCE_PATH=folder)
    if side == "bare":
        from bare_app import create_bare_app

        app = create_bare_app()
    else:
        from server.app import create_app

        app = create_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    if side == "app" and earlier:
        period = hand_in_earlier(app, client, headers, unit, earlier)
    path = load.report_path(period, unit)
    revision = client.get(path, headers=headers).get_json()["revision"]

    def save(number: int) -> None:
        nonlocal revision
        answer = client.put(path, json={"values": {load.FIELD: f"w{number}"}},
                            headers={**headers, "If-Match": f'"{revision}"'})
        if answer.status_code != 200:
            raise SystemExit(f"{side}: a save was answered {answer.status_code}")
        revision = answer.get_json()["revision"]

    for number in range(WARM_UP):
        save(number)
    gc.collect()
    gc.freeze()  # what the warm-up left is not walked again by a collection while counting
    _count_instructions("on")
    for number in range(WARM_UP, WARM_UP + saves):
        save(number)
    _count_instructions("off")


def _count_instructions(switch: str) -> None:
    """Switch callgrind's counting of this process ``on`` or ``off``."""
    subprocess.run(["callgrind_control", f"--instr={switch}", str(os.getpid())], check=True,
                   capture_output=True)


def counted(side: str, args, url: str, folder: Path, period: str,
            target: load.Target) -> float:
    """Instructions a save of *side*, counted in a child process under callgrind."""
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no",
        f"--callgrind-out-file={folder / f'{side}.callgrind'}",
        sys.executable, __file__, "--child", side, "--url", url, "--folder", str(folder),
        "--period", period, "--token", target.token, "--unit", target.unit,
        "--saves", str(args.saves), "--earlier", str(args.earlier)]
    env = dict(os.environ, PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([str(load.ROOT), str(load.ROOT / "bench")]))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{side}: the counted run failed\n{done.stderr[-2000:]}")
    return int(found.group(1)) / args.saves


def parse(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=100, help="saves counted on each side")
    parser.add_argument("--earlier", type=int, default=0, metavar="N",
                        help="quarters the unit handed in before the one saved")
    parser.add_argument("--database-url", help="a PostgreSQL server to create a database on "
                        "(default: a fresh SQLite file)")
    parser.add_argument("--child", choices=("app", "bare"), help=argparse.SUPPRESS)
    for name in ("--url", "--folder", "--period", "--token", "--unit"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.saves <= 10_000:
        parser.error("--saves must be between 1 and 10000")
    if not 0 <= args.earlier <= 10:
        parser.error("--earlier must be between 0 and 10 (the plan has 11 quarters)")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.child:
        child(args.child, args.url, args.folder, args.period, args.token, args.unit,
              args.saves, args.earlier)
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind (with callgrind_control) is needed to count instructions",
              file=sys.stderr)
        return 2
    from bare_app import create_table

    with tempfile.TemporaryDirectory(prefix="tianbao-work-") as tmp:
        folder = Path(tmp)
        db = load.OwnDatabase(folder, args.database_url)
        try:
            period, (target,) = load.set_up(db.url, folder, 1, 1)
            create_table(db.url)
            work = {side: counted(side, args, db.url, folder, period, target)
                    for side in ("bare", "app")}
        finally:
            db.drop()
    name = "PostgreSQL" if db.is_postgresql else "SQLite"
    late = f", the unit's {args.earlier} earlier quarters handed in" if args.earlier else ""
    print(f"{name}: instructions a save, {args.saves} saves counted after {WARM_UP} "
          f"to warm up (callgrind, Flask test client){late}")
    print(f"  bare endpoint  {work['bare'] / 1e6:6.2f} M")
    print(f"  application    {work['app'] / 1e6:6.2f} M")
    print(f"  bare / application: {work['bare'] / work['app']:.1%} "
          f"(the application does {work['app'] / work['bare']:.1f}× the bare endpoint's work)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
