"""The consolidation service: children, figures, lateness, versions, scope (see rollup_tree)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rollup_tree import KEY, Q3_ON_TIME, build, ordered, roll_up, send
from statement_count import count_statements

from forms.consolidation import format_list
from server.models import Status
from server.services import consolidation, reporting, subtree
from server.services.consolidation import NotConsolidating
from server.services.errors import NotVisible

AFTER_Q3_DEADLINE = datetime(2024, 11, 1, 2, tzinfo=UTC)


@pytest.fixture
def world(session, make_unit, make_user):
    return build(session, make_unit, make_user)


@pytest.fixture
def rolled(world, session):
    roll_up(session, world)
    return world


def figures_of(session, world, who: str, unit: str, period: str = "2024Q3", **options):
    options.setdefault("now", AFTER_Q3_DEADLINE)
    return consolidation.figures(session, world["users"][who], KEY, unit, period, **options)


def codes(units) -> list[str]:
    return [u.code for u in units]


def child(figures, code: str):
    return next(c for c in figures.children if c.unit.code == code)


# -- the tree ----------------------------------------------------------------------------------


def test_children_are_the_nearest_reporting_units_below(world, session):
    units, assignment = world["units"], world["assignment"]
    children = {code: codes(subtree.child_units(session, assignment, units[code]))
                for code in ("CITY", "CO1", "D1", "T1", "G1", "T2", "V1")}
    assert children == {
        "CITY": ordered(world, "CO1", "CO2"),
        "CO1": ordered(world, "T1", "T2"),  # T1 through the district, which does not report
        "D1": ["T1"],
        "T1": ordered(world, "V1", "V2"),  # V2 through the group, which does not report
        "G1": ["V2"],
        "T2": ["V3"],
        "V1": [],
    }


def test_the_units_an_account_consolidates(world, session):
    users, assignment = world["users"], world["assignment"]
    found = consolidation.consolidating_units(session, users["city-hz"], assignment)
    assert set(codes(found)) == {"CITY", "CO1", "D1", "T1", "G1", "T2", "CO2", "T3"}
    assert [u.path for u in found] == sorted(u.path for u in found)
    assert codes(consolidation.consolidating_units(session, users["t1-hz"], assignment)) == \
        ["T1", "G1"]
    assert consolidation.consolidating_units(session, users["v1"], assignment) == []


# -- the figures -------------------------------------------------------------------------------


def test_a_town_sums_its_approved_villages_across_template_versions(rolled, session):
    figures = figures_of(session, rolled, "t1-hz", "T1")
    assert figures.template.version == 2
    assert [(c.unit.code, c.status, c.included) for c in figures.children] == [
        (code, Status.APPROVED, True) for code in ordered(rolled, "V1", "V2")]
    assert figures.values["found"] == 8
    assert figures.values["rectified"] == 3
    # V2 reported on version 1, which has no posts: only V1's figure counts, V2 is named.
    assert figures.values["posts"] == 2
    assert figures.result.missing["posts"] == ["V2"]
    found = {"V1": 5, "V2": 3}
    assert [(p.unit_code, p.value) for p in figures.result.provenance["found"]] == [
        (code, found[code]) for code in ordered(rolled, "V1", "V2")]
    texts = {"V1": "夜查两次", "V2": "整改了消防通道"}
    in_order = [(f"Unit {code}", texts[code]) for code in ordered(rolled, "V1", "V2")]
    assert figures.result.lists["measures"] == in_order
    assert figures.values["measures"] == "\n".join(f"{name}：{text}" for name, text in in_order)


def test_cumulative_fields_have_their_increment_over_the_previous_period(rolled, session):
    town = figures_of(session, rolled, "t1-hz", "T1")
    assert town.previous_period == "2024Q2"
    assert town.previous_values["found"] == 3  # V1 2 + V2 1
    assert town.increments["found"] == 5
    assert town.increments["posts"] == 2  # nothing before: all of it is new
    assert "rectified" not in town.increments  # not cumulative
    city = figures_of(session, rolled, "city-hz", "CITY")
    assert city.previous_values["found"] == 4 and city.values["found"] == 14
    assert city.increments["found"] == 10
    first = figures_of(session, rolled, "t1-hz", "T1", "2024Q2")
    assert first.previous_period is None and first.previous_values == {}
    assert first.increments["found"] == 3


def test_each_level_sums_its_childrens_own_reports(rolled, session):
    county = figures_of(session, rolled, "co1-hz", "CO1")
    assert codes(c.unit for c in county.children) == ordered(rolled, "T1", "T2")
    assert all(c.consolidates for c in county.children)
    # The towns' own reports count, not their villages: T1 said 10 where its villages say 8.
    assert county.values["found"] == 14
    found = {"T1": 10, "T2": 4}
    assert [(p.unit_code, p.value) for p in county.result.provenance["found"]] == [
        (code, found[code]) for code in ordered(rolled, "T1", "T2")]
    city = figures_of(session, rolled, "city-hz", "CITY")
    assert codes(c.unit for c in city.children) == ordered(rolled, "CO1", "CO2")
    assert city.values["found"] == 14
    assert [(p.unit_code, p.value) for p in city.result.provenance["found"]] == [("CO1", 14)]


def test_a_non_reporting_unit_consolidates_through_to_the_reports_below(rolled, session):
    district = figures_of(session, rolled, "d1-hz", "D1")
    assert district.own is None
    assert codes(c.unit for c in district.children) == ["T1"]
    assert district.values["found"] == 10


def test_the_switch_counts_submitted_reports_too(rolled, session):
    approved = figures_of(session, rolled, "t2-hz", "T2")
    assert [(c.unit.code, c.status, c.included) for c in approved.children] == [
        ("V3", Status.SUBMITTED, False)]
    # V3's cumulative figure is carried forward from its approved report of 2024Q2.
    assert approved.values["found"] == 1
    assert [(p.unit_code, p.value, p.carried_from) for p in
            approved.result.provenance["found"]] == [("V3", 1, "2024Q2")]
    assert [c.carried_from for c in approved.children] == ["2024Q2"]
    assert codes(c.unit for c in approved.missing) == ["V3"]
    strict = figures_of(session, rolled, "t2-hz", "T2", carry_forward=False)
    assert strict.values["found"] is None and strict.carried == []
    both = figures_of(session, rolled, "t2-hz", "T2", include_submitted=True)
    assert both.include_submitted
    assert both.values["found"] == 4 and both.values["posts"] == 1
    assert both.missing == []


def test_missing_and_late_children(rolled, session):
    city = figures_of(session, rolled, "city-hz", "CITY")
    assert codes(c.unit for c in city.missing) == ["CO2"]
    assert codes(c.unit for c in city.late_children) == ["CO2"]  # overdue, nothing sent
    assert child(city, "CO2").status == Status.NOT_STARTED and child(city, "CO2").report is None
    town = figures_of(session, rolled, "t2-hz", "T2")
    assert codes(c.unit for c in town.late_children) == ["V3"]  # submitted after the deadline
    before_deadline = figures_of(session, rolled, "city-hz", "CITY", now=Q3_ON_TIME)
    assert before_deadline.late_children == []
    assert codes(c.unit for c in before_deadline.missing) == ["CO2"]


def test_an_override_at_the_town_is_flagged_at_every_level_above(rolled, session):
    def flagged(figures):
        return [(m.unit.code, m.field_key, m.reported, m.computed, m.difference, m.depth)
                for m in figures.mismatches]

    assert flagged(figures_of(session, rolled, "t1-hz", "T1")) == [
        ("T1", "found", 10, 8, 2, 0)]
    # T2 reported its village's figure still awaiting approval: what counts below it is
    # V3's approved figure of 2024Q2, carried forward.
    assert flagged(figures_of(session, rolled, "co1-hz", "CO1")) == [
        ("T1", "found", 10, 8, 2, 1), ("T2", "found", 4, 1, 3, 1)]
    assert flagged(figures_of(session, rolled, "city-hz", "CITY")) == [
        ("T1", "found", 10, 8, 2, 2), ("T2", "found", 4, 1, 3, 2)]
    assert flagged(figures_of(session, rolled, "co1-hz", "CO1", carry_forward=False)) == [
        ("T1", "found", 10, 8, 2, 1)]
    # The district does not report: T1 is its child, one level down.
    assert flagged(figures_of(session, rolled, "d1-hz", "D1")) == [
        ("T1", "found", 10, 8, 2, 1)]


def test_an_office_report_is_checked_only_when_it_counts(rolled, session):
    send(session, rolled, "v4", "V4", "2024Q3", {"found": 2}, approve_by="t3-hz")
    send(session, rolled, "t3", "T3", "2024Q3", {"found": 7})  # submitted, not approved
    approved_only = figures_of(session, rolled, "city-hz", "CITY")
    assert [m.unit.code for m in approved_only.mismatches] == ["T1", "T2"]
    counted = figures_of(session, rolled, "city-hz", "CITY", include_submitted=True)
    t3 = next(m for m in counted.mismatches if m.unit.code == "T3")
    assert (t3.field_key, t3.reported, t3.computed, t3.difference, t3.depth) == (
        "found", 7, 2, 5, 2)
    assert sorted(m.unit.code for m in counted.mismatches) == ["T1", "T3"]
    assert sorted(m.unit.code for m in figures_of(session, rolled, "city-hz", "CITY",
                                                  include_submitted=True,
                                                  carry_forward=False).mismatches) == [
        "T1", "T3"]


def test_the_office_report_of_the_unit_itself_is_compared_even_as_a_draft(rolled, session):
    from rollup_tree import save

    save(session, rolled, "city", "CITY", "2024Q3", {"found": 20})
    city = figures_of(session, rolled, "city-hz", "CITY")
    assert city.own is not None and city.own.values["found"] == 20
    assert [(m.unit.code, m.difference, m.depth) for m in city.mismatches] == [
        ("CITY", 6, 0), ("T1", 2, 2), ("T2", 3, 2)]


def test_scope_and_units_that_consolidate_nothing(rolled, session):
    with pytest.raises(NotVisible):
        figures_of(session, rolled, "t2-hz", "T1")  # another town
    with pytest.raises(NotVisible):
        figures_of(session, rolled, "co2-hz", "CO1")
    with pytest.raises(NotVisible):
        figures_of(session, rolled, "v1", "T1")
    with pytest.raises(NotVisible):  # the town's submitter files its report, prefilled, only
        figures_of(session, rolled, "t1", "T1")
    with pytest.raises(NotConsolidating):
        figures_of(session, rolled, "t1-hz", "V1")
    with pytest.raises(NotVisible):
        figures_of(session, rolled, "t1-hz", "T1", "2023Q4")
    with pytest.raises(NotVisible):
        consolidation.figures(session, rolled["users"]["boss"], "nope", "T1", "2024Q3")
    assert figures_of(session, rolled, "boss", "T1").values["found"] == 8


# -- the office's own report -------------------------------------------------------------------


def test_prefill_values_take_numbers_lists_and_leave_the_header(rolled, session):
    figures = figures_of(session, rolled, "t1-hz", "T1")
    values = consolidation.prefill_values(figures)
    texts = {"V1": "夜查两次", "V2": "整改了消防通道"}
    assert values == {"found": 8, "rectified": 3, "posts": 2,
                      "measures": format_list([(f"Unit {code}", texts[code])
                                               for code in ordered(rolled, "V1", "V2")])}


def test_children_of_a_view_are_the_approved_reports_just_below(rolled, session):
    users = rolled["users"]
    county = reporting.load(session, users["co1"], KEY, "CO1", "2024Q3")
    children = reporting.children_of_view(session, county)
    found = {"T1": 10, "T2": 4}
    assert [(c.unit_code, c.values["found"], c.version) for c in children] == [
        (code, found[code], 2) for code in ordered(rolled, "T1", "T2")]
    town = reporting.load(session, users["t2"], KEY, "T2", "2024Q3")
    # V3 is not approved: its approved figure of 2024Q2 is carried forward.
    assert [(c.unit_code, c.values["found"], c.carried_from)
            for c in reporting.children_of_view(session, town)] == [("V3", 1, "2024Q2")]
    village = reporting.load(session, users["v1"], KEY, "V1", "2024Q3")
    assert reporting.children_of_view(session, village) is None


def test_the_office_report_is_checked_against_its_approved_children(rolled, session):
    view = reporting.load(session, rolled["users"]["t1"], KEY, "T1", "2024Q3")
    issues = reporting.issues_for(view)
    flagged = [(i.field, i.code, i.params["value"], i.params["expected"]) for i in issues]
    assert flagged == [("found", "differs_from_children", "10", "8")]
    county = reporting.load(session, rolled["users"]["co1"], KEY, "CO1", "2024Q3")
    assert [i for i in reporting.issues_for(county) if i.code == "differs_from_children"] == []


# -- size ----------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_subtree(rolled, session, make_unit,
                                                              make_user):
    def county(code: str, who: str):
        def call(fresh):
            user = fresh.get(type(rolled["users"][who]), rolled["users"][who].id)
            consolidation.figures(fresh, user, KEY, code, "2024Q3", now=AFTER_Q3_DEADLINE)
        return call

    small = count_statements(session, county("CO2", "co2-hz"))
    for n in range(40):
        village = make_unit(f"W{n}", rolled["units"]["T3"], kind="village")
        rolled["users"][f"w{n}"] = make_user(f"w{n}", unit=village)
        send(session, rolled, f"w{n}", f"W{n}", "2024Q3", {"found": n}, approve_by="t3-hz")
    assert figures_of(session, rolled, "co2-hz", "T3").values["found"] == sum(range(40))
    assert count_statements(session, county("CO2", "co2-hz")) == small
    # Reports of both template versions below CO1 need no more statements either.
    assert count_statements(session, county("CO1", "co1-hz")) == small

