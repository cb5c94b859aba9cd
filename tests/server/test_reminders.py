"""Reminders with the clock set by the test: a quarter's reminders go out on the policy's
days and nowhere else, wait for the end of the quiet hours, escalate once, stop when the
report is in; a second run writes nothing; opting out stops all but escalations."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.loader import CATALOG_DIR
from forms.periods import SHANGHAI
from server.db import unit_of_work
from server.models import Role, User
from server.models.notifications import Delivery, Notification
from server.services import assignments as assignment_service
from server.services import contacts, notifications, reminders, reporting
from server.services.errors import InvalidInput
from server.services.templates import get_version, load_files

HEADER = {"reporter": "张三", "phone": "13800000001"}
DUE = date(2026, 7, 5)  # 2026Q2 of the quarterly table: the 5th of the month after


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """*day* at *hour* in Asia/Shanghai."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def world(app, session, tree, make_user):
    with unit_of_work(session):
        load_files(session, [CATALOG_DIR / "000_chidian_progress.yaml"])
        assignment_service.create_assignment(
            session, key="cd", template=get_version(session, "chidian-progress", 1),
            root=tree["TA"])
        tree["VA2"].contact_phone = "13900000002"
    people = {
        "va1": make_user("va1", unit=tree["VA1"]),
        "va2": make_user("va2", unit=tree["VA2"]),
        "ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]),
        "cy-hz": make_user("cy-hz", Role.CONSOLIDATOR, tree["CY"]),
    }
    with unit_of_work(session):
        for name, person in people.items():
            contacts.update_contact(session, person, email=f"{name}@example.test",
                                    mobile="13800000001" if name == "va1" else None,
                                    wecom_userid=None)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMS_URL="http://127.0.0.1:1/sms",
                      WECOM_WEBHOOK="http://127.0.0.1:1/wecom", BASE_URL="https://tb.example")
    return people


def run_at(app, session, moment: datetime) -> reminders.RunSummary:
    """The scheduler as the worker runs it, with the clock at *moment*."""
    with time_machine.travel(moment, tick=False), app.app_context(), unit_of_work(session):
        return reminders.run(session)


def rows(session, **where) -> list[Notification]:
    session.expire_all()
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return list(session.scalars(query))


def submit(app, session, user, moment: datetime) -> None:
    with time_machine.travel(moment, tick=False), app.app_context(), unit_of_work(session):
        user = session.get(User, user.id)
        view = reporting.load(session, user, "cd", user.unit.code, "2026Q2")
        reporting.save(session, user, view, {**HEADER, "i01_enterprises": "5"})
        reporting.submit(session, user, view)


def days_of(session, **where) -> list[date]:
    return sorted({r.created_at.astimezone(SHANGHAI).date() if r.created_at.tzinfo
                   else r.created_at.replace(tzinfo=UTC).astimezone(SHANGHAI).date()
                   for r in rows(session, **where)})


def test_a_quarter_of_daily_runs_reminds_exactly_on_the_policy_days(app, session, world):
    """Defaults: 3 days before, on the day, every 3 days overdue at most 3 times, the
    consolidator above after 7 days; VA1 submits on the 9th and hears nothing more."""
    day = date(2026, 6, 1)
    while day <= date(2026, 8, 31):
        if day == date(2026, 7, 9):
            submit(app, session, world["va1"], at(day, 9))
        run_at(app, session, at(day, 10))
        day += timedelta(days=1)
    reminder_days = [date(2026, 7, 2), DUE, date(2026, 7, 8), date(2026, 7, 11),
                     date(2026, 7, 14)]
    assert days_of(session, unit_code="VA2", kind="reminder", channel="app") == reminder_days
    assert days_of(session, unit_code="VA1", kind="reminder", channel="app") == reminder_days[:3]
    steps = [r.step for r in rows(session, unit_code="VA2", kind="reminder", channel="app")]
    assert steps == ["before-3", "due", "overdue-1", "overdue-2", "overdue-3"]
    # One escalation, to the town's consolidator (the nearest above), naming VA2 only.
    [escalation] = rows(session, kind="reminder-escalation", channel="app")
    assert escalation.user.username == "ta-hz" and escalation.unit_code == "TA"
    assert escalation.created_at.astimezone(SHANGHAI).date() == date(2026, 7, 12)
    assert "Unit VA2" in escalation.text and "Unit VA1" not in escalation.text
    assert "逾期 7 天" in escalation.text
    assert rows(session, kind="reminder-escalation", user_id=world["cy-hz"].id) == []
    # Nothing for other quarters within these three months, nothing to the consolidators
    # as reminders.
    assert {r.period for r in rows(session)} == {"2026Q2"}


def test_reminders_are_written_in_the_recipient_language_with_date_and_days(
        app, session, world):
    with unit_of_work(session):
        session.get(User, world["va2"].id).locale = "en"
    run_at(app, session, at(date(2026, 7, 8)))
    [chinese] = rows(session, user_id=world["va1"].id, channel="app")
    assert chinese.subject == ("催报提醒：池店镇工贸行业安全生产治本攻坚三年行动21项重点工作推进"
                               "情况表，2026年第二季度，截止日期 2026年7月5日")
    assert "已逾期 3 天" in chinese.text and chinese.link == "/reports/cd/VA1/2026Q2"
    [english] = rows(session, user_id=world["va2"].id, channel="app")
    assert "due July 5, 2026" in english.subject and "3 days overdue" in english.text


def test_running_the_scheduler_twice_sends_nothing_twice(app, session, world):
    first = run_at(app, session, at(date(2026, 7, 5), 9))
    written = len(rows(session))
    # app + e-mail for va1 and va2, SMS for va1's mobile and VA2's contact phone, one
    # robot message for the town.
    assert first.reminders == 6 and first.group == 1 and written == 7
    again = run_at(app, session, at(date(2026, 7, 5), 15))
    assert (again.reminders, again.group, again.escalations) == (0, 0, 0)
    assert len(rows(session)) == written
    run_at(app, session, at(date(2026, 7, 6), 15))  # the next day: still the "due" step
    assert len(rows(session)) == written


def test_robots_get_one_message_per_consolidating_unit_listing_the_missing_units(
        app, session, world):
    submit(app, session, world["va1"], at(date(2026, 7, 1)))
    run_at(app, session, at(date(2026, 7, 2)))
    [robot] = rows(session, channel="wecom")
    assert (robot.kind, robot.unit_code, robot.recipient) == ("reminder-group", "TA", "")
    assert "1 个单位尚未报送" in robot.text
    assert "- [Unit VA2](https://tb.example/reports/cd/VA2/2026Q2)" in robot.text
    assert "VA1" not in robot.text
    assert robot.link == "/review/cd/2026Q2/chase?unit=TA"


def test_a_reminder_due_in_quiet_hours_waits_for_their_end(app, session, world):
    run_at(app, session, at(date(2026, 7, 2), 22, 30))
    email = rows(session, channel="email", user_id=world["va1"].id)[0]
    morning = at(date(2026, 7, 3), 8)
    assert email.next_try_at.replace(tzinfo=email.next_try_at.tzinfo or UTC) == morning
    assert email.status == Delivery.PENDING
    # The bell shows it from the end of the quiet hours on, not in the night.
    user = session.get(User, world["va1"].id)
    with time_machine.travel(at(date(2026, 7, 2), 23), tick=False), app.app_context():
        assert notifications.unread_count(session, user) == 0
    with time_machine.travel(morning + timedelta(minutes=1), tick=False), app.app_context():
        assert notifications.unread_count(session, user) == 1
    # Early in the morning too: until 08:00 the same day.
    run_at(app, session, at(date(2026, 7, 5), 6, 45))
    email = rows(session, channel="email", user_id=world["va1"].id, step="due")[0]
    assert email.next_try_at.replace(tzinfo=email.next_try_at.tzinfo or UTC) == at(DUE, 8)
    # Outside the quiet hours: now.
    run_at(app, session, at(date(2026, 7, 8), 12))
    email = rows(session, channel="email", user_id=world["va1"].id, step="overdue-1")[0]
    assert email.next_try_at.replace(tzinfo=email.next_try_at.tzinfo or UTC) == at(
        date(2026, 7, 8), 12)


def test_opting_out_stops_reminders_but_not_escalations(app, session, world):
    with unit_of_work(session):
        for name in ("va2", "ta-hz"):
            session.get(User, world[name].id).reminders_opt_out = True
    run_at(app, session, at(DUE))
    assert rows(session, user_id=world["va2"].id) == []
    assert rows(session, unit_code="VA2", channel="sms")  # the unit's contact phone
    assert rows(session, user_id=world["va1"].id, kind="reminder")
    run_at(app, session, at(date(2026, 7, 12)))
    assert {r.channel for r in rows(session, user_id=world["ta-hz"].id)} == {"app", "email"}


def test_the_policy_of_an_assignment_sets_days_channels_and_quiet_hours(app, session, world):
    with unit_of_work(session):
        assignment = assignment_service.get_assignment(session, "cd")
        reminders.set_policy(assignment, {"days_before": 1, "on_due_day": False,
                                          "overdue_max": 0, "escalate_after": 2,
                                          "channels": ["app"], "quiet_start": "12:00",
                                          "quiet_end": "13:00"})
    assert assignment.reminder_policy == {
        "days_before": 1, "on_due_day": False, "overdue_max": 0, "escalate_after": 2,
        "channels": ["app"], "quiet_start": "12:00", "quiet_end": "13:00"}
    for day in range(1, 12):
        run_at(app, session, at(date(2026, 7, day), 12, 30))
    assert days_of(session, unit_code="VA1", kind="reminder") == [date(2026, 7, 4)]
    assert {r.channel for r in rows(session)} == {"app"}
    [escalation] = rows(session, kind="reminder-escalation")
    assert escalation.created_at.astimezone(SHANGHAI) == at(date(2026, 7, 7), 13)
    with pytest.raises(InvalidInput) as refused:
        reminders.set_policy(assignment, {"overdue_every": 0})
    assert refused.value.field == "overdue_every"
    with pytest.raises(InvalidInput):
        reminders.set_policy(assignment, {"channels": ["fax"]})
    with pytest.raises(InvalidInput):
        reminders.set_policy(assignment, {"quiet_end": "8 o'clock"})


def test_a_missed_day_is_caught_up_within_the_grace_but_old_periods_are_left_alone(
        app, session, world):
    run_at(app, session, at(date(2026, 7, 3)))  # the scheduler did not run on the 2nd
    assert [r.step for r in rows(session, user_id=world["va1"].id, channel="app")] == [
        "before-3"]
    run_at(app, session, at(date(2026, 9, 1)))  # long after 2026Q2's last step
    assert len(rows(session, user_id=world["va1"].id, channel="app")) == 1


def test_the_cli_runs_the_scheduler_at_a_given_time(app, session, world):
    from server.cli import cli

    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["reminders", "run", "--now", "2026-07-02T10:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "2 个单位" in result.output
    assert {r.unit_code for r in rows(session, kind="reminder")} == {"VA1", "VA2"}
    again = runner.invoke(cli, ["reminders", "run", "--now", "2026-07-02T11:00+08:00"])
    assert "0 条" in again.output
    bad = runner.invoke(cli, ["reminders", "run", "--now", "yesterday"])
    assert bad.exit_code == 1 and "yesterday" in bad.output


# -- 一键催报 -----------------------------------------------------------------------------------

CHASE = "/review/cd/2026Q2/chase?unit=TA"
EN = {"Accept-Language": "en"}


def test_chase_now_reminds_the_ticked_units_once_in_the_interval_and_records_it(
        app, session, world, browser):
    with time_machine.travel(at(date(2026, 7, 7), 9), tick=False):
        browser.login_ok("ta-hz")
        page = browser.get(CHASE).get_data(as_text=True)
        assert page.count('name="units"') == 2 and page.count("checked") == 2
        assert 'data-copy="chase-text"' in page
        assert "2 个单位尚未报送" in page
        assert "请登录系统填报：https://tb.example/reports/cd" in page
        sent = browser.post(CHASE, {"units": ["VA2"]}, token_from=CHASE)
        assert sent.status_code == 302
    to_va2 = rows(session, kind="reminder-chase")
    assert {(r.channel, r.recipient) for r in to_va2} == {
        ("app", str(world["va2"].id)), ("email", "va2@example.test"), ("sms", "13900000002")}
    assert all(r.unit_code == "VA2" and "已逾期 2 天" in r.text for r in to_va2)
    [robot] = rows(session, kind="chase-group")
    assert "Unit VA2" in robot.text and "Unit VA1" not in robot.text
    # Within the interval (4 hours): refused, with a message naming the unit; nothing sent.
    with time_machine.travel(at(date(2026, 7, 7), 12, 59), tick=False):
        refused = browser.post(CHASE, {"units": ["VA1", "VA2"]}, token_from=CHASE)
        assert refused.status_code == 400
        text = refused.get_data(as_text=True)
        assert "4 小时内已催报过：Unit VA2" in text
    assert len(rows(session, kind="reminder-chase")) == len(to_va2)
    with time_machine.travel(at(date(2026, 7, 7), 13, 1), tick=False):
        assert browser.post(CHASE, {"units": ["VA1", "VA2"]}, token_from=CHASE).status_code == 302
        page = browser.get(CHASE).get_data(as_text=True)
    assert len({r.step for r in rows(session, kind="reminder-chase", channel="app")}) == 3
    # The audit: who, when, which units; newest first.
    assert "2026/7/7 13:01，ta-hz：Unit VA1、Unit VA2" in page
    assert "2026/7/7 09:00，ta-hz：Unit VA2" in page
    assert page.index("13:01，ta-hz") < page.index("09:00，ta-hz")


def test_a_chase_in_the_quiet_hours_goes_out_at_their_end(app, session, world, browser):
    with time_machine.travel(at(date(2026, 7, 7), 22), tick=False):
        browser.login_ok("ta-hz")
        sent = browser.post(CHASE, {"units": ["VA1"]}, token_from=CHASE, follow_redirects=True)
        assert "免打扰时段" in sent.get_data(as_text=True)
        assert "2026/7/8 08:00" in sent.get_data(as_text=True)
    email = rows(session, kind="reminder-chase", channel="email")[0]
    assert email.next_try_at.replace(tzinfo=email.next_try_at.tzinfo or UTC) == at(
        date(2026, 7, 8), 8)


def test_chase_refuses_units_not_on_the_list_and_other_consolidators(
        app, session, world, browser, make_user, tree):
    submit(app, session, world["va1"], at(date(2026, 7, 1)))
    browser.login_ok("ta-hz")
    refused = browser.post(CHASE, {"units": ["VA1"]}, token_from=CHASE)  # VA1 submitted
    assert refused.status_code == 400 and "不在催报名单中：VA1" in refused.get_data(as_text=True)
    assert rows(session, kind="reminder-chase") == []
    make_user("tb-hz", Role.CONSOLIDATOR, tree["TB"])
    browser.client.post("/auth/logout", data={"csrf_token": browser.csrf_token("/")})
    browser.login_ok("tb-hz")
    assert browser.get(CHASE).status_code == 404


def test_the_chase_api_lists_sends_and_rate_limits(app, session, world, client):
    from api_helpers import api_get, api_post, problem, token_for

    token = token_for(session, world["ta-hz"])
    path = "/consolidations/cd/TA/2026Q2/chase"
    with time_machine.travel(at(date(2026, 7, 6), 9), tick=False):
        listed = api_get(client, path, token).get_json()
        assert [u["unit"]["code"] for u in listed["units"]] == ["VA1", "VA2"]
        assert listed["due"] == "2026-07-05" and listed["units"][0]["days_overdue"] == 1
        assert listed["text"].startswith("【尚未报送：") and listed["interval_hours"] == 4
        sent = api_post(client, path, token, json={})
        assert sent.status_code == 200, sent.get_json()
        assert [u["code"] for u in sent.get_json()["reminded"]] == ["VA1", "VA2"]
        body = problem(api_post(client, path, token, json={"units": ["VA1"]}), 429, "too_soon")
        assert "Unit VA1" in body["detail"]
        problem(api_post(client, path, token, json={"units": ["NOPE"]}), 422, "invalid")
        again = api_get(client, path, token).get_json()
        assert all(u["last_reminded_at"].startswith("2026-07-06T01:00:00")
                   for u in again["units"])
    submitter = token_for(session, world["va1"])
    problem(api_post(client, path, submitter, json={}), 403, "forbidden")


def test_the_notifications_api_pages_counts_and_marks_read(app, session, world, client):
    from api_helpers import api_get, api_post, problem, token_for

    for day in (2, 5, 8):
        run_at(app, session, at(date(2026, 7, day)))
    token = token_for(session, world["va1"])
    assert api_get(client, "/notifications/unread-count", token).get_json() == {"unread": 3}
    page = api_get(client, "/notifications?per_page=2", token)
    body = page.get_json()
    assert body["total"] == 3 and len(body["items"]) == 2 and 'rel="next"' in page.headers["Link"]
    newest = body["items"][0]
    assert newest["kind"] == "reminder" and newest["link"] == "/reports/cd/VA1/2026Q2"
    assert newest["read_at"] is None
    read = api_post(client, f"/notifications/{newest['id']}/read", token).get_json()
    assert read["read_at"] is not None
    assert api_get(client, "/notifications/unread-count", token).get_json() == {"unread": 2}
    other = token_for(session, world["va2"])
    problem(api_post(client, f"/notifications/{newest['id']}/read", other), 404, "not_found")
    assert api_post(client, "/notifications/read", token).get_json() == {"changed": 2}
    assert api_get(client, "/notifications/unread-count", token).get_json() == {"unread": 0}


def test_administrators_change_the_policy_on_the_page_and_over_the_api(
        app, session, world, browser, client, make_user):
    from api_helpers import api_get, api_put, problem, token_for

    make_user("admin", Role.ADMIN)
    browser.login_ok("admin")
    page = browser.get("/admin/assignments/cd").get_data(as_text=True)
    assert "此任务使用默认的催报设置" in page
    form = {"days_before": "5", "on_due_day": "y", "overdue_every": "2", "overdue_max": "4",
            "escalate_after": "10", "quiet_start": "22:00", "quiet_end": "07:30",
            "channels": ["app", "sms"]}
    saved = browser.post("/admin/assignments/cd/reminders", form,
                         token_from="/admin/assignments/cd")
    assert saved.status_code == 302
    token = token_for(session, session.scalar(select(User).where(User.username == "admin")))
    settings = api_get(client, "/assignments/cd/reminders", token).get_json()
    assert settings == {"days_before": 5, "on_due_day": True, "overdue_every": 2,
                        "overdue_max": 4, "escalate_after": 10, "quiet_start": "22:00",
                        "quiet_end": "07:30", "channels": ["app", "sms"], "defaults": False}
    bad = browser.post("/admin/assignments/cd/reminders", {**form, "quiet_end": "7h"},
                       token_from="/admin/assignments/cd")
    assert bad.status_code == 400 and "请输入时间，例如 21:00。" in bad.get_data(as_text=True)
    changed = api_put(client, "/assignments/cd/reminders", token, json={"days_before": 1})
    assert changed.get_json()["days_before"] == 1 and changed.get_json()["overdue_max"] == 4
    problem(api_put(client, "/assignments/cd/reminders", token, json={"overdue_every": 0}),
            422, "invalid")
    reset = api_put(client, "/assignments/cd/reminders", token, json={"defaults": True})
    assert reset.get_json() == {**reminders.DEFAULT_POLICY.as_dict(), "defaults": True}
    consolidator = token_for(session, world["ta-hz"])
    problem(api_get(client, "/assignments/cd/reminders", consolidator), 403, "forbidden")


def test_an_account_opts_out_on_its_settings_page(app, session, world, browser):
    browser.login_ok("va2")
    page = browser.get("/auth/account").get_data(as_text=True)
    assert 'name="reminders_opt_out"' in page
    saved = browser.post("/auth/account/contact", {"email": "va2@example.test",
                                                   "reminders_opt_out": "y"},
                         token_from="/auth/account")
    assert saved.status_code == 302
    session.expire_all()
    assert session.get(User, world["va2"].id).reminders_opt_out is True
    run_at(app, session, at(DUE))
    assert rows(session, user_id=world["va2"].id) == []


def test_a_chase_is_in_the_audit_log(app, session, world):
    from server.models import AuditEvent
    from server.services import review as review_service

    with app.app_context(), unit_of_work(session):
        user = session.get(User, world["ta-hz"].id)
        assignment = assignment_service.get_assignment(session, "cd")
        entries = review_service.chase_list(session, user, assignment, user.unit, "2026Q2")
        reminders.chase_now(session, user, assignment, user.unit, "2026Q2",
                            [e.unit for e in entries], ["VA2"])
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.kind == "units_reminded"))
    assert event.actor_id == world["ta-hz"].id and event.details["units"] == ["VA2"]
    assert event.details["period"] == "2026Q2"


def test_a_change_of_the_reminder_policy_is_in_the_audit_log(
        app, session, world, browser, client, make_user):
    from api_helpers import api_put, problem, token_for

    from server.models import AuditEvent

    admin = make_user("admin", Role.ADMIN)
    browser.login_ok("admin")
    form = {"days_before": "5", "on_due_day": "y", "overdue_every": "3", "overdue_max": "3",
            "escalate_after": "7", "quiet_start": "21:00", "quiet_end": "08:00",
            "channels": list(reminders.DEFAULT_POLICY.channels)}
    assert browser.post("/admin/assignments/cd/reminders", form,
                        token_from="/admin/assignments/cd").status_code == 302
    token = token_for(session, admin)
    assert api_put(client, "/assignments/cd/reminders", token,
                   json={"days_before": 5}).status_code == 200  # no change: not recorded
    problem(api_put(client, "/assignments/cd/reminders", token, json={"overdue_every": 0}),
            422, "invalid")
    assert api_put(client, "/assignments/cd/reminders", token,
                   json={"defaults": True}).status_code == 200
    session.expire_all()
    events = list(session.scalars(select(AuditEvent).where(
        AuditEvent.kind == "reminders_changed").order_by(AuditEvent.id)))
    assert [(e.actor_id, e.target, e.details["changed"], e.details["before"],
             e.details["after"]) for e in events] == [
        (admin.id, "cd", ["days_before"], {"days_before": 3}, {"days_before": 5}),
        (admin.id, "cd", ["days_before"], {"days_before": 5}, {"days_before": 3})]
    page = browser.get("/admin/audit?kind=reminders_changed").get_data(as_text=True)
    assert "催报设置已修改" in page


def test_two_chases_at_the_same_moment_send_one_set_of_messages(app, session, world,
                                                                 monkeypatch):
    """Two consolidators (or a double click) press 一键催报 for the same unit at once: both
    read the chase records before either writes, unless the rate limit holds a lock first.
    Exactly one set of messages goes out; the other click is told when it may try again."""
    import contextlib
    import threading

    from server.db import database
    from server.services import review as review_service
    from server.services.errors import TooSoon

    both_read = threading.Barrier(2, timeout=1.5)
    real_last_chased = reminders.last_chased

    def last_chased_then_wait(*args, **kwargs):
        found = real_last_chased(*args, **kwargs)
        # Without the lock both clicks get here before either has written; with it the
        # other one waits for the lock and the barrier gives up.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return found

    monkeypatch.setattr(reminders, "last_chased", last_chased_then_wait)
    answers: list[object] = []

    def click() -> None:
        with app.app_context(), Session(database(app).engine,
                                        expire_on_commit=False) as own:
            try:
                with unit_of_work(own):
                    user = own.get(User, world["ta-hz"].id)
                    assignment = assignment_service.get_assignment(own, "cd")
                    entries = review_service.chase_list(own, user, assignment, user.unit,
                                                        "2026Q2")
                    reminders.chase_now(own, user, assignment, user.unit, "2026Q2",
                                        [e.unit for e in entries], ["VA2"])
                answers.append("sent")
            except TooSoon as refused:
                answers.append(str(refused))

    with time_machine.travel(at(date(2026, 7, 7), 9), tick=False):
        threads = [threading.Thread(target=click) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len(answers) == 2
    assert answers.count("sent") == 1
    [refusal] = [a for a in answers if a != "sent"]
    assert "4 小时内已催报过：Unit VA2" in refusal and "13:00" in refusal
    to_va2 = rows(session, kind="reminder-chase")
    assert {(r.channel, r.recipient) for r in to_va2} == {
        ("app", str(world["va2"].id)), ("email", "va2@example.test"), ("sms", "13900000002")}
    assert len(rows(session, kind="chase-group")) == 1
