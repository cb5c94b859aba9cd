"""Figures outside a unit's own history: pure detection, no Flask, no database.

A figure is an outlier when it lies outside the median ± k·MAD of the unit's
earlier figures for the same field (MAD: the median absolute deviation from
the median), or when it jumps to more than *jump* times the last figure (13.41
→ 1,234.5 万元). Outliers are warnings that need a 说明 beside the figure, never
errors: a real leap in investment is possible, but it must be said so.

With fewer than :data:`MIN_HISTORY` earlier figures, or a history whose MAD is
zero (every figure the same), the MAD rule has nothing to judge by and only
the jump rule applies.

A cumulative field's running total grows by design, so the MAD rule judges
what was added in each period (:func:`increments`), not the total itself: a
steadily growing total is not an outlier, a sudden large addition is. The
jump rule still reads the totals (13.41 → 1,234.5 万元 is a typo either way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from forms.consolidation import child_value
from forms.definition import Definition, FieldDef
from forms.issues import Issue, warning
from forms.values import coerce_values, format_number

MIN_HISTORY = 3
DEFAULT_K = Decimal(5)
DEFAULT_JUMP = Decimal(10)

Number = int | Decimal


def median(numbers: Sequence[Number]) -> Decimal:
    """The median of a non-empty sequence, exactly (Decimal)."""
    ordered = sorted(Decimal(n) for n in numbers)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def mad_bounds(history: Sequence[Number], k: Number) -> tuple[Decimal, Decimal] | None:
    """(low, high) = median ± k·MAD of *history*, None when it cannot judge."""
    if len(history) < MIN_HISTORY:
        return None
    centre = median(history)
    mad = median([abs(Decimal(n) - centre) for n in history])
    if mad == 0:
        return None
    return centre - Decimal(k) * mad, centre + Decimal(k) * mad


def increments(totals: Sequence[Number]) -> list[Decimal]:
    """What each running total added to the one before it (the first has no before).

    A total below the previous one restarted (a span that restarts each year):
    all of it was added since the restart.
    """
    added = []
    for before, after in zip(totals, totals[1:], strict=False):
        before, after = Decimal(before), Decimal(after)
        added.append(after - before if after >= before else after)
    return added


def is_jump(value: Number, last: Number | None, factor: Number) -> bool:
    """Whether *value* is more than *factor* times the last positive figure."""
    return last is not None and last > 0 and Decimal(value) > Decimal(factor) * Decimal(last)


def outliers(definition: Definition, values: Mapping[str, Any],
             history: Sequence[Mapping[str, Any]]) -> list[Issue]:
    """Warnings for the numeric figures of *values* outside the unit's *history*.

    *history* holds the unit's earlier sent reports (typed values), oldest
    first. A field opts out with ``outlier_k: 0`` and ``outlier_jump: 0``.
    """
    typed, _ = coerce_values(definition, values)
    issues: list[Issue] = []
    for fld in definition.numeric_fields():
        if fld.is_calculated:  # a rate follows its inputs: those are the figures to explain
            continue
        value = child_value(fld, typed)
        if value is None:
            continue
        earlier = [n for n in (child_value(fld, h) for h in history) if n is not None]
        issue = _judge(fld, value, earlier)
        if issue is not None:
            issues.append(issue)
    return issues


def quiet_range(fld: FieldDef, earlier: Sequence[Number]) -> tuple[Decimal | None, Decimal | None]:
    """(low, high): the figures of *fld* that no outlier rule flags, given the *earlier*
    ones (None: no bound). A figure below low or above high needs a 说明; the web form
    uses this to open the note box as the figure is typed (the server still judges)."""
    if fld.is_calculated or not earlier:
        return None, None
    low = high = None
    jump = fld.outlier_jump if fld.outlier_jump is not None else DEFAULT_JUMP
    if jump and earlier[-1] > 0:
        high = Decimal(jump) * Decimal(earlier[-1])
    k = fld.outlier_k if fld.outlier_k is not None else DEFAULT_K
    bounds = mad_bounds(increments(earlier) if fld.cumulative else earlier, k) if k else None
    if bounds is not None:
        if fld.cumulative:  # the rule reads what was added: shift to the total typed
            last = Decimal(earlier[-1])
            # below the last total is a correction (or a new year), judged elsewhere
            low = last + bounds[0] if bounds[0] > 0 else None
            mad_high = last + bounds[1]
        else:
            low, mad_high = bounds
        high = mad_high if high is None else min(high, mad_high)
    return low, high


def _judge(fld: FieldDef, value: Number, earlier: list[Number]) -> Issue | None:
    labels = {"label": fld.label, "label_en": fld.label_en or fld.label}
    shown = format_number(value)
    jump = fld.outlier_jump if fld.outlier_jump is not None else DEFAULT_JUMP
    if jump and earlier and is_jump(value, earlier[-1], jump):
        return warning(fld.key, "outlier_jump", value=shown, previous=format_number(earlier[-1]),
                       factor=format_number(jump), **labels)
    k = fld.outlier_k if fld.outlier_k is not None else DEFAULT_K
    judged, series = value, earlier
    if fld.cumulative:
        if not earlier:
            return None
        judged, *_ = increments([earlier[-1], value])
        series = increments(earlier)
    bounds = mad_bounds(series, k) if k else None
    if bounds is not None and not bounds[0] <= judged <= bounds[1]:
        low, high = (format_number(b.quantize(Decimal("0.01")).normalize()) for b in bounds)
        code = "outlier_increment" if fld.cumulative else "outlier_history"
        return warning(fld.key, code, value=format_number(judged), low=low, high=high,
                       count=len(series), **labels)
    return None
