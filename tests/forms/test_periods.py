from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from forms.periods import (
    SHANGHAI,
    AfterEnd,
    DueRule,
    FixedDate,
    Frequency,
    InPeriod,
    Period,
    Schedule,
    cumulative_span_start,
    current_period,
    days_until,
    is_late,
    parse_typed_period,
)

P = Period.parse

QUARTERLY_000 = Schedule(
    frequency="quarterly",
    due={"rule": "after_end", "months": 1, "day": 5},
    first="2024Q2",
    last="2026Q4",
)
HALFYEARLY_004 = Schedule(
    frequency="halfyearly",
    due={"rule": "in_period", "month": 6, "day": 10},
    first="2024H1",
    last="2026H2",
)
ONE_OFF_003 = Schedule(
    frequency="once", due={"rule": "fixed", "date": "2024-04-10"}, first="once", last="once"
)

periods = st.one_of(
    st.just(Period.once()),
    *(
        st.builds(
            Period,
            st.just(freq),
            st.integers(1001, 9998),
            st.integers(1, count),
        )
        for freq, count in (
            (Frequency.MONTHLY, 12),
            (Frequency.QUARTERLY, 4),
            (Frequency.HALFYEARLY, 2),
            (Frequency.YEARLY, 1),
        )
    ),
)


# -- keys -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "frequency", "year", "start", "end"),
    [
        ("2024-05", Frequency.MONTHLY, 2024, date(2024, 5, 1), date(2024, 5, 31)),
        ("2024-02", Frequency.MONTHLY, 2024, date(2024, 2, 1), date(2024, 2, 29)),
        ("2024Q2", Frequency.QUARTERLY, 2024, date(2024, 4, 1), date(2024, 6, 30)),
        ("2024Q4", Frequency.QUARTERLY, 2024, date(2024, 10, 1), date(2024, 12, 31)),
        ("2024H1", Frequency.HALFYEARLY, 2024, date(2024, 1, 1), date(2024, 6, 30)),
        ("2024H2", Frequency.HALFYEARLY, 2024, date(2024, 7, 1), date(2024, 12, 31)),
        ("2024", Frequency.YEARLY, 2024, date(2024, 1, 1), date(2024, 12, 31)),
    ],
)
def test_parse_gives_frequency_year_and_inclusive_bounds(key, frequency, year, start, end):
    period = P(key)
    assert (period.key, period.frequency, period.year) == (key, frequency, year)
    assert (period.start, period.end) == (start, end)


def test_once_is_its_own_frequency_without_neighbours():
    once = P("once")
    assert once == Period.once()
    assert once.frequency is Frequency.ONCE
    assert once.key == "once"
    assert once.next() is None and once.previous() is None


def test_parse_accepts_lower_case_and_spaces_and_returns_canonical_key():
    assert P(" 2024q3 ").key == "2024Q3"
    assert P("2024h2").key == "2024H2"
    assert P("ONCE") == Period.once()


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("2024Q5", "1 to 4"),
        ("2024Q0", "1 to 4"),
        ("2024H3", "1 to 2"),
        ("2024-13", "1 to 12"),
        ("2024-00", "1 to 12"),
        ("2024-5", "expected"),
        ("24Q1", "expected"),
        ("0999", "outside"),
        ("", "expected"),
        ("2024 Q1", "expected"),
        ("２０２４Q1", "expected"),
        ("once upon", "expected"),
    ],
)
def test_bad_keys_raise_value_error_naming_the_key(key, fragment):
    with pytest.raises(ValueError) as excinfo:
        P(key)
    assert repr(key) in str(excinfo.value)
    assert fragment in str(excinfo.value)


def test_non_text_key_is_a_value_error():
    with pytest.raises(ValueError, match="text"):
        P(2024)  # type: ignore[arg-type]


@given(periods)
def test_key_round_trips(period):
    assert P(period.key) == period


@given(periods)
def test_next_and_previous_are_inverse(period):
    if period.frequency is Frequency.ONCE:
        assert period.next() is None
        return
    assert period.next().previous() == period
    assert period.previous().next() == period


@given(periods, periods)
def test_key_string_order_matches_period_order(a, b):
    if a.frequency is not b.frequency:
        return
    assert (a.key < b.key) == (a < b)
    assert (a.key == b.key) == (a == b)


@given(periods)
def test_next_period_starts_the_day_after_the_end(period):
    following = period.next()
    if following is not None:
        assert following.start == period.end + timedelta(days=1)
        assert period < following


def test_next_and_previous_cross_year_ends():
    assert P("2024-12").next() == P("2025-01")
    assert P("2025-01").previous() == P("2024-12")
    assert P("2024Q4").next() == P("2025Q1")
    assert P("2025Q1").previous() == P("2024Q4")
    assert P("2024H2").next() == P("2025H1")
    assert P("2024").next() == P("2025")


def test_sorting_keys_as_strings_is_chronological():
    keys = ["2025-01", "2024-10", "2024-02", "2024-12"]
    assert sorted(keys) == [p.key for p in sorted(P(k) for k in keys)]
    assert sorted(keys) == ["2024-02", "2024-10", "2024-12", "2025-01"]


def test_periods_of_different_frequencies_do_not_order():
    with pytest.raises(TypeError):
        _ = P("2024Q1") < P("2024H1")
    assert P("2024Q1") != P("2024H1")


def test_containing_finds_the_period_of_a_day():
    assert Period.containing("quarterly", date(2024, 8, 15)) == P("2024Q3")
    assert Period.containing(Frequency.HALFYEARLY, date(2024, 6, 30)) == P("2024H1")
    assert Period.containing("monthly", date(2024, 12, 31)) == P("2024-12")
    assert Period.containing("once", date(2024, 1, 1)) == Period.once()


# -- labels ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "zh", "en"),
    [
        ("2024-05", "2024年5月", "May 2024"),
        ("2024-12", "2024年12月", "December 2024"),
        ("2024Q2", "2024年第二季度", "2024 Q2"),
        ("2024Q4", "2024年第四季度", "2024 Q4"),
        ("2024H1", "2024年上半年", "2024 H1"),
        ("2024H2", "2024年下半年", "2024 H2"),
        ("2024", "2024年度", "2024"),
        ("once", "一次性", "One-off"),
    ],
)
def test_labels_in_both_locales(key, zh, en):
    period = P(key)
    assert period.label("zh_CN") == zh
    assert period.label("zh") == zh
    assert period.label("en") == en
    assert period.label("en_US") == en


def test_unknown_locale_falls_back_to_english():
    assert P("2024Q2").label("fr_FR") == "2024 Q2"
    assert P("2024Q2").label("zh-Hans") == "2024年第二季度"


# -- due dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "due"),
    [
        ("2024Q1", date(2024, 4, 5)),
        ("2024Q2", date(2024, 7, 5)),
        ("2024Q3", date(2024, 10, 5)),
        ("2024Q4", date(2025, 1, 5)),
    ],
)
def test_fifth_of_the_month_after_the_quarter(key, due):
    assert AfterEnd(months=1, day=5).due_date(P(key)) == due


def test_after_end_for_months_and_years():
    assert AfterEnd(months=1, day=5).due_date(P("2024-12")) == date(2025, 1, 5)
    assert AfterEnd(months=0, day=31).due_date(P("2024-06")) == date(2024, 6, 30)
    assert AfterEnd(months=2, day=31).due_date(P("2024")) == date(2025, 2, 28)


def test_in_period_half_years():
    rule = InPeriod(month=6, day=10)
    assert rule.due_date(P("2025H1")) == date(2025, 6, 10)
    assert rule.due_date(P("2025H2")) == date(2025, 12, 10)


def test_days_past_the_month_end_are_clamped():
    assert InPeriod(month=6, day=31).due_date(P("2024H1")) == date(2024, 6, 30)
    assert InPeriod(month=2, day=30).due_date(P("2024Q1")) == date(2024, 2, 29)
    assert InPeriod(month=2, day=30).due_date(P("2025Q1")) == date(2025, 2, 28)
    assert AfterEnd(months=1, day=31).due_date(P("2024Q1")) == date(2024, 4, 30)


def test_fixed_date():
    assert FixedDate(date=date(2024, 4, 10)).due_date(Period.once()) == date(2024, 4, 10)


def test_due_rules_are_a_discriminated_union():
    adapter = TypeAdapter(DueRule)
    assert adapter.validate_python({"rule": "after_end"}) == AfterEnd(months=1, day=5)
    assert isinstance(
        adapter.validate_python({"rule": "in_period", "month": 6, "day": 10}), InPeriod
    )
    with pytest.raises(ValidationError):
        adapter.validate_python({"rule": "weekly"})
    with pytest.raises(ValidationError):
        adapter.validate_python({"rule": "after_end", "day": 32})


# -- schedules ------------------------------------------------------------------


def test_schedule_due_dates_from_the_plans():
    assert QUARTERLY_000.due_date(P("2024Q2")) == date(2024, 7, 5)
    assert QUARTERLY_000.due_date(P("2024Q4")) == date(2025, 1, 5)
    assert HALFYEARLY_004.due_date(P("2025H1")) == date(2025, 6, 10)
    assert HALFYEARLY_004.due_date(P("2025H2")) == date(2025, 12, 10)
    assert ONE_OFF_003.due_date(Period.once()) == date(2024, 4, 10)


def test_schedule_periods_cover_the_window():
    keys = [p.key for p in QUARTERLY_000.periods()]
    assert keys[0] == "2024Q2" and keys[-1] == "2026Q4" and len(keys) == 11
    assert ONE_OFF_003.periods() == [Period.once()]


def test_schedule_contains():
    assert QUARTERLY_000.contains(P("2024Q2"))
    assert QUARTERLY_000.contains(P("2026Q4"))
    assert not QUARTERLY_000.contains(P("2024Q1"))
    assert not QUARTERLY_000.contains(P("2027Q1"))
    assert not QUARTERLY_000.contains(P("2024H2"))


def test_due_date_of_a_foreign_frequency_is_refused():
    with pytest.raises(ValueError, match="2024H1"):
        QUARTERLY_000.due_date(P("2024H1"))


def test_schedule_round_trips_through_json():
    again = Schedule.model_validate_json(QUARTERLY_000.model_dump_json())
    assert again == QUARTERLY_000
    assert isinstance(again.due, AfterEnd)


def test_schedule_stores_canonical_keys():
    schedule = Schedule(
        frequency="quarterly", due={"rule": "after_end"}, first="2024q2", last="2024Q3"
    )
    assert schedule.first == "2024Q2"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"first": "2024Q9", "last": "2026Q4"}, "2024Q9"),
        ({"first": "2024H1", "last": "2026Q4"}, "halfyearly"),
        ({"first": "2025Q1", "last": "2024Q4"}, "comes after"),
        ({"due": {"rule": "fixed", "date": "2024-04-10"}}, "one-off"),
        ({"due": {"rule": "in_period", "month": 4, "day": 1}}, "3 month"),
        ({"frequency": "weekly"}, "frequency"),
        ({"extra": 1}, "extra"),
    ],
)
def test_schedule_validation_errors(data, fragment):
    base = {
        "frequency": "quarterly",
        "due": {"rule": "after_end"},
        "first": "2024Q2",
        "last": "2026Q4",
    }
    with pytest.raises(ValidationError) as excinfo:
        Schedule.model_validate(base | data)
    assert fragment in str(excinfo.value)


def test_one_off_schedule_needs_a_fixed_date_and_once_keys():
    with pytest.raises(ValidationError, match="fixed due date"):
        Schedule(frequency="once", due={"rule": "after_end"}, first="once", last="once")
    with pytest.raises(ValidationError, match="yearly"):
        Schedule(
            frequency="once", due={"rule": "fixed", "date": "2024-04-10"}, first="2024", last="once"
        )


# -- lateness -------------------------------------------------------------------


def test_late_only_after_midnight_in_shanghai():
    due = date(2024, 7, 5)
    assert not is_late(due, datetime(2024, 7, 5, 23, 59, 59, tzinfo=SHANGHAI))
    assert is_late(due, datetime(2024, 7, 6, 0, 0, 0, tzinfo=SHANGHAI))


def test_naive_times_are_utc():
    due = date(2024, 7, 5)
    # 15:59 UTC is 23:59 in Shanghai: still on time; 16:00 UTC is already the next day there.
    assert not is_late(due, datetime(2024, 7, 5, 15, 59))
    assert is_late(due, datetime(2024, 7, 5, 16, 0))
    assert is_late(due, datetime(2024, 7, 5, 16, 0, tzinfo=UTC))


def test_other_time_zones_are_converted():
    new_york = timezone(timedelta(hours=-4))
    # 11:30 in New York on the due day is 23:30 in Shanghai; 12:30 is past midnight.
    assert not is_late(date(2024, 7, 5), datetime(2024, 7, 5, 11, 30, tzinfo=new_york))
    assert is_late(date(2024, 7, 5), datetime(2024, 7, 5, 12, 30, tzinfo=new_york))


def test_days_until_counts_shanghai_calendar_days():
    due = date(2024, 7, 5)
    assert days_until(due, datetime(2024, 7, 1, 12, tzinfo=SHANGHAI)) == 4
    assert days_until(due, datetime(2024, 7, 5, 23, tzinfo=SHANGHAI)) == 0
    assert days_until(due, datetime(2024, 7, 7, 1, tzinfo=SHANGHAI)) == -2
    # 2024-07-04 17:00 UTC is already 07-05 01:00 in Shanghai.
    assert days_until(due, datetime(2024, 7, 4, 17, 0)) == 0


# -- current period and cumulative spans ------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2024, 1, 1), "2024Q2"),
        (date(2024, 7, 5), "2024Q2"),
        (date(2024, 7, 6), "2024Q3"),
        (date(2025, 1, 5), "2024Q4"),
        (date(2027, 1, 5), "2026Q4"),
    ],
)
def test_current_period_is_the_next_one_due(today, expected):
    assert current_period(QUARTERLY_000, today) == P(expected)


def test_no_current_period_after_the_window():
    assert current_period(QUARTERLY_000, date(2027, 1, 6)) is None
    assert current_period(ONE_OFF_003, date(2024, 4, 10)) == Period.once()
    assert current_period(ONE_OFF_003, date(2024, 4, 11)) is None


def test_cumulative_span_start():
    assert cumulative_span_start(P("2025Q3"), "plan", QUARTERLY_000) == P("2024Q2")
    assert cumulative_span_start(P("2025Q3"), "year", QUARTERLY_000) == P("2025Q1")
    # The window opens in Q2 2024, so the 2024 span starts there, not in Q1.
    assert cumulative_span_start(P("2024Q4"), "year", QUARTERLY_000) == P("2024Q2")
    assert cumulative_span_start(P("2026H2"), "year", HALFYEARLY_004) == P("2026H1")
    assert cumulative_span_start(Period.once(), "year", ONE_OFF_003) == Period.once()


# -- periods as people type them ------------------------------------------------------------


@pytest.mark.parametrize(("typed", "key"), [
    ("2026年11月", "2026-11"), ("2026-11", "2026-11"), ("2026年1月份", "2026-01"),
    ("2026/3", "2026-03"), ("２０２６年１１月", "2026-11"), ("November 2026", "2026-11"),
    ("nov 2026", "2026-11"), ("2026Q3", "2026Q3"), ("2026q3", "2026Q3"),
    ("2026 Q3", "2026Q3"), ("2026年第三季度", "2026Q3"), ("2026年三季度", "2026Q3"),
    ("2026年第3季度", "2026Q3"), ("2026年上半年", "2026H1"), ("2026 H2", "2026H2"),
    ("2026年下半年", "2026H2"), ("2026年度", "2026"), ("2026年", "2026"), (" 2026 ", "2026"),
    ("一次性", "once"), ("once", "once"),
])
def test_typed_periods_are_read_as_keys(typed, key):
    assert parse_typed_period(typed).key == key


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_label_reads_back_as_its_period(locale):
    for period in (Period.parse("2026-11"), Period.parse("2026Q3"), Period.parse("2026H1"),
                   Period.parse("2026"), Period.once()):
        assert parse_typed_period(period.label(locale)) == period


@pytest.mark.parametrize("typed", ["2026年13月", "2026年第五季度", "2026-00", "11月", "20263",
                                   "2026年中", "", "Smarch 2026"])
def test_what_is_not_a_period_is_refused(typed):
    with pytest.raises(ValueError):
        parse_typed_period(typed)
