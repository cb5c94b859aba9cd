"""The notification outbox: write a message as a row, then deliver the due rows.

Writing and sending are apart. :func:`enqueue` adds the row in the caller's unit
of work, so a message exists exactly when the change it reports is committed,
and its idempotency key makes writing it twice a no-op. :func:`deliver_due`
(run by the job runner) claims due rows, sends them and records the outcome,
each step in a transaction of its own.

The delivery guarantee is **at least once, with a key for de-duplication**:

- A row is claimed by one conditional UPDATE (``status='pending' AND
  next_try_at<=now``, or ``status='sending' AND lease_until<=now``), committed
  before anything is sent; two workers never claim the same row at the same
  time, on SQLite and PostgreSQL alike. Claiming counts an attempt and sets a
  lease.
- A worker that dies (SIGKILL, power loss) while sending leaves the row
  ``sending``; when its lease expires another worker claims and sends it again.
  Nothing is dropped. If the receiver had already accepted the first attempt it
  gets the message twice, with the same key (``Idempotency-Key`` header; the
  e-mail's Message-ID is derived from it), so it can discard the repeat. The
  group robots and most SMS gateways do not de-duplicate by themselves.
- Outcomes are recorded only by the claim that sent (its attempt number is the
  fencing token), so a worker that lost its lease cannot overwrite a newer one.
- A failed attempt is retried after ``base_delay * 2**(attempts-1)`` (capped at
  ``max_delay``) until ``max_attempts``, then the row is ``dead``; a permanent
  refusal (no address, a 4xx answer) makes it ``failed`` at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from server.channels import Message, SendError
from server.db import insert_or_ignore, unit_of_work
from server.models.accounts import utcnow
from server.models.notifications import Channel, Delivery, Notification

IDEMPOTENCY_COLUMNS = ("channel", "recipient", "assignment_key", "unit_code", "period", "kind",
                       "step")
ERROR_MAX = 1000

Sender = Callable[[Message], None]


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=60)
    max_delay: timedelta = timedelta(hours=2)
    lease: timedelta = timedelta(seconds=120)  # longer than a send may take (time-outs)
    batch: int = 50
    max_batches: int = 20  # one run delivers at most batch * max_batches rows


def backoff(policy: Policy, attempts: int) -> timedelta:
    """How long to wait after the *attempts*-th failed attempt."""
    return min(policy.base_delay * (2 ** max(attempts - 1, 0)), policy.max_delay)


def idempotency_key(values: Mapping[str, str]) -> str:
    return ":".join(str(values[name]) for name in IDEMPOTENCY_COLUMNS)


def enqueue(session: Session, *, channel: str, recipient: str, subject: str, text: str,
            kind: str, link: str = "", user_id: int | None = None, assignment_key: str = "",
            unit_code: str = "", period: str = "", step: str = "",
            now: datetime | None = None) -> bool:
    """Add one message unless the same one (same idempotency key) exists; True if added.

    A message in the app is delivered by being written: it is ``sent`` at once.
    """
    now = now or utcnow()
    values = {"channel": str(channel), "recipient": recipient, "assignment_key": assignment_key,
              "unit_code": unit_code, "period": period, "kind": kind, "step": str(step)}
    in_app = channel == Channel.APP
    added = session.execute(_insert_statement(session), {
        **values, "key": idempotency_key(values), "user_id": user_id, "subject": subject[:300],
        "text": text, "link": link, "status": Delivery.SENT if in_app else Delivery.PENDING,
        "attempts": 0, "next_try_at": now, "last_error": "", "created_at": now,
        "sent_at": now if in_app else None}).first() is not None
    if added and not in_app:
        session.info["tianbao.outbox_pending"] = True  # the job runner is told after commit
    return bool(added)


_STATEMENTS: dict[str, object] = {}


def _insert_statement(session: Session):
    """The insert-or-ignore of one row, built once per dialect (the scheduler writes
    thousands of rows in a run: only their parameters change)."""
    dialect = session.get_bind().dialect.name
    if dialect not in _STATEMENTS:
        _STATEMENTS[dialect] = insert_or_ignore(
            session, Notification.__table__, IDEMPOTENCY_COLUMNS).returning(
            Notification.__table__.c.id)
    return _STATEMENTS[dialect]


def _due(now: datetime):
    return or_(and_(Notification.status == Delivery.PENDING, Notification.next_try_at <= now),
               and_(Notification.status == Delivery.SENDING, Notification.lease_until <= now))


def claim(session: Session, policy: Policy, now: datetime | None = None) -> list[Notification]:
    """Claim up to ``policy.batch`` due rows for this worker (the caller commits at once)."""
    now = now or utcnow()
    # A worker died during the last allowed attempt: no attempt is left to repeat it.
    session.execute(
        update(Notification)
        .where(Notification.status == Delivery.SENDING, Notification.lease_until <= now,
               Notification.attempts >= policy.max_attempts)
        .values(status=Delivery.DEAD, lease_until=None,
                last_error="the worker stopped during the last attempt")
        .execution_options(synchronize_session=False))
    query = (select(Notification.id).where(_due(now), Notification.channel != Channel.APP)
             .order_by(Notification.next_try_at, Notification.id).limit(policy.batch))
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent workers skip each other's candidates instead of queueing behind them.
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for row_id in session.scalars(query).all():
        # The condition is checked again by the UPDATE itself: whoever changes the row
        # first wins, the others see rowcount 0 (SQLite serialises writers anyway).
        won = session.execute(
            update(Notification).where(Notification.id == row_id, _due(now))
            .values(status=Delivery.SENDING, attempts=Notification.attempts + 1,
                    lease_until=now + policy.lease)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            claimed.append(row_id)
    if not claimed:
        return []
    return list(session.scalars(select(Notification).where(Notification.id.in_(claimed))
                                .order_by(Notification.id)
                                .execution_options(populate_existing=True)))


def _record(session: Session, row: Notification, attempt: int, **values) -> bool:
    """Store an outcome if this attempt still holds the row (see the fencing note above)."""
    return bool(session.execute(
        update(Notification)
        .where(Notification.id == row.id, Notification.status == Delivery.SENDING,
               Notification.attempts == attempt)
        .values(lease_until=None, **values)
        .execution_options(synchronize_session=False)
    ).rowcount)


@dataclass
class Summary:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_due(session: Session, senders: Mapping[str, Sender], *, base_url: str = "",
                policy: Policy = Policy(), clock: Callable[[], datetime] = utcnow) -> Summary:
    """Send what is due now, batch after batch; a channel without a sender is ``failed``."""
    summary = Summary()
    for _batch in range(policy.max_batches):
        with unit_of_work(session):
            rows = claim(session, policy, clock())
        if not rows:
            break
        for row in rows:
            _deliver_one(session, row, senders.get(row.channel), base_url, policy, clock,
                         summary)
    return summary


def _deliver_one(session: Session, row: Notification, sender: Sender | None, base_url: str,
                 policy: Policy, clock: Callable[[], datetime], summary: Summary) -> None:
    attempt = row.attempts
    message = Message(recipient=row.recipient, subject=row.subject, text=row.text,
                      url=f"{base_url.rstrip('/')}{row.link}" if row.link and base_url
                      else row.link, key=row.key)
    try:
        if sender is None:
            raise SendError(f"channel {row.channel} is not configured", permanent=True)
        sender(message)
    except Exception as exc:  # noqa: BLE001 - any failure of a sender is retried, a bug too
        permanent = isinstance(exc, SendError) and exc.permanent
        error = (str(exc) if isinstance(exc, SendError)
                 else f"{type(exc).__name__}: {exc}")[:ERROR_MAX]
        summary.errors.append(f"{row.key}: {error}")
        with unit_of_work(session):
            if permanent:
                _record(session, row, attempt, status=Delivery.FAILED, last_error=error)
                summary.failed += 1
            elif attempt >= policy.max_attempts:
                _record(session, row, attempt, status=Delivery.DEAD, last_error=error)
                summary.dead += 1
            else:
                _record(session, row, attempt, status=Delivery.PENDING, last_error=error,
                        next_try_at=clock() + backoff(policy, attempt))
                summary.retried += 1
        return
    with unit_of_work(session):
        if _record(session, row, attempt, status=Delivery.SENT, sent_at=clock(),
                   last_error=""):
            summary.sent += 1
