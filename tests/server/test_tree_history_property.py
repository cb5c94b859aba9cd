"""Property: with random dated moves and reporting dates, every past period's figures and
completeness equal a recomputation with the tree as it stood in that period, and a move
changes nothing of the periods that began before its day (see rollup_tree).

Each seed applies a few random changes to the villages of rollup_tree: a move to
another town from the first day of some quarter, or new start/stop dates. After each
change the towns' strict figures (children, total of approved figures) and the
completeness matrix's column totals of every period are compared with a plain model of
the tree's history kept here.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from rollup_tree import KEY, build, roll_up
from sqlalchemy import select

from forms.periods import Period
from server.db import unit_of_work
from server.models import Report, Status
from server.services import consolidation, review
from server.services import units as unit_service
from server.services.consolidation import NotConsolidating
from server.services.reporting import stored_values

PERIODS = ("2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2")
TOWNS = ("T1", "T2", "T3")
MOVABLE = ("V1", "V3", "V4")  # V2 stays in T1's group G1 (an office that does not report)
NOW = datetime(2025, 8, 1, 2, tzinfo=UTC)
STARTS = (None, date(2024, 7, 1), date(2024, 10, 1))
STOPS = (None, date(2025, 1, 1), date(2025, 4, 1))


class Model:
    """The tree's history as the test applied it: dated parents and reporting dates."""

    def __init__(self) -> None:
        self.placed = {"V1": [(None, "T1")], "V2": [(None, "T1")], "V3": [(None, "T2")],
                       "V4": [(None, "T3")]}
        self.dates: dict[str, tuple[date | None, date | None]] = dict.fromkeys(
            self.placed, (None, None))

    def town(self, village: str, day: date) -> str:
        return [town for since, town in self.placed[village] if since is None or since <= day][-1]

    def owes(self, village: str, day: date) -> bool:
        start, stop = self.dates[village]
        return (start is None or start <= day) and (stop is None or stop > day)

    def children(self, town: str, period: str) -> list[str]:
        day = Period.parse(period).start
        return sorted(v for v in self.placed if self.town(v, day) == town and self.owes(v, day))


def observed(session, world, town: str, period: str) -> tuple[list[str], object]:
    try:
        figures = consolidation.figures(session, world["users"]["city-hz"], KEY, town, period,
                                        now=NOW, carry_forward=False)
    except NotConsolidating:
        return [], None
    return sorted(c.unit.code for c in figures.children), figures.values.get("found")


def recomputed_total(session, world, codes: list[str], period: str):
    """The strict total: the sum of the approved found figures of *codes* in *period*."""
    found = [stored_values(report).get("found") for report in session.scalars(
        select(Report).where(
            Report.unit_id.in_([world["units"][c].id for c in codes]),
            Report.period == period, Report.status == Status.APPROVED))] if codes else []
    found = [f for f in found if f is not None]
    return sum(found) if found else None


def column_totals(session, world, town: str) -> dict[str, int]:
    matrix = review.completeness(session, world["users"]["city-hz"], world["assignment"],
                                 world["units"][town], review.MatrixFilters(all_periods=True),
                                 now=NOW)
    return {p: matrix.counts[p].total for p in PERIODS if p in matrix.counts}


def snapshot(session, world) -> dict:
    session.expire_all()
    out = {}
    for town in TOWNS:
        totals = column_totals(session, world, town)
        for period in PERIODS:
            out[(town, period)] = (*observed(session, world, town, period),
                                   totals.get(period, 0))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_past_figures_follow_the_tree_of_their_period_through_random_changes(
        seed, session, make_unit, make_user):
    world = build(session, make_unit, make_user)
    roll_up(session, world)
    model, chance = Model(), random.Random(seed)
    for _step in range(3):
        before = snapshot(session, world)
        village = chance.choice(MOVABLE)
        if chance.random() < 0.6:
            since = model.placed[village][-1][0]
            days = [Period.parse(p).start for p in PERIODS
                    if since is None or Period.parse(p).start >= since]
            day = chance.choice(days)
            town = chance.choice([t for t in TOWNS if t != model.town(village, date.max)])
            with unit_of_work(session):
                unit_service.move_unit(session, world["units"][village], world["units"][town],
                                       day)
            model.placed[village].append((day, town))
            moved_on = day
        else:
            start = chance.choice(STARTS)
            stop = chance.choice([s for s in STOPS if s is None or start is None or s > start])
            with unit_of_work(session):
                unit_service.set_reporting_dates(session, world["units"][village], start, stop)
            model.dates[village] = (start, stop)
            moved_on = None
        after = snapshot(session, world)
        for (town, period), (children, total, owed) in after.items():
            want = model.children(town, period)
            assert children == want, (seed, town, period)
            assert total == recomputed_total(session, world, want, period), (seed, town, period)
            assert owed == len(want), (seed, town, period)
            if moved_on is not None and Period.parse(period).start < moved_on:
                assert (children, total, owed) == before[(town, period)], (seed, town, period)
