"""Signing in and out, throttling, CSRF, password changes, disabled accounts."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from server.db import unit_of_work
from server.models import LoginAttempt, User
from server.services import accounts
from server.services.accounts import LoginStatus


def test_login_page_is_served(client):
    page = client.get("/auth/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.get_data(as_text=True)


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_login_then_logout(browser, make_user, tree):
    make_user("village1", unit=tree["VA1"])
    response = browser.login("Village1")  # usernames are case-insensitive
    assert response.status_code == 302
    home = browser.get("/")
    assert home.status_code == 200 and "village1" in home.get_data(as_text=True)
    response = browser.post("/auth/logout", token_from="/")
    assert response.status_code == 302
    assert browser.get("/").status_code == 302  # signed out: back to the login page


def test_logout_requires_post_with_csrf(browser, client, make_user, tree):
    make_user("village1", unit=tree["VA1"])
    browser.login_ok("village1")
    assert client.get("/auth/logout").status_code == 405
    client.post("/auth/logout")  # a forged POST without token
    assert client.get("/").status_code == 200  # still signed in


def test_wrong_password_is_refused_in_the_users_language(browser, make_user, tree):
    make_user("village1", unit=tree["VA1"])
    page = browser.login("village1", "not-the-password")
    assert page.status_code == 200
    assert "用户名或密码错误" in page.get_data(as_text=True)
    browser.client.set_cookie("session", "", expires=0)
    page = browser.post("/auth/login", {"username": "village1", "password": "nope-nope"},
                        headers={"Accept-Language": "en"})
    assert "Wrong username or password." in page.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(password, client, make_user, tree):
    make_user("village1", unit=tree["VA1"])
    response = client.post("/auth/login", data={"username": "village1", "password": password},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_disabled_account_cannot_log_in(browser, session, make_user, tree):
    user = make_user("village1", unit=tree["VA1"])
    with unit_of_work(session):
        accounts.set_active(session, user, False)
    page = browser.login("village1")
    assert page.status_code == 200
    assert "该账号已停用，请联系管理员。" in page.get_data(as_text=True)
    assert browser.get("/").status_code == 302


def test_disabling_signs_out_an_open_session(browser, session, make_user, tree):
    user = make_user("village1", unit=tree["VA1"])
    browser.login_ok("village1")
    with unit_of_work(session):
        accounts.set_active(session, user, False)
    assert browser.get("/").status_code == 302


def test_throttling_after_five_failures(browser, session, make_user, tree):
    make_user("village1", unit=tree["VA1"])
    for _ in range(5):
        assert browser.login("village1", "wrong-password").status_code == 200
    page = browser.login("village1")  # even the right password is refused now
    assert page.status_code == 429
    assert "登录失败次数过多，请 15 分钟后再试。" in page.get_data(as_text=True)
    assert browser.get("/").status_code == 302
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 5


def test_throttling_counts_per_username_and_address(password, session, make_user, tree):
    make_user("village1", unit=tree["VA1"])
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    for minute in range(5):
        outcome = accounts.authenticate(session, "village1", "bad-password", "10.0.0.1",
                                        now=start + timedelta(minutes=minute))
        assert outcome.status is LoginStatus.INVALID
    throttled = accounts.authenticate(session, "village1", password, "10.0.0.1",
                                      now=start + timedelta(minutes=5))
    assert throttled.status is LoginStatus.THROTTLED and throttled.retry_minutes == 10
    # Another address is not affected, and the window passes.
    other = accounts.authenticate(session, "village1", password, "10.0.0.2",
                                  now=start + timedelta(minutes=5))
    assert other.status is LoginStatus.OK
    later = accounts.authenticate(session, "village1", password, "10.0.0.1",
                                  now=start + timedelta(minutes=15, seconds=1))
    assert later.status is LoginStatus.OK
    # A success clears the failures of that username and address.
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_next_redirects_only_to_local_paths(password, browser, make_user, tree):
    make_user("boss", "admin")
    token = browser.csrf_token("/auth/login")
    response = browser.client.post("/auth/login", data={
        "username": "boss", "password": password, "next": "https://evil.example/",
        "csrf_token": token})
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
    browser.post("/auth/logout", token_from="/")
    token = browser.csrf_token("/auth/login?next=/admin/users")
    response = browser.client.post("/auth/login", data={
        "username": "boss", "password": password, "next": "/admin/users", "csrf_token": token})
    assert response.headers["Location"] == "/admin/users"


def test_password_change(password, browser, other_browser, session, make_user, tree):
    make_user("village1", unit=tree["VA1"])
    browser.login_ok("village1")
    other_browser.login_ok("village1")
    response = browser.post("/auth/account", {
        "current_password": password, "new_password": "a-new-secret-9",
        "confirm": "a-new-secret-9"})
    assert response.status_code == 302
    assert browser.get("/").status_code == 200  # this session stays signed in
    assert other_browser.get("/").status_code == 302  # the other one is signed out
    browser.post("/auth/logout", token_from="/")
    assert browser.login("village1").status_code == 200  # the old password no longer works
    assert browser.login("village1", "a-new-secret-9").status_code == 302


def test_password_change_needs_the_current_and_a_long_new_one(password, browser, session,
                                                              make_user, tree):
    make_user("village1", unit=tree["VA1"])
    browser.login_ok("village1")
    wrong = browser.post("/auth/account", {
        "current_password": "not-it-at-all", "new_password": "a-new-secret-9",
        "confirm": "a-new-secret-9"})
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    short = browser.post("/auth/account", {
        "current_password": password, "new_password": "short", "confirm": "short"})
    assert short.status_code == 400 and "密码至少需要 8 个字符。" in short.get_data(as_text=True)
    user = session.scalar(select(User).where(User.username == "village1"))
    session.refresh(user)
    assert accounts.passwords.verify_password(user.password_hash, password)


def test_session_cookie_is_httponly_and_lax(browser, make_user, tree):
    make_user("village1", unit=tree["VA1"])
    response = browser.login("village1")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
