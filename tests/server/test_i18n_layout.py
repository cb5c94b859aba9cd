"""The shared layout: role navigation, macros and error pages, in the user's language."""

from __future__ import annotations

import enum
import re

import pytest
from flask import render_template_string, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from server import navigation
from server.navigation import NavEntry, Page

NAV = re.compile(r'<nav class="main-nav".*?</nav>', re.S)


PAGE = '{% extends "base.html" %}{% block content %}ok{% endblock %}'


@pytest.fixture
def planned_pages(app):
    """Stand-ins for pages of other blueprints, under their planned endpoints, unless real."""
    for endpoint, path in (("reporting.my_reports", "/test/reports"),
                           ("review.matrix", "/test/review")):
        if endpoint not in app.view_functions:
            app.add_url_rule(path, endpoint, lambda: render_template_string(PAGE))
    return app


@pytest.fixture
def people(make_user, make_unit):
    town = make_unit("CD", kind="town", name="池店镇")
    village = make_unit("CD01", town, name="池店村")
    return {
        "admin": make_user("chief", role="admin"),
        "consolidator": make_user("town", role="consolidator", unit=town),
        "submitter": make_user("village", role="submitter", unit=village),
    }


def url_for_endpoint(app, endpoint: str) -> str:
    with app.test_request_context():
        return url_for(endpoint)


def nav_of(html: str) -> list[str]:
    match = NAV.search(html)
    return re.findall(r"<a [^>]*>([^<]+)</a>", match.group(0)) if match else []


@pytest.mark.parametrize(("role", "shown", "hidden"), [
    ("submitter", ["我的报表"], ["审核", "单位", "模板", "任务分配", "账号"]),
    ("consolidator", ["我的报表", "审核", "单位"], ["模板", "任务分配", "账号"]),
    ("admin", ["审核", "单位", "账号"], ["我的报表"]),
])
def test_navigation_fits_the_role(planned_pages, browser, people, role, shown, hidden):
    browser.login_ok(people[role])
    entries = nav_of(browser.get("/").get_data(as_text=True))
    assert [entry for entry in shown if entry in entries] == shown
    assert not [entry for entry in hidden if entry in entries]


def test_navigation_lists_only_pages_that_exist(app, browser, people, monkeypatch):
    existing = NavEntry("planning.board", "规划看板", frozenset({"admin"}))
    missing = NavEntry("planning.missing", "尚未上线", frozenset({"admin"}))
    monkeypatch.setattr(navigation, "NAVIGATION", (*navigation.NAVIGATION, existing, missing))
    app.add_url_rule("/test/board", "planning.board", lambda: render_template_string(PAGE))
    browser.login_ok(people["admin"])
    entries = nav_of(browser.get("/").get_data(as_text=True))
    assert "规划看板" in entries and "尚未上线" not in entries


def test_current_page_is_marked_in_the_navigation(planned_pages, browser, people):
    browser.login_ok(people["consolidator"])
    path = url_for_endpoint(planned_pages, "review.matrix")
    html = browser.get(path).get_data(as_text=True)
    assert re.search(rf'href="{re.escape(path)}" aria-current="page">审核<', html)
    assert html.count('aria-current="page"') == 1


def test_signed_out_pages_have_no_navigation_but_a_language_switch(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert nav_of(html) == []
    assert 'value="zh_CN" lang="zh-CN" aria-pressed="true"' in html
    assert 'value="en" lang="en" aria-pressed="false"' in html
    assert "退出登录" not in html


def test_header_shows_the_account_its_unit_and_a_protected_logout(browser, people):
    browser.login_ok(people["submitter"])
    html = browser.get("/").get_data(as_text=True)
    assert '<span class="account-unit">池店村</span>' in html
    assert ">village<" in html
    logout = re.search(r'<form class="logout" method="post" action="/auth/logout">(.*?)</form>',
                       html, re.S)
    assert logout and 'name="csrf_token"' in logout.group(1)


# --- error pages ---------------------------------------------------------------------------


def test_forbidden_page_is_translated(browser, people):
    browser.login_ok(people["submitter"])
    response = browser.get("/admin/users")
    assert response.status_code == 403
    assert "无权访问" in response.get_data(as_text=True)


def test_server_error_page_is_translated_and_shows_no_account_details(app, browser, people):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/broken")
    def broken():
        raise RuntimeError("boom")

    browser.login_ok(people["submitter"])
    response = browser.get("/broken")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "系统出错了" in html and "boom" not in html
    assert "account-unit" not in html and "退出登录" not in html


def test_too_large_upload_gets_a_translated_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/language", data={"locale": "en", "filler": "x" * 5000})
    assert response.status_code == 413
    assert "文件过大" in response.get_data(as_text=True)


# --- macros --------------------------------------------------------------------------------


def render(template: str, **context) -> str:
    source = ('{% from "_macros.html" import render_field, status_badge, pagination, '
              'empty_state with context %}' + template)
    return render_template_string(source, **context)


class PhoneForm(FlaskForm):
    class Meta:
        csrf = False

    phone = StringField("联系电话", validators=[DataRequired()],
                        description="手机号或带区号的固定电话")


def test_render_field_ties_help_and_errors_to_the_input(app):
    with app.test_request_context(method="POST", data={"phone": ""}):
        form = PhoneForm()
        assert not form.validate()
        html = render("{{ render_field(form.phone, autocomplete='tel') }}", form=form)
    assert '<label class="field-label" for="phone">联系电话' in html
    assert 'aria-describedby="phone-help phone-error"' in html
    assert 'aria-invalid="true"' in html and 'autocomplete="tel"' in html and "required" in html
    assert re.search(r'<p class="field-help" id="phone-help">手机号或带区号的固定电话</p>', html)
    assert re.search(r'<ul class="field-errors" id="phone-error">\s*<li>', html)


def test_render_field_without_help_or_errors_adds_no_dangling_references(app):
    with app.test_request_context():
        form = PhoneForm(data={"phone": "13800000000"})
        form.phone.description = ""
        html = render("{{ render_field(form.phone, unit='号') }}", form=form)
    assert "aria-describedby" not in html and "aria-invalid" not in html
    assert '<span class="unit">号</span>' in html


class Status(enum.Enum):
    APPROVED = "approved"


@pytest.mark.parametrize(("status", "words_zh", "words_en"), [
    ("not_started", "未填报", "Not started"),
    ("draft", "草稿", "Draft"),
    ("submitted", "已报送", "Submitted"),
    ("returned", "已退回", "Returned"),
    ("approved", "审核通过", "Approved"),
    ("late", "逾期", "Late"),
    (Status.APPROVED, "审核通过", "Approved"),
])
def test_status_badge_always_says_the_status_in_words(app, status, words_zh, words_en):
    for language, words in (("zh-CN", words_zh), ("en", words_en)):
        with app.test_request_context(headers={"Accept-Language": language}):
            html = render("{{ status_badge(status) }}", status=status)
        key = getattr(status, "value", status)
        assert f'class="badge badge-{key.replace("_", "-")}"' in html
        assert html.rstrip().endswith(f"{words}</span>")


def test_pagination_links_keep_the_query_and_skip_distant_pages(app):
    with app.test_request_context("/admin/units?q=村&page=3"):
        page = Page.from_request(total=95, per_page=10)
        html = render("{{ pagination(page) }}", page=page)
    assert page.window() == [1, 2, 3, 4, 5, None, 10]
    assert "第 3/10 页 · 共 95 条" in html
    assert 'href="/admin/units?q=%E6%9D%91&amp;page=2" rel="prev"' in html
    assert 'href="/admin/units?q=%E6%9D%91&amp;page=4" rel="next"' in html
    assert '<span class="btn is-current" aria-current="page">3</span>' in html
    assert "…" in html


@pytest.mark.parametrize(("query", "number"), [("page=999", 4), ("page=-2", 1), ("page=abc", 1)])
def test_page_numbers_from_the_address_bar_are_clamped(app, query, number):
    with app.test_request_context(f"/admin/units?{query}"):
        page = Page.from_request(total=31, per_page=10)
    assert page.number == number
    assert page.offset == (number - 1) * 10


def test_a_single_page_shows_no_pagination(app):
    with app.test_request_context("/admin/units"):
        assert render("{{ pagination(page) }}", page=Page(1, 50, 12)).strip() == ""


def test_empty_state_offers_an_action_only_when_there_is_one(app):
    with app.test_request_context():
        with_action = render("{{ empty_state('暂无单位', '请导入。', '/import', '导入单位') }}")
        without = render("{{ empty_state('暂无单位', '请导入。') }}")
    assert '<a class="btn btn-primary" href="/import">导入单位</a>' in with_action
    assert "<a " not in without and "请导入。" in without


def test_a_late_submission_shows_both_its_status_and_lateness(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        html = render("{{ status_badge('submitted', late=true) }}")
        on_time = render("{{ status_badge('submitted', late=false) }}")
    assert "已报送" in html and "逾期" in html
    assert "逾期" not in on_time
