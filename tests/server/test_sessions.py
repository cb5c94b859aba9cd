"""Sessions and tokens end when they should: sign-out, password changes, disabling, expiry;
the sign-in page's answers and its ``next`` parameter; throttling per address."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import api_get, problem, token_for
from flask.testing import FlaskClient

from server.cli import cli
from server.db import unit_of_work
from server.models import ApiToken, Role
from server.models.accounts import utcnow
from server.services import accounts, tokens
from server.services.accounts import LoginStatus
from server.services.errors import InvalidInput

NEW_PASSWORD = "a-new-secret-9"
THROTTLED_ZH = "登录失败次数过多，请 15 分钟后再试。"


@pytest.fixture
def ann(make_user, tree):
    return make_user("ann", unit=tree["VA1"])


def copy_session(source: FlaskClient, target: FlaskClient) -> None:
    """Give *target* the session cookie *source* has now, as someone who copied it would."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def signed_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


# --- session cookies ---------------------------------------------------------------------


def test_a_cookie_copied_before_sign_out_is_refused_after_it(browser, other_browser, app, ann):
    browser.login_ok(ann)
    thief = app.test_client()
    copy_session(browser.client, thief)
    assert signed_in(thief)
    other_browser.login_ok(ann)  # the same account on another device
    assert browser.post("/auth/logout", token_from="/").status_code == 302
    assert not signed_in(browser.client)
    assert not signed_in(thief)
    assert not signed_in(other_browser.client)
    browser.login_ok(ann)  # signing in again works as before
    assert signed_in(browser.client)


def test_a_cookie_copied_before_a_password_change_is_refused_after_it(
        password, browser, other_browser, app, ann):
    browser.login_ok(ann)
    thief = app.test_client()
    copy_session(browser.client, thief)
    other_browser.login_ok(ann)
    changed = browser.post("/auth/account", {"current_password": password,
                                             "new_password": NEW_PASSWORD,
                                             "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert signed_in(browser.client)  # the browser that changed it stays signed in
    assert not signed_in(thief)
    assert not signed_in(other_browser.client)


def test_an_administrator_resetting_a_password_ends_the_accounts_sessions_and_tokens(
        browser, other_browser, client, session, make_user, ann):
    make_user("boss", Role.ADMIN)
    secret = token_for(session, ann)
    other_browser.login_ok(ann)
    browser.login_ok("boss")
    reset = browser.post(f"/admin/users/{ann.id}/password", {"password": NEW_PASSWORD})
    assert reset.status_code == 302
    assert not signed_in(other_browser.client)
    problem(api_get(client, "/me", secret), 401, "unauthorized")


# --- tokens ----------------------------------------------------------------------------------


def test_a_token_issued_before_a_password_change_is_refused_after_it(
        password, browser, client, session, ann):
    secret = token_for(session, ann)
    assert api_get(client, "/me", secret).status_code == 200
    browser.login_ok(ann)
    browser.post("/auth/account", {"current_password": password,
                                   "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    refused = problem(api_get(client, "/me", secret, headers={"Accept-Language": "en"}),
                      401, "unauthorized")
    unknown = problem(api_get(client, "/me", "tb_" + "x" * 43,
                              headers={"Accept-Language": "en"}), 401, "unauthorized")
    assert refused == unknown  # nothing tells a revoked token from a made-up one
    assert api_get(client, "/me", token_for(session, ann)).status_code == 200


def test_disabling_an_account_in_the_admin_pages_revokes_its_tokens(
        browser, client, session, make_user, ann):
    make_user("boss", Role.ADMIN)
    secret = token_for(session, ann)
    browser.login_ok("boss")
    browser.post(f"/admin/users/{ann.id}/disable", token_from="/admin/users")
    browser.post(f"/admin/users/{ann.id}/enable", token_from="/admin/users")
    problem(api_get(client, "/me", secret), 401, "unauthorized")


def test_a_token_expires_after_its_days(client, session, ann):
    token, secret = tokens.create(session, ann, days=3)
    assert tokens.authenticate(session, secret, now=utcnow() + timedelta(days=3) - timedelta(
        minutes=1)) is not None
    assert tokens.authenticate(session, secret, now=utcnow() + timedelta(days=3)) is None
    session.get(ApiToken, token.id).expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    expired = problem(api_get(client, "/me", secret, headers={"Accept-Language": "en"}),
                      401, "unauthorized")
    unknown = problem(api_get(client, "/me", "tb_" + "x" * 43,
                              headers={"Accept-Language": "en"}), 401, "unauthorized")
    assert expired == unknown


def test_tokens_last_ninety_days_unless_told_otherwise(session, ann):
    token, _secret = tokens.create(session, ann)
    assert token.expires_at - token.created_at == timedelta(days=90)
    for days in (0, 366):
        with pytest.raises(InvalidInput):
            tokens.create(session, ann, days=days)


def test_the_account_page_sets_the_lifetime_and_shows_expiry_and_last_use(
        browser, client, session, ann):
    browser.login_ok(ann)
    headers = {"Accept-Language": "en"}
    created = browser.post("/auth/account/tokens", {"name": "weekly", "days": "7"},
                           token_from="/auth/account", headers=headers)
    assert created.status_code == 200
    secret = re.search(r'value="(tb_[^"]+)"', created.get_data(as_text=True)).group(1)
    [token] = tokens.for_user(session, ann)
    assert token.expires_at - token.created_at == timedelta(days=7)
    page = browser.get("/auth/account", headers=headers).get_data(as_text=True)
    assert "Expires" in page and "Never" in page
    api_get(client, "/me", secret)
    page = browser.get("/auth/account", headers=headers).get_data(as_text=True)
    assert "Never" not in page
    too_long = browser.post("/auth/account/tokens", {"name": "", "days": "400"},
                            token_from="/auth/account", headers=headers)
    assert too_long.status_code == 400
    assert 'id="new-token-secret"' not in too_long.get_data(as_text=True)
    assert len(tokens.for_user(session, ann)) == 1
    default = browser.post("/auth/account/tokens", {"name": "default", "days": ""},
                           token_from="/auth/account")
    assert default.status_code == 200
    newest = tokens.for_user(session, ann)[0]
    assert newest.name == "default"
    assert newest.expires_at - newest.created_at == timedelta(days=90)


def test_the_account_page_marks_expired_tokens(browser, session, ann):
    token, _secret = tokens.create(session, ann, "old")
    token.expires_at = utcnow() - timedelta(days=1)
    session.commit()
    browser.login_ok(ann)
    page = browser.get("/auth/account", headers={"Accept-Language": "en"})
    assert "Expired" in page.get_data(as_text=True)


def test_the_command_line_sets_the_lifetime_and_lists_expiry_and_last_use(
        app, client, monkeypatch, session, ann):
    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    runner = app.test_cli_runner()
    created = runner.invoke(cli, ["tokens", "create", "ann", "--days", "7"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    expiry = (utcnow() + timedelta(days=7)).astimezone().date()
    listed = runner.invoke(cli, ["tokens", "list", "ann"]).output
    assert "never used" in listed and "expires" in listed
    api_get(client, "/me", secret)
    listed = runner.invoke(cli, ["tokens", "list", "ann"]).output
    assert "never used" not in listed
    # Asia/Shanghai is ahead of UTC: the date shown is the expiry's date or the next day.
    assert any(str(expiry + timedelta(days=shift)) in listed for shift in (0, 1))
    refused = runner.invoke(cli, ["tokens", "create", "ann", "--days", "0"])
    assert refused.exit_code != 0


# --- the sign-in page --------------------------------------------------------------------


def test_a_disabled_accounts_answer_does_not_tell_whether_the_password_was_right(
        password, browser, session, ann):
    with unit_of_work(session):
        accounts.set_active(session, ann, False)
    right = browser.login(ann, password)
    wrong = browser.login(ann, "not-the-password")
    assert right.status_code == wrong.status_code == 200
    assert "该账号已停用，请联系管理员。" in right.get_data(as_text=True)

    def message(page):
        return re.search(r'role="alert"[^>]*>(.*?)<', page.get_data(as_text=True), re.S).group(1)

    assert message(right) == message(wrong)
    assert not signed_in(browser.client)


@pytest.mark.parametrize("target", ["/admin/users\r\nSet-Cookie: evil=1", "/reports\n",
                                    "/\t/evil.example", "/reports\x00", "/x\x7f"])
def test_control_characters_in_next_are_ignored(password, browser, ann, target):
    token = browser.csrf_token("/auth/login")
    response = browser.client.post("/auth/login", data={
        "username": "ann", "password": password, "next": target, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "evil" not in str(response.headers)
    assert signed_in(browser.client)
    again = browser.client.get("/auth/login", query_string={"next": target})
    assert again.status_code == 302 and again.headers["Location"] == "/"


def test_a_plain_local_next_is_still_followed(password, browser, ann):
    token = browser.csrf_token("/auth/login")
    response = browser.client.post("/auth/login", data={
        "username": "ann", "password": password, "next": "/reports?period=2024Q2",
        "csrf_token": token})
    assert response.headers["Location"] == "/reports?period=2024Q2"


# --- throttling per address ------------------------------------------------------------------


def test_one_address_guessing_at_many_usernames_is_throttled(password, session, make_user, ann):
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    for minute in range(4):
        outcome = accounts.authenticate(session, f"user{minute}", "guess-guess", "10.0.0.1",
                                        max_address_failures=4,
                                        now=start + timedelta(minutes=minute))
        assert outcome.status is LoginStatus.INVALID
    throttled = accounts.authenticate(session, "ann", password, "10.0.0.1",
                                      max_address_failures=4, now=start + timedelta(minutes=5))
    assert throttled.status is LoginStatus.THROTTLED and throttled.retry_minutes == 10
    elsewhere = accounts.authenticate(session, "ann", password, "10.0.0.2",
                                      max_address_failures=4, now=start + timedelta(minutes=5))
    assert elsewhere.status is LoginStatus.OK
    later = accounts.authenticate(session, "ann", password, "10.0.0.1",
                                  max_address_failures=4,
                                  now=start + timedelta(minutes=15, seconds=1))
    assert later.status is LoginStatus.OK


def test_the_sign_in_page_throttles_an_address_across_usernames(password, app, browser, ann):
    app.config["LOGIN_THROTTLE_MAX_ADDRESS_FAILURES"] = 6
    for number in range(6):
        # A forged X-Forwarded-For does not make a new address: no proxy is configured.
        page = browser.post("/auth/login", {"username": f"guess{number}",
                                            "password": "guess-guess"},
                            headers={"X-Forwarded-For": f"192.0.2.{number}"})
        assert page.status_code == 200
    refused = browser.login(ann, password)
    assert refused.status_code == 429
    assert THROTTLED_ZH in refused.get_data(as_text=True)
    assert not signed_in(browser.client)
