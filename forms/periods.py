"""Reporting periods, due-date rules and schedules.

A period is identified by a key that sorts correctly as a plain string within
its frequency: ``2024-05`` (monthly), ``2024Q2`` (quarterly), ``2024H1``
(half-yearly), ``2024`` (yearly) and ``once`` (one-off). Years are kept to four
digits so that string order and chronological order agree. Event reports are
numbered per unit instead: ``event-1``, ``event-2``… (``event`` alone names the
open-ended window of an event schedule).

Deadlines are calendar days in China: a submission is late when, in
Asia/Shanghai time, it arrives after the end of the due day.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache, total_ordering
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from forms.definition_errors import DefinitionRuleError, Labelled

SHANGHAI = ZoneInfo("Asia/Shanghai")

MIN_YEAR = 1000
MAX_YEAR = 9999


class Frequency(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALFYEARLY = "halfyearly"
    YEARLY = "yearly"
    ONCE = "once"
    EVENT = "event"  # filed whenever something happens: never due, never late


# How many periods of each frequency fit in a year, and how many months each lasts.
_PER_YEAR = {
    Frequency.MONTHLY: 12,
    Frequency.QUARTERLY: 4,
    Frequency.HALFYEARLY: 2,
    Frequency.YEARLY: 1,
}
_MONTHS = {freq: 12 // n for freq, n in _PER_YEAR.items()}

_KEY_PATTERNS = (
    (Frequency.MONTHLY, re.compile(r"([0-9]{4})-([0-9]{2})")),
    (Frequency.QUARTERLY, re.compile(r"([0-9]{4})[Qq]([0-9])")),
    (Frequency.HALFYEARLY, re.compile(r"([0-9]{4})[Hh]([0-9])")),
    (Frequency.YEARLY, re.compile(r"([0-9]{4})()")),
)
_EVENT_KEY = re.compile(r"event(?:-([1-9][0-9]{0,9}))?")

_ZH_QUARTERS = ("第一季度", "第二季度", "第三季度", "第四季度")
_ZH_HALVES = ("上半年", "下半年")
# Spelled out because calendar.month_name follows the process locale; labels must not.
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _is_chinese(locale: str) -> bool:
    return str(locale).replace("-", "_").lower().split("_")[0] == "zh"


def _clamped(year: int, month: int, day: int) -> date:
    """The given day of the month, or the month's last day when it has fewer days."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + months
    return total // 12, total % 12 + 1


@total_ordering
@dataclass(frozen=True)
class Period:
    """One reporting period; ``index`` is 1-based within the year (0 for one-off).

    Periods of the same frequency are ordered chronologically; comparing periods
    of different frequencies raises ``TypeError`` because it has no meaning.
    """

    frequency: Frequency
    year: int
    index: int

    def __post_init__(self) -> None:
        if self.frequency is Frequency.EVENT:
            if self.year != 0 or self.index < 0:
                raise ValueError("An event is numbered from 1 and has no year")
            return
        if self.frequency is Frequency.ONCE:
            if (self.year, self.index) != (0, 0):
                raise ValueError("A one-off period has no year or index")
            return
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValueError(f"Year {self.year} is outside {MIN_YEAR}–{MAX_YEAR}")
        if not 1 <= self.index <= _PER_YEAR[self.frequency]:
            raise ValueError(
                f"A {self.frequency.value} period index must be 1 to "
                f"{_PER_YEAR[self.frequency]}, not {self.index}"
            )

    # -- construction ---------------------------------------------------------

    @classmethod
    def once(cls) -> Period:
        return cls(Frequency.ONCE, 0, 0)

    @classmethod
    def event(cls, number: int = 0) -> Period:
        """Event *number* of a unit (0: the open-ended window of an event schedule)."""
        return cls(Frequency.EVENT, 0, number)

    @property
    def is_event(self) -> bool:
        return self.frequency is Frequency.EVENT

    @classmethod
    def parse(cls, key: str) -> Period:
        """Parse a period key such as ``2024-05``, ``2024Q2``, ``2024H1``, ``2024`` or ``once``.

        Surrounding spaces and a lower-case ``q``/``h`` are accepted; ``key``
        gives back the canonical spelling. Raises ``ValueError`` otherwise.
        """
        if not isinstance(key, str):
            raise ValueError(f"A period key must be text, not {type(key).__name__}")
        # Keys as written are short; one with spaces around it is parsed without keeping it.
        return _parse_key(key) if key == key.strip() else cls._parse(key)

    @classmethod
    def _parse(cls, key: str) -> Period:
        text = key.strip()
        if text.lower() == "once":
            return cls.once()
        event = _EVENT_KEY.fullmatch(text.lower())
        if event:
            return cls.event(int(event.group(1) or 0))
        for frequency, pattern in _KEY_PATTERNS:
            match = pattern.fullmatch(text)
            if match:
                year, index = int(match.group(1)), int(match.group(2) or 1)
                try:
                    return cls(frequency, year, index)
                except ValueError as exc:
                    raise ValueError(f"Invalid period key {key!r}: {exc}") from None
        raise ValueError(
            f"Invalid period key {key!r}: expected 2024-05, 2024Q2, 2024H1, 2024 or once"
        )

    @classmethod
    def containing(cls, frequency: Frequency | str, day: date) -> Period:
        """The period of *frequency* that contains *day* (the one-off period for ``once``)."""
        frequency = Frequency(frequency)
        if frequency is Frequency.ONCE:
            return cls.once()
        if frequency is Frequency.EVENT:
            raise ValueError("Events are numbered, not found by date")
        return cls(frequency, day.year, (day.month - 1) // _MONTHS[frequency] + 1)

    @classmethod
    def first_of_year(cls, frequency: Frequency | str, year: int) -> Period:
        frequency = Frequency(frequency)
        if frequency is Frequency.EVENT:
            return cls.event()
        return cls.once() if frequency is Frequency.ONCE else cls(frequency, year, 1)

    # -- properties -----------------------------------------------------------

    @property
    def key(self) -> str:
        match self.frequency:
            case Frequency.MONTHLY:
                return f"{self.year:04d}-{self.index:02d}"
            case Frequency.QUARTERLY:
                return f"{self.year:04d}Q{self.index}"
            case Frequency.HALFYEARLY:
                return f"{self.year:04d}H{self.index}"
            case Frequency.YEARLY:
                return f"{self.year:04d}"
            case Frequency.EVENT:
                return f"event-{self.index}" if self.index else "event"
        return "once"

    @property
    def first_month(self) -> int:
        """Calendar month in which the period starts (1 for one-off and events)."""
        if self.frequency in _UNBOUNDED:
            return 1
        return (self.index - 1) * _MONTHS[self.frequency] + 1

    @property
    def months(self) -> int:
        """Length of the period in months (0 for one-off, which has no length)."""
        return _MONTHS.get(self.frequency, 0)

    @property
    def start(self) -> date:
        """First day of the period; one-off periods and events are unbounded (``date.min``)."""
        if self.frequency in _UNBOUNDED:
            return date.min
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """Last day of the period (inclusive); one-off periods and events are unbounded."""
        if self.frequency in _UNBOUNDED:
            return date.max
        last_month = self.first_month + self.months - 1
        return _clamped(self.year, last_month, 31)

    def next(self) -> Period | None:
        """The following period; None for one-off, events and past year 9999."""
        if self.frequency in _UNBOUNDED:
            return None
        if self.index < _PER_YEAR[self.frequency]:
            return Period(self.frequency, self.year, self.index + 1)
        if self.year >= MAX_YEAR:
            return None
        return Period(self.frequency, self.year + 1, 1)

    def previous(self) -> Period | None:
        """The preceding period; None for one-off, events and before year 1000."""
        if self.frequency in _UNBOUNDED:
            return None
        if self.index > 1:
            return Period(self.frequency, self.year, self.index - 1)
        if self.year <= MIN_YEAR:
            return None
        return Period(self.frequency, self.year - 1, _PER_YEAR[self.frequency])

    def label(self, locale: str) -> str:
        """Human label: ``2024年第二季度`` for Chinese locales, ``2024 Q2`` otherwise."""
        zh = _is_chinese(locale)
        match self.frequency:
            case Frequency.MONTHLY:
                if zh:
                    return f"{self.year}年{self.index}月"
                return f"{_EN_MONTHS[self.index - 1]} {self.year}"
            case Frequency.QUARTERLY:
                return (
                    f"{self.year}年{_ZH_QUARTERS[self.index - 1]}"
                    if zh
                    else self.key.replace("Q", " Q")
                )
            case Frequency.HALFYEARLY:
                return (
                    f"{self.year}年{_ZH_HALVES[self.index - 1]}"
                    if zh
                    else self.key.replace("H", " H")
                )
            case Frequency.YEARLY:
                return f"{self.year}年度" if zh else str(self.year)
            case Frequency.EVENT:
                if not self.index:
                    return "随时报告" if zh else "Whenever it happens"
                return f"第{self.index}号事件" if zh else f"Event {self.index}"
        return "一次性" if zh else "One-off"

    def __str__(self) -> str:
        return self.key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        if other.frequency is not self.frequency:
            raise TypeError(
                f"Cannot order a {self.frequency.value} period against a "
                f"{other.frequency.value} one"
            )
        return (self.year, self.index) < (other.year, other.index)


# A period is an immutable value and every request parses a few of the same keys: each key
# is parsed once (a bad key raises again each time: exceptions are not kept, so only the
# few valid spellings, none longer than 16 characters, fill it).
_parse_key = lru_cache(maxsize=4096)(Period._parse)

# Periods without dates: their start and end are unbounded, they have no neighbours.

_UNBOUNDED = frozenset({Frequency.ONCE, Frequency.EVENT})


# -- due-date rules -----------------------------------------------------------


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AfterEnd(_Rule):
    """A day of the month *months* after the period's last month.

    ``AfterEnd(months=1, day=5)`` is "the 5th of the month after the quarter".
    """

    rule: Literal["after_end"] = "after_end"
    months: int = Field(default=1, ge=0, le=24)
    day: int = Field(default=5, ge=1, le=31)

    def due_date(self, period: Period) -> date:
        end = period.end
        year, month = _add_months(end.year, end.month, self.months)
        return _clamped(year, month, self.day)


class InPeriod(_Rule):
    """A day of the period's *month*-th month: "6月10日 / 12月10日" is
    ``InPeriod(month=6, day=10)`` for half-years."""

    rule: Literal["in_period"] = "in_period"
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)

    def due_date(self, period: Period) -> date:
        return _clamped(period.year, period.first_month + self.month - 1, self.day)


class FixedDate(_Rule):
    """One calendar date, for one-off reports (e.g. the plan due 2024-04-10)."""

    rule: Literal["fixed"] = "fixed"
    date: date

    def due_date(self, period: Period) -> date:
        return self.date


class NoDeadline(_Rule):
    """Event reports: filed whenever something happens, so never due and never late."""

    rule: Literal["never"] = "never"

    def due_date(self, period: Period) -> date:
        return NEVER_DUE


NEVER_DUE = date.max

DueRule = Annotated[AfterEnd | InPeriod | FixedDate | NoDeadline, Field(discriminator="rule")]


class Schedule(BaseModel):
    """When a template is reported: frequency, due-date rule and the plan window."""

    model_config = ConfigDict(extra="forbid")

    frequency: Frequency
    due: DueRule
    first: str
    last: str

    @model_validator(mode="before")
    @classmethod
    def _event_defaults(cls, data):
        """An event schedule needs no window nor due rule: ``frequency: event`` says it all."""
        if isinstance(data, dict) and data.get("frequency") == Frequency.EVENT:
            data = {"due": {"rule": "never"}, "first": "event", "last": "event", **data}
        return data

    @model_validator(mode="after")
    def _check_window(self) -> Schedule:
        first = self._window_period("first", self.first)
        last = self._window_period("last", self.last)
        if last < first:
            raise DefinitionRuleError("period_order", at=("last",), first=self.first,
                                      last=self.last)
        # Store canonical keys so that equal schedules compare and serialise equally.
        self.first, self.last = first.key, last.key
        event = self.frequency is Frequency.EVENT
        if event != isinstance(self.due, NoDeadline):
            raise DefinitionRuleError("event_needs_no_deadline" if event else "deadline_needed",
                                      at=("due", "rule"))
        if event:
            if first.index or last.index:
                raise DefinitionRuleError("event_window", at=("first",))
            return self
        once = self.frequency is Frequency.ONCE
        if once != isinstance(self.due, FixedDate):
            raise DefinitionRuleError(
                "once_needs_fixed" if once else "fixed_needs_once", at=("due", "rule"))
        if isinstance(self.due, InPeriod) and self.due.month > _MONTHS[self.frequency]:
            raise DefinitionRuleError("month_out_of_period", at=("due", "month"),
                                      month=self.due.month, months=_MONTHS[self.frequency])
        return self

    def _window_period(self, name: str, key: str) -> Period:
        try:
            period = Period.parse(key)
        except ValueError:
            raise DefinitionRuleError("bad_period_key", at=(name,), key=key) from None
        if period.frequency is not self.frequency:
            raise DefinitionRuleError(
                "period_frequency_mismatch", at=(name,), key=key,
                period_frequency=Labelled(period.frequency), frequency=Labelled(self.frequency))
        return period

    @property
    def first_period(self) -> Period:
        return Period.parse(self.first)

    @property
    def last_period(self) -> Period:
        return Period.parse(self.last)

    @property
    def is_event(self) -> bool:
        return self.frequency is Frequency.EVENT

    def periods(self) -> list[Period]:
        """Every period of the window, in order (none for events: nothing is ever owed)."""
        if self.is_event:
            return []
        result: list[Period] = []
        period: Period | None = self.first_period
        last = self.last_period
        while period is not None and period <= last:
            result.append(period)
            period = period.next()
        return result

    def due_date(self, period: Period) -> date:
        """The deadline of *period*; raises ``ValueError`` for another frequency."""
        if period.frequency is not self.frequency:
            raise ValueError(
                f"Period {period.key} is not {self.frequency.value} like this schedule"
            )
        return self.due.due_date(period)

    def contains(self, period: Period) -> bool:
        if self.is_event:
            return period.frequency is Frequency.EVENT
        return (
            period.frequency is self.frequency and self.first_period <= period <= self.last_period
        )


# -- time in Shanghai ---------------------------------------------------------


def _in_shanghai(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI)


def is_late(due: date, submitted_at: datetime) -> bool:
    """Whether *submitted_at* falls after the end of the due day in Asia/Shanghai.

    Naive datetimes are taken as UTC (the database stores UTC). Events are never late.
    """
    if due >= NEVER_DUE:
        return False
    start_of_next_day = datetime.combine(due + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    return _in_shanghai(submitted_at) >= start_of_next_day


def days_until(due: date, now: datetime) -> int:
    """Whole calendar days from *now*'s day in Asia/Shanghai to *due*; negative when overdue.

    Naive datetimes are taken as UTC.
    """
    return (due - _in_shanghai(now).date()).days


# -- schedule helpers ---------------------------------------------------------


def current_period(schedule: Schedule, today: date) -> Period | None:
    """The period whose report is due next: the earliest in the window due on or after
    *today*; None once every deadline of the window has passed."""
    for period in schedule.periods():
        if schedule.due_date(period) >= today:
            return period
    return None


def cumulative_span_start(
    period: Period, span: Literal["plan", "year"], schedule: Schedule
) -> Period:
    """First period that cumulative figures of *period* count from.

    ``plan``: the schedule's first period. ``year``: the first period of the same
    calendar year, but never before the window opens.
    """
    first = schedule.first_period
    if span == "plan" or period.frequency is Frequency.ONCE:
        return first
    if span != "year":
        raise ValueError(f"Unknown cumulative span {span!r}: expected 'plan' or 'year'")
    return max(Period.first_of_year(period.frequency, period.year), first)


# -- periods as people type them ----------------------------------------------------------

_ZH_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_TYPED_PATTERNS = (
    # 2026年11月, 2026年11月份, 2026/11, 2026.11, 2026-1, 2026年1月
    (Frequency.MONTHLY, re.compile(r"(\d{4})\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月份?)?")),
    # 2026年第三季度, 2026年三季度, 2026年第3季度, 2026 Q3, 2026-Q3, 2026Q3
    (Frequency.QUARTERLY, re.compile(r"(\d{4})\s*年?\s*第?\s*([一二三四1-4])\s*季度?")),
    (Frequency.QUARTERLY, re.compile(r"(\d{4})\s*[-/ ]?\s*q\s*([1-4])")),
    # 2026年上半年, 2026年下半年, 2026 H1, 2026H2
    (Frequency.HALFYEARLY, re.compile(r"(\d{4})\s*年?\s*([上下])半年")),
    (Frequency.HALFYEARLY, re.compile(r"(\d{4})\s*[-/ ]?\s*h\s*([12])")),
    # 2026年度, 2026年, 2026
    (Frequency.YEARLY, re.compile(r"(\d{4})\s*(?:年度?)?()")),
)
_EN_MONTH_NAMES = {name.lower(): index for index, name in enumerate(_EN_MONTHS, start=1)}
_EN_MONTH_NAMES.update({name[:3].lower(): index for index, name in enumerate(_EN_MONTHS, 1)})
_EN_MONTH_TYPED = re.compile(r"([a-z]+)\.?\s*,?\s*(\d{4})")


def parse_typed_period(text: str) -> Period:
    """The period someone typed, as a key (``2026-11``, ``2026Q3``), a label in either
    language (``2026年11月``, ``2026年第三季度``, ``November 2026``, ``2026 Q3``,
    ``2026年上半年``, ``2026年度``) or a near spelling (``2026/11``, ``2026年三季度``);
    full-width digits and any case are accepted. Raises ``ValueError`` otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"A period must be text, not {type(text).__name__}")
    cleaned = unicodedata.normalize("NFKC", text).strip().lower()
    try:
        return Period.parse(cleaned)
    except ValueError:
        pass
    if cleaned in ("一次性", "one-off"):
        return Period.once()
    for frequency, pattern in _TYPED_PATTERNS:
        match = pattern.fullmatch(cleaned)
        if match is None:
            continue
        year, part = int(match.group(1)), match.group(2)
        if frequency is Frequency.HALFYEARLY and part in ("上", "下"):
            index = 1 if part == "上" else 2
        elif frequency is Frequency.QUARTERLY:
            index = _ZH_NUMERALS[part]
        else:
            index = int(part or 1)
        try:
            return Period(frequency, year, index)
        except ValueError as exc:
            raise ValueError(f"Invalid period {text!r}: {exc}") from None
    match = _EN_MONTH_TYPED.fullmatch(cleaned)
    if match and match.group(1) in _EN_MONTH_NAMES:
        return Period(Frequency.MONTHLY, int(match.group(2)), _EN_MONTH_NAMES[match.group(1)])
    raise ValueError(f"Invalid period {text!r}: expected e.g. 2026年11月, 2026-11, 2026Q3, "
                     "2026年第三季度, 2026年上半年 or 2026年度")
