"""Long work in the background: a merged export of more units than the threshold runs as a
job on a worker (huey on SQLite storage and on Redis), with real progress, a page and a
JSON to poll, "my downloads", a notification when ready, a file kept for a while, and
nobody else's job visible."""

from __future__ import annotations

import io
import signal
import time
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import test_jobs
import time_machine
from hazards import hazards_definition
from notify_receivers import wait_until
from sqlalchemy import select

from forms.definition import Definition
from forms.values import jsonable
from server.db import unit_of_work
from server.jobs.runner import jobs_of, make_consumer
from server.models import Job, JobStatus, Notification, Role, Status
from server.models.accounts import utcnow
from server.models.reporting import Report
from server.services import accounts, jobs
from server.services import assignments as assignment_service
from server.services import templates as template_service
from server.services import units as unit_service

job_app = test_jobs.job_app  # the app with its queue on SQLite storage, then on Redis
PERIOD = "2024Q3"
FOUND = {"VA1": 7, "VA2": 5, "VB1": 11}


@pytest.fixture
def world(session):
    """County CY: towns TA (VA1, VA2) and TB (VB1); villages report, all three approved."""
    with unit_of_work(session):
        county = unit_service.create_unit(session, "CY", "沧源县", "county", None)
        towns = {code: unit_service.create_unit(session, code, f"镇{code}", "town", county)
                 for code in ("TA", "TB")}
        villages = {code: unit_service.create_unit(session, code, f"村{code}", "village",
                                                   towns["T" + code[1]])
                    for code in FOUND}
        template_service.publish(session, Definition.model_validate(hazards_definition()),
                                 origin="upload")
    template = template_service.get_version(session, "hazards", 1)
    with unit_of_work(session):
        assignment = assignment_service.create_assignment(
            session, key="hz", template=template, root=county, kinds=["village"])
        for code, value in FOUND.items():
            session.add(Report(assignment_id=assignment.id, unit_id=villages[code].id,
                               period=PERIOD, template_version_id=template.id,
                               status=Status.APPROVED, revision=1,
                               values=jsonable({"found": value}), submitted_at=utcnow()))
        accounts.create_user(session, "county", "secret-password-1", Role.CONSOLIDATOR, county)
        accounts.create_user(session, "other", "secret-password-1", Role.CONSOLIDATOR, county)
    return county


@pytest.fixture
def login(browser_of):
    """Sign *username* in on *app* in a browser of its own."""
    return lambda app, username: browser_of(app).login_ok(username, "secret-password-1")


class Worker:
    """A real huey consumer (threads) of the test's own queue, stopped at the end."""

    def __init__(self, app) -> None:
        self.handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM,
                                                            signal.SIGHUP)}
        self.consumer = make_consumer(app, workers=1)

    def __enter__(self):
        self.consumer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.consumer.stop(graceful=True)
        for sig, handler in self.handlers.items():
            signal.signal(sig, handler)


def the_job(session) -> Job:
    session.expire_all()
    return session.scalars(select(Job)).one()


MERGED = f"/consolidation/hz/CY/{PERIOD}/merged.xlsx"


def test_a_small_export_stays_immediate(login, job_app, session, world):
    job_app.config["BACKGROUND_UNITS"] = 3  # the subtree has 3 reporting units: not above
    response = login(job_app, "county").get(MERGED)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert session.scalar(select(Job.id)) is None


def test_a_large_export_runs_on_a_worker_with_progress_and_a_notification(
        login, job_app, session, world, monkeypatch):
    job_app.config["BACKGROUND_UNITS"] = 2
    seen: list[int] = []
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", 0)  # write every unit's progress
    write = jobs.Progress.__call__
    monkeypatch.setattr(jobs.Progress, "__call__",
                        lambda self, done, force=False: (seen.append(done),
                                                         write(self, done, force))[1])
    county = login(job_app, "county")
    offer = county.get(MERGED)  # a GET changes nothing: it offers to prepare the file
    assert offer.status_code == 200 and "涉及3个单位" in offer.get_data(as_text=True)
    assert session.scalar(select(Job.id)) is None
    response = county.post(MERGED)
    assert response.status_code == 302, response.headers.get("Location")
    job = the_job(session)
    assert response.headers["Location"] == f"/jobs/{job.id}"
    assert (job.status, job.done, job.total, job.kind) == (JobStatus.QUEUED, 0, 3, "merged")
    assert jobs_of(job_app).huey.pending_count() == 1  # queued by the commit
    assert county.post(MERGED).headers["Location"] == f"/jobs/{job.id}"  # not a second one
    assert jobs_of(job_app).huey.pending_count() == 1
    page = county.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and "<progress" in page  # refreshes without JS

    with Worker(job_app):
        assert wait_until(lambda: the_job(session).status == JobStatus.DONE, timeout=30)
    assert seen[:3] == [1, 2, 3]  # the writer reported each unit as it wrote it
    status = county.get(f"/jobs/{job.id}.json").get_json()
    assert (status["status"], status["done"], status["total"], status["percent"]) == (
        "done", 3, 3, 100)
    assert status["download"] == f"/jobs/{job.id}/file"
    file = county.get(status["download"])
    assert file.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(file.get_data()), read_only=True)
    data = book["明细数据"]
    rows = [r for r in data.iter_rows(values_only=True)]
    header = list(rows[0])
    by_unit = {r[0]: r[header.index("数值")] for r in rows[1:] if r[7] == "found"}
    assert by_unit == FOUND

    bell = session.scalars(select(Notification).where(
        Notification.user_id == job.user_id)).one()
    assert bell.link == f"/jobs/{job.id}" and "已准备好" in bell.subject
    listing = county.get("/jobs/").get_data(as_text=True)
    assert f'href="/jobs/{job.id}/file"' in listing

    other = login(job_app, "other")  # same office, another account: not theirs
    for path in (f"/jobs/{job.id}", f"/jobs/{job.id}.json", f"/jobs/{job.id}/file"):
        assert other.get(path).status_code == 404
    assert f"/jobs/{job.id}" not in other.get("/jobs/").get_data(as_text=True)


def test_a_failed_job_says_so_in_the_readers_language(login, job_app, session, world):
    with unit_of_work(session):
        user = accounts.get_user(session, "county")
        session.add(Job(user_id=user.id, kind="merged", status=JobStatus.QUEUED, total=3,
                        params={"assignment": "gone", "unit": "CY", "period": PERIOD},
                        file_name="x.xlsx", title="t", stored_as="", error=""))
    job = the_job(session)
    with job_app.app_context():
        assert jobs.run(session, job.id) == JobStatus.FAILED
    county = login(job_app, "county")
    page = county.get(f"/jobs/{job.id}", headers={"Accept-Language": "zh-CN"})
    assert "导出未能完成" in page.get_data(as_text=True)
    assert county.get(f"/jobs/{job.id}/file").status_code == 404
    assert "failed" in session.scalars(select(Notification.kind)).one()


def test_expired_files_are_cleaned_up(login, job_app, session, world):
    job_app.config["BACKGROUND_UNITS"] = 2
    login(job_app, "county").post(MERGED)
    job = the_job(session)
    with job_app.app_context():
        assert jobs.run(session, job.id) == JobStatus.DONE
        stored = the_job(session).stored_as
        assert jobs.run(session, job.id) == JobStatus.DONE  # queued twice: runs once
        assert the_job(session).stored_as == stored
        path = jobs.folder() / stored
        assert path.is_file()
        assert jobs.clean_up(session, utcnow() + timedelta(hours=23)) == 0
        assert jobs.clean_up(session, utcnow() + timedelta(hours=25)) == 1
    assert not path.exists()
    assert session.scalar(select(Job.id)) is None


def test_the_api_answers_202_with_a_job_to_poll_and_its_file_when_done(job_app, session, world):
    from api_helpers import api_get, token_for

    job_app.config["BACKGROUND_UNITS"] = 2
    client = job_app.test_client()
    county, other = (token_for(session, accounts.get_user(session, name))
                     for name in ("county", "other"))
    path = f"/api/v1/consolidations/hz/CY/{PERIOD}/merged.xlsx"
    response = api_get(client, path, county)
    assert response.status_code == 202
    body = response.get_json()
    assert response.headers["Location"] == body["links"]["job"] == f"/api/v1/jobs/{body['id']}"
    assert (body["status"], body["done"], body["total"], body["links"]["download"]) == (
        "queued", 0, 3, None)
    assert api_get(client, path, county).get_json()["id"] == body["id"]  # the same job
    assert api_get(client, body["links"]["job"], other).status_code == 404
    with job_app.app_context():
        assert jobs.run(session, body["id"]) == JobStatus.DONE
    done = api_get(client, body["links"]["job"], county).get_json()
    assert (done["status"], done["done"], done["percent"]) == ("done", 3, 100)
    file = api_get(client, done["links"]["download"], county)
    assert file.status_code == 200 and file.data[:2] == b"PK"
    assert api_get(client, done["links"]["download"], other).status_code == 404


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_cli_progress_bar_appears_after_a_second_and_only_on_a_terminal():
    from server.cli.common import TerminalProgress

    now = [0.0]
    piped = io.StringIO()
    with TerminalProgress(3, "Units", stream=piped, clock=lambda: now[0]) as progress:
        now[0] = 5.0
        for done in (1, 2, 3):
            progress(done)
    assert piped.getvalue() == ""  # redirected: the output stays what it was

    now[0] = 0.0
    terminal = Terminal()
    with TerminalProgress(3, "Units", stream=terminal, clock=lambda: now[0]) as progress:
        progress(1)
        assert terminal.getvalue() == ""  # quick work shows no bar
        now[0] = 1.5
        progress(2)
        progress(3)
    shown = terminal.getvalue()
    assert "Units" in shown and "3/3" in shown


def test_cli_export_output_stays_parseable_when_not_a_terminal(job_app, session, world,
                                                               tmp_path, monkeypatch):
    from server.cli import cli

    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    target = tmp_path / "merged.xlsx"
    result = job_app.test_cli_runner().invoke(cli, [
        "export", "merged", "--assignment", "hz", "--unit", "CY", "--period", PERIOD,
        "-o", str(target), "--as", "county"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"Merged workbook written to {target}: 3 units, 3 data rows."]


UNITS_CSV = """code,name,kind,parent_code
CD,池店镇,town,
CD-01,池店村,village,CD
CD-02,溜石村,village,CD
"""


def upload_units(browser, content: str):
    return browser.post("/admin/units-import",
                        {"file": (io.BytesIO(content.encode("utf-8")), "units.csv")},
                        content_type="multipart/form-data")


def test_a_large_unit_import_is_applied_by_a_worker_with_its_outcome(login, job_app, session):
    from sqlalchemy import func

    from server.models import Unit

    with unit_of_work(session):
        accounts.create_user(session, "boss", "secret-password-1", Role.ADMIN, None)
    job_app.config["BACKGROUND_UNITS"] = 3
    admin = login(job_app, "boss")
    small = upload_units(admin, UNITS_CSV)  # 3 rows: not above the threshold, done at once
    assert small.status_code == 302 and small.headers["Location"] == "/admin/units"
    assert session.scalar(select(func.count()).select_from(Unit)) == 3

    wrong = upload_units(admin, UNITS_CSV + "X,,village,NOPE\n" * 2)  # problems: at once
    assert wrong.status_code == 400 and session.scalar(select(Job.id)) is None

    bigger = UNITS_CSV + "CD-03,前埔村,village,CD\nCD-04,后埔村,village,CD\n"
    response = upload_units(admin, bigger)
    job = the_job(session)
    assert response.headers["Location"] == f"/jobs/{job.id}"
    assert (job.kind, job.status, job.total) == ("units-import", JobStatus.QUEUED, 5)
    assert session.scalar(select(func.count()).select_from(Unit)) == 3  # not yet applied
    with Worker(job_app):
        assert wait_until(lambda: the_job(session).status == JobStatus.DONE, timeout=30)
    job = the_job(session)
    assert (job.done, job.total) == (5, 5)
    assert session.scalar(select(func.count()).select_from(Unit)) == 5
    page = admin.get(f"/jobs/{job.id}", headers={"Accept-Language": "en"})
    assert "2 units created, 3 updated, 0 moved." in page.get_data(as_text=True)
    assert not list(jobs.folder(job_app).glob("upload-*"))  # the upload is not kept
    from server.models import AuditEvent
    from server.services import audit

    imported = session.scalars(select(AuditEvent).where(
        AuditEvent.kind == audit.Kind.UNITS_IMPORTED.value).order_by(AuditEvent.id)).all()
    assert [e.actor_id for e in imported] == [job.user_id, job.user_id]  # not the worker
    bell = session.scalars(select(Notification).where(Notification.user_id == job.user_id)
                           ).one()
    assert bell.link == f"/jobs/{job.id}"


def test_a_slow_unit_import_shows_its_progress_and_is_not_taken_for_lost(
        login, job_app, session, monkeypatch):
    """The import writes in one transaction (on SQLite it holds the one write lock all
    along): its progress and heartbeat still advance, as another connection sees them, and
    the clean-up does not mark it failed while it works longer than a job may stay silent."""
    import threading
    import time

    from server.db import db_session

    with unit_of_work(session):
        accounts.create_user(session, "boss", "secret-password-1", Role.ADMIN, None)
    job_app.config["BACKGROUND_UNITS"] = 3
    admin = login(job_app, "boss")
    villages = "".join(f"CD-{n:03d},村{n},village,CD\n" for n in range(200))
    upload_units(admin, "code,name,kind,parent_code\nCD,池店镇,town,\n" + villages)
    job = the_job(session)
    assert (job.status, job.total) == (JobStatus.QUEUED, 201)

    monkeypatch.setattr(unit_service, "INSERT_CHUNK", 50)  # the villages in four steps
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", 0)
    monkeypatch.setattr(jobs, "silent_for_at_most", lambda: timedelta(seconds=1.5))
    write = jobs.Progress.__call__

    def slowly(self, done, force=False):  # each step of the import takes a second
        write(self, done, force)
        if not force:
            time.sleep(1)

    monkeypatch.setattr(jobs.Progress, "__call__", slowly)
    outcome: list[str] = []

    def work() -> None:
        with job_app.app_context():
            outcome.append(jobs.run(db_session(), job.id))

    worker = threading.Thread(target=work)
    worker.start()
    seen, marked = [], []
    while worker.is_alive():
        status = admin.get(f"/jobs/{job.id}.json").get_json()
        seen.append(status["done"])
        with job_app.app_context():  # the periodic clean-up, as often as the page polls
            marked += jobs.fail_lost(db_session())
        time.sleep(0.2)
    worker.join()
    assert outcome == [JobStatus.DONE] and marked == []
    assert any(0 < done < 201 for done in seen), seen  # it advanced while it ran
    assert seen == sorted(seen)
    assert the_job(session).done == 201
    kinds = session.scalars(select(Notification.kind).where(
        Notification.user_id == job.user_id)).all()
    assert kinds == ["job-done"]  # not "failed" first
    assert not list(jobs.folder(job_app).glob("progress-*"))


SERIES = "/consolidation/hz/CY/series.xlsx"


def series_cells(data: bytes) -> list:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row]


def test_a_large_series_runs_on_a_worker_with_progress_like_the_merged_export(
        login, job_app, session, world, monkeypatch):
    county = login(job_app, "county")
    job_app.config["BACKGROUND_UNITS"] = 3  # 3 reporting units below: written at once
    immediate = county.get(SERIES)
    assert immediate.status_code == 200 and session.scalar(select(Job.id)) is None
    job_app.config["BACKGROUND_UNITS"] = 2
    seen: list[int] = []
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", 0)
    write = jobs.Progress.__call__
    monkeypatch.setattr(jobs.Progress, "__call__",
                        lambda self, done, force=False: (seen.append(done),
                                                         write(self, done, force))[1])
    offer = county.get(SERIES)
    assert offer.status_code == 200 and "涉及3个单位" in offer.get_data(as_text=True)
    assert session.scalar(select(Job.id)) is None  # a GET only offers
    response = county.post(SERIES)
    job = the_job(session)
    assert response.headers["Location"] == f"/jobs/{job.id}"
    assert (job.kind, job.status, job.done) == ("series", JobStatus.QUEUED, 0)
    periods = job.total // 3
    assert job.total == 3 * periods and periods > 1  # units × periods consolidated
    assert county.post(SERIES).headers["Location"] == f"/jobs/{job.id}"  # not a second one
    assert jobs_of(job_app).huey.pending_count() == 1

    with Worker(job_app):
        assert wait_until(lambda: the_job(session).status == JobStatus.DONE, timeout=30)
    assert seen[:3] == [3, 6, 9]  # each period's consolidation of the 3 units
    status = county.get(f"/jobs/{job.id}.json").get_json()
    assert (status["done"], status["percent"]) == (job.total, 100)
    file = county.get(status["download"])
    assert file.status_code == 200 and file.mimetype.endswith("spreadsheetml.sheet")
    cells = series_cells(file.get_data())
    assert sum(FOUND.values()) in cells  # the county's cumulative figure of 2024Q3
    assert cells == series_cells(immediate.get_data())  # the same file as written at once
    assert "已准备好" in session.scalars(select(Notification.subject)).one()
    assert login(job_app, "other").get(f"/jobs/{job.id}/file").status_code == 404


def test_the_api_answers_202_for_a_large_series(job_app, session, world):
    from api_helpers import api_get, token_for

    client = job_app.test_client()
    county, other = (token_for(session, accounts.get_user(session, name))
                     for name in ("county", "other"))
    path = "/api/v1/consolidations/hz/CY/series.xlsx"
    job_app.config["BACKGROUND_UNITS"] = 3
    now = api_get(client, path, county)
    assert now.status_code == 200 and now.data[:2] == b"PK"
    job_app.config["BACKGROUND_UNITS"] = 2
    response = api_get(client, path, county)
    assert response.status_code == 202
    body = response.get_json()
    assert (body["kind"], body["status"], body["links"]["download"]) == ("series", "queued",
                                                                         None)
    assert api_get(client, path, county).get_json()["id"] == body["id"]
    assert api_get(client, "/api/v1/consolidations/hz/NOPE/series.xlsx",
                   county).status_code == 404
    with job_app.app_context():
        assert jobs.run(session, body["id"]) == JobStatus.DONE
    done = api_get(client, body["links"]["job"], county).get_json()
    file = api_get(client, done["links"]["download"], county)
    assert file.status_code == 200 and series_cells(file.data) == series_cells(now.data)
    assert api_get(client, done["links"]["download"], other).status_code == 404


def test_a_job_left_queued_too_long_is_marked_failed_and_its_page_stops_waiting(
        login, job_app, session, world):
    job_app.config["BACKGROUND_UNITS"] = 2
    county = login(job_app, "county")
    county.post(MERGED)  # queued, but no worker ever takes it
    job = the_job(session)
    assert job.status == JobStatus.QUEUED
    created = job.created_at if job.created_at.tzinfo else job.created_at.replace(
        tzinfo=utcnow().tzinfo)
    with job_app.app_context():
        assert jobs.clean_up(session, created + timedelta(minutes=59)) == 0
        assert the_job(session).status == JobStatus.QUEUED  # within the hour: it waits
        job_app.config["JOB_QUEUED_MINUTES"] = 30
        jobs.clean_up(session, created + timedelta(minutes=31))
    stale = the_job(session)
    assert (stale.status, stale.error) == (JobStatus.FAILED, jobs.STALE)
    page = county.get(f"/jobs/{job.id}", headers={"Accept-Language": "zh-CN"})
    shown = page.get_data(as_text=True)
    assert 'http-equiv="refresh"' not in shown and "没有后台进程及时处理" in shown
    english = county.get(f"/jobs/{job.id}.json", headers={"Accept-Language": "en"}).get_json()
    assert english["status"] == "failed" and "No worker took this job" in english["error"]
    bell = session.scalars(select(Notification).where(Notification.user_id == job.user_id)
                           ).one()
    assert "没有后台进程及时处理" in bell.text and bell.link == f"/jobs/{job.id}"
    with job_app.app_context():
        assert jobs.run(session, job.id) == JobStatus.FAILED  # a late worker leaves it
        assert jobs.clean_up(session, created + timedelta(minutes=40)) == 0  # once only
    assert session.scalars(select(Notification)).all() == [bell]
    assert county.post(MERGED).headers["Location"] != f"/jobs/{job.id}"  # a new one starts


class WorkerKilled(BaseException):
    """What SIGKILL looks like from inside: nothing of the worker's code runs after it."""


def test_a_running_job_whose_worker_died_is_marked_failed_once_its_heartbeat_is_old(
        login, job_app, session, world, monkeypatch):
    job_app.config["BACKGROUND_UNITS"] = 2
    def dies_after_the_first_unit(session, figures, output, *, progress, **_):
        progress(1, force=True)
        raise WorkerKilled

    monkeypatch.setattr(jobs.merged, "write_merged", dies_after_the_first_unit)
    county = login(job_app, "county")
    # The pages are read at the real time; the clock never goes back before the sign-in
    # (a session issued "in the future" would be refused).
    start = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        county.post(MERGED)
        job = the_job(session)
        with job_app.app_context(), pytest.raises(WorkerKilled):
            jobs.run(session, job.id)
    session.rollback()
    running = the_job(session)
    assert (running.status, running.done) == (JobStatus.RUNNING, 1)

    def clean_up_at(minutes: int) -> None:
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False), \
                job_app.app_context():
            jobs.clean_up(session)

    clean_up_at(29)  # silent for less than the default 30 minutes: it may still be working
    assert the_job(session).status == JobStatus.RUNNING
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        jobs.Progress(session.get_bind(), job.id)(2, force=True)  # a sign of life
    clean_up_at(50)  # 50 minutes after it started, but heard from 21 minutes ago
    assert (the_job(session).status, the_job(session).done) == (JobStatus.RUNNING, 2)
    assert session.scalars(select(Notification)).all() == []

    job_app.config["JOB_STALE_MINUTES"] = 20
    clean_up_at(50)
    lost = the_job(session)
    assert (lost.status, lost.error, lost.done) == (JobStatus.FAILED, jobs.LOST, 2)
    # Read at the real time, once it has caught up with the moment the session was last
    # issued (a second ahead of the sign-in): a session from the future is refused.
    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
    page = county.get(f"/jobs/{job.id}", headers={"Accept-Language": "zh-CN"})
    shown = page.get_data(as_text=True)
    assert 'http-equiv="refresh"' not in shown and "后台进程在任务完成前停止" in shown
    english = county.get(f"/jobs/{job.id}.json", headers={"Accept-Language": "en"}).get_json()
    assert english["status"] == "failed"
    assert "background worker stopped before this job was finished" in english["error"]
    bell = session.scalars(select(Notification).where(Notification.user_id == job.user_id)
                           ).one()
    assert "后台进程在任务完成前停止" in bell.text and bell.link == f"/jobs/{job.id}"

    jobs.Progress(session.get_bind(), job.id)(3, force=True)  # a late write changes nothing
    clean_up_at(90)  # and it is failed, and its owner told, once only
    assert (the_job(session).status, the_job(session).done) == (JobStatus.FAILED, 2)
    assert session.scalars(select(Notification)).all() == [bell]


def test_a_worker_that_writes_progress_while_the_clean_up_runs_keeps_its_job(
        job_app, session, world, monkeypatch):
    """The clean-up reads the silent jobs, then marks each with a conditional UPDATE: a
    heartbeat written in between wins."""
    with unit_of_work(session):
        user = accounts.get_user(session, "county")
        long_ago = utcnow() - timedelta(hours=2)
        session.add(Job(user_id=user.id, kind="merged", status=JobStatus.RUNNING, total=3,
                        params={}, file_name="x.xlsx", title="t", stored_as="", error="",
                        started_at=long_ago, heartbeat_at=long_ago))
    job = the_job(session)
    rollback = session.rollback

    def the_worker_writes_progress_meanwhile() -> None:
        rollback()
        jobs.Progress(session.get_bind(), job.id)(1, force=True)

    monkeypatch.setattr(session, "rollback", the_worker_writes_progress_meanwhile)
    with job_app.app_context():
        assert jobs.fail_lost(session) == []
    monkeypatch.undo()
    assert (the_job(session).status, the_job(session).done) == (JobStatus.RUNNING, 1)
    assert session.scalars(select(Notification)).all() == []
    with job_app.app_context():  # silent from now on: the next clean-up half an hour on
        assert jobs.fail_lost(session, utcnow() + timedelta(minutes=31)) == [job.id]
