"""Like-for-like roll-ups: a town whose villages did not all report this quarter.

In 2024Q2 the villages V1 and V2 of the town T1 (see rollup_tree) found 2 and 10
hazards and T1 reported 12, all approved. In 2024Q3 only V1 reports (3). The town's
cumulative total carries V2's 10 forward, its 本期新增 compares the same two villages
(+1, not 3 − 12), and its own report, prefilled from them, does not trip its cumulative
check because fewer villages reported (the issue's 30 against 121).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from api_helpers import api_get, token_for
from rollup_tree import HEADER, KEY, Q2_ON_TIME, Q3_ON_TIME, build, save, send

from server.db import unit_of_work
from server.services import consolidation, reporting
from server.services.starting_values import starting_values

AFTER_Q3_DEADLINE = datetime(2024, 11, 1, 2, tzinfo=UTC)


@pytest.fixture
def town(session, make_unit, make_user):
    world = build(session, make_unit, make_user)
    q2 = {"at": Q2_ON_TIME}
    send(session, world, "v1", "V1", "2024Q2", {"found": 2}, approve_by="t1-hz", **q2)
    send(session, world, "v2", "V2", "2024Q2", {"found": 10}, approve_by="t1-hz", **q2)
    send(session, world, "t1", "T1", "2024Q2", {"found": 12}, approve_by="co1-hz", **q2)
    return world


def plain_ngettext(singular: str, plural: str, num: int) -> str:
    """An untranslated ngettext: the msgids themselves, singular for one."""
    return (singular if num == 1 else plural) % {"num": num}


def figures(session, world, **options):
    options.setdefault("now", AFTER_Q3_DEADLINE)
    return consolidation.figures(session, world["users"]["t1-hz"], KEY, "T1", "2024Q3",
                                 **options)


def test_a_missing_village_is_carried_forward_and_the_increment_is_like_for_like(town,
                                                                                 session):
    send(session, town, "v1", "V1", "2024Q3", {"found": 3}, approve_by="t1-hz")
    both = figures(session, town)
    assert both.values["found"] == 13
    assert [(p.unit_code, p.value, p.carried_from)
            for p in both.result.provenance["found"]] == sorted(
        [("V1", 3, None), ("V2", 10, "2024Q2")],
        key=lambda part: town["units"][part[0]].path)
    assert both.previous_values["found"] == 12 and both.increments["found"] == 1
    cov = both.coverage("found")
    assert (cov.applies, cov.reported, cov.carried, cov.blank, cov.never) == (2, 1, 1, 0, 0)
    assert both.coverage_sentence("found", plain_ngettext) == (
        "2 units:1 counted this period，1 carried forward，0 never reported")
    assert both.falls == []

    strict = figures(session, town, carry_forward=False)
    assert strict.values["found"] == 3
    # The same village both times: V1 went from 2 to 3, not the town from 12 to 3.
    assert strict.previous_values["found"] == 2 and strict.increments["found"] == 1
    assert strict.coverage_sentence("found", plain_ngettext) == (
        "2 units:1 counted this period，1 not counted")


def test_a_real_fall_is_flagged_as_one(town, session):
    users = town["users"]
    view = reporting.load(session, users["v1"], KEY, "V1", "2024Q3")
    with unit_of_work(session):
        reporting.save(session, users["v1"], view, {**HEADER, "found": 1},
                       explanations={"found": "上期重复统计一处"})
        reporting.submit(session, users["v1"], view, now=Q3_ON_TIME)
        reporting.approve(session, users["t1-hz"],
                          reporting.load(session, users["t1-hz"], KEY, "V1", "2024Q3"),
                          acknowledged=True)
    found = figures(session, town)
    assert [(f.unit_code, f.field_key, f.value, f.previous, f.previous_period)
            for f in found.falls] == [("V1", "found", 1, 2, "2024Q2")]
    assert found.increments["found"] == -1  # 1 + 10 against 2 + 10: V1's own correction


def test_the_towns_own_report_starts_from_the_carried_total_and_passes_its_checks(
        town, session):
    send(session, town, "v1", "V1", "2024Q3", {"found": 3}, approve_by="t1-hz")
    user = town["users"]["t1"]
    view = reporting.load(session, user, KEY, "T1", "2024Q3")
    start = starting_values(session, user, view)
    assert start.values["found"] == 13  # not 3, below its own 12 of last quarter
    assert (start.prefill.included, start.prefill.carried, start.prefill.children) == (1, 1, 2)
    assert "1 carried forward" in start.prefill.coverage or "1 个沿用上期" in \
        start.prefill.coverage
    saved = save(session, town, "t1", "T1", "2024Q3", {"found": start.values["found"]})
    codes = {issue.code for issue in reporting.issues_for(
        reporting.load(session, user, KEY, "T1", saved.period))}
    assert "cumulative_decreased" not in codes and "differs_from_children" not in codes


def test_the_review_page_and_the_api_say_who_is_in_each_figure(town, session, browser,
                                                               client):
    send(session, town, "v1", "V1", "2024Q3", {"found": 3}, approve_by="t1-hz")
    send(session, town, "t1", "T1", "2024Q3", {"found": 13})
    browser.login_ok(town["users"]["co1-hz"])
    page = browser.get(f"/review/{KEY}/T1/2024Q3", headers={"Accept-Language": "zh-CN"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2 个单位：1 个本期已计入，1 个沿用上期，0 个从未报送" in html

    token = token_for(session, town["users"]["t1-hz"])
    base = f"/consolidations/{KEY}/T1/2024Q3"
    body = api_get(client, base, token, headers={"Accept-Language": "zh-CN"}).get_json()
    assert body["carry_forward"] is True and body["values"]["found"] == 13
    assert body["coverage"]["found"]["text"] == (
        "2 个单位：1 个本期已计入，1 个沿用上期，0 个从未报送")
    assert body["overall"]["carried"] == 1
    assert {c["unit"]["code"]: c["carried_from"] for c in body["children"]} == {
        "V1": None, "V2": "2024Q2"}
    strict = api_get(client, base + "?carry_forward=false", token).get_json()
    assert strict["carry_forward"] is False and strict["values"]["found"] == 3
    assert api_get(client, base + "?carry_forward=maybe", token).status_code == 400


@pytest.mark.parametrize(("locale", "expected"), [
    ("en", "1 unit: 1 counted this period, 0 carried forward, 0 never reported, "
           "does not apply to 1"),
    ("zh_CN", "1 个单位：1 个本期已计入，0 个沿用上期，0 个从未报送，1 个不适用"),
])
def test_coverage_counts_one_unit_in_the_singular(app, locale, expected):
    from flask_babel import force_locale, ngettext

    from forms.consolidation import Counts

    with app.test_request_context(), force_locale(locale):
        one = Counts(applies=1, reported=1, off=1).sentence(ngettext, carrying=True,
                                                             locale=locale)
        two = Counts(applies=2, reported=2).sentence(ngettext, carrying=False, locale=locale)
    assert one == expected
    assert two == ("2 units: 2 counted this period, 0 not counted" if locale == "en"
                   else "2 个单位：2 个本期已计入，0 个未计入")
