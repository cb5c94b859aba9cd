"""The key indicators over the periods, against their targets, on the dashboard's
targets page: the series are the town's consolidated figures of each period, recomputed
here from the villages' reports, and the sentence and status are the targets' own."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from test_targets_pages import clock, world  # noqa: F401  (fixtures)

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
