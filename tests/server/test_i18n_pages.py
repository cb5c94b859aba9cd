"""Pages speak the user's language: Chinese by default, English on request, remembered."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import render_template_string
from sqlalchemy import select

from server.locale import translate_issue
from server.models import User


@pytest.fixture
def village(make_user, make_unit):
    return make_user("village", unit=make_unit("CD01", make_unit("CD", kind="town"),
                                               name="池店村"))


def switch_language(browser, locale, next_path="/auth/login"):
    return browser.post("/language", {"locale": locale, "next": next_path}, token_from=next_path)


def page(client, path, **headers) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_login_page_is_chinese_by_default(client):
    html = page(client, "/auth/login")
    assert '<html lang="zh-CN">' in html
    assert "用户名" in html and "密码" in html
    assert "Username" not in html


def test_english_browsers_get_english_pages_before_signing_in(client):
    html = page(client, "/auth/login", **{"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in html
    assert "Username" in html and "用户名" not in html


@pytest.mark.parametrize("header", ["zh-CN,zh;q=0.9,en;q=0.5", "zh-TW", "fr-FR,de;q=0.5"])
def test_chinese_or_unsupported_browsers_get_chinese(client, header):
    assert "用户名" in page(client, "/auth/login", **{"Accept-Language": header})


def test_anonymous_switch_is_kept_in_the_session(browser, client):
    response = switch_language(browser, "en")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    # The stored choice beats the browser's preference.
    assert "Username" in page(client, "/auth/login", **{"Accept-Language": "zh-CN"})
    switch_language(browser, "zh_CN")
    assert "用户名" in page(client, "/auth/login")


def test_switch_is_remembered_on_the_account_across_logins(browser, other_browser, village,
                                                          session):
    browser.login_ok(village)
    switch_language(browser, "en", "/auth/account")
    assert session.scalar(select(User.locale).where(User.username == "village")) == "en"
    browser.post("/auth/logout", token_from="/auth/account")

    other_browser.login_ok(village)
    html = page(other_browser.client, "/auth/account", **{"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in html and "Log out" in html


def test_account_language_outlives_logout_in_that_browser(browser, other_browser, village):
    browser.login_ok(village)
    switch_language(browser, "en", "/auth/account")
    # A fresh browser signing in picks the saved language up and keeps it after logout.
    other_browser.login_ok(village)
    other_browser.post("/auth/logout", token_from="/auth/account")
    assert "Username" in page(other_browser.client, "/auth/login")


def test_switch_without_csrf_token_is_refused_and_changes_nothing(client):
    response = client.post("/language", data={"locale": "en", "next": "/auth/login"})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert "用户名" in page(client, "/auth/login")


def test_unknown_language_changes_nothing(browser, client):
    response = switch_language(browser, "xx")
    assert response.status_code == 302
    assert "用户名" in page(client, "/auth/login")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_switch_never_redirects_off_site(browser, target):
    response = browser.post("/language", {"locale": "en", "next": target},
                            token_from="/auth/login")
    location = response.headers["Location"]
    assert "evil" not in location and location.startswith("/")


def test_error_pages_are_translated(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)
    response = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "Page not found" in response.get_data(as_text=True)


def test_api_errors_are_problem_documents_in_the_callers_language(client):
    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Not found"


def test_messages_of_the_pure_packages_are_translated_then_filled_in(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert translate_issue("%(label)s is required.", {"label": "联系电话"}) \
            == "联系电话为必填项。"
        # A parameter missing from the issue degrades to the bare text instead of failing.
        assert translate_issue("%(label)s is required.", {}) == "%(label)s为必填项。"
        assert translate_issue("%(label)s is required.", {"other": 1}) == "%(label)s为必填项。"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert translate_issue("%(label)s is required.", {"label": "Phone"}) \
            == "Phone is required."


def test_numbers_and_dates_follow_the_locale(app):
    template = ("{{ format_decimal(1234567.5) }}|{{ format_date(day) }}"
                "|{{ moment|format_datetime }}")
    values = {"day": date(2024, 7, 5), "moment": datetime(2024, 7, 4, 16, 30, tzinfo=UTC)}
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        number, day, moment = render_template_string(template, **values).split("|")
        assert number == "1,234,567.5"
        assert day == "2024年7月5日"
        assert "2024年7月5日" in moment and "00:30" in moment  # shown in Asia/Shanghai time
    with app.test_request_context(headers={"Accept-Language": "en"}):
        number, day, _moment = render_template_string(template, **values).split("|")
        assert day == "Jul 5, 2024"


def test_issues_of_the_form_engine_are_shown_in_the_readers_language(app):
    from forms.definition import Severity
    from forms.issues import Issue

    issue = Issue(Severity.ERROR, "found", "below_min",
                  {"label": "排查隐患数", "label_en": "Hazards found", "min": 0, "value": -1})
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert translate_issue(issue) == "排查隐患数不得小于 0（现为 -1）。"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert translate_issue(issue) == "Hazards found must be at least 0 (got -1)."


def test_outside_a_request_the_default_or_forced_locale_applies(app):
    # The CLI and background work translate without a request to read preferences from.
    from flask_babel import force_locale

    with app.app_context():
        assert render_template_string('{{ _("Units") }}|{{ html_lang }}') == "单位|zh-CN"
        with force_locale("en"):
            assert render_template_string('{{ _("Units") }}|{{ html_lang }}') == "Units|en"
