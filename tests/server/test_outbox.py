"""The outbox: idempotent writes, atomic claims, retries with back-off, leases, fencing."""

import threading
from datetime import timedelta

from notify_receivers import HttpReceiver, Script
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.channels.robots import RobotSettings, send_wecom
from server.channels.sms import SmsSettings, send_sms
from server.db import database, unit_of_work
from server.models.accounts import utcnow
from server.models.notifications import Delivery, Notification
from server.services import outbox

FAST = outbox.Policy(max_attempts=5, base_delay=timedelta(seconds=10),
                     max_delay=timedelta(minutes=5), lease=timedelta(seconds=30))


class Clock:
    """The time the delivery sees, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def add_sms(session, mobile="13800000001", step="1", now=None) -> bool:
    with unit_of_work(session):
        return outbox.enqueue(session, channel="sms", recipient=mobile, subject="催报",
                              text="请于10月10日前报送", kind="report-returned", link="/reports/x",
                              assignment_key="cd", unit_code="VA1", period="2026Q3", step=step,
                              now=now)


def rows(session) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).order_by(Notification.id)))


def sms_sender(url: str, timeout: float = 5):
    return {"sms": lambda message: send_sms(SmsSettings(url, timeout=timeout), message)}


def test_writing_the_same_message_twice_keeps_one_row(session):
    assert add_sms(session) is True
    assert add_sms(session) is False
    assert add_sms(session, step="2") is True  # another step of the same report is another message
    [first, second] = rows(session)
    assert first.key == "sms:13800000001:cd:VA1:2026Q3:report-returned:1"
    assert first.status == Delivery.PENDING and first.attempts == 0


def test_a_receiver_that_fails_three_times_then_succeeds_gets_exactly_one_message(session):
    clock = Clock()
    add_sms(session, now=clock.now)
    with HttpReceiver(Script(failures=3)) as gateway:
        waits = []
        for _ in range(10):  # bounded: far more runs than needed
            summary = outbox.deliver_due(session, sms_sender(gateway.url), policy=FAST,
                                         base_url="http://tb.local", clock=clock)
            [row] = rows(session)
            if row.status == Delivery.SENT:
                break
            # Nothing is due before the back-off has passed.
            assert outbox.deliver_due(session, sms_sender(gateway.url), policy=FAST,
                                      clock=clock).sent == 0
            waits.append(row.next_try_at.replace(tzinfo=None) - clock.now.replace(tzinfo=None))
            clock.advance(seconds=FAST.max_delay.total_seconds())
    assert summary.sent == 1
    assert len(gateway.received) == 4 and len(gateway.accepted) == 1
    assert {r.key for r in gateway.received} == {row.key}
    assert gateway.accepted[0].body["text"].endswith("http://tb.local/reports/x")
    assert row.attempts == 4 and row.sent_at is not None and row.last_error == ""
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]


def test_after_the_maximum_number_of_attempts_a_message_is_dead(session):
    clock = Clock()
    add_sms(session, now=clock.now)
    with HttpReceiver(Script(failures=100)) as gateway:
        for _ in range(FAST.max_attempts + 3):
            outbox.deliver_due(session, sms_sender(gateway.url), policy=FAST, clock=clock)
            clock.advance(hours=1)
    [row] = rows(session)
    assert row.status == Delivery.DEAD and row.attempts == FAST.max_attempts
    assert row.last_error == "HTTP 500"
    assert len(gateway.received) == FAST.max_attempts


def test_a_permanent_refusal_is_not_retried(session):
    clock = Clock()
    add_sms(session, now=clock.now)
    with HttpReceiver(Script(failures=100, status=400)) as gateway:
        for _ in range(3):
            outbox.deliver_due(session, sms_sender(gateway.url), policy=FAST, clock=clock)
            clock.advance(hours=1)
    [row] = rows(session)
    assert row.status == Delivery.FAILED and row.attempts == 1
    assert len(gateway.received) == 1


def test_a_channel_that_is_not_configured_fails_the_message(session):
    add_sms(session)
    summary = outbox.deliver_due(session, {}, policy=FAST)
    [row] = rows(session)
    assert row.status == Delivery.FAILED and "not configured" in row.last_error
    assert summary.failed == 1


def test_time_outs_are_retried(session):
    clock = Clock()
    add_sms(session, now=clock.now)
    with HttpReceiver(Script(delay=1.0)) as slow:
        outbox.deliver_due(session, sms_sender(slow.url, timeout=0.3), policy=FAST, clock=clock)
    [row] = rows(session)
    assert row.status == Delivery.PENDING and row.attempts == 1
    assert "timed out" in row.last_error.lower()


def test_two_workers_never_claim_the_same_message(app, session):
    for step in range(6):
        add_sms(session, step=str(step))
    engine = database(app).engine
    with Session(engine) as first, Session(engine) as second:
        with unit_of_work(first):
            mine = {row.id for row in outbox.claim(first, FAST)}
        with unit_of_work(second):
            theirs = {row.id for row in outbox.claim(second, FAST)}
    assert len(mine) == 6 and theirs == set()
    assert {row.status for row in rows(session)} == {Delivery.SENDING}


def test_a_message_whose_worker_died_is_sent_again_after_its_lease(session):
    """The first claim's worker vanished after claiming (nothing recorded): the row waits for
    its lease, then another worker sends it; the dead worker's late outcome is ignored."""
    clock = Clock()
    add_sms(session, now=clock.now)
    with unit_of_work(session):
        [abandoned] = outbox.claim(session, FAST, clock.now)
    with HttpReceiver() as gateway:
        clock.advance(seconds=FAST.lease.total_seconds() - 1)
        assert outbox.deliver_due(session, sms_sender(gateway.url), policy=FAST,
                                  clock=clock).sent == 0
        clock.advance(seconds=2)
        assert outbox.deliver_due(session, sms_sender(gateway.url), policy=FAST,
                                  clock=clock).sent == 1
    [row] = rows(session)
    assert row.status == Delivery.SENT and row.attempts == 2
    assert len(gateway.accepted) == 1
    # The first worker comes back and reports a failure: its attempt no longer holds the row.
    with unit_of_work(session):
        assert outbox._record(session, abandoned, 1, status=Delivery.PENDING,
                              last_error="late") is False
    assert rows(session)[0].status == Delivery.SENT


def test_messages_in_the_app_are_delivered_by_being_written(session):
    with HttpReceiver() as robot:
        with unit_of_work(session):
            outbox.enqueue(session, channel="app", recipient="1", subject="s", text="t",
                           kind="k")
        summary = outbox.deliver_due(session, {"wecom": lambda m: send_wecom(
            RobotSettings(robot.url), m)}, policy=FAST)
    [row] = rows(session)
    assert row.status == Delivery.SENT and summary.sent == 0 and robot.received == []


def test_a_message_whose_worker_died_during_the_last_attempt_is_dead(session):
    clock = Clock()
    add_sms(session, now=clock.now)
    policy = outbox.Policy(max_attempts=1, lease=timedelta(seconds=30))
    with unit_of_work(session):
        assert len(outbox.claim(session, policy, clock.now)) == 1
    clock.advance(minutes=1)
    with HttpReceiver() as gateway:
        outbox.deliver_due(session, sms_sender(gateway.url), policy=policy, clock=clock)
    [row] = rows(session)
    assert row.status == Delivery.DEAD and "last attempt" in row.last_error
    assert gateway.received == []


def test_workers_claiming_at_the_same_time_share_the_messages_without_overlap(app, session):
    for step in range(40):
        add_sms(session, step=str(step))
    policy = outbox.Policy(batch=5)
    engine = database(app).engine
    claimed: list[list[int]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def worker(number: int) -> None:
        with Session(engine) as own:
            start.wait(10)
            for _ in range(20):  # bounded
                with unit_of_work(own):
                    batch = [row.id for row in outbox.claim(own, policy)]
                if not batch:
                    return
                claimed[number].extend(batch)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = [row_id for ids in claimed for row_id in ids]
    assert len(everything) == 40 and len(set(everything)) == 40
    assert all(row.attempts == 1 for row in rows(session))
