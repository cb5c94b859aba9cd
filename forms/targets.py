"""Progress towards a plan's targets: pure logic, no Flask, no database.

A target (``forms.definition.Target``) is judged on a unit's series of
reports, ``[(period, values), …]``, as of *today*, a calendar day in
Asia/Shanghai that the caller passes in (the clock is a parameter, so tests
and exports agree on what "today" is; :func:`today_in_shanghai` turns a moment
into it).

Statuses:

- **met**: the figure reached the target (for a recurring minimum: every
  window up to the target's date has ended and each reached the minimum);
- **missed**: the target's date has passed (the day after it has begun in
  Shanghai) without reaching it, or a recurring window ended below the minimum;
- **at risk**: not yet reached and behind a straight line from the starting
  point on the start day (the plan's first day, or ``since``) to the target on
  its date. The starting point is 0 for counts and coverage and the first
  reported figure for stocks. For a recurring minimum, the current window is at
  risk once more than half of it has passed below the minimum;
- **on track**: not yet reached and at or ahead of that line;
- **no data**: nothing reported yet and the date not passed.

Only reports of periods that have begun by *today* and by the target's date
count: a figure reported for a later period says nothing about the deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from forms.consolidation import child_value, raw_inputs
from forms.definition import (
    TARGET_WINDOW_MONTHS,
    Definition,
    FieldDef,
    Target,
    TargetKind,
    TargetScope,
    TargetWindow,
)
from forms.i18n import N_
from forms.issues import Issue, warning
from forms.periods import SHANGHAI, Period
from forms.validation import increments
from forms.values import coerce_values, format_number

Series = Sequence[tuple[Period, Mapping[str, Any]]]


class TargetStatus(StrEnum):
    MET = "met"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    MISSED = "missed"
    NO_DATA = "no_data"


STATUS_LABELS = {
    TargetStatus.MET: N_("met"),
    TargetStatus.ON_TRACK: N_("on track"),
    TargetStatus.AT_RISK: N_("at risk"),
    TargetStatus.MISSED: N_("missed"),
    TargetStatus.NO_DATA: N_("no report yet"),
}

KIND_LABELS = {
    TargetKind.ABSOLUTE: N_("figure by a date"),
    TargetKind.SHARE: N_("share by a date"),
    TargetKind.STOCK: N_("stock cleared by a date"),
    TargetKind.RECURRING: N_("recurring minimum"),
}

WINDOW_LABELS = {
    TargetWindow.YEAR: N_("per year"),
    TargetWindow.HALFYEAR: N_("per half-year"),
    TargetWindow.QUARTER: N_("per quarter"),
    TargetWindow.MONTH: N_("per month"),
}

HUNDRED = Decimal(100)


def today_in_shanghai(now: dt.datetime) -> dt.date:
    """The calendar day of *now* in Asia/Shanghai (naive datetimes are UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class WindowProgress:
    """One window of a recurring minimum: what was done in it against the minimum."""

    start: dt.date
    end: dt.date
    count: Decimal
    minimum: Decimal
    status: TargetStatus

    @property
    def key(self) -> str:
        """The window as a period key (``2024``, ``2024H2``, ``2024Q3``)."""
        months = (self.end.year * 12 + self.end.month) - (self.start.year * 12 + self.start.month)
        frequency = {11: "yearly", 5: "halfyearly", 2: "quarterly", 0: "monthly"}[months]
        return Period.containing(frequency, self.start).key


@dataclass(frozen=True)
class Progress:
    """Where one target stands on *today*.

    ``value`` is what is compared with ``target``: the figure (absolute), the
    percentage reached (share), the remaining stock (stock), or the count of
    the first missed window, else of the latest one (recurring). ``expected`` is the
    straight-line pace on *today* (None for recurring targets and once the
    date has passed). ``baseline`` is the stock's starting figure, fixed by
    the unit's first report; ``numerator``/``denominator`` make up a share.
    """

    field: FieldDef
    target: Target
    value: Decimal | None
    status: TargetStatus
    period: Period | None = None  # the report the value comes from
    expected: Decimal | None = None
    baseline: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    windows: tuple[WindowProgress, ...] = field(default_factory=tuple)

    @property
    def kind(self) -> TargetKind:
        return self.target.kind

    @property
    def deadline(self) -> dt.date:
        return self.target.by

    @property
    def is_share(self) -> bool:
        return self.target.kind is TargetKind.SHARE

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (numbers as strings, like the API's figures)."""
        def num(value: Decimal | None) -> str | None:
            return None if value is None else _plain_number(value)

        return {
            "field": self.field.key,
            "kind": str(self.kind),
            "scope": str(self.target.scope),
            "comparison": self.target.comparison,
            "target": num(self.target.value),
            "by": self.target.by.isoformat(),
            "every": str(self.target.every) if self.target.every else None,
            "denominator_field": self.target.denominator,
            "value": num(self.value),
            "period": self.period.key if self.period else None,
            "status": str(self.status),
            "expected": num(self.expected),
            "baseline": num(self.baseline),
            "numerator": num(self.numerator),
            "denominator": num(self.denominator),
            "windows": [
                {"window": w.key, "start": w.start.isoformat(), "end": w.end.isoformat(),
                 "count": num(w.count), "minimum": num(w.minimum), "status": str(w.status)}
                for w in self.windows
            ],
        }


def _plain_number(value: Decimal) -> str:
    """``12``, ``87.5``: no exponent, no trailing zeros."""
    text = format(value.quantize(Decimal("0.01")).normalize(), "f")
    return text


def plan_start(definition: Definition, target: Target, opens: dt.date | None = None) -> dt.date:
    """Where the pace of *target* starts: its ``since``, else *opens* (the first day of an
    assignment that starts later than the plan), else the plan window's first day."""
    if target.since is not None:
        return target.since
    if opens is not None and opens < target.by:
        return opens
    first = definition.schedule.first_period
    return first.start if first.start != dt.date.min else target.by


def progress(definition: Definition, fld: FieldDef, series: Series, today: dt.date, *,
             opens: dt.date | None = None) -> Progress:
    """The progress of *fld*'s target on *today* from the unit's *series* of reports.

    *opens* is the first day the unit reports on (an assignment may start after the
    plan): pace and windows count from there.
    """
    target = fld.target
    if target is None:
        raise ValueError(f"field {fld.key} has no target")
    series = sorted(series, key=lambda pair: (pair[0].year, pair[0].index))
    if target.kind is TargetKind.RECURRING:
        return _recurring(definition, fld, target, series, today, opens)
    cutoff = min(today, target.by)
    counted = [(p, v) for p, v in series if p.start <= cutoff]
    start = plan_start(definition, target, opens)
    baseline = None
    if target.kind is TargetKind.STOCK or target.comparison == "<=":
        baseline = next((child_value(fld, v) for _, v in counted
                         if child_value(fld, v) is not None), None)
        baseline = None if baseline is None else Decimal(baseline)
    numerator = denominator = value = None
    period = None
    for p, values in reversed(counted):
        number = child_value(fld, values)
        if number is None:
            continue
        if target.kind is TargetKind.SHARE:
            denominator_field = definition.field(target.denominator)
            total = child_value(denominator_field, values)
            if total is None:
                continue
            numerator, denominator = Decimal(number), Decimal(total)
            # Nothing to cover counts as fully covered (全覆盖 of an empty set).
            value = HUNDRED if denominator == 0 else numerator * HUNDRED / denominator
        else:
            value = Decimal(number)
        period = p
        break
    goal = target.value
    if value is None:
        status = TargetStatus.MISSED if today > target.by else TargetStatus.NO_DATA
        return Progress(fld, target, None, status, baseline=baseline)
    reached = value >= goal if target.comparison == ">=" else value <= goal
    expected = None
    if reached:
        status = TargetStatus.MET
    elif today > target.by:
        status = TargetStatus.MISSED
    else:
        origin = baseline if baseline is not None and target.comparison == "<=" else Decimal(0)
        expected = origin + (goal - origin) * _elapsed(start, target.by, today)
        behind = value < expected if target.comparison == ">=" else value > expected
        status = TargetStatus.AT_RISK if behind else TargetStatus.ON_TRACK
        expected = expected.quantize(Decimal("0.01"))
    return Progress(fld, target, value, status, period=period, expected=expected,
                    baseline=baseline, numerator=numerator, denominator=denominator)


def _elapsed(start: dt.date, end: dt.date, today: dt.date) -> Decimal:
    """Share of the days from *start* to *end* that have passed by the end of *today*."""
    total = (end - start).days + 1
    done = (today - start).days + 1
    return Decimal(min(max(done, 0), total)) / Decimal(total)


def windows(start: dt.date, end: dt.date, every: TargetWindow) -> list[tuple[dt.date, dt.date]]:
    """Calendar windows of *every* from the one holding *start* to the one holding *end*."""
    months = TARGET_WINDOW_MONTHS[every]
    frequency = {12: "yearly", 6: "halfyearly", 3: "quarterly", 1: "monthly"}[months]
    period: Period | None = Period.containing(frequency, start)
    out = []
    while period is not None and period.start <= end:
        out.append((period.start, period.end))
        period = period.next()
    return out


def window_counts(
    definition: Definition, fld: FieldDef, series: Series, bounds: Iterable[tuple[dt.date, dt.date]]
) -> list[Decimal]:
    """What was done in each window: the increments of a cumulative field (the
    figure itself for a per-period count), each counted in the window that
    holds the end of its report's period."""
    bounds = list(bounds)
    counts = [Decimal(0)] * len(bounds)
    previous: tuple[Period, Mapping[str, Any]] | None = None
    for period, values in series:
        if fld.cumulative:
            new = increments(definition, values, previous[1] if previous else None,
                             period=period, previous_period=previous[0] if previous else None)
            amount = new.get(fld.key)
        else:
            amount = child_value(fld, values)
        if child_value(fld, values) is not None:
            previous = (period, values)
        if amount is None:
            continue
        for index, (low, high) in enumerate(bounds):
            if low <= period.end <= high:
                counts[index] += Decimal(amount)
                break
    return counts


def _recurring(definition: Definition, fld: FieldDef, target: Target, series: Series,
               today: dt.date, opens: dt.date | None) -> Progress:
    bounds = [(low, high) for low, high in
              windows(plan_start(definition, target, opens), target.by, target.every)
              if low <= today]
    counts = window_counts(definition, fld, series, bounds)
    minimum = target.value
    judged = []
    for (low, high), count in zip(bounds, counts, strict=True):
        if count >= minimum:
            status = TargetStatus.MET
        elif today > high:
            status = TargetStatus.MISSED
        elif today > low + (high - low) / 2:
            status = TargetStatus.AT_RISK
        else:
            status = TargetStatus.ON_TRACK
        judged.append(WindowProgress(low, high, count, minimum, status))
    if not judged:
        return Progress(fld, target, None, TargetStatus.NO_DATA)
    statuses = [w.status for w in judged]
    ended = today > target.by
    if TargetStatus.MISSED in statuses:
        overall = TargetStatus.MISSED
    elif ended:
        overall = TargetStatus.MET
    elif judged[-1].status is TargetStatus.MET:
        overall = TargetStatus.ON_TRACK  # this window is done; later ones are still to come
    else:
        overall = judged[-1].status
    # The figure shown is the first missed window's (what cannot be made up), else the latest.
    shown = next((w for w in judged if w.status is TargetStatus.MISSED), judged[-1])
    return Progress(fld, target, shown.count, overall, windows=tuple(judged))


def judged_keys(definition: Definition) -> frozenset[str]:
    """The fields :func:`progress_all` reads: each target's field, a share's denominator,
    and the entered fields a calculated one among them is computed from (worked out once
    per definition: every answer with targets asks)."""
    return definition.derived("judged_keys", lambda: frozenset(_judged_keys(definition)))


def _judged_keys(definition: Definition) -> set[str]:
    keys: set[str] = set()
    for fld in definition.target_fields():
        read = [fld]
        if fld.target.kind is TargetKind.SHARE:
            read.append(definition.field(fld.target.denominator))
        for found in read:
            if found is None:
                continue
            keys.add(found.key)
            if found.is_calculated:
                keys.update(raw_inputs(definition, found))
    return keys


def needs_earlier(definition: Definition, fld: FieldDef, period: Period,
                  values: Mapping[str, Any], today: dt.date) -> bool:
    """Whether :func:`progress` of *fld*'s target reads reports before *period*, the latest
    of the series, whose *values* are given: a recurring minimum counts every window, a
    stock or a ceiling (``<=``) starts from the first report; any other target stops at
    the latest counted figure, which *values* hold when *period* counts by the target's
    date and gives the figure (and a share's denominator)."""
    target = fld.target
    if target is None:
        return False
    if (target.kind in (TargetKind.RECURRING, TargetKind.STOCK)
            or target.comparison != ">="):
        return True
    if period.start > min(today, target.by) or child_value(fld, values) is None:
        return True
    if target.kind is TargetKind.SHARE:
        return child_value(definition.field(target.denominator), values) is None
    return False


def progress_all(definition: Definition, series: Series, today: dt.date, *,
                 scopes: Iterable[TargetScope] = tuple(TargetScope),
                 opens: dt.date | None = None) -> list[Progress]:
    """Every target of *definition* of the given *scopes*, in form order."""
    scopes = set(scopes)
    return [progress(definition, fld, series, today, opens=opens)
            for fld in definition.target_fields() if fld.target.scope in scopes]


def baseline_changes(definition: Definition, values: Mapping[str, Any],
                     original: Mapping[str, Any]) -> list[Issue]:
    """Warnings for stock starting figures that differ from the ones first handed in.

    A stock's progress is measured from the unit's first report, so changing that
    figure later moves every later report's progress: the change stands only with
    a correction note (a warning, which needs an explanation in the remarks).
    *values* may be raw; *original* holds the typed values first handed in.
    """
    typed, _ = coerce_values(definition, values)
    issues = []
    for fld in definition.target_fields():
        if fld.target.kind is not TargetKind.STOCK:
            continue
        before, now = child_value(fld, original), child_value(fld, typed)
        if before is not None and now is not None and before != now:
            label = {"label": fld.label, "label_en": fld.label_en or fld.label}
            issues.append(warning(fld.key, "stock_baseline_changed",
                                  original=format_number(before), value=format_number(now),
                                  **label))
    return issues


# -- wording ---------------------------------------------------------------------------

TARGET_LINES = {
    (TargetKind.ABSOLUTE, ">="): N_("Target: ≥ %(target)s%(unit)s by %(by)s"),
    (TargetKind.ABSOLUTE, "<="): N_("Target: ≤ %(target)s%(unit)s by %(by)s"),
    (TargetKind.SHARE, ">="): N_("Target: ≥ %(target)s%% of %(denominator_label)s by %(by)s"),
    (TargetKind.STOCK, "<="): N_(
        "Target: down to %(target)s%(unit)s by %(by)s, from the first report's figure"),
    (TargetKind.RECURRING, ">="): N_("Target: at least %(target)s%(unit)s %(every)s until %(by)s"),
}
NOW = N_(" · now %(value)s · %(status)s")
STOCK_NOW = N_(" · at the first report %(baseline)s · now %(value)s · %(status)s")
WINDOW_NOW = N_(" · %(window)s: %(value)s · %(status)s")
NO_VALUE = "—"


def deadline_label(day: dt.date, locale: str) -> str:
    """``2024年底`` / ``end of 2024``, ``2024年6月底`` / ``end of June 2024``, else the day."""
    zh = not str(locale).lower().startswith("en")
    month_end = (day + dt.timedelta(days=1)).day == 1
    if month_end and day.month == 12:
        return f"{day.year}年底" if zh else f"end of {day.year}"
    if month_end:
        if zh:
            return f"{day.year}年{day.month}月底"
        return f"end of {Period.containing('monthly', day).label('en')}"
    if zh:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {Period.containing('monthly', day).label('en')}"


def describe(fld: FieldDef, translate, locale: str, definition: Definition) -> str:
    """What *fld*'s target asks, e.g. “目标：2024年底前 ≥ 2 家”."""
    target = fld.target
    unit = fld.text("unit", locale)
    params: dict[str, Any] = {
        "target": _plain_number(target.value),
        "unit": f" {unit}" if unit else "",
        "by": deadline_label(target.by, locale),
    }
    if target.kind is TargetKind.SHARE:
        denominator = definition.field(target.denominator)
        params["denominator_label"] = denominator.text("label", locale) if denominator else ""
    if target.kind is TargetKind.RECURRING:
        params["every"] = translate(WINDOW_LABELS[target.every])
    return translate(TARGET_LINES[(target.kind, target.comparison)]) % params


def summary(item: Progress, translate, locale: str, definition: Definition) -> str:
    """One line such as “目标：2024年底前 ≥ 2 家 · 当前 1 · 有风险”."""
    target = item.target
    params: dict[str, Any] = {
        "status": translate(STATUS_LABELS[item.status]),
        "value": NO_VALUE if item.value is None else _plain_number(item.value),
        "baseline": NO_VALUE if item.baseline is None else _plain_number(item.baseline),
    }
    tail = NOW
    if target.kind is TargetKind.SHARE and item.value is not None:
        params["value"] = (f"{_plain_number(item.value)}% ({_plain_number(item.numerator)}"
                           f"/{_plain_number(item.denominator)})")
    if target.kind is TargetKind.STOCK:
        tail = STOCK_NOW
    if target.kind is TargetKind.RECURRING:
        tail = WINDOW_NOW
        shown = next((w for w in item.windows if w.status is TargetStatus.MISSED),
                     item.windows[-1] if item.windows else None)
        params["window"] = (Period.parse(shown.key).label(locale) if shown
                            else translate(N_("this window")))
    return describe(item.field, translate, locale, definition) + translate(tail) % params
