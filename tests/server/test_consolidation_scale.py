"""The consolidation of a large subtree: statements and page size that do not grow with it.

The chain of ``rollup_tree`` (CITY → CO2 → T3 → V4 and so on), with villages added
below the town T3 by direct inserts (an approved 2024Q3 report each, its
``report_values`` rows as a save writes them). T3 reports 7 hazards found itself,
approved by its county: whatever its villages add up to, a mismatch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from rollup_tree import KEY, build, send
from sqlalchemy import select
from statement_count import count_statements

from server.db import unit_of_work
from server.models import Report, Status, TemplateVersion, Unit, User
from server.services import consolidation

AFTER_Q3_DEADLINE = datetime(2024, 11, 1, 2, tzinfo=UTC)
T3_PAGE = f"/consolidation/{KEY}/T3/2024Q3"


@pytest.fixture
def world(session, make_unit, make_user):
    world = build(session, make_unit, make_user)
    send(session, world, "t3", "T3", "2024Q3", {"found": 7}, approve_by="co2-hz")
    return world


def add_villages(session, world, count: int, start: int = 0) -> None:
    """*count* villages below T3, each with an approved 2024Q3 report (found = its number)."""
    from server.services import units as unit_service

    with unit_of_work(session):
        for n in range(start, start + count):
            village = unit_service.create_unit(session, f"X{n}", f"村{n}", "village",
                                               world["units"]["T3"])
            approved(session, world, village.id, "2024Q3", {"found": n, "rectified": n // 2})


def approved(session, world, unit_id: int, period: str, values: dict) -> None:
    """An approved report of *period* inserted as a save stores it (with its values rows)."""
    from forms.applicability import applicability
    from server.services import report_values

    version = session.scalar(select(TemplateVersion).where(TemplateVersion.key == "hazards"))
    report = Report(assignment_id=world["assignment"].id, unit_id=unit_id, period=period,
                    template_version_id=version.id, status=Status.APPROVED, revision=1,
                    values=values)
    session.add(report)
    session.flush()
    report_values.save(session, report, version.definition, values,
                       applicability(version.definition, frozenset(), values))


def test_figures_and_mismatches_run_as_many_statements_for_10_villages_as_for_200(
        world, session):
    found: list[tuple] = []

    def county(fresh):
        user = fresh.get(User, world["users"]["co2-hz"].id)
        figures = consolidation.figures(fresh, user, KEY, "CO2", "2024Q3",
                                        now=AFTER_Q3_DEADLINE)
        found.append((figures.totals["found"], figures.overall.applies,
                      [(m.unit.code, m.field_key, m.reported, m.computed, m.depth)
                       for m in figures.mismatches]))

    add_villages(session, world, 10)
    small = count_statements(session, county)
    add_villages(session, world, 190, start=10)
    large = count_statements(session, county)
    # CO2 counts its town's own report (7); the town's report differs from its villages'.
    assert found == [(7, 1, [("T3", "found", 7, sum(range(10)), 1)]),
                     (7, 1, [("T3", "found", 7, sum(range(200)), 1)])]
    assert large == small


def units_listed(html: str) -> list[str]:
    section = re.search(r'<section class="card" id="units".*?</section>', html, re.S)
    assert section, "no list of units on the page"
    return re.findall(r'<li data-unit="([^"]+)"', section.group(0))


def test_the_page_of_a_large_subtree_does_not_grow_with_its_children(world, session,
                                                                     browser):
    browser.login_ok(world["users"]["t3-hz"])
    add_villages(session, world, 60)
    small = browser.get(T3_PAGE).get_data(as_text=True)
    add_villages(session, world, 240, start=60)
    response = browser.get(T3_PAGE)
    assert response.status_code == 200
    large = response.get_data(as_text=True)

    # The totals and who is in them, from the roll-up: V4 has not reported.
    assert '<strong data-count="children">61</strong>' in small
    assert '<strong data-count="children">301</strong>' in large
    assert '<strong data-count="included">300</strong>' in large
    assert '<strong data-count="missing">1</strong>' in large
    assert f"{sum(range(300)):,}" in large
    # The parts of a total load when it is opened; one page of the units is listed.
    assert f"/consolidation/{KEY}/T3/2024Q3/parts/found" in large
    first = units_listed(large)
    assert len(first) == 50 == len(units_listed(small))
    second = units_listed(browser.get(f"{T3_PAGE}?page=2").get_data(as_text=True))
    assert len(second) == 50 and not set(first) & set(second)
    assert 'href="/consolidation/' in large and "?page=7" in large  # 301 units: 7 pages
    # The town's own report differs from its villages': one mismatch, at the top.
    assert '<tr data-unit="T3" data-field="found">' in large
    # Five times the children, the same page give or take the digits of the counts.
    assert abs(len(large) - len(small)) < 1000, (len(small), len(large))


def test_a_small_subtree_still_lists_every_child_and_its_parts(world, session, browser):
    browser.login_ok(world["users"]["t3-hz"])
    add_villages(session, world, 3)
    html = browser.get(T3_PAGE).get_data(as_text=True)
    assert 'id="units"' not in html  # the full lists: not counted, late
    assert '<section class="card" id="missing"' in html
    for code in ("X0", "X1", "X2"):
        assert f'data-unit="{code}"' in html


def test_the_page_of_a_large_subtree_names_a_unit_whose_own_cumulative_figure_fell(
        world, session, browser):
    browser.login_ok(world["users"]["t3-hz"])
    add_villages(session, world, 60)
    fallen = session.scalar(select(Unit.id).where(Unit.code == "X5"))
    with unit_of_work(session):  # X5 had found 9 by 2024Q2, and reports 5 in 2024Q3
        approved(session, world, fallen, "2024Q2", {"found": 9, "rectified": 1})
    html = browser.get(T3_PAGE).get_data(as_text=True)
    falls = re.findall(r'<p class="cons-fall" data-fall="([^"]+)">(.*?)</p>', html, re.S)
    assert [code for code, _text in falls] == ["X5"]
    assert "村5" in falls[0][1] and "2024年第二季度" in falls[0][1]
