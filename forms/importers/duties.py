"""Reporting duties, deadlines, frequencies, the plan window and targets in plan text.

Plans state when to report in a handful of ways ("每年6月10日、12月10日前报送",
"分别于1月5日，4月5日，7月5日和10月5日报送上一季度", "每季度结束后5日内",
"于4月10日前报"); these functions turn such sentences into the terms of
:mod:`forms.periods` (frequency, due rule, window) and quantified goals
("不少于2家", "2024年底前", "全覆盖") into targets. They only read text:
deciding what goes into a draft is the document reader's job.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from forms.periods import Frequency, Period

_MONTHS_OF = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.HALFYEARLY: 6,
              Frequency.YEARLY: 12}
_BY_COUNT = {12: Frequency.MONTHLY, 4: Frequency.QUARTERLY, 2: Frequency.HALFYEARLY}

_SENTENCES = re.compile(r"[^。；;！？\n]+")
_MONTH_DAY = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_FULL_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")
_WINDOW = re.compile(r"(20\d\d)\s*年?\s*[—–\-－~〜至到]+\s*(20\d\d)\s*年")
_REPORT = re.compile(r"报送|上报|前报|报至|报给|报[县市区镇乡局委办]|汇总报")
_EVERY = (
    (Frequency.MONTHLY, re.compile(r"每月|每个月|月度|月报|逐月")),
    (Frequency.QUARTERLY, re.compile(r"每季度?|季度")),
    (Frequency.HALFYEARLY, re.compile(r"每半年|半年度?")),
    (Frequency.YEARLY, re.compile(r"每年|年度|年报")),
)
_PREVIOUS = re.compile(r"上一?(?:个)?(?:月|季度?|半年|年度?)")
_AFTER_END = re.compile(
    r"(月|季度?|半年|年度?)\s*(?:结束|终了|末)后\s*(\d{1,2})\s*(?:个工作日|日|天)内?")
_NEXT_MONTH = re.compile(r"次月\s*(\d{1,2})\s*[日号]")
_UNIT_WORD = {"月": Frequency.MONTHLY, "季": Frequency.QUARTERLY, "季度": Frequency.QUARTERLY,
              "半年": Frequency.HALFYEARLY, "年": Frequency.YEARLY, "年度": Frequency.YEARLY}

_BY_DATE = (
    (re.compile(r"(20\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(?:前|之前|以前)"), "ymd"),
    (re.compile(r"(20\d\d)\s*年\s*(\d{1,2})\s*月\s*(?:底|末)\s*(?:前|之前)?"), "ym"),
    (re.compile(r"(20\d\d)\s*年\s*(?:年)?(?:底|末)\s*(?:前|之前)?"), "y"),
)
_WITHIN_PLAN = re.compile(r"三年内|行动期内|行动期间|到期末")
_QUANTITY = re.compile(
    r"(不少于|不低于|至少|达到|达|完成)?\s*(\d+(?:\.\d+)?)\s*"
    r"(%|％|家|个|人次|人|户|场|次|项|处|支|台|套|所|名|期|座|条|家次)")
_FULL = re.compile(r"全覆盖|100\s*[%％]")
_CLAUSES = re.compile(r"[^，,；;：:。]+")


@dataclass(frozen=True)
class Duty:
    """One reporting duty found in a sentence."""

    frequency: Frequency
    due: dict  # a due rule as plain data (forms.periods.DueRule)
    text: str  # the sentence
    stated: bool  # False when the deadline was not written and a default was taken


@dataclass(frozen=True)
class TargetFound:
    value: Decimal
    unit: str
    percent: bool
    by: date | None
    clause: str  # the words around the figure, to label a field
    sentence: str


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.findall(text) if s.strip()]


def full_date(text: str) -> date | None:
    """A paragraph that is only a date, like the date line under a signature."""
    match = _FULL_DATE.match(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def plan_window(text: str) -> tuple[int, int] | None:
    """The years of the plan, e.g. (2024, 2026) for "2024—2026年"."""
    match = _WINDOW.search(text)
    if not match:
        return None
    first, last = int(match[1]), int(match[2])
    return (first, last) if first <= last else None


def frequency_in(text: str) -> Frequency | None:
    """The first frequency word of *text* ("每季度" → quarterly)."""
    found = [(m.start(), f) for f, p in _EVERY for m in [p.search(text)] if m]
    return min(found, key=lambda pair: pair[0])[1] if found else None


def guess_frequency(text: str) -> Frequency | None:
    """The reporting rhythm a plan suggests without stating one: the sub-yearly
    frequency it asks for most often ("每月…", "每季度…"), quarterly on a tie."""
    counts = Counter()
    for frequency, word in ((Frequency.MONTHLY, "每月"), (Frequency.QUARTERLY, "每季度"),
                            (Frequency.HALFYEARLY, "每半年")):
        counts[frequency] = text.count(word)
    best = max(counts.values())
    if best == 0:
        return None
    for frequency in (Frequency.QUARTERLY, Frequency.MONTHLY, Frequency.HALFYEARLY):
        if counts[frequency] == best:
            return frequency
    return None


def duty_in(sentence: str, year: int | None) -> Duty | None:
    """The reporting duty a sentence states, if it states one; *year* dates a one-off
    deadline written without its year."""
    if not _REPORT.search(sentence):
        return None
    after = _AFTER_END.search(sentence)
    if after:
        frequency = _UNIT_WORD.get(after[1], Frequency.QUARTERLY)
        return Duty(frequency, {"rule": "after_end", "months": 1, "day": int(after[2])},
                    sentence, True)
    word = frequency_in(sentence)
    next_month = _NEXT_MONTH.search(sentence)
    if next_month and word and word is not Frequency.YEARLY:
        return Duty(word, {"rule": "after_end", "months": 1, "day": int(next_month[1])},
                    sentence, True)
    dates = [(int(m[1]) if m[1] else None, int(m[2]), int(m[3]))
             for m in _MONTH_DAY.finditer(sentence)]
    dates = [d for d in dates if 1 <= d[1] <= 12 and 1 <= d[2] <= 31]
    months = sorted({m for _, m, _ in dates})
    previous = bool(_PREVIOUS.search(sentence))
    if len(months) >= 2:
        frequency = _BY_COUNT.get(len(months), word)
        if frequency is None or frequency is Frequency.YEARLY:
            return None
        return Duty(frequency, _periodic_rule(frequency, months[0], dates[0][2], previous),
                    sentence, True)
    if len(months) == 1:
        (y, m, d), = dates[:1]
        if word in (Frequency.YEARLY, None) and not (word and previous):
            if word is Frequency.YEARLY:
                return Duty(Frequency.YEARLY, {"rule": "in_period", "month": m, "day": d},
                            sentence, True)
            year = y or year
            if year is None:
                return None
            try:
                return Duty(Frequency.ONCE, {"rule": "fixed", "date": date(year, m, d)},
                            sentence, True)
            except ValueError:
                return None
        if word:
            return Duty(word, _periodic_rule(word, m, d, previous), sentence, True)
    if word and word is not Frequency.YEARLY:
        return Duty(word, {"rule": "after_end", "months": 1, "day": 5}, sentence, False)
    return None


def _periodic_rule(frequency: Frequency, month: int, day: int, previous: bool) -> dict:
    """The due rule of a deadline in *month*: after the end of the previous period
    when the sentence says so ("报送上一季度"), else inside the period itself."""
    span = _MONTHS_OF[frequency]
    if previous:
        current_end = -(-month // span) * span
        return {"rule": "after_end", "months": month - (current_end - span), "day": day}
    return {"rule": "in_period", "month": (month - 1) % span + 1, "day": day}


def due_by(sentence: str, window: tuple[int, int] | None) -> date | None:
    """The date a sentence sets for reaching something ("2025年底前")."""
    for pattern, shape in _BY_DATE:
        match = pattern.search(sentence)
        if not match:
            continue
        year = int(match[1])
        try:
            if shape == "ymd":
                return date(year, int(match[2]), int(match[3]))
            if shape == "ym":
                month = int(match[2])
                return date(year, month, calendar.monthrange(year, month)[1])
        except ValueError:
            return None
        return date(year, 12, 31)
    if window and _WITHIN_PLAN.search(sentence):
        return date(window[1], 12, 31)
    return None


def targets_in(sentence: str, window: tuple[int, int] | None) -> list[TargetFound]:
    """Quantified goals of a sentence; a frequency ("每年至少1次") is a rhythm, not a goal."""
    found = []
    by = due_by(sentence, window)
    for clause in _CLAUSES.findall(sentence):
        if frequency_in(clause) or _MONTH_DAY.search(clause):
            continue
        if _FULL.search(clause):
            found.append(TargetFound(Decimal(100), "%", True, by, clause.strip(), sentence))
            continue
        for match in _QUANTITY.finditer(clause):
            percent = match[3] in ("%", "％")
            if not (match[1] or percent or due_by(clause, None)):
                continue  # a bare figure ("2家") with neither 不少于 nor a date is no goal
            found.append(TargetFound(Decimal(match[2]), "%" if percent else match[3], percent,
                                     by, clause.strip(), sentence))
    return found


def schedule_window(frequency: Frequency, start: date, last_year: int) -> tuple[str, str]:
    """First and last period keys: from the period holding *start* to the end of *last_year*."""
    if frequency is Frequency.ONCE:
        return "once", "once"
    first = Period.containing(frequency, start)
    last = Period.containing(frequency, date(max(last_year, start.year), 12, 31))
    return first.key, last.key
