"""``/api/v1/me``, ``/units`` and ``/templates``: answers, scope, pages and refusals."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from api_helpers import api_get, api_post, problem, token_for
from hazards import hazards_definition

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role
from server.services import templates as template_service
from server.services.units import set_tags


@pytest.fixture
def people(session, make_user, tree):
    return {
        "sub": make_user("sub-va1", unit=tree["VA1"]),
        "con": make_user("con-ta", Role.CONSOLIDATOR, unit=tree["TA"]),
        "admin": make_user("root", Role.ADMIN),
    }


@pytest.fixture
def token(session, people):
    return {who: token_for(session, user) for who, user in people.items()}


def publish(session, **changes):
    document = {**hazards_definition(), **changes}
    with unit_of_work(session):
        return template_service.publish(session, Definition.model_validate(document),
                                        origin="upload")


def links(response) -> dict[str, dict[str, list[str]]]:
    """rel → query of the link, from an RFC 8288 Link header."""
    found = {}
    for part in response.headers.get("Link", "").split(","):
        target, _, rel = part.partition(";")
        url = target.strip().strip("<>")
        found[rel.strip().removeprefix('rel="').rstrip('"')] = parse_qs(urlsplit(url).query)
    return found


# --- /me -------------------------------------------------------------------------------------


def test_me_describes_the_tokens_account(client, session, people, token, tree):
    body = api_get(client, "/me", token["con"]).get_json()
    assert body == {"username": "con-ta", "name": None, "role": "consolidator",
                    "unit": {"code": "TA", "name": tree["TA"].name}, "locale": "zh_CN"}
    admin = api_get(client, "/me", token["admin"]).get_json()
    assert admin["role"] == "admin" and admin["unit"] is None


def test_me_follows_the_accounts_saved_language(client, session, people, token):
    people["sub"].locale = "en"
    session.commit()
    assert api_get(client, "/me", token["sub"]).get_json()["locale"] == "en"


def test_me_without_a_token_is_unauthorized(client):
    problem(api_get(client, "/me", None), 401, "unauthorized")


def test_me_refuses_other_methods_as_a_problem(client, token):
    response = api_post(client, "/me", token["sub"])
    problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


# --- /units ----------------------------------------------------------------------------------


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["code"] for item in response.get_json()["items"]]


def test_units_are_those_in_scope_in_tree_order(client, token):
    assert codes(api_get(client, "/units", token["sub"])) == ["VA1"]
    assert codes(api_get(client, "/units", token["con"])) == ["TA", "VA1", "VA2"]
    assert codes(api_get(client, "/units", token["admin"])) \
        == ["CY", "TA", "VA1", "VA2", "TB", "VB1"]


def test_a_nul_character_in_a_filter_matches_no_unit_rather_than_failing(client, token):
    # PostgreSQL refuses NUL in text: the answer must still be the documented one.
    assert codes(api_get(client, "/units?tag=%00", token["admin"])) == []
    assert api_get(client, "/units?under=TA%00", token["admin"]).status_code == 404


def test_unit_items_carry_parent_level_and_contacts(client, session, token, tree):
    tree["VA1"].contact_name = "李四"
    tree["VA1"].contact_phone = "0571-1234567"
    session.commit()
    items = api_get(client, "/units", token["con"]).get_json()["items"]
    assert items[0] == {"code": "TA", "name": tree["TA"].name, "kind": "town", "parent": "CY",
                        "level": 1, "contact_name": None, "contact_phone": None,
                        "active": True, "tags": []}
    assert items[1]["parent"] == "TA" and items[1]["level"] == 2
    assert (items[1]["contact_name"], items[1]["contact_phone"]) == ("李四", "0571-1234567")


def test_units_carry_their_tags_and_filter_by_one(client, session, token, tree):
    set_tags(session, tree["VA1"], "有限空间、危化")
    set_tags(session, tree["VA2"], "粉尘涉爆")
    session.commit()
    items = api_get(client, "/units", token["con"]).get_json()["items"]
    assert {item["code"]: item["tags"] for item in items} == {
        "TA": [], "VA1": ["有限空间", "危化"], "VA2": ["粉尘涉爆"]}
    assert codes(api_get(client, "/units?tag=危化", token["admin"])) == ["VA1"]
    assert codes(api_get(client, "/units?tag=危化", token["sub"])) == ["VA1"]
    assert codes(api_get(client, "/units?tag=粉尘涉爆", token["sub"])) == []  # out of scope


def test_units_under_a_unit_limit_the_list_to_its_subtree(client, token):
    assert codes(api_get(client, "/units?under=TB", token["admin"])) == ["TB", "VB1"]
    assert codes(api_get(client, "/units?under=VA2", token["con"])) == ["VA2"]


def test_units_under_a_unit_out_of_scope_is_not_found(client, token):
    body = problem(api_get(client, "/units?under=TB", token["con"]), 404, "not_found")
    assert "TB" not in body["detail"]
    problem(api_get(client, "/units?under=TA", token["sub"]), 404, "not_found")
    problem(api_get(client, "/units?under=NOPE", token["admin"]), 404, "not_found")


def test_units_come_in_pages_with_links(client, token):
    first = api_get(client, "/units?per_page=4", token["admin"])
    body = first.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 4, 6)
    assert [i["code"] for i in body["items"]] == ["CY", "TA", "VA1", "VA2"]
    rels = links(first)
    assert rels["next"]["page"] == ["2"] and rels["next"]["per_page"] == ["4"]
    assert rels["last"]["page"] == ["2"]
    assert "prev" not in rels

    second = api_get(client, "/units?per_page=4&page=2", token["admin"])
    assert codes(second) == ["TB", "VB1"]
    assert "next" not in links(second)
    assert links(second)["prev"]["page"] == ["1"]


def test_page_links_keep_the_filters(client, token):
    response = api_get(client, "/units?under=TA&per_page=1", token["con"])
    assert links(response)["next"]["under"] == ["TA"]


def test_a_page_past_the_end_is_empty(client, token):
    body = api_get(client, "/units?page=9", token["admin"]).get_json()
    assert body["items"] == [] and body["total"] == 6


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=x", "page=1.5", "per_page=0",
                                   "per_page=501", "per_page=ten"])
def test_malformed_pages_are_bad_requests(client, token, query):
    body = problem(api_get(client, f"/units?{query}", token["admin"],
                           headers={"Accept-Language": "en"}), 400, "bad_request")
    assert "page" in body["detail"]


def test_the_largest_page_is_allowed(client, token):
    assert api_get(client, "/units?per_page=500", token["admin"]).get_json()["per_page"] == 500


# --- /templates ------------------------------------------------------------------------------


def test_templates_list_the_latest_version_of_each(client, session, token):
    publish(session)
    publish(session, title="隐患排查情况表（修订）")
    publish(session, key="other", title="其他")
    response = api_get(client, "/templates", token["sub"])
    body = response.get_json()
    assert body["total"] == 2
    hazards, other = body["items"]
    assert (hazards["key"], hazards["version"], hazards["title"]) \
        == ("hazards", 2, "隐患排查情况表（修订）")
    assert hazards["frequency"] == "quarterly"
    assert hazards["published_at"].startswith("20")
    assert other["key"] == "other"


def test_templates_come_in_pages(client, session, token):
    publish(session)
    publish(session, key="other", title="其他")
    response = api_get(client, "/templates?per_page=1&page=2", token["sub"])
    assert [i["key"] for i in response.get_json()["items"]] == ["other"]
    assert links(response)["prev"]["page"] == ["1"]
    problem(api_get(client, "/templates?per_page=0", token["sub"]), 400, "bad_request")


def test_a_template_shows_its_versions_and_latest_definition(client, session, token):
    publish(session)
    publish(session, title="修订")
    body = api_get(client, "/templates/hazards", token["con"]).get_json()
    assert body["version"] == 2 and body["versions"] == [1, 2]
    assert body["definition"]["title"] == "修订"
    assert body["definition"]["version"] == 2
    assert Definition.model_validate(body["definition"]).key == "hazards"


def test_a_template_version_is_its_definition(client, session, token):
    publish(session)
    publish(session, title="修订")
    body = api_get(client, "/templates/hazards/versions/1", token["sub"]).get_json()
    assert (body["key"], body["version"]) == ("hazards", 1)
    assert body["definition"]["title"] == "隐患排查情况表"
    assert body["definition"]["schedule"]["frequency"] == "quarterly"


def test_unknown_templates_and_versions_are_not_found(client, session, token):
    publish(session)
    problem(api_get(client, "/templates/nope", token["sub"]), 404, "not_found")
    problem(api_get(client, "/templates/hazards/versions/7", token["sub"]), 404, "not_found")
    problem(api_get(client, "/templates/hazards/versions/x", token["sub"]), 404, "not_found")


def test_templates_need_a_token(client, session):
    publish(session)
    problem(api_get(client, "/templates", None), 401, "unauthorized")
    problem(api_get(client, "/templates/hazards", "tb_wrong-token-123456"), 401, "unauthorized")
