"""Which notifications a change sends, to whom and over which channels.

Every message is written to the outbox (:mod:`server.services.outbox`) in the
unit of work of the change it reports, in the recipient's language, once per
channel the recipient can be reached on: always in the app, and by e-mail,
SMS, 企业微信 or 钉钉 when the server has that channel configured and the account
(or, for a unit's submitter, the unit's contact phone) has the address.

Reports: a returned or approved report notifies its submitter; a submission
notifies the reviewers above the unit who asked for it
(``User.notify_on_submission``); a withdrawal (撤回) notifies the reviewers who
were notified of that submission, so nobody opens a report that is no longer
waiting for them. These messages are written in the same unit of
work as their report event, so there is one per event; the step of their key is
the report's revision and a token drawn for the event (the event has no id until
the work is flushed, which the demo loader defers to back-date it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import force_locale, gettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from forms.periods import Period
from server.channels.settings import configured_channels
from server.locale import DEFAULT_LOCALE, LANGUAGES
from server.models.accounts import Role, User, utcnow
from server.models.notifications import Channel, Notification
from server.models.reporting import Report, ReportEvent
from server.models.templates import TemplateVersion
from server.services import outbox

NOTIFIED_ACTIONS = frozenset({"submitted", "returned", "approved", "withdrawn"})


def configured() -> set[str]:
    """The channels this server can send on (the app always)."""
    return configured_channels(current_app.config) if has_app_context() else {Channel.APP}


def addresses(user: User, channels: Iterable[str], fallback_mobile: str | None = None
              ) -> dict[str, str]:
    """Where *user* is reached on each of *channels*: the app always, the others if known."""
    mobile = user.mobile or fallback_mobile or ""
    known = {Channel.APP: str(user.id), Channel.EMAIL: user.email or "",
             Channel.SMS: mobile, Channel.DINGTALK: mobile,
             Channel.WECOM: user.wecom_userid or ""}
    return {channel: known[channel] for channel in channels if known.get(channel)}


def rendered(locale: str, render: Callable[[str], tuple[str, str]]) -> tuple[str, str]:
    """*render*'s (subject, text) in *locale*."""
    locale = locale if locale in LANGUAGES else DEFAULT_LOCALE
    if has_app_context():
        with force_locale(locale):
            return render(locale)
    return render(locale)


def send_to_user(session: Session, user: User, render: Callable[[str], tuple[str, str]], *,
                 kind: str, link: str, assignment_key: str = "", unit_code: str = "",
                 period: str = "", step: str = "", fallback_mobile: str | None = None,
                 channels: Iterable[str] | None = None,
                 not_before: datetime | None = None) -> int:
    """Write *user*'s message on every channel that reaches them; the number of rows added.

    *render* gives (subject, text) in the locale it is called in: the recipient's.
    *channels*: only those of them the server has (default: all it has). *not_before*:
    when the message may be sent (and shown in the app), e.g. after quiet hours.
    """
    subject, text = rendered(user.locale or DEFAULT_LOCALE, render)
    usable = configured() if channels is None else set(channels) & configured()
    added = 0
    for channel, recipient in addresses(user, usable, fallback_mobile).items():
        added += outbox.enqueue(session, channel=channel, recipient=recipient, subject=subject,
                                text=text, kind=kind, link=link, user_id=user.id,
                                assignment_key=assignment_key, unit_code=unit_code,
                                period=period, step=step, now=not_before)
    return added


# -- reports --------------------------------------------------------------------------------


def report_event(session: Session, report: Report, event: ReportEvent, actor: User | None) -> int:
    """Write the notifications of *event* on *report*, just added to the session."""
    if event.action not in NOTIFIED_ACTIONS:
        return 0
    step = f"{report.revision}.{secrets.token_hex(6)}"
    if event.action == "submitted":
        recipients = _reviewers_who_asked(session, report)
        link = f"/review/{report.assignment.key}/{report.unit.code}/{report.period}"
    elif event.action == "withdrawn":
        recipients = _notified_of_submission(session, report)
        link = f"/reports/{report.assignment.key}/{report.unit.code}/{report.period}"
    else:
        submitter = _submitter(session, report)
        recipients = [submitter] if submitter is not None else []
        link = f"/reports/{report.assignment.key}/{report.unit.code}/{report.period}"
    title = session.get(TemplateVersion, report.template_version_id).title
    actor_name = actor.username if actor else "—"

    def render(locale: str) -> tuple[str, str]:
        period = Period.parse(report.period).label(locale)
        names = {"title": title, "unit": report.unit.name, "period": period,
                 "actor": actor_name, "comment": event.comment}
        if event.action == "submitted":
            return (gettext("Submitted for review: %(unit)s, %(title)s, %(period)s", **names),
                    gettext("%(actor)s submitted the report of %(unit)s for %(period)s "
                            "(%(title)s). It awaits your review.", **names))
        if event.action == "withdrawn":
            return (gettext("Withdrawn before review: %(unit)s, %(title)s, %(period)s", **names),
                    gettext("%(actor)s withdrew the report of %(unit)s for %(period)s "
                            "(%(title)s) before it was reviewed. It is a draft again; "
                            "nothing is waiting for your review until it is submitted "
                            "again.", **names))
        if event.action == "returned":
            return (gettext("Returned for correction: %(title)s, %(period)s", **names),
                    gettext("%(actor)s returned the report of %(unit)s for %(period)s "
                            "(%(title)s): %(comment)s", **names))
        return (gettext("Approved: %(title)s, %(period)s", **names),
                gettext("%(actor)s approved the report of %(unit)s for %(period)s "
                        "(%(title)s).", **names))

    added = 0
    for user in recipients:
        if actor is not None and user.id == actor.id:
            continue  # nobody is told of what they did themselves
        added += send_to_user(session, user, render, kind=f"report-{event.action}", link=link,
                              assignment_key=report.assignment.key, unit_code=report.unit.code,
                              period=report.period, step=step,
                              fallback_mobile=report.unit.contact_phone
                              if user.unit_id == report.unit_id else None)
    return added


def _submitter(session: Session, report: Report) -> User | None:
    """Who submitted the report last (the account a decision on it concerns)."""
    return session.scalar(
        select(User).join(ReportEvent, ReportEvent.actor_id == User.id)
        .where(ReportEvent.report_id == report.id, ReportEvent.action == "submitted",
               User.active.is_(True))
        .order_by(ReportEvent.id.desc()).limit(1))


def _notified_of_submission(session: Session, report: Report) -> list[User]:
    """The active accounts told of the report's submission of its current revision (a
    withdrawal keeps the revision it was submitted with)."""
    told = (select(Notification.user_id)
            .where(Notification.kind == "report-submitted",
                   Notification.assignment_key == report.assignment.key,
                   Notification.unit_code == report.unit.code,
                   Notification.period == report.period,
                   Notification.step.like(f"{report.revision}.%"))
            .distinct())
    return list(session.scalars(
        select(User).where(User.id.in_(told), User.active.is_(True)).order_by(User.id)))


def _reviewers_who_asked(session: Session, report: Report) -> list[User]:
    """Active reviewers of the report (consolidators above the unit, administrators) who
    asked to hear of submissions."""
    above = [int(part) for part in report.unit.path.strip("/").split("/")[:-1] if part]
    reviewers = ((User.role == Role.CONSOLIDATOR) & User.unit_id.in_(above)) | (
        User.role == Role.ADMIN)
    return list(session.scalars(
        select(User).where(reviewers, User.active.is_(True),
                           User.notify_on_submission.is_(True)).order_by(User.id)))


# -- the bell -------------------------------------------------------------------------------


def _in_app(user: User):
    """*user*'s messages in the app that are due (one written in quiet hours waits)."""
    return ((Notification.user_id == user.id) & (Notification.channel == Channel.APP)
            & (Notification.created_at <= utcnow()))


def unread_count(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(_in_app(user), Notification.read_at.is_(None))) or 0


def latest(session: Session, user: User, *, offset: int = 0, limit: int = 50
           ) -> list[Notification]:
    return list(session.scalars(select(Notification).where(_in_app(user))
                                .order_by(Notification.id.desc()).offset(offset).limit(limit)))


def count(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(_in_app(user))) or 0


def get_for_user(session: Session, user: User, notification_id: int) -> Notification | None:
    """One of *user*'s messages in the app; None for anyone else's (the view answers 404)."""
    return session.scalar(select(Notification).where(_in_app(user),
                                                     Notification.id == notification_id))


def mark_read(session: Session, user: User, notification_id: int | None = None) -> int:
    """Mark one message (or, without an id, all of them) read; the number changed."""
    condition = _in_app(user) & Notification.read_at.is_(None)
    if notification_id is not None:
        condition &= Notification.id == notification_id
    return session.execute(update(Notification).where(condition).values(read_at=utcnow())
                           .execution_options(synchronize_session=False)).rowcount
