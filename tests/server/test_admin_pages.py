"""The administrators' pages: accounts and the units browser."""

import re

from server.models import Role
from server.services import accounts


def linked_units(response) -> list[str]:
    return re.findall(r'<td><a href="/admin/units/([^"]+)"', response.get_data(as_text=True))


def usernames(response) -> list[str]:
    return re.findall(r"<tr>\s*<td>([^<]+)</td>", response.get_data(as_text=True))


def test_admin_creates_an_account(browser, session, make_user, tree):
    make_user("boss", Role.ADMIN)
    browser.login_ok("boss")
    response = browser.post("/admin/users/new", {
        "username": "TA-Clerk", "role": "submitter", "unit_code": "TA",
        "password": "long-enough-1"})
    assert response.status_code == 302
    created = accounts.get_user(session, "ta-clerk")
    assert created.role == Role.SUBMITTER and created.unit.code == "TA"


def test_account_form_shows_problems_beside_the_inputs(browser, make_user, tree):
    make_user("boss", Role.ADMIN)
    browser.login_ok("boss")
    response = browser.post("/admin/users/new", {
        "username": "x1", "role": "consolidator", "unit_code": "NOPE",
        "password": "long-enough-1"}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert ("There is no unit “NOPE”: type its code, name or the pinyin initials of its name."
            in response.get_data(as_text=True))
    taken = browser.post("/admin/users/new", {
        "username": "boss", "role": "admin", "unit_code": "", "password": "long-enough-1"},
        headers={"Accept-Language": "en"})
    assert "The username “boss” is already taken." in taken.get_data(as_text=True)


def test_admin_disables_enables_and_resets(browser, other_browser, session, make_user, tree):
    make_user("boss", Role.ADMIN)
    clerk = make_user("clerk", Role.SUBMITTER, tree["VA1"])
    browser.login_ok("boss")
    other_browser.login_ok("clerk")

    assert browser.post(f"/admin/users/{clerk.id}/disable",
                        token_from="/admin/users").status_code == 302
    assert other_browser.get("/").status_code == 302  # signed out at once
    assert other_browser.login("clerk").status_code == 200  # and refused
    browser.post(f"/admin/users/{clerk.id}/enable", token_from="/admin/users")
    response = browser.post(f"/admin/users/{clerk.id}/password", {"password": "fresh-pass-1"})
    assert response.status_code == 302
    assert other_browser.login("clerk", "fresh-pass-1").status_code == 302


def test_admin_cannot_disable_themselves(browser, session, make_user):
    boss = make_user("boss", Role.ADMIN)
    browser.login_ok("boss")
    browser.post(f"/admin/users/{boss.id}/disable", token_from="/admin/users")
    session.refresh(boss)
    assert boss.active
    assert browser.get("/admin/users").status_code == 200


def test_disable_without_csrf_token_changes_nothing(browser, session, make_user, tree):
    make_user("boss", Role.ADMIN)
    clerk = make_user("clerk", Role.SUBMITTER, tree["VA1"])
    browser.login_ok("boss")
    assert browser.client.post(f"/admin/users/{clerk.id}/disable").status_code == 400
    session.refresh(clerk)
    assert clerk.active


def test_users_search_treats_wildcards_literally(browser, make_user, tree):
    make_user("boss", Role.ADMIN)
    make_user("a_b", Role.SUBMITTER, tree["VA1"])
    make_user("axb", Role.SUBMITTER, tree["VA2"])
    browser.login_ok("boss")
    assert usernames(browser.get("/admin/users?q=a_b")) == ["a_b"]
    assert usernames(browser.get("/admin/users?q=VA2")) == ["axb"]


def test_long_lists_are_paged(browser, make_user, make_unit):
    make_user("boss", Role.ADMIN)
    town = make_unit("T", kind="town")
    for number in range(60):
        make_unit(f"T-{number:02d}", town)
    browser.login_ok("boss")
    first = linked_units(browser.get("/admin/units/T"))
    second = linked_units(browser.get("/admin/units/T?page=2"))
    assert len(first) == 50 and len(second) == 10
    assert first[0] == "T-00" and second[-1] == "T-59"
    assert linked_units(browser.get("/admin/units/T?page=99")) == second  # clamped
    searched = linked_units(browser.get("/admin/units?q=T-&page=2"))
    assert searched == [f"T-{n:02d}" for n in range(50, 60)]
