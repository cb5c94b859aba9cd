"""Security headers: what a browser is told about scripts, framing, referrers and caching."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from api_helpers import api_get, token_for
from hazards import hazards_definition

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role
from server.services import templates as template_service

TEMPLATES = Path(__file__).resolve().parents[2] / "server" / "templates"


def _policy(response) -> dict[str, str]:
    directives = response.headers["Content-Security-Policy"].split(";")
    return {name: value for name, _, value in (d.strip().partition(" ") for d in directives)}


def test_pages_allow_only_this_servers_scripts_and_styles(client):
    policy = _policy(client.get("/auth/login"))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["default-src"] == "'self'"


def test_pages_cannot_be_framed_embed_plugins_or_post_elsewhere(client):
    policy = _policy(client.get("/auth/login"))
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"


def test_templates_hold_no_inline_script_handler_or_style():
    """Anything inline would be blocked by the policy, so it must live in server/static."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style", re.I)
    found = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0).strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for match in inline.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.parametrize("path", ["/auth/login", "/static/css/app.css"])
def test_content_types_are_not_sniffed(client, path):
    assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"


def test_referrer_is_sent_to_this_server_only(client):
    assert client.get("/auth/login").headers["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_are_not_stored(browser, make_user, tree):
    browser.login_ok(make_user("va1", Role.SUBMITTER, tree["VA1"]))
    response = browser.get("/auth/account")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_api_answers_are_not_stored(client, session, make_user, tree):
    token = token_for(session, make_user("va1", Role.SUBMITTER, tree["VA1"]))
    response = api_get(client, "/me", token)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_downloads_are_not_stored(browser, session, make_user, make_assignment, tree):
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(hazards_definition()),
                                 origin="upload")
    template = template_service.get_version(session, "hazards", 1)
    make_assignment("hazards-cy", template, tree["CY"], kinds=["village"])
    browser.login_ok(make_user("ta", Role.CONSOLIDATOR, tree["TA"]))
    response = browser.get("/review/hazards-cy/2024Q2/chase.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_caching(browser, make_user, tree):
    browser.login_ok(make_user("va1", Role.SUBMITTER, tree["VA1"]))
    response = browser.get("/static/js/app.js")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    etag = response.headers["ETag"]
    assert browser.get("/static/js/app.js", headers={"If-None-Match": etag}).status_code == 304


def test_https_is_required_once_cookies_are_secure(app, client):
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers
    app.config["SESSION_COOKIE_SECURE"] = True
    hsts = client.get("/auth/login").headers["Strict-Transport-Security"]
    assert int(hsts.removeprefix("max-age=")) >= 180 * 24 * 3600
