"""Personal API tokens: storage, bearer authentication, problem documents, the CLI and the
account page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from api_helpers import api_get, api_post, problem, token_for
from sqlalchemy import select, text

from server.api.auth import check_role, public, require_role
from server.cli import cli
from server.db import unit_of_work
from server.models import ApiToken, Role
from server.models.accounts import utcnow
from server.services import accounts, tokens
from server.services.errors import InvalidInput


@pytest.fixture
def ann(make_user, tree):
    return make_user("ann", unit=tree["TA"])


def new_token(session, user, name: str = ""):
    """A token created and committed, as the account page and the CLI do."""
    with unit_of_work(session):
        return tokens.create(session, user, name)


# --- the service ------------------------------------------------------------------------------


def test_the_secret_is_not_stored_only_its_hash(session, ann):
    token, secret = new_token(session, ann, "nightly sync")
    assert secret.startswith("tb_") and len(secret) > 40
    assert token.prefix == secret[:len(token.prefix)] and len(token.prefix) < 16
    dumped = [tuple(row) for row in session.execute(text("SELECT * FROM api_tokens"))]
    assert dumped and not any(secret in str(value) for row in dumped for value in row)
    assert token.token_hash == tokens.hash_secret(secret) != secret


def test_every_secret_is_different(session, ann):
    secrets = {new_token(session, ann)[1] for _ in range(5)}
    assert len(secrets) == 5


def test_authenticate_finds_the_account_and_records_the_use(session, ann):
    token, secret = new_token(session, ann)
    with unit_of_work(session):
        assert tokens.authenticate(session, secret).username == "ann"
    session.expire_all()
    first_use = session.get(ApiToken, token.id).last_used_at
    assert first_use is not None
    # Within the minute the use is not written again; later it is.
    with unit_of_work(session):
        tokens.authenticate(session, secret, now=utcnow() + timedelta(seconds=20))
    session.expire_all()
    assert session.get(ApiToken, token.id).last_used_at == first_use
    with unit_of_work(session):
        tokens.authenticate(session, secret, now=utcnow() + timedelta(minutes=5))
    session.expire_all()
    assert session.get(ApiToken, token.id).last_used_at > first_use


@pytest.mark.parametrize("guess", ["", "tb_", "nonsense", "tb_short"])
def test_authenticate_refuses_malformed_secrets(session, ann, guess):
    new_token(session, ann)
    assert tokens.authenticate(session, guess) is None


def test_authenticate_refuses_a_secret_with_the_right_prefix_but_wrong_rest(session, ann):
    _token, secret = new_token(session, ann)
    forged = secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")
    assert tokens.authenticate(session, forged) is None


def test_revoked_tokens_and_disabled_accounts_fail(session, ann, make_user, tree):
    token, secret = new_token(session, ann)
    with unit_of_work(session):
        tokens.revoke(session, token)
    assert tokens.authenticate(session, secret) is None
    bob = make_user("bob", unit=tree["TB"])
    _other, bobs = new_token(session, bob)
    with unit_of_work(session):
        accounts.set_active(session, bob, False)
    assert tokens.authenticate(session, bobs) is None


def test_listing_and_finding_tokens(session, ann, make_user, tree):
    first, secret = new_token(session, ann, "first")
    second, _ = new_token(session, ann, "second")
    with unit_of_work(session):
        tokens.revoke(session, first)
    assert [t.name for t in tokens.for_user(session, ann)] == ["second"]
    assert [t.name for t in tokens.for_user(session, ann, include_revoked=True)] \
        == ["second", "first"]
    assert tokens.find(session, str(second.id)).id == second.id
    assert tokens.find(session, first.prefix).id == first.id
    assert tokens.find(session, secret).id == first.id
    assert tokens.find(session, "nothing") is None
    other = make_user("zoe", unit=tree["TB"])
    assert tokens.get_for_user(session, other, second.id) is None


def test_a_token_name_has_a_length_limit(session, ann):
    with pytest.raises(InvalidInput):
        new_token(session, ann, "x" * 101)


# --- bearer authentication -----------------------------------------------------------------


def test_a_valid_token_authenticates_the_request(client, session, ann):
    assert api_get(client, "/me", token_for(session, ann)).get_json()["username"] == "ann"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "Basic YW5uOnB3",
                                    "Token tb_x", "bearer-nonsense"])
def test_missing_or_wrong_scheme_is_unauthorized_with_a_challenge(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/me", headers=headers)
    problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_scheme_name_is_case_insensitive(client, session, ann):
    secret = token_for(session, ann)
    response = client.get("/api/v1/me", headers={"Authorization": f"bearer {secret}"})
    assert response.status_code == 200


def test_an_unknown_token_is_reported_as_invalid(client, session, ann):
    response = api_get(client, "/me", "tb_" + "x" * 43)
    problem(response, 401, "unauthorized")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_revoked_token_is_refused(client, session, ann):
    token, secret = new_token(session, ann)
    assert api_get(client, "/me", secret).status_code == 200
    with unit_of_work(session):
        tokens.revoke(session, token)
    problem(api_get(client, "/me", secret), 401, "unauthorized")


def test_disabling_an_account_revokes_its_tokens_for_good(client, session, ann):
    secret = token_for(session, ann)
    with unit_of_work(session):
        accounts.set_active(session, ann, False)
    problem(api_get(client, "/me", secret), 401, "unauthorized")
    with unit_of_work(session):
        accounts.set_active(session, ann, True)
    # Enabling the account again does not bring the old tokens back.
    problem(api_get(client, "/me", secret), 401, "unauthorized")
    assert tokens.for_user(session, ann) == []
    assert api_get(client, "/me", token_for(session, ann)).status_code == 200


def test_the_api_ignores_the_browser_session(browser, session, ann):
    browser.login_ok(ann)
    assert browser.get("/auth/account").status_code == 200
    problem(browser.get("/api/v1/me"), 401, "unauthorized")


def test_the_api_sets_no_session_cookie(client, session, ann):
    response = api_get(client, "/me", token_for(session, ann))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_the_token_has_its_accounts_role_and_scope(client, session, make_user, tree):
    consolidator = make_user("con", Role.CONSOLIDATOR, unit=tree["TB"])
    secret = token_for(session, consolidator)
    codes = [u["code"] for u in api_get(client, "/units", secret).get_json()["items"]]
    assert codes == ["TB", "VB1"]


# --- role checks -------------------------------------------------------------------------------


def test_role_checks_refuse_other_roles_with_forbidden(app, session, ann, make_user):
    from flask import g

    from server.api.problems import ApiError

    admin = make_user("root", Role.ADMIN)

    @require_role(Role.ADMIN)
    def admins_only():
        return "done"

    with app.test_request_context("/api/v1/anything"):
        g._login_user = ann
        with pytest.raises(ApiError) as refused:
            admins_only()
        assert (refused.value.status, refused.value.code) == (403, "forbidden")
        assert check_role(Role.SUBMITTER, Role.ADMIN).username == "ann"
        g._login_user = admin
        assert admins_only() == "done"


def test_public_marks_a_view_as_needing_no_token():
    def view():
        return None

    assert public(view) is view and view.api_public is True


# --- problem documents ----------------------------------------------------------------------


def test_problems_are_in_chinese_by_default_and_english_on_request(client):
    zh = problem(api_get(client, "/me", None), 401, "unauthorized")
    en = problem(api_get(client, "/me", None, headers={"Accept-Language": "en-GB,en;q=0.9"}),
                 401, "unauthorized")
    assert zh["type"] == en["type"] == "https://tianbao.example/problems/unauthorized"
    assert en["title"] == "Authentication required"
    assert "Bearer" in en["detail"]
    assert zh["title"] != en["title"] and re.search(r"[\u4e00-\u9fff]", zh["title"])
    assert re.search(r"[\u4e00-\u9fff]", zh["detail"])


def test_the_language_comes_from_the_request_not_the_account(client, session, ann):
    ann.locale = "en"
    session.commit()
    secret = token_for(session, ann)
    body = problem(api_get(client, "/units?under=NOPE", secret), 404, "not_found")
    assert re.search(r"[\u4e00-\u9fff]", body["title"])
    body = problem(api_get(client, "/units?under=NOPE", secret,
                           headers={"Accept-Language": "en"}), 404, "not_found")
    assert body["title"] == "Not found"


def test_unknown_api_paths_are_problems_and_web_pages_stay_html(client):
    body = problem(client.get("/api/v1/no/such/thing", headers={"Accept-Language": "en"}),
                   404, "not_found")
    assert body["type"].endswith("/not_found")
    page = client.get("/no/such/thing")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_a_wrong_method_on_an_api_path_is_a_problem_with_allow(client, session, ann):
    response = api_post(client, "/templates", token_for(session, ann))
    problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_problem_responses_carry_extras_and_headers(app):
    from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge

    from server.api.problems import ApiError, problem_for_http

    with app.test_request_context("/api/v1/x", headers={"Accept-Language": "en"}):
        response = ApiError(409, "stale_revision", current_revision=4,
                            headers={"ETag": '"4"'}).response()
        body = response.get_json()
        assert (response.status_code, response.mimetype) == (409, "application/problem+json")
        assert body["current_revision"] == 4 and body["code"] == "stale_revision"
        assert body["title"] == "Stale revision" and response.headers["ETag"] == '"4"'
        assert problem_for_http(RequestEntityTooLarge()).get_json()["code"] == "too_large"
        crash = problem_for_http(InternalServerError()).get_json()
        assert (crash["status"], crash["code"]) == (500, "server_error")
    with app.test_request_context("/api/v1/x"):
        body = ApiError(422, "invalid", "自定义", issues=[]).response().get_json()
        assert body["detail"] == "自定义" and body["issues"] == []
        assert re.search(r"[\u4e00-\u9fff]", body["title"])


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def run(app, monkeypatch):
    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(cli, list(args))

    return invoke


def test_cli_creates_a_token_printing_the_secret_once(run, client, session, ann):
    result = run("tokens", "create", "ann", "--name", "nightly")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("tb_") and "\n" not in secret
    assert "cannot be shown again" in result.stderr
    assert api_get(client, "/me", secret).get_json()["username"] == "ann"
    listed = run("tokens", "list", "ann")
    assert "nightly" in listed.output and secret[:11] in listed.output
    assert secret not in listed.output


def test_cli_revokes_by_id_or_prefix(run, client, session, ann):
    first, first_secret = new_token(session, ann, "one")
    second, second_secret = new_token(session, ann, "two")
    assert run("tokens", "revoke", str(first.id)).exit_code == 0
    revoked = run("tokens", "revoke", second.prefix)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    problem(api_get(client, "/me", first_secret), 401, "unauthorized")
    problem(api_get(client, "/me", second_secret), 401, "unauthorized")
    assert "one" not in run("tokens", "list").output
    listed = run("tokens", "list", "--all").output
    assert "one" in listed and "revoked" in listed


def test_cli_lists_every_accounts_tokens(run, session, ann, make_user, tree):
    new_token(session, ann, "for-ann")
    new_token(session, make_user("bob", unit=tree["TB"]), "for-bob")
    everyone = run("tokens", "list").output
    assert "for-ann" in everyone and "for-bob" in everyone
    assert "for-bob" not in run("tokens", "list", "ann").output


def test_cli_refuses_unknown_accounts_and_tokens(run, session, ann):
    unknown = run("tokens", "create", "nobody")
    assert unknown.exit_code == 1 and "nobody" in unknown.output
    assert run("tokens", "revoke", "999").exit_code == 1
    assert run("tokens", "revoke", "tb_nothing").exit_code == 1
    with unit_of_work(session):
        accounts.set_active(session, ann, False)
    disabled = run("tokens", "create", "ann")
    assert disabled.exit_code == 1 and "disabled" in disabled.output
    assert session.scalars(select(ApiToken)).all() == []


# --- the account page ----------------------------------------------------------------------


def test_account_page_creates_a_token_shown_once(browser, client, session, ann):
    browser.login_ok(ann)
    page = browser.get("/auth/account", headers={"Accept-Language": "en"})
    assert "API tokens" in page.get_data(as_text=True)
    created = browser.post("/auth/account/tokens", {"name": "provincial platform"},
                           token_from="/auth/account")
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    secret = re.search(r'id="new-token-secret"[^>]*value="(tb_[^"]+)"', html).group(1)
    assert "provincial platform" in html
    assert api_get(client, "/me", secret).get_json()["username"] == "ann"
    again = browser.get("/auth/account").get_data(as_text=True)
    assert secret not in again and secret[:11] in again and "provincial platform" in again


def test_account_page_shows_last_use(browser, client, session, ann):
    secret = token_for(session, ann, "sync")
    browser.login_ok(ann)
    before = browser.get("/auth/account", headers={"Accept-Language": "en"})
    assert "Never" in before.get_data(as_text=True)
    api_get(client, "/me", secret)
    after = browser.get("/auth/account", headers={"Accept-Language": "en"})
    assert "Never" not in after.get_data(as_text=True)


def test_account_page_refuses_an_overlong_name(browser, session, ann):
    browser.login_ok(ann)
    response = browser.post("/auth/account/tokens", {"name": "x" * 101},
                            token_from="/auth/account")
    assert response.status_code == 400
    assert session.scalars(select(ApiToken)).all() == []


def test_account_page_revokes_a_token(browser, client, session, ann):
    token, secret = new_token(session, ann, "old script")
    browser.login_ok(ann)
    response = browser.post(f"/auth/account/tokens/{token.id}/revoke",
                            token_from="/auth/account", follow_redirects=True)
    assert response.status_code == 200
    assert "old script" not in response.get_data(as_text=True)
    problem(api_get(client, "/me", secret), 401, "unauthorized")


def test_revoking_needs_the_csrf_token(browser, client, session, ann):
    token, secret = new_token(session, ann)
    browser.login_ok(ann)
    browser.client.post(f"/auth/account/tokens/{token.id}/revoke")
    browser.client.post("/auth/account/tokens", data={"name": "sneaky"})
    assert api_get(client, "/me", secret).status_code == 200
    assert [t.name for t in tokens.for_user(session, ann)] == [""]


def test_nobody_revokes_another_accounts_token(browser, client, session, ann, make_user, tree):
    token, secret = new_token(session, make_user("bob", unit=tree["TB"]))
    browser.login_ok(ann)
    response = browser.post(f"/auth/account/tokens/{token.id}/revoke",
                            token_from="/auth/account")
    assert response.status_code == 404
    assert api_get(client, "/me", secret).status_code == 200


def test_token_pages_need_a_sign_in(browser, session, ann):
    token, _secret = new_token(session, ann)
    for path in (f"/auth/account/tokens/{token.id}/revoke", "/auth/account/tokens"):
        response = browser.post(path, {"name": "x"}, token_from="/auth/login")
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert len(tokens.for_user(session, ann)) == 1
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked_at is None


def test_a_crash_in_the_api_is_a_problem_without_details(app, session, ann, monkeypatch):
    from server.api import account

    def broken(_user):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(account, "me_json", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = api_get(app.test_client(), "/me", token_for(session, ann),
                       headers={"Accept-Language": "en"})
    body = problem(response, 500, "server_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert body["title"] == "Server error"
