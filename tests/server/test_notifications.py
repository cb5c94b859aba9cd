"""Notifications of what happens to reports: who gets them, on which channels, in which
language; the bell and the list in the app; the addresses on the account pages."""

import pytest
from notify_receivers import SmtpReceiver
from sqlalchemy import select

from forms.loader import CATALOG_DIR
from server.channels.settings import senders
from server.db import unit_of_work
from server.models import Role, User
from server.models.notifications import Delivery, Notification
from server.services import assignments as assignment_service
from server.services import contacts, outbox, reporting
from server.services.templates import get_version, load_files

HEADER = {"reporter": "张三", "phone": "13800000001"}


@pytest.fixture
def world(app, session, tree, make_user):
    with unit_of_work(session):
        load_files(session, [CATALOG_DIR / "000_chidian_progress.yaml"])
        assignment_service.create_assignment(
            session, key="cd", template=get_version(session, "chidian-progress", 1),
            root=tree["TA"])
    people = {
        "va1": make_user("va1", unit=tree["VA1"]),
        "ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]),
        "cy-hz": make_user("cy-hz", Role.CONSOLIDATOR, tree["CY"]),
        "tb-hz": make_user("tb-hz", Role.CONSOLIDATOR, tree["TB"]),
    }
    with unit_of_work(session):
        contacts.update_contact(session, people["va1"], email="va1@example.test",
                                mobile="13800000001", wecom_userid=None)
        for name in ("ta-hz", "tb-hz"):  # tb-hz asked too, but VA1 is not below TB
            contacts.update_contact(session, people[name], email=f"{name}@example.test",
                                    mobile=None, wecom_userid=None, notify_on_submission=True)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMS_URL="http://127.0.0.1:1/sms")
    return people


def act(app, session, user, action, **options):
    with app.app_context(), unit_of_work(session):
        user = session.get(User, user.id)
        view = reporting.load(session, user, "cd", "VA1", "2026Q2")
        if action == "save":
            reporting.save(session, user, view, {**HEADER, "i01_enterprises": "5"})
        elif action == "submit":
            reporting.submit(session, user, view)
        elif action == "return":
            reporting.return_report(session, user, view, "第1项有误")
        elif action == "approve":
            reporting.approve(session, user, view, acknowledged=True)
        elif action == "withdraw":
            reporting.withdraw(session, user, view)


def messages(session, username=None) -> list[Notification]:
    session.expire_all()
    query = select(Notification).order_by(Notification.id)
    if username:
        query = query.join(User, User.id == Notification.user_id).where(User.username == username)
    return list(session.scalars(query))


def test_a_submission_notifies_the_reviewers_above_who_asked_for_it(app, session, world):
    act(app, session, world["va1"], "save")
    assert messages(session) == []
    act(app, session, world["va1"], "submit")
    sent = messages(session)
    assert {(m.user.username, m.channel, m.recipient) for m in sent} == {
        ("ta-hz", "app", str(world["ta-hz"].id)), ("ta-hz", "email", "ta-hz@example.test")}
    app_message = next(m for m in sent if m.channel == "app")
    assert app_message.subject.startswith("待审核：Unit VA1，池店镇")
    assert app_message.subject.endswith("，2026年第二季度")
    assert "va1" in app_message.text and "2026年第二季度" in app_message.text
    assert app_message.link == "/review/cd/VA1/2026Q2"
    assert app_message.status == Delivery.SENT  # in the app: delivered by being written
    assert next(m for m in sent if m.channel == "email").status == Delivery.PENDING


def test_returned_and_approved_reports_notify_their_submitter_on_every_channel(app, session,
                                                                                world):
    act(app, session, world["va1"], "save")
    act(app, session, world["va1"], "submit")
    act(app, session, world["ta-hz"], "return")
    returned = messages(session, "va1")
    assert {(m.channel, m.recipient) for m in returned} == {
        ("app", str(world["va1"].id)), ("email", "va1@example.test"), ("sms", "13800000001")}
    assert all(m.kind == "report-returned" and "第1项有误" in m.text for m in returned)
    assert all(m.link == "/reports/cd/VA1/2026Q2" for m in returned)
    act(app, session, world["va1"], "submit")
    act(app, session, world["ta-hz"], "approve")
    approved = [m for m in messages(session, "va1") if m.kind == "report-approved"]
    assert {m.channel for m in approved} == {"app", "email", "sms"}
    # Two submissions, two messages to the reviewer (each event is its own step).
    assert len([m for m in messages(session, "ta-hz") if m.channel == "app"]) == 2


def test_a_withdrawal_notifies_the_reviewers_who_were_notified_of_the_submission(
        app, session, world):
    act(app, session, world["va1"], "save")
    act(app, session, world["va1"], "submit")
    # After the submission: ta-hz (told of it) stops asking, cy-hz (not told) starts.
    with unit_of_work(session):
        for name, asks in (("ta-hz", False), ("cy-hz", True)):
            session.get(User, world[name].id).notify_on_submission = asks
    act(app, session, world["va1"], "withdraw")
    withdrawn = [m for m in messages(session) if m.kind == "report-withdrawn"]
    assert {(m.user.username, m.channel) for m in withdrawn} == {
        ("ta-hz", "app"), ("ta-hz", "email")}
    app_message = next(m for m in withdrawn if m.channel == "app")
    assert app_message.subject.startswith("已撤回：Unit VA1，池店镇")
    assert "va1 在审核前撤回了" in app_message.text and "2026年第二季度" in app_message.text
    assert app_message.link == "/reports/cd/VA1/2026Q2"
    # Submitted again unchanged: whoever was told of a submission of this revision hears of
    # its withdrawal (cy-hz asks now; ta-hz was told of the first one).
    seen = {m.id for m in messages(session)}
    act(app, session, world["va1"], "submit")
    act(app, session, world["va1"], "withdraw")
    again = [m.user.username for m in messages(session) if m.id not in seen
             and m.kind == "report-withdrawn" and m.channel == "app"]
    assert sorted(again) == ["cy-hz", "ta-hz"]


def test_messages_are_written_in_the_recipient_language(app, session, world):
    with unit_of_work(session):
        session.get(User, world["va1"].id).locale = "en"
    act(app, session, world["va1"], "save")
    act(app, session, world["va1"], "submit")
    act(app, session, world["ta-hz"], "return")
    [english] = [m for m in messages(session, "va1") if m.channel == "app"]
    assert english.subject.startswith("Returned for correction:")
    assert "2026 Q2" in english.subject
    [chinese] = [m for m in messages(session, "ta-hz") if m.channel == "app"]
    assert chinese.subject.startswith("待审核")


def test_without_configured_channels_only_the_app_is_used(app, session, world):
    app.config.update(SMTP_HOST="", SMS_URL="")
    act(app, session, world["va1"], "save")
    act(app, session, world["va1"], "submit")
    assert {m.channel for m in messages(session)} == {"app"}


def test_e_mail_notifications_reach_the_smtp_receiver(app, session, world):
    act(app, session, world["va1"], "save")
    act(app, session, world["va1"], "submit")
    with SmtpReceiver() as smtp:
        app.config.update(SMTP_PORT=smtp.port, SMS_URL="")
        summary = outbox.deliver_due(session, senders(app.config), base_url="http://tb.local")
        assert summary.sent == 1
        [mail] = smtp.messages
    assert mail["To"] == "ta-hz@example.test"
    assert "http://tb.local/review/cd/VA1/2026Q2" in mail.get_payload(decode=True).decode()


def test_the_bell_counts_unread_messages_and_opening_one_goes_to_the_report(
        app, session, world, browser):
    act(app, session, world["va1"], "save")
    act(app, session, world["va1"], "submit")
    act(app, session, world["ta-hz"], "return")
    browser.login_ok(world["va1"])
    home = browser.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'data-unread="1"' in home and "1 条未读" in home
    page = browser.get("/notifications/").get_data(as_text=True)
    [item] = [m for m in messages(session, "va1") if m.channel == "app"]
    assert item.subject in page and "第1项有误" in page
    opened = browser.post(f"/notifications/{item.id}/open", token_from="/notifications/")
    assert opened.status_code == 302 and opened.headers["Location"] == "/reports/cd/VA1/2026Q2"
    assert 'data-unread="0"' in browser.get("/notifications/").get_data(as_text=True)
    # Someone else's message is not there for this account.
    [theirs] = [m for m in messages(session, "ta-hz") if m.channel == "app"]
    assert browser.post(f"/notifications/{theirs.id}/open",
                        token_from="/notifications/").status_code == 404


def test_mark_all_as_read(app, session, world, browser):
    act(app, session, world["va1"], "save")
    act(app, session, world["va1"], "submit")
    act(app, session, world["ta-hz"], "return")
    act(app, session, world["va1"], "submit")
    browser.login_ok(world["ta-hz"])
    assert 'data-unread="2"' in browser.get("/notifications/").get_data(as_text=True)
    browser.post("/notifications/read", token_from="/notifications/")
    assert 'data-unread="0"' in browser.get("/notifications/").get_data(as_text=True)


def test_an_account_sets_its_own_addresses_and_preference(app, session, world, browser):
    browser.login_ok(world["cy-hz"])
    saved = browser.post("/auth/account/contact", {
        "email": "cy@example.test", "mobile": "13900000009", "wecom_userid": "CyHz",
        "notify_on_submission": "y"}, token_from="/auth/account")
    assert saved.status_code == 302
    session.expire_all()
    user = session.get(User, world["cy-hz"].id)
    assert (user.email, user.mobile, user.wecom_userid, user.notify_on_submission) == (
        "cy@example.test", "13900000009", "CyHz", True)
    refused = browser.post("/auth/account/contact", {"email": "not-an-address", "mobile": ""},
                           token_from="/auth/account")
    assert refused.status_code == 400
    assert "name@example.gov.cn" in refused.get_data(as_text=True)


def test_a_submitter_cannot_ask_to_hear_of_submissions(session, world):
    with unit_of_work(session):
        contacts.update_contact(session, world["va1"], email=None, mobile=" ",
                                wecom_userid=None, notify_on_submission=True)
    session.expire_all()
    user = session.get(User, world["va1"].id)
    assert user.notify_on_submission is False and user.mobile is None


def test_an_administrator_edits_an_accounts_addresses(app, session, world, make_user, browser):
    make_user("root", Role.ADMIN)
    browser.login_ok("root")
    path = f"/admin/users/{world['va1'].id}/contact"
    assert "va1@example.test" in browser.get(path).get_data(as_text=True)
    assert browser.post(path, {"email": "new@example.test", "mobile": "13800000002",
                               "wecom_userid": ""}).status_code == 302
    session.expire_all()
    user = session.get(User, world["va1"].id)
    assert (user.email, user.mobile, user.wecom_userid) == ("new@example.test", "13800000002",
                                                            None)


def test_a_submitter_without_a_mobile_is_texted_at_the_units_contact_phone(app, session, world):
    with unit_of_work(session):
        contacts.update_contact(session, world["va1"], email=None, mobile=None,
                                wecom_userid=None)
        session.get(User, world["va1"].id).unit.contact_phone = "13700000007"
    act(app, session, world["va1"], "save")
    act(app, session, world["va1"], "submit")
    act(app, session, world["ta-hz"], "return")
    assert {(m.channel, m.recipient) for m in messages(session, "va1")} == {
        ("app", str(world["va1"].id)), ("sms", "13700000007")}
