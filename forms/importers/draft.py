"""Pieces every reader puts into a draft: its key, its schedule, indicator fields.

The schedule is chosen from the reporting duties a reader found; when a plan
writes none, it is guessed (and the guess is listed for the administrator to
check) rather than left out, so the draft opens in the designer ready to fix.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import PurePath

from forms.importers import ImportResult, Proposal, SourceRef, Unplaced
from forms.importers.duties import (
    Duty,
    TargetFound,
    guess_frequency,
    schedule_window,
    targets_in,
)
from forms.keys import KeyMaker
from forms.periods import Frequency

DEFAULT_DUE = {"rule": "after_end", "months": 1, "day": 5}


def template_key(filename: str) -> str:
    """A template key from the file name (an administrator may rename it)."""
    stem = PurePath(filename).stem.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")
    return slug[:64] if slug and slug[0].isalnum() else "imported"


def choose_schedule(duties: list[tuple[Duty, SourceRef]], text: str, start: date | None,
                    window: tuple[int, int] | None, result: ImportResult,
                    fallback: Frequency | None = None) -> dict | None:
    """The draft's schedule from the duties found, and the rest listed as unplaced.

    The first periodic duty with a written deadline wins; then the first periodic
    one; then a frequency guessed from the text. The window runs from *start* (the
    date the plan was issued, else its earliest one-off deadline) to the end of the
    plan window."""
    periodic = [d for d in duties if d[0].frequency is not Frequency.ONCE]
    once = [d for d in duties if d[0].frequency is Frequency.ONCE]
    chosen = next((d for d in periodic if d[0].stated), periodic[0] if periodic else None)
    if chosen is None and once and not (fallback or guess_frequency(text)):
        chosen = once[0]
    if start is None and once:
        start = min(d[0].due["date"] for d in once)
    if start is None and window:
        start = date(window[0], 1, 1)
    for duty, ref in duties:
        if chosen is None or duty is not chosen[0]:
            result.unplaced.append(Unplaced(ref, "other_duty", {"text": duty.text[:60]}))
    if chosen is not None:
        duty, ref = chosen
        frequency, due = duty.frequency, dict(duty.due)
        result.proposals.append(Proposal("schedule", "schedule", ref))
        if not duty.stated:
            result.unplaced.append(Unplaced(ref, "due_guessed"))
    else:
        frequency = fallback or guess_frequency(text)
        if frequency is None:
            result.unplaced.append(Unplaced(SourceRef(), "no_schedule"))
            return None
        due = dict(DEFAULT_DUE)
        result.unplaced.append(Unplaced(SourceRef(), "schedule_guessed"))
    schedule: dict = {"frequency": frequency.value, "due": due}
    if start is None:
        result.unplaced.append(Unplaced(SourceRef(), "no_window"))
        return schedule
    last_year = window[1] if window else start.year
    if frequency is Frequency.ONCE:
        schedule["due"] = {"rule": "fixed", "date": due["date"].isoformat()}
    schedule["first"], schedule["last"] = schedule_window(frequency, start, last_year)
    return schedule


def indicator_fields(sentences: list[tuple[str, SourceRef]], window: tuple[int, int] | None,
                     keys: KeyMaker, path: str, result: ImportResult) -> list[dict]:
    """A numeric field for every quantified goal the item's text states."""
    fields = []
    for sentence, ref in sentences:
        for found in targets_in(sentence, window):
            field = _field(found, window, keys)
            path_here = f"{path}.fields[{len(fields)}]"
            fields.append(field)
            result.proposals.append(Proposal(path_here, "field", ref))
            if "target" in field:
                result.proposals.append(Proposal(f"{path_here}.target", "target", ref))
    return fields


def _field(found: TargetFound, window: tuple[int, int] | None, keys: KeyMaker) -> dict:
    label = found.clause.strip()[:40]
    field: dict = {"key": keys.new("field"), "kind": "percent" if found.percent else (
        "integer" if found.value == found.value.to_integral() else "decimal"),
        "label": label, "min": 0, "basis": found.sentence}
    if not found.percent:
        field["unit"] = found.unit
        field["cumulative"] = True
    else:
        field["max"] = 100
    by = found.by or (date(window[1], 12, 31) if window else None)
    if by is not None:
        field["target"] = {"value": _plain(found.value), "by": by.isoformat()}
    return field


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral() else float(value)
