"""The key indicators over the periods, against their targets, on the dashboard's
targets page: the series are the town's consolidated figures of each period, recomputed
here from the villages' reports, and the sentence and status are the targets' own."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, datetime

import openpyxl
from sqlalchemy import select
from test_targets_pages import DEFINITION, LAST_MINUTE, clock, world  # noqa: F401  (fixtures)

from forms.definition import Definition, TargetScope
from forms.periods import SHANGHAI, Period
from forms.targets import progress_all
from forms.values import loads_values
from server.models import Report
from server.services import dashboard as dashboard_service

NOW = datetime(2024, 12, 31, 15, 59, tzinfo=UTC)  # the clock fixture's time
# What VA1 and VA2 reported (test_targets_pages.world), summed for the town.
POSTS = {"2024Q2": 1, "2024Q3": 2, "2024Q4": 3}
CERTIFIED = {"2024Q2": (6 + 4) / (10 + 4), "2024Q3": (8 + 4) / 14, "2024Q4": (9 + 4) / 14}


def test_the_town_sees_each_target_over_the_periods(browser, world, monkeypatch):  # noqa: F811
    monkeypatch.setattr(dashboard_service, "utcnow", lambda: NOW)
    browser.login_ok(world["ta"])
    page = browser.get("/review/dashboard?assignment=goals").get_data(as_text=True)
    link = re.search(r'data-link="targets" href="([^"]+)"', page).group(1)
    page = browser.get(link.replace("&amp;", "&")).get_data(as_text=True)
    sections = dict(re.findall(r'<section class="dashboard-section" data-field="(\w+)"'
                               r'(.*?)</section>', page, re.S))
    assert set(sections) >= {"posts", "certified"}
    posts = dict(re.findall(r'<td data-period="(\w+)">([^<]+)</td>', sections["posts"]))
    assert {p: int(v) for p, v in posts.items() if p in POSTS} == POSTS
    certified = dict(re.findall(r'<td data-period="(\w+)">([^<]+)</td>',
                                sections["certified"]))
    for period, share in CERTIFIED.items():
        assert certified[period] == f"{share * 100:.1f}%"
    # The target line is drawn and labelled with the target and its deadline.
    assert 'class="target"' in sections["posts"] and "4" in sections["posts"]
    assert "<svg" in sections["certified"] and 'data-status="' in page


def test_a_unit_outside_the_scope_gets_nothing(browser, world, make_user, tree):  # noqa: F811
    browser.login_ok(make_user("tb-hz", role="consolidator", unit=tree["TB"]))
    response = browser.get("/review/dashboard/targets?assignment=goals&unit=TA")
    assert response.status_code == 404


def plain_statuses(session, assignment, unit) -> Counter:
    """A village's targets judged straight from its report rows (the targets set for
    every unit): how many targets stand in each status."""
    definition = Definition.model_validate(DEFINITION)
    series = [(Period.parse(r.period), loads_values(definition, r.values))
              for r in session.scalars(select(Report).where(
                  Report.assignment_id == assignment.id, Report.unit_id == unit.id))]
    day = LAST_MINUTE.astimezone(SHANGHAI).date()
    return Counter(str(p.status) for p in progress_all(
        definition, series, day, scopes=[TargetScope.UNIT],
        opens=Period.parse(assignment.first_period).start))


def test_the_children_are_ranked_by_target_progress(browser, session, world, tree,  # noqa: F811
                                                    monkeypatch):
    monkeypatch.setattr(dashboard_service, "utcnow", lambda: NOW)
    expected = {code: plain_statuses(session, world["assignment"], tree[code])
                for code in ("VA1", "VA2")}
    assert expected["VA1"] != expected["VA2"]  # the villages stand differently
    browser.login_ok(world["ta"])
    page = browser.get("/review/dashboard?assignment=goals", headers={
        "Accept-Language": "en"}).get_data(as_text=True)
    ranking = re.search(r'data-table="ranking">(.*?)</table>', page, re.S).group(1)
    shown, ranks = {}, {}
    for code, row in re.findall(r'<tr data-child="(\w+)">(.*?)</tr>', ranking, re.S):
        cell = re.search(r'data-measure="targets"[^>]*>(.*?)</td>', row, re.S).group(1)
        shown[code] = Counter({s: int(n) for s, n in re.findall(
            r'data-status="(\w+)">[^<]*? (\d+)</span>', cell)})
        ranks[code] = int(re.search(r'data-measure="target-rank">(\d+)<', row).group(1))
    assert shown == expected

    def key(c):
        return (c["missed"], c["at_risk"], -(c["met"] + c["on_track"]), c["no_data"])
    best, worst = sorted(expected, key=lambda code: key(expected[code]))
    assert ranks[best] == 1 and ranks[worst] == (1 if key(expected[best]) ==
                                                 key(expected[worst]) else 2)

    # The briefing's ranking carries the same words.
    xlsx = browser.get("/review/dashboard/briefing.xlsx?assignment=goals&unit=TA"
                       "&period=2024Q4", headers={"Accept-Language": "en"})
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(
        values_only=True))
    header = next(r for r in rows if r and r[0] == "Rank")
    assert header[8] == "Targets"
    names = {tree[code].name: code for code in expected}
    for row in rows:
        if row and row[1] in names:
            words = dict(re.findall(r"([a-z ]+?) (\d+)(?:, |$)", row[8]))
            labels = {"met": "met", "on track": "on_track", "at risk": "at_risk",
                      "missed": "missed", "no report yet": "no_data"}
            assert Counter({labels[w.strip()]: int(n) for w, n in words.items()}) == \
                expected[names[row[1]]]
