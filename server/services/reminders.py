"""Reminders: who is reminded of which report, when, and the consolidators' 一键催报.

**Policies.** Each assignment may change the defaults of :data:`DEFAULT_POLICY`
(stored as the differences only, so a default changed here reaches every
assignment that did not set it): remind *days_before* the due date, on the due
day, then every *overdue_every* days while overdue, at most *overdue_max* times;
tell the consolidators above once, *escalate_after* days after the due date;
never during the quiet hours (a message due then waits for their end); over the
chosen channels (those the server has configured).

**The scheduler** (:func:`run`, a periodic job and ``tianbao reminders run``)
looks at every period of every active assignment whose reminder days include
today (in Asia/Shanghai), asks :mod:`server.services.owing` which units owe it
and have not handed it in, and writes the messages to the outbox. Every message
has an idempotency key (assignment, unit, period, kind, step), so a second run
on the same day writes nothing; a submitted or approved report is not owed, so
its reminders stop. A step is sent on its day, or (if the scheduler did not run
that day) up to :data:`GRACE_DAYS` later, but never once the next step is due.

Recipients: the accounts of the unit (unless they opted out) on every channel
that reaches them, and the unit's contact phone by SMS; the group robots get one
message per consolidating unit listing its units still missing, with links;
escalations go to the consolidator accounts nearest above the unit (opting out
does not stop them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app, has_app_context
from flask_babel import format_date, format_datetime, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from forms.periods import SHANGHAI, Period
from server.locale import DEFAULT_LOCALE
from server.models import Role, Unit, UnitPlacement, User
from server.models.accounts import as_utc, utcnow
from server.models.notifications import Channel, Notification, ReminderChase
from server.models.reporting import Assignment
from server.services import assignments as assignment_service
from server.services import audit, notifications, outbox
from server.services.assignments import Due
from server.services.errors import InvalidInput, TooSoon
from server.services.owing import still_owing

ALL_CHANNELS = tuple(channel.value for channel in Channel)
ROBOTS = frozenset({Channel.WECOM, Channel.DINGTALK})
GRACE_DAYS = 2  # a step missed (no run that day) is still sent this many days later
LIMITS = {"days_before": (0, 60), "overdue_every": (1, 60), "overdue_max": (0, 20),
          "escalate_after": (0, 120)}


@dataclass(frozen=True)
class ReminderPolicy:
    days_before: int = 3  # 0: no reminder before the due date
    on_due_day: bool = True
    overdue_every: int = 3  # days between reminders once overdue
    overdue_max: int = 3  # 0: no reminder once overdue
    escalate_after: int = 7  # overdue days before the consolidators above are told; 0: never
    quiet_start: time = time(21, 0)  # Asia/Shanghai; equal start and end: no quiet hours
    quiet_end: time = time(8, 0)
    channels: tuple[str, ...] = ALL_CHANNELS

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["quiet_start"] = self.quiet_start.strftime("%H:%M")
        values["quiet_end"] = self.quiet_end.strftime("%H:%M")
        values["channels"] = list(self.channels)
        return values


DEFAULT_POLICY = ReminderPolicy()


def _time(value: Any, name: str) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    try:
        hours, minutes = str(value).strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(_l("Enter a time such as 21:00."), field=name) from None


def parse_policy(values: Mapping[str, Any], base: ReminderPolicy = DEFAULT_POLICY
                 ) -> ReminderPolicy:
    """*base* with the settings in *values* (unknown names refused, each checked)."""
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name not in ReminderPolicy.__dataclass_fields__:
            raise InvalidInput(_l("“%(value)s” is not a reminder setting."), field=name,
                               value=name)
        if name in LIMITS:
            low, high = LIMITS[name]
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise InvalidInput(_l("Enter a whole number from %(low)s to %(high)s."),
                                   field=name, low=low, high=high)
            try:
                number = int(value)
            except ValueError:
                number = None
            if number is None or not low <= number <= high:
                raise InvalidInput(_l("Enter a whole number from %(low)s to %(high)s."),
                                   field=name, low=low, high=high)
            changes[name] = number
        elif name == "on_due_day":
            if not isinstance(value, bool):
                raise InvalidInput(_l("Enter true or false."), field=name)
            changes[name] = value
        elif name in ("quiet_start", "quiet_end"):
            changes[name] = _time(value, name)
        else:  # channels
            chosen = [value] if isinstance(value, str) else list(value or ())
            unknown = [c for c in chosen if c not in ALL_CHANNELS]
            if unknown:
                raise InvalidInput(_l("Unknown channel: %(value)s."), field=name,
                                   value=", ".join(map(str, unknown)))
            changes[name] = tuple(c for c in ALL_CHANNELS if c in chosen)
    return replace(base, **changes)


def policy_of(assignment: Assignment) -> ReminderPolicy:
    """The assignment's policy: the defaults with what the assignment changed."""
    try:
        return parse_policy(assignment.reminder_policy or {})
    except InvalidInput:  # a default that no longer exists: the defaults
        return DEFAULT_POLICY


def set_policy(assignment: Assignment, values: Mapping[str, Any]) -> ReminderPolicy:
    """Change the assignment's policy by *values* (a partial or whole policy)."""
    policy = parse_policy(values, policy_of(assignment))
    defaults, chosen = DEFAULT_POLICY.as_dict(), policy.as_dict()
    assignment.reminder_policy = {name: value for name, value in chosen.items()
                                  if defaults[name] != value} or None
    return policy


def change_policy(session: Session, assignment: Assignment, values: Mapping[str, Any], *,
                  reset: bool = False) -> ReminderPolicy:
    """Change the assignment's policy (back to the defaults first when *reset*) and record
    in the audit log what it was and what it is, if anything changed; the web page and the
    API both come here."""
    before = policy_of(assignment).as_dict()
    if reset:
        assignment.reminder_policy = None
    policy = set_policy(assignment, values)
    after = policy.as_dict()
    if after != before:
        changed = sorted(name for name in after if after[name] != before.get(name))
        audit.record(session, audit.Kind.REMINDERS_CHANGED, unit=assignment.root_unit,
                     target=assignment.key,
                     details={"assignment": assignment.key, "changed": changed,
                              "before": {name: before.get(name) for name in changed},
                              "after": {name: after[name] for name in changed}})
    return policy


# -- the days ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str  # the step of the idempotency key: before-3, due, overdue-1, escalate
    day: date
    days_left: int  # negative: days overdue


def reminder_steps(policy: ReminderPolicy, due: date) -> list[Step]:
    """The reminders of a period due on *due*, in order of their days."""
    steps = []
    if policy.days_before:
        steps.append(Step(f"before-{policy.days_before}",
                          due - timedelta(days=policy.days_before), policy.days_before))
    if policy.on_due_day:
        steps.append(Step("due", due, 0))
    for number in range(1, policy.overdue_max + 1):
        late = number * policy.overdue_every
        steps.append(Step(f"overdue-{number}", due + timedelta(days=late), -late))
    return steps


def step_for(policy: ReminderPolicy, due: date, today: date) -> Step | None:
    """The reminder to send *today*, if any (see the module's note on missed days)."""
    steps = reminder_steps(policy, due)
    for index, step in enumerate(steps):
        following = steps[index + 1].day if index + 1 < len(steps) else None
        if step.day <= today <= step.day + timedelta(days=GRACE_DAYS) and (
                following is None or today < following):
            return step
    return None


def escalation_for(policy: ReminderPolicy, due: date, today: date) -> Step | None:
    if not policy.escalate_after:
        return None
    day = due + timedelta(days=policy.escalate_after)
    if day <= today <= day + timedelta(days=GRACE_DAYS):
        return Step("escalate", day, -policy.escalate_after)
    return None


def quiet(policy: ReminderPolicy, moment: datetime) -> bool:
    clock = moment.astimezone(SHANGHAI).time()
    start, end = policy.quiet_start, policy.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def send_at(policy: ReminderPolicy, now: datetime) -> datetime:
    """*now*, or the end of the quiet hours *now* falls in."""
    if not quiet(policy, now):
        return now
    local = now.astimezone(SHANGHAI)
    end = datetime.combine(local.date(), policy.quiet_end, tzinfo=SHANGHAI)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


def shanghai_today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


# -- messages ---------------------------------------------------------------------------------


def report_link(assignment: Assignment, unit: Unit, period: str) -> str:
    return f"/reports/{assignment.key}/{unit.code}/{period}"


def chase_link(assignment: Assignment, unit: Unit, period: str) -> str:
    return f"/review/{assignment.key}/{period}/chase?unit={unit.code}"


def _absolute(link: str) -> str:
    base = current_app.config.get("BASE_URL", "") if has_app_context() else ""
    return f"{base.rstrip('/')}{link}" if base else link


def _names(assignment: Assignment, period: str, due: Due, locale: str) -> dict[str, str]:
    definition = assignment_service.version_for(assignment, period).definition
    return {"title": definition.text("title", locale),
            "period": Period.parse(period).label(locale),
            "date": format_date(due.date, format="long")}


def _moved(due: Due, locale: str) -> str:
    """Why the due date moved (after the due sentence, with its space); empty if it did not."""
    reason = due.reason(locale)
    return f" {reason}" if reason else ""


def _when(days_left: int) -> str:
    if days_left > 0:
        return ngettext("It is due in %(num)s day.", "It is due in %(num)s days.", days_left)
    if days_left == 0:
        return gettext("It is due today.")
    return ngettext("It is %(num)s day overdue.", "It is %(num)s days overdue.", -days_left)


def reminder_text(assignment: Assignment, unit: Unit, period: str, due: Due, days_left: int,
                  locale: str) -> tuple[str, str]:
    """(subject, text) of a reminder to *unit*, in the current locale (*locale*'s)."""
    names = {**_names(assignment, period, due, locale), "unit": unit.name}
    subject = gettext("Reminder: %(title)s, %(period)s, due %(date)s", **names)
    text = gettext("The report of %(unit)s for %(period)s (%(title)s) is due on %(date)s.",
                   **names)
    return subject, f"{text}{_moved(due, locale)} {_when(days_left)}"


def missing_text(assignment: Assignment, period: str, due: Due, days_left: int,
                 units: Sequence[Unit], locale: str, *, above: Unit | None = None,
                 links: bool = True) -> tuple[str, str]:
    """(subject, text) listing *units* still missing: for group robots, escalations and
    the text a consolidator copies into a WeChat group."""
    names = {**_names(assignment, period, due, locale), "count": len(units)}
    if above is not None:
        subject = gettext("Overdue below %(unit)s: %(title)s, %(period)s",
                          unit=above.name, **names)
    else:
        subject = gettext("Still to report: %(title)s, %(period)s, due %(date)s", **names)
    head = ngettext("%(num)s unit has not submitted %(title)s for %(period)s (due %(date)s).",
                    "%(num)s units have not submitted %(title)s for %(period)s "
                    "(due %(date)s).", len(units), **names)
    lines = [f"{head}{_moved(due, locale)} {_when(days_left)}", ""]
    for unit in units:
        link = _absolute(report_link(assignment, unit, period))
        lines.append(f"- [{unit.name}]({link})" if links else f"- {unit.name}")
    if not links:
        lines += ["", gettext("Please sign in and submit: %(link)s",
                              link=_absolute(f"/reports/{assignment.key}"))]
    return subject, "\n".join(lines)


# -- recipients -------------------------------------------------------------------------------


def _channels(policy: ReminderPolicy) -> set[str]:
    return set(policy.channels) & notifications.configured()


def _accounts(session: Session, unit_ids: Iterable[int]) -> dict[int, list[User]]:
    found: dict[int, list[User]] = defaultdict(list)
    ids = list(unit_ids)
    if ids:
        for user in session.scalars(select(User).where(User.unit_id.in_(ids),
                                                       User.active.is_(True))
                                    .order_by(User.id)):
            found[user.unit_id].append(user)
    return found


def remind_unit(session: Session, assignment: Assignment, unit: Unit, period: str, due: Due,
                days_left: int, *, kind: str, step: str, users: Sequence[User],
                channels: set[str], not_before: datetime) -> int:
    """Write one reminder to each account of *unit* that did not opt out and to the unit's
    contact phone (unless it is the mobile of an account that opted out); rows added."""
    link = report_link(assignment, unit, period)
    added = 0
    opted_out_mobiles = set()
    for user in users:
        if user.reminders_opt_out:
            opted_out_mobiles.add(user.mobile)
            continue
        added += notifications.send_to_user(
            session, user,
            lambda locale: reminder_text(assignment, unit, period, due, days_left, locale),
            kind=kind, link=link, assignment_key=assignment.key, unit_code=unit.code,
            period=period, step=step, channels=channels, not_before=not_before)
    phone = (unit.contact_phone or "").strip()
    if phone and Channel.SMS in channels and phone not in opted_out_mobiles:
        subject, text = notifications.rendered(
            DEFAULT_LOCALE,
            lambda locale: reminder_text(assignment, unit, period, due, days_left, locale))
        added += outbox.enqueue(session, channel=Channel.SMS, recipient=phone,
                                subject=subject, text=text, kind=kind, link=link,
                                assignment_key=assignment.key, unit_code=unit.code,
                                period=period, step=step, now=not_before)
    return added


def tell_robots(session: Session, assignment: Assignment, period: str, due: Due,
                days_left: int, above: Unit, units: Sequence[Unit], *, kind: str, step: str,
                channels: set[str], not_before: datetime) -> int:
    """One markdown message per group robot listing *units* (below *above*) still missing."""
    robots = sorted(channels & ROBOTS)
    if not robots or not units:
        return 0
    subject, text = notifications.rendered(
        DEFAULT_LOCALE, lambda locale: missing_text(assignment, period, due, days_left, units,
                                                    locale))
    return sum(outbox.enqueue(session, channel=robot, recipient="", subject=subject, text=text,
                              kind=kind, link=chase_link(assignment, above, period),
                              assignment_key=assignment.key, unit_code=above.code,
                              period=period, step=step, now=not_before)
               for robot in robots)


def _reminded(session: Session, assignment: Assignment, period: str, step: str) -> set[str]:
    """The codes of the units already sent the reminder *step* of *period*."""
    return set(session.scalars(
        select(Notification.unit_code).distinct()
        .where(Notification.assignment_key == assignment.key, Notification.period == period,
               Notification.kind == "reminder", Notification.step == step)))


def _consolidators_above(session: Session, paths: Mapping[int, str]
                         ) -> dict[int, tuple[Unit, list[User]]]:
    """For each unit id of *paths* (its path then): the nearest unit above with active
    consolidator accounts, and those accounts."""
    ancestors = {unit_id: [int(part) for part in path.strip("/").split("/")[:-1] if part]
                 for unit_id, path in paths.items()}
    wanted = {a for chain in ancestors.values() for a in chain}
    people: dict[int, list[User]] = defaultdict(list)
    if wanted:
        for user in session.scalars(select(User).where(User.unit_id.in_(wanted),
                                                       User.role == Role.CONSOLIDATOR,
                                                       User.active.is_(True))
                                    .order_by(User.id)):
            people[user.unit_id].append(user)
    found = {}
    for unit_id, chain in ancestors.items():
        nearest = next((a for a in reversed(chain) if people.get(a)), None)
        if nearest is not None:
            found[unit_id] = (session.get(Unit, nearest), people[nearest])
    return found


# -- the scheduler ----------------------------------------------------------------------------


@dataclass
class RunSummary:
    periods: int = 0  # periods with a reminder or escalation due today
    reminders: int = 0  # outbox rows written
    escalations: int = 0
    group: int = 0
    units: set[tuple[str, str, str]] = field(default_factory=set)  # (assignment, unit, period)


CHUNK = 200  # units between checkpoints


def run(session: Session, now: datetime | None = None,
        checkpoint: Callable[[], None] | None = None) -> RunSummary:
    """Write today's reminders and escalations of every open period (idempotent).

    *checkpoint* is called after every :data:`CHUNK` units reminded: the worker
    commits there, so a run over thousands of units does not hold one long write
    transaction (on SQLite, that would make every page that saves wait). A run cut
    short is completed by the next one: what was written is not written again.
    """
    now = now or utcnow()
    today = shanghai_today(now)
    summary = RunSummary()
    assignments = session.scalars(select(Assignment).where(Assignment.active.is_(True))
                                  .order_by(Assignment.id)).all()
    for assignment in assignments:
        if assignment_service.is_event(assignment):
            continue  # never due
        policy = policy_of(assignment)
        for period in assignment_service.assignment_periods(assignment):
            due = assignment_service.due(assignment, period)
            step = step_for(policy, due.date, today)
            escalation = escalation_for(policy, due.date, today)
            if step is None and escalation is None:
                continue
            summary.periods += 1
            _run_period(session, assignment, period, due, policy, step, escalation, now,
                        summary, checkpoint or (lambda: None))
    return summary


def _run_period(session: Session, assignment: Assignment, period: str, due: Due,
                policy: ReminderPolicy, step: Step | None, escalation: Step | None,
                now: datetime, summary: RunSummary, checkpoint: Callable[[], None]) -> None:
    rows = session.execute(still_owing(assignment, period)
                           .add_columns(UnitPlacement.path, UnitPlacement.parent_id)).all()
    if not rows:
        return
    channels = _channels(policy)
    not_before = send_at(policy, now)
    days_left = (due.date - shanghai_today(now)).days
    units = [row[0] for row in rows]
    if step is not None:
        # The hourly runs of the step's days after the first find them all written: skip
        # those units instead of trying every insert again.
        done = _reminded(session, assignment, period, step.key)
        accounts = _accounts(session, [u.id for u in units if u.code not in done])
        for number, unit in enumerate(units, 1):
            if number % CHUNK == 0:
                checkpoint()
            if unit.code in done:
                continue
            added = remind_unit(session, assignment, unit, period, due, days_left,
                                kind="reminder", step=step.key, users=accounts.get(unit.id, []),
                                channels=channels, not_before=not_before)
            summary.reminders += added
            if added:
                summary.units.add((assignment.key, unit.code, period))
        by_parent: dict[int, list[Unit]] = defaultdict(list)
        for row in rows:
            if row[2] is not None:
                by_parent[row[2]].append(row[0])
        for parent_id, below in by_parent.items():
            summary.group += tell_robots(session, assignment, period, due, days_left,
                                         session.get(Unit, parent_id), below,
                                         kind="reminder-group", step=step.key,
                                         channels=channels, not_before=not_before)
    if escalation is not None:
        above = _consolidators_above(session, {row[0].id: row[1] for row in rows})
        offices: dict[int, tuple[Unit, list[User]]] = {}
        grouped: dict[int, list[Unit]] = defaultdict(list)
        for unit in units:
            if unit.id in above:
                office, people = above[unit.id]
                offices[office.id] = (office, people)
                grouped[office.id].append(unit)
        for office_id, below in grouped.items():
            office, people = offices[office_id]
            for user in people:
                summary.escalations += notifications.send_to_user(
                    session, user,
                    lambda locale, below=below, office=office: missing_text(
                        assignment, period, due, days_left, below, locale, above=office),
                    kind="reminder-escalation", link=chase_link(assignment, office, period),
                    assignment_key=assignment.key, unit_code=office.code, period=period,
                    step=escalation.key, channels=channels, not_before=not_before)


# -- 一键催报 -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChaseOutcome:
    sent: list[Unit]
    messages: int
    send_at: datetime  # now, or the end of the quiet hours it falls in


def chase_interval() -> timedelta:
    hours = current_app.config.get("CHASE_INTERVAL_HOURS", 4) if has_app_context() else 4
    return timedelta(hours=max(int(hours), 0))


def last_chased(session: Session, assignment: Assignment, period: str,
                unit_ids: Iterable[int]) -> dict[int, datetime]:
    ids = list(unit_ids)
    if not ids:
        return {}
    return {unit_id: moment for unit_id, moment in session.execute(
        select(ReminderChase.unit_id, func.max(ReminderChase.at))
        .where(ReminderChase.assignment_id == assignment.id, ReminderChase.period == period,
               ReminderChase.unit_id.in_(ids))
        .group_by(ReminderChase.unit_id))}


def chase_now(session: Session, user: User, assignment: Assignment, under: Unit, period: str,
              missing: Sequence[Unit], chosen: Iterable[str] | None = None, *,
              now: datetime | None = None) -> ChaseOutcome:
    """Send a reminder now to the *chosen* units (codes; None: all) among *missing* (the
    chase list of *under*, scope already checked), and record who chased whom when.

    Refused (TooSoon) when any chosen unit was chased for this period within the
    configured interval, naming them; InvalidInput when a code is not on the list.
    """
    now = now or utcnow()
    by_code = {unit.code: unit for unit in missing}
    codes = list(dict.fromkeys(chosen)) if chosen is not None else list(by_code)
    unknown = [code for code in codes if code not in by_code]
    if unknown:
        raise InvalidInput(_l("Not on the chase list: %(value)s."), field="units",
                           value=", ".join(unknown))
    if not codes:
        raise InvalidInput(_l("Choose at least one unit to remind."), field="units")
    units = [by_code[code] for code in codes]
    hold_chases(session, assignment)
    interval = chase_interval()
    recent = {unit_id: as_utc(moment) for unit_id, moment in
              last_chased(session, assignment, period, [u.id for u in units]).items()
              if as_utc(moment) > now - interval}
    if recent:
        names = [u.name for u in units if u.id in recent]
        retry = max(recent.values()) + interval
        raise TooSoon(_l("Already reminded in the last %(hours)s hours: %(units)s. You can "
                         "remind them again from %(time)s."), field="units",
                      hours=int(interval.total_seconds() // 3600), units="、".join(names),
                      time=format_retry(retry))
    policy = policy_of(assignment)
    channels = _channels(policy)
    not_before = send_at(policy, now)  # the quiet hours hold for 一键催报 too
    due = assignment_service.due(assignment, period)
    days_left = (due.date - shanghai_today(now)).days
    accounts = _accounts(session, [u.id for u in units])
    messages = 0
    for unit in units:
        record = ReminderChase(assignment_id=assignment.id, period=period, unit_id=unit.id,
                               by_id=user.id, at=now)
        session.add(record)
        session.flush()
        messages += remind_unit(session, assignment, unit, period, due, days_left,
                                kind="reminder-chase", step=f"chase-{record.id}",
                                users=accounts.get(unit.id, []), channels=channels,
                                not_before=not_before)
    audit.record(session, audit.Kind.UNITS_REMINDED, actor=user, unit=under,
                 target=f"{assignment.key} {Period.parse(period).label(DEFAULT_LOCALE)} "
                        f"{under.name}",
                 details={"assignment": assignment.key, "period": period,
                          "units": [unit.code for unit in units]})
    messages += tell_robots(session, assignment, period, due, days_left, under, units,
                            kind="chase-group", step=f"chase-{record.id}", channels=channels,
                            not_before=not_before)
    return ChaseOutcome(units, messages, not_before)


def hold_chases(session: Session, assignment: Assignment) -> None:
    """Take the lock that makes the rate limit of 一键催报 atomic, held until the caller's
    unit of work ends: two clicks on the same assignment at the same moment (two
    consolidators, or a double click) are taken one after the other, so the second reads
    the first one's chase records and is refused instead of sending again.

    PostgreSQL locks the assignment's row; SQLite has one writer at a time, so a write
    (that changes nothing) takes its lock before the records are read.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Assignment.id).where(Assignment.id == assignment.id)
                        .with_for_update())
    else:
        session.execute(delete(ReminderChase).where(ReminderChase.id < 0)
                        .execution_options(synchronize_session=False))


def format_retry(moment: datetime) -> str:
    return format_datetime(moment, format="short") if has_app_context() else moment.isoformat()


@dataclass(frozen=True)
class ChaseRecord:
    at: datetime
    by: str
    units: list[str]


def chase_history(session: Session, assignment: Assignment, period: str,
                  unit_ids: Iterable[int], limit: int = 20) -> list[ChaseRecord]:
    """Who chased which of *unit_ids* for *period*, newest first (one entry per send)."""
    ids = list(unit_ids)
    if not ids:
        return []
    rows = session.execute(
        select(ReminderChase.at, User.username, Unit.name)
        .join(Unit, Unit.id == ReminderChase.unit_id)
        .outerjoin(User, User.id == ReminderChase.by_id)
        .where(ReminderChase.assignment_id == assignment.id, ReminderChase.period == period,
               ReminderChase.unit_id.in_(ids))
        .order_by(ReminderChase.at.desc(), ReminderChase.id)).all()
    grouped: dict[tuple[datetime, str], list[str]] = {}
    for at, username, name in rows:
        grouped.setdefault((as_utc(at), username or "—"), []).append(name)
    return [ChaseRecord(at, by, names) for (at, by), names in grouped.items()][:limit]


def copy_text(assignment: Assignment, period: str, units: Sequence[Unit],
              now: datetime | None = None, locale: str = DEFAULT_LOCALE) -> str:
    """The chase message as plain text to paste into a WeChat group."""
    due = assignment_service.due(assignment, period)
    days_left = (due.date - shanghai_today(now or utcnow())).days
    subject, text = missing_text(assignment, period, due, days_left, units, locale, links=False)
    return f"【{subject}】\n{text}"
