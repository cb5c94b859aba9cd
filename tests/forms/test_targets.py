"""Targets of every kind and phases, judged against dates in Asia/Shanghai."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from forms.definition import Definition, Phase
from forms.periods import Period
from forms.targets import TargetStatus as S
from forms.targets import (
    deadline_label,
    judged_keys,
    needs_earlier,
    progress,
    summary,
    today_in_shanghai,
    window_counts,
    windows,
)

D = dt.date


def definition(fields, *, frequency="quarterly", first="2024Q2", last="2026Q4", **extra):
    due = ({"rule": "after_end", "months": 1, "day": 5} if frequency != "once"
           else {"rule": "fixed", "date": "2026-12-31"})
    data = {
        "key": "t", "title": "目标", "source": {"issuer": "镇", "title": "方案"},
        "schedule": {"frequency": frequency, "due": due, "first": first, "last": last},
        "sections": [{"key": "s", "title": "一", "items": [
            {"key": "i", "number": "1", "title": "任务", "fields": fields}]}],
        **extra,
    }
    return Definition.model_validate(data)


ABS = definition([{"key": "posts", "kind": "integer", "label": "示范岗位", "unit": "个",
                   "cumulative": True,
                   "target": {"value": 12, "by": "2026-12-31"}}])
SHARE = definition([
    {"key": "certified", "kind": "integer", "label": "持证人数", "unit": "人"},
    {"key": "operators", "kind": "integer", "label": "特种作业人员", "unit": "人"},
    {"key": "connected", "kind": "integer", "label": "接入企业", "cumulative": True,
     "target": {"kind": "share", "value": 100, "denominator": "dust_firms",
                "by": "2025-12-31"}},
    {"key": "dust_firms", "kind": "integer", "label": "涉粉企业", "unit": "家"},
])
STOCK = definition([{"key": "stock", "kind": "integer", "label": "存量隐患", "unit": "项",
                     "target": {"kind": "stock", "by": "2024-12-31"}}])
DRILLS = definition([{"key": "drills", "kind": "integer", "label": "应急演练", "unit": "次",
                      "cumulative": True,
                      "target": {"kind": "recurring", "value": 1, "every": "year",
                                 "by": "2026-12-31", "scope": "unit"}}])
HALF = definition([{"key": "visits", "kind": "integer", "label": "实地指导", "unit": "次",
                    "target": {"kind": "recurring", "value": 1, "every": "halfyear",
                               "by": "2026-12-31"}}])


def series(key, pairs):
    return [(Period.parse(p), {key: v}) for p, v in pairs]


def at(definition_, key, pairs, today):
    return progress(definition_, definition_.field(key), series(key, pairs), today)


# -- the clock: Shanghai days ---------------------------------------------------------------

def test_today_is_the_day_in_shanghai_not_in_utc():
    # 2024-12-31 15:59 UTC is 23:59 in Shanghai; one minute later it is 1 January.
    assert today_in_shanghai(dt.datetime(2024, 12, 31, 15, 59, tzinfo=dt.UTC)) == D(2024, 12, 31)
    assert today_in_shanghai(dt.datetime(2024, 12, 31, 16, 0, tzinfo=dt.UTC)) == D(2025, 1, 1)
    assert today_in_shanghai(dt.datetime(2024, 12, 31, 16, 0)) == D(2025, 1, 1)  # naive = UTC


def test_the_deadline_day_itself_is_not_missed_the_next_shanghai_day_is():
    pairs = [("2024Q2", 3), ("2024Q3", 5), ("2024Q4", 6)]
    last_minute = today_in_shanghai(dt.datetime(2024, 12, 31, 15, 59, tzinfo=dt.UTC))
    next_day = today_in_shanghai(dt.datetime(2024, 12, 31, 16, 0, tzinfo=dt.UTC))
    assert at(STOCK, "stock", pairs, last_minute).status is S.AT_RISK
    assert at(STOCK, "stock", pairs, next_day).status is S.MISSED


# -- absolute ---------------------------------------------------------------------------------

def test_absolute_target_on_track_at_risk_met_and_missed():
    # Pace: 12 posts over 2024-04-01 … 2026-12-31 (1005 days).
    early = at(ABS, "posts", [("2024Q2", 2)], D(2024, 7, 5))
    assert early.status is S.ON_TRACK and early.value == 2
    assert early.expected == Decimal("1.15")  # 96 of 1005 days × 12
    behind = at(ABS, "posts", [("2024Q2", 2), ("2025Q2", 3)], D(2025, 7, 5))
    assert behind.status is S.AT_RISK and behind.expected > 3
    assert at(ABS, "posts", [("2026Q3", 12)], D(2026, 10, 5)).status is S.MET
    missed = at(ABS, "posts", [("2026Q4", 11)], D(2027, 1, 1))
    assert missed.status is S.MISSED and missed.expected is None


def test_reports_after_the_deadline_or_after_today_do_not_count():
    pairs = [("2024Q2", 2), ("2024Q3", 4)]
    # On 2024-06-30 the Q3 report is from the future.
    assert at(ABS, "posts", pairs, D(2024, 6, 30)).value == 2
    late = definition([{"key": "n", "kind": "integer", "label": "n",
                        "target": {"value": 2, "by": "2024-06-30"}}])
    result = at(late, "n", [("2024Q2", 1), ("2024Q3", 2)], D(2024, 10, 1))
    assert result.value == 1 and result.status is S.MISSED


def test_no_report_yet_is_no_data_until_the_deadline_passes():
    assert at(ABS, "posts", [], D(2024, 5, 1)).status is S.NO_DATA
    assert at(ABS, "posts", [], D(2027, 1, 1)).status is S.MISSED


def test_existing_target_entries_keep_meaning_absolute():
    target = ABS.field("posts").target
    assert str(target.kind) == "absolute" and target.comparison == ">="
    assert '"kind"' not in ABS.to_json() or '"kind": "absolute"' in ABS.to_json()


# -- share ------------------------------------------------------------------------------------

def test_share_of_a_denominator_field():
    def run(connected, firms, today):
        values = {"connected": connected, "dust_firms": firms}
        return progress(SHARE, SHARE.field("connected"), [(Period.parse("2024Q4"), values)],
                        today)

    half = run(2, 4, D(2025, 1, 5))
    assert half.value == 50 and (half.numerator, half.denominator) == (2, 4)
    assert half.status is S.ON_TRACK  # the pace asks 43.75% (280 of 640 days)
    assert run(4, 4, D(2025, 1, 5)).status is S.MET
    assert run(3, 4, D(2026, 1, 1)).status is S.MISSED
    assert run(0, 0, D(2025, 1, 5)).status is S.MET  # nothing to cover is covered


def test_share_pace_is_linear_from_plan_start():
    values = {"connected": 1, "dust_firms": 4}  # 25%
    result = progress(SHARE, SHARE.field("connected"), [(Period.parse("2025Q2"), values)],
                      D(2025, 7, 1))
    assert result.status is S.AT_RISK and result.expected > 25


def test_share_target_needs_an_existing_numeric_denominator():
    with pytest.raises(ValidationError, match="denominator"):
        definition([{"key": "a", "kind": "integer", "label": "a",
                     "target": {"kind": "share", "value": 100, "denominator": "nope",
                                "by": "2025-12-31"}}])
    with pytest.raises(ValidationError, match="percentage"):
        definition([{"key": "a", "kind": "integer", "label": "a"},
                    {"key": "b", "kind": "integer", "label": "b",
                     "target": {"kind": "share", "value": 150, "denominator": "a",
                                "by": "2025-12-31"}}])


# -- stock ------------------------------------------------------------------------------------

def test_stock_starting_figure_is_fixed_by_the_first_report():
    pairs = [("2024Q2", 10), ("2024Q3", 12), ("2024Q4", 0)]
    mid = at(STOCK, "stock", pairs[:2], D(2024, 10, 5))
    assert mid.baseline == 10 and mid.value == 12
    assert mid.status is S.AT_RISK  # the pace wants 3.16 left (188 of 275 days)
    assert at(STOCK, "stock", pairs, D(2025, 1, 5)).status is S.MET
    on_pace = at(STOCK, "stock", [("2024Q2", 10), ("2024Q3", 3)], D(2024, 10, 5))
    assert on_pace.status is S.ON_TRACK and on_pace.baseline == 10


def test_stock_defaults_to_zero_and_refuses_a_rising_comparison():
    assert STOCK.field("stock").target.value == 0
    assert STOCK.field("stock").target.comparison == "<="
    with pytest.raises(ValidationError, match="stock"):
        definition([{"key": "s", "kind": "integer", "label": "s",
                     "target": {"kind": "stock", "by": "2024-12-31", "comparison": ">="}}])


# -- recurring --------------------------------------------------------------------------------

def test_recurring_minimum_per_year_on_cumulative_increments():
    pairs = [("2024Q2", 0), ("2024Q3", 1), ("2024Q4", 1), ("2025Q1", 1), ("2025Q2", 1),
             ("2025Q3", 1)]
    result = at(DRILLS, "drills", pairs, D(2025, 10, 1))
    assert [(w.key, w.count, w.status) for w in result.windows] == [
        ("2024", 1, S.MET), ("2025", 0, S.AT_RISK)]
    assert result.status is S.AT_RISK
    done = at(DRILLS, "drills", [*pairs, ("2025Q4", 2)], D(2026, 1, 2))
    assert [w.status for w in done.windows] == [S.MET, S.MET, S.ON_TRACK]
    missed = at(DRILLS, "drills", pairs, D(2026, 1, 1))
    assert missed.windows[1].status is S.MISSED and missed.status is S.MISSED


def test_an_assignment_starting_later_is_judged_from_its_own_first_day():
    pairs = [("2025Q3", 1)]
    from_plan = at(DRILLS, "drills", pairs, D(2025, 10, 1))
    assert [w.key for w in from_plan.windows] == ["2024", "2025"]
    assert from_plan.status is S.MISSED  # 2024 went by without a drill
    opened = progress(DRILLS, DRILLS.field("drills"), series("drills", pairs), D(2025, 10, 1),
                      opens=D(2025, 7, 1))
    assert [(w.key, w.status) for w in opened.windows] == [("2025", S.MET)]
    assert opened.status is S.ON_TRACK


def test_recurring_window_ends_at_midnight_in_shanghai():
    pairs = [("2024Q2", 1), ("2024Q3", 0)]
    before = at(HALF, "visits", pairs, today_in_shanghai(
        dt.datetime(2024, 12, 31, 15, 59, tzinfo=dt.UTC)))
    after = at(HALF, "visits", pairs, today_in_shanghai(
        dt.datetime(2024, 12, 31, 16, 0, tzinfo=dt.UTC)))
    assert [w.status for w in before.windows] == [S.MET, S.AT_RISK]
    assert [w.status for w in after.windows] == [S.MET, S.MISSED, S.ON_TRACK]


def test_a_window_shorter_than_the_reporting_period_is_refused():
    with pytest.raises(ValidationError, match="cannot be judged"):
        definition([{"key": "n", "kind": "integer", "label": "n",
                     "target": {"kind": "recurring", "value": 1, "every": "quarter",
                                "by": "2026-12-31"}}],
                   frequency="halfyearly", first="2024H1", last="2026H2")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=11),
       st.sampled_from(["year", "halfyear", "quarter", "month"]), st.booleans())
def test_recurring_counts_agree_with_a_plain_recomputation(steps, every, cumulative):
    frequency = "monthly" if every == "month" else "quarterly"
    window = ("2024-04", "2026-12") if every == "month" else ("2024Q2", "2026Q4")
    defn = definition([{"key": "n", "kind": "integer", "label": "n",
                        "cumulative": cumulative,
                        "target": {"kind": "recurring", "value": 2, "every": every,
                                   "by": "2026-12-31"}}],
                      frequency=frequency, first=window[0], last=window[1])
    periods = defn.schedule.periods()[: len(steps)]
    running, reported = 0, []
    for period, step in zip(periods, steps, strict=False):
        running += step
        reported.append((period, {"n": running if cumulative else step}))
    bounds = windows(D(2024, 4, 1), D(2026, 12, 31), defn.field("n").target.every)
    counts = window_counts(defn, defn.field("n"), reported, bounds)
    months = {"year": 12, "halfyear": 6, "quarter": 3, "month": 1}[every]
    plain = {}
    for period, step in zip(periods, steps, strict=False):
        window = (period.year, (period.end.month - 1) // months)
        plain[window] = plain.get(window, 0) + step
    for (low, _high), count in zip(bounds, counts, strict=True):
        assert count == plain.get((low.year, (low.month - 1) // months), 0)
    today = D(2027, 1, 1)
    result = progress(defn, defn.field("n"), reported, today)
    expected_missed = any(c < 2 for c in counts)
    assert (result.status is S.MISSED) == expected_missed


# -- wording ----------------------------------------------------------------------------------

def test_deadline_labels_and_summary_lines():
    assert deadline_label(D(2024, 12, 31), "zh_CN") == "2024年底"
    assert deadline_label(D(2024, 5, 31), "zh_CN") == "2024年5月底"
    assert deadline_label(D(2024, 4, 10), "zh_CN") == "2024年4月10日"
    assert deadline_label(D(2024, 12, 31), "en") == "end of 2024"
    assert deadline_label(D(2024, 4, 10), "en") == "10 April 2024"
    line = summary(at(ABS, "posts", [("2024Q2", 1)], D(2025, 7, 1)), lambda s: s, "en", ABS)
    assert line == "Target: ≥ 12 个 by end of 2026 · now 1 · at risk"


# -- phases -----------------------------------------------------------------------------------

PHASES = [
    {"key": "mobilise", "name": "动员部署", "start": "2024-05-01", "end": "2024-05-31"},
    {"key": "govern", "name": "专项治理", "start": "2024-06-01", "end": "2026-09-30"},
    {"key": "review", "name": "总结评估", "start": "2026-10-01", "end": "2026-12-31"},
]


def test_current_phase_by_day():
    defn = definition([{"key": "n", "kind": "integer", "label": "n"}], phases=PHASES)
    assert defn.current_phase(D(2024, 4, 30)) is None
    assert defn.current_phase(D(2024, 5, 31)).name == "动员部署"
    assert defn.current_phase(D(2024, 6, 1)).name == "专项治理"
    assert defn.current_phase(D(2026, 12, 31)).name == "总结评估"
    assert defn.current_phase(D(2027, 1, 1)) is None


def test_phases_may_not_overlap_or_run_backwards():
    with pytest.raises(ValidationError, match="starts before"):
        definition([{"key": "n", "kind": "integer", "label": "n"}],
                   phases=[PHASES[1], PHASES[0]])
    with pytest.raises(ValidationError, match="ends before"):
        Phase(key="x", name="x", start=D(2024, 6, 1), end=D(2024, 5, 1))


def test_one_off_summary_is_due_at_the_end_of_its_phase():
    data = {
        "key": "s", "title": "总结", "source": {"issuer": "镇", "title": "方案"},
        "schedule": {"frequency": "once", "first": "once", "last": "once"},
        "phases": PHASES, "due_phase": "review",
        "sections": [{"key": "s", "title": "一", "items": [
            {"key": "i", "number": "1", "title": "总结", "fields": [
                {"key": "text", "kind": "longtext", "label": "总结"}]}]}],
    }
    defn = Definition.model_validate(data)
    assert defn.schedule.due_date(Period.once()) == D(2026, 12, 31)
    # A stated date that disagrees with the phase follows the phase.
    data["schedule"]["due"] = {"rule": "fixed", "date": "2026-11-30"}
    assert Definition.model_validate(data).schedule.due_date(Period.once()) == D(2026, 12, 31)
    with pytest.raises(ValidationError, match="names no phase"):
        Definition.model_validate({**data, "due_phase": "nope"})


# -- validation at the deadline -----------------------------------------------------------------

def test_a_consolidated_report_past_the_date_warns_for_shares_and_stocks():
    from forms.validation import validate

    def found(defn, values, period):
        return [(i.field, i.code, i.params.get("value"), i.params.get("target"))
                for i in validate(defn, {"reporter": "甲", "phone": "13800000000", **values},
                                  period=period, check_targets=True)]

    assert found(SHARE, {"connected": 3, "dust_firms": 4}, "2025Q3") == []
    assert found(SHARE, {"connected": 3, "dust_firms": 4}, "2025Q4") == [
        ("connected", "target_missed", "75% (3/4)", "100%")]
    assert found(SHARE, {"connected": 4, "dust_firms": 4}, "2025Q4") == []
    assert found(STOCK, {"stock": 1}, "2024Q4") == [("stock", "target_missed", "1", "0")]
    assert found(STOCK, {"stock": 0}, "2024Q4") == []
    # A recurring minimum is judged per window on the series, not on one report.
    assert found(DRILLS, {"drills": 0}, "2026Q4") == []


PERIODS = [Period.parse(p) for p in ("2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2",
                                     "2025Q3", "2025Q4", "2026Q1")]
MAYBE = st.one_of(st.none(), st.integers(min_value=0, max_value=20))


@settings(max_examples=200, deadline=None)
@given(figures=st.lists(st.tuples(MAYBE, MAYBE), min_size=1, max_size=len(PERIODS)),
       day=st.integers(min_value=0, max_value=1100),
       which=st.sampled_from(["abs", "share", "stock", "drills", "half"]))
def test_a_target_said_not_to_need_earlier_reports_is_judged_the_same_without_them(
        figures, day, which):
    """What lets a consolidation page skip the roll-ups of earlier periods: whenever
    ``needs_earlier`` says the latest report is enough, judging it alone gives the very
    same progress as judging the whole series."""
    found, key, other = {"abs": (ABS, "posts", None), "share": (SHARE, "connected",
                                                                 "dust_firms"),
                         "stock": (STOCK, "stock", None), "drills": (DRILLS, "drills", None),
                         "half": (HALF, "visits", None)}[which]
    fld = found.field(key)
    series = []
    for period, (value, denominator) in zip(PERIODS, figures, strict=False):
        values = {key: value}
        if other:
            values[other] = denominator
        series.append((period, values))
    today = D(2024, 4, 1) + dt.timedelta(days=day)
    latest, values = series[-1]
    needed = needs_earlier(found, fld, latest, values, today)
    if which in ("stock", "drills", "half"):
        assert needed  # a stock's first figure, every window of a recurring minimum
    if not needed:
        assert progress(found, fld, series, today) == progress(found, fld, [series[-1]],
                                                                today)


def test_the_keys_judged_are_the_targets_their_denominators_and_a_rates_inputs():
    assert judged_keys(ABS) == {"posts"}
    assert judged_keys(SHARE) == {"connected", "dust_firms"}
    rate = definition([
        {"key": "found", "kind": "integer", "label": "发现"},
        {"key": "fixed", "kind": "integer", "label": "整改"},
        {"key": "rate", "kind": "percent", "label": "整改率", "formula": "fixed / found * 100",
         "target": {"value": 90, "by": "2025-12-31"}},
    ])
    assert judged_keys(rate) == {"rate", "found", "fixed"}
