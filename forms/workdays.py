"""Working days in China, and due dates moved off weekends and public holidays.

The State Council publishes each year's holidays and 调休 (a weekend day worked
in exchange for a day off) in the autumn before; the ``chinese-calendar``
package carries them for the years its release knows. Administrators extend
that with days of their own (:class:`CalendarDay`): a holiday or a working day,
with its reason, for years the package does not cover yet or for local
arrangements. An administrator's day wins over the package; outside both, Monday
to Friday are working days.

:func:`next_working_day` moves a due date that is not a working day to the next
one and says why (the first day it skipped). Plain data only: the server loads
the administrators' days and renders the reason in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from chinese_calendar import constants as _official

_CHINESE_NAMES = {h.value: h.chinese for h in _official.Holiday}
# Years the installed package has the State Council's arrangements for.
OFFICIAL_YEARS = frozenset(d.year for d in (*_official.holidays, *_official.workdays))
SEARCH_LIMIT = 60  # no stretch of days off is this long; stop rather than loop on bad data


@dataclass(frozen=True)
class CalendarDay:
    """One day of the calendar: a day off (``workday=False``) or a working day, and why.

    ``reason`` is the name of the holiday or of the 调休 (国庆节, 国庆节调休上班);
    ``reason_en`` its English name when known.
    """

    day: date
    workday: bool
    reason: str = ""
    reason_en: str = ""
    source: str = "admin"  # "admin", "official" (the package) or "weekend"


@dataclass(frozen=True)
class Shift:
    """A due date that moved: from *original* to *moved*, because of *because* (the first
    day skipped, which is *original* itself)."""

    original: date
    moved: date
    because: CalendarDay


class WorkCalendar:
    """The package's official days, overridden by the administrators' days."""

    def __init__(self, days: Iterable[CalendarDay] = ()) -> None:
        self.days: Mapping[date, CalendarDay] = {d.day: d for d in days}

    def official(self, day: date) -> CalendarDay | None:
        """What the package says of *day*, or None for a year it does not know."""
        if day.year not in OFFICIAL_YEARS:
            return None
        holiday = _official.holidays.get(day)
        if holiday is not None:
            return CalendarDay(day, False, _CHINESE_NAMES.get(holiday, holiday), holiday,
                               "official")
        worked = _official.workdays.get(day)
        if worked is not None:
            return CalendarDay(day, True, _CHINESE_NAMES.get(worked, worked), worked, "official")
        return None

    def day(self, day: date) -> CalendarDay:
        """*day* as the calendar sees it: the administrators', else the package's, else
        the weekday's rule."""
        found = self.days.get(day) or self.official(day)
        if found is not None:
            return found
        return CalendarDay(day, day.weekday() < 5, source="weekend")

    def is_working_day(self, day: date) -> bool:
        return self.day(day).workday

    def covers(self, year: int) -> bool:
        """Whether holidays of *year* are known (from the package or an administrator)."""
        return year in OFFICIAL_YEARS or any(
            d.year == year and not entry.workday and entry.source == "admin"
            for d, entry in self.days.items())


def next_working_day(due: date, calendar: WorkCalendar) -> Shift | None:
    """None when *due* is a working day; else where it moves and why."""
    first = calendar.day(due)
    if first.workday:
        return None
    day = due
    for _ in range(SEARCH_LIMIT):
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            return Shift(due, day, first)
    raise ValueError(f"No working day within {SEARCH_LIMIT} days after {due.isoformat()}")


def package_version() -> str:
    return getattr(chinese_calendar, "__version__", "")
