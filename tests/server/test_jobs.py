"""The job runner: huey on SQLite storage and on Redis runs the delivery of notifications,
and a worker killed with SIGKILL in the middle of a send loses nothing."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime

import pytest
import redis
import time_machine
from database_reset import empty_all_tables
from notify_receivers import HttpReceiver, Script, free_port, wait_until
from sqlalchemy import select

from forms.loader import CATALOG_DIR
from forms.periods import SHANGHAI
from server.app import create_app
from server.db import database, db_session, unit_of_work
from server.jobs.runner import jobs_of, make_consumer
from server.models.notifications import Delivery, Notification
from server.services import assignments as assignment_service
from server.services import outbox
from server.services.templates import get_version, load_files

REDIS_URL = "redis://127.0.0.1:6379/0"
TIANBAO = [sys.executable, "-c", "from server.cli import main; main()"]


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def add_sms(session, step="1") -> None:
    with unit_of_work(session):
        outbox.enqueue(session, channel="sms", recipient="13800000001", subject="已退回",
                       text="请修改后重新报送", kind="report-returned", link="/reports/x",
                       assignment_key="cd", unit_code="VA1", period="2026Q3", step=step)


def the_row(session) -> Notification:
    session.expire_all()
    return session.scalars(select(Notification)).one()


@pytest.fixture(params=["sqlite", "redis"])
def job_app(request, migrated, tmp_path):
    if request.param == "redis" and not redis_reachable():
        pytest.skip(f"Redis not reachable at {REDIS_URL}: the Redis storage is not tested")
    receiver = HttpReceiver().__enter__()
    application = create_app({
        "DATABASE_URL": migrated, "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test", "TESTING": True, "SMS_URL": receiver.url,
        "REDIS_URL": REDIS_URL if request.param == "redis" else "",
        "JOBS_QUEUE_NAME": f"tianbao-test-{uuid.uuid4().hex[:8]}",
    })
    application.receiver = receiver
    yield application
    jobs_of(application).huey.flush()  # the queue of this test only (its own name)
    receiver.__exit__(None)
    empty_all_tables(application)
    database(application).engine.dispose()


def test_a_commit_that_writes_messages_queues_their_delivery(job_app):
    huey = jobs_of(job_app).huey
    assert huey.pending_count() == 0
    with job_app.app_context():
        add_sms(db_session())
    assert huey.pending_count() == 1
    with job_app.app_context():  # a message in the app needs no delivery: nothing queued
        session = db_session()
        with unit_of_work(session):
            outbox.enqueue(session, channel="app", recipient="1", subject="s", text="t",
                           kind="k")
    assert huey.pending_count() == 1


def test_the_consumer_delivers_queued_notifications(job_app, session):
    add_sms(session)  # the test's own session: nothing is queued by the commit
    jobs_of(job_app).enqueue("deliver_notifications")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM,
                                                        signal.SIGHUP)}
    consumer = make_consumer(job_app, workers=1)
    consumer.start()
    try:
        assert wait_until(lambda: the_row(session).status == Delivery.SENT, timeout=15)
        # The scheduler also queues the every-minute delivery when it starts: the queue is
        # drained once the consumer has taken that one too.
        assert wait_until(lambda: jobs_of(job_app).huey.pending_count() == 0, timeout=15)
    finally:
        consumer.stop(graceful=True)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert [r.body["mobile"] for r in job_app.receiver.accepted] == ["13800000001"]


def _worker(app, receiver_url: str) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], SECRET_KEY="test",
               TIANBAO_INSTANCE_PATH=app.config["INSTANCE_PATH"], TIANBAO_SMS_URL=receiver_url,
               TIANBAO_NOTIFY_LEASE_SECONDS="2", TIANBAO_NOTIFY_TIMEOUT="10",
               TIANBAO_REDIS_URL="", TIANBAO_JOBS_QUEUE=app.config["JOBS_QUEUE_NAME"])
    return subprocess.Popen([*TIANBAO, "worker", "--threads", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_a_worker_killed_during_a_send_loses_nothing_and_repeats_it_under_the_same_key(
        app, session):
    """SIGKILL while the gateway holds the request: the row stays "sending" (claimed, not
    sent); once its lease has expired the next worker sends it again, with the same
    idempotency key, and marks it sent. The receiver saw the message twice under one key:
    at least once, and recognisably the same message."""
    app.config["JOBS_QUEUE_NAME"] = f"tianbao-test-{uuid.uuid4().hex[:8]}"
    with HttpReceiver(Script(hold=True)) as gateway:
        add_sms(session)
        jobs_of(app).enqueue("deliver_notifications")
        first = _worker(app, gateway.url)
        try:
            assert gateway.got_request.wait(20), first.stderr.read1().decode(errors="replace")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        row = the_row(session)
        assert (row.status, row.attempts, row.sent_at) == (Delivery.SENDING, 1, None)
        gateway.release.set()  # the held request is answered to nobody
        time.sleep(2.2)  # the lease
        jobs_of(app).enqueue("deliver_notifications")
        second = _worker(app, gateway.url)
        try:
            assert wait_until(lambda: the_row(session).status == Delivery.SENT, timeout=20)
        finally:
            second.terminate()
            second.wait(timeout=15)
    row = the_row(session)
    assert row.attempts == 2 and row.sent_at is not None
    assert len(gateway.received) == 2
    assert {r.key for r in gateway.received} == {row.key}  # one message, de-duplicable
    assert session.scalar(select(Notification.id).where(Notification.id != row.id)) is None


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.add(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


@pytest.mark.slow
@pytest.mark.parametrize("no_worker", [False, True])
def test_serve_runs_a_worker_beside_the_web_server_unless_told_not_to(app, session, no_worker):
    app.config["JOBS_QUEUE_NAME"] = f"tianbao-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    with HttpReceiver() as gateway:
        add_sms(session)
        jobs_of(app).enqueue("deliver_notifications")
        env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], SECRET_KEY="test",
                   TIANBAO_INSTANCE_PATH=app.config["INSTANCE_PATH"],
                   TIANBAO_SMS_URL=gateway.url, TIANBAO_REDIS_URL="",
                   TIANBAO_JOBS_QUEUE=app.config["JOBS_QUEUE_NAME"])
        server = subprocess.Popen(
            [*TIANBAO, "serve", "--port", str(port), "--workers", "1"]
            + (["--no-worker"] if no_worker else []),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if no_worker:
                # Generous bounds: a loaded machine (parallel test workers) starts slowly.
                assert wait_until(lambda: _answers(port), timeout=90)
                time.sleep(2)
                assert the_row(session).status == Delivery.PENDING
            else:
                assert wait_until(lambda: the_row(session).status == Delivery.SENT, timeout=90)
                assert len(gateway.accepted) == 1
            children = _children(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    # Stopping serve stops its worker too: none of its children is left running.
    assert all(not os.path.exists(f"/proc/{pid}") for pid in children)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=2):
            return True
    except OSError:
        return False


def test_the_worker_writes_the_reminders_due_now(job_app, session, tree, make_user):
    """The reminder task runs on the consumer (SQLite storage and Redis alike) with the
    clock of the test, and the hourly run is one of the worker's periodic tasks."""
    with unit_of_work(session):
        load_files(session, [CATALOG_DIR / "000_chidian_progress.yaml"])
        assignment_service.create_assignment(
            session, key="cd", template=get_version(session, "chidian-progress", 1),
            root=tree["TA"])
    make_user("va1", unit=tree["VA1"])
    jobs = jobs_of(job_app)
    periodic = {task.name for task in jobs.huey._registry.periodic_tasks}
    assert "write_reminders_every_hour" in periodic
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM,
                                                        signal.SIGHUP)}
    with time_machine.travel(datetime(2026, 7, 5, 10, tzinfo=SHANGHAI)):
        jobs.enqueue("write_reminders")
        consumer = make_consumer(job_app, workers=1)
        consumer.start()
        try:
            assert wait_until(lambda: _reminders(session), timeout=15)
        finally:
            consumer.stop(graceful=True)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    # VA1's account in the app (VA2 has no account and no contact phone).
    assert [(r.unit_code, r.step, r.channel) for r in _reminders(session)] == [
        ("VA1", "due", "app")]


def _reminders(session) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.kind == "reminder")))
