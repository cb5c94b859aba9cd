"""Consolidation: the children's reports combined into the parent's values.

A pure function. Numbers aggregate by each field's rule; text becomes an
ordered list headed by unit name that the parent edits into its narrative.
Every figure keeps its provenance: which child (and which revision) gave which
part, so a consolidator can click a total and see its parts.

A field that does not apply to a child (``applies_when``, by the child's unit
tags or its answers) is left out: it is neither a part nor missing, so it is
never counted as zero, and the coverage of a figure says how many children it
applied to.

Children may have reported under different versions of the template: values
are matched by field key, which keeps its meaning across versions.

Calculated fields (rates, totals) are never combined: they are recomputed from
the consolidated inputs, so a rate of the town is the town's rectified over the
town's found, not a sum or mean of the villages' rates. Yes/no and choice
answers are tallied: how many units gave each answer, and which ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from forms.applicability import Applicability, applicability
from forms.calculated import calculate
from forms.definition import Aggregation, Definition, FieldDef, FieldKind
from forms.values import coerce

MEAN_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class ChildReport:
    """What one unit below reported (typed or raw values, by field key)."""

    unit_code: str
    unit_name: str
    values: Mapping[str, Any]
    revision: int | None = None
    version: int | None = None
    # The unit's tags, for what applies to it; None when not known (tag conditions hold).
    tags: frozenset[str] | None = None

    def applicability(self, definition: Definition) -> Applicability:
        return applicability(definition, self.tags, self.values)


@dataclass(frozen=True)
class Part:
    """One child's contribution to a consolidated value."""

    unit_code: str
    unit_name: str
    value: Any
    revision: int | None = None


UNANSWERED = ""  # the tally entry of the units that gave no answer


@dataclass(frozen=True)
class TallyEntry:
    """How many units gave one answer (``option`` is a choice value, ``"yes"``/``"no"``
    for a yes/no field, or :data:`UNANSWERED`), and which ones."""

    option: str
    units: tuple[Part, ...]

    @property
    def count(self) -> int:
        return len(self.units)


@dataclass
class Consolidation:
    values: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, list[Part]] = field(default_factory=dict)
    # Per text field: [(unit name, text)], in children order.
    lists: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Per field: codes of the children that gave no value for it.
    missing: dict[str, list[str]] = field(default_factory=dict)
    # Per yes/no or choice field: one entry per option in definition order, then
    # the unanswered; a multiple-choice unit counts under each option it chose.
    tallies: dict[str, list[TallyEntry]] = field(default_factory=dict)
    # Per field: codes of the children it does not apply to (neither counted nor missing).
    not_applicable: dict[str, list[str]] = field(default_factory=dict)

    def coverage(self, key: str) -> tuple[int, int]:
        """``(applies, reported)``: how many children the field applies to, and how
        many of those gave a value ("12 个单位适用，其中 10 个已报")."""
        reported = len(self.provenance.get(key, ()))
        return reported + len(self.missing.get(key, ())), reported


def aggregate(rule: Aggregation, numbers: Sequence[int | Decimal]) -> int | Decimal | None:
    """Combine numbers by *rule*; None when there is nothing to combine."""
    if not numbers or rule in (Aggregation.NONE, Aggregation.LIST):
        return None
    if rule is Aggregation.SUM:
        return sum(numbers, start=0)
    if rule is Aggregation.MAX:
        return max(numbers)
    if rule is Aggregation.MIN:
        return min(numbers)
    if rule is Aggregation.LAST:
        return numbers[-1]
    if rule is Aggregation.MEAN:
        mean = Decimal(sum(numbers, start=0)) / len(numbers)
        return mean.quantize(MEAN_PLACES, rounding=ROUND_HALF_UP)
    raise ValueError(f"unknown aggregation {rule}")  # pragma: no cover


def child_value(fld: FieldDef, values: Mapping[str, Any]) -> Any:
    """The child's typed value for *fld*, None when absent or unreadable."""
    if fld.key not in values:
        return None
    value, _ = coerce(fld, values[fld.key])
    return value


def format_list(entries: Iterable[tuple[str, str]]) -> str:
    """The draft narrative: one paragraph per unit, headed by its name."""
    return "\n".join(f"{name}：{text}" for name, text in entries)


def consolidate(definition: Definition, children: Sequence[ChildReport]) -> Consolidation:
    """The parent's values computed from *children*, with provenance."""
    result = Consolidation()
    scopes = [child.applicability(definition) for child in children]
    for fld in definition.fields():
        rule = fld.effective_aggregation
        if rule is Aggregation.NONE:
            continue
        parts: list[Part] = []
        missing: list[str] = []
        result.not_applicable[fld.key] = off = []
        for child, scope in zip(children, scopes, strict=True):
            if not scope.applies(fld.key):
                off.append(child.unit_code)  # never counted, not even as zero
                continue
            value = child_value(fld, child.values)
            if value is None:
                missing.append(child.unit_code)
            else:
                parts.append(Part(child.unit_code, child.unit_name, value, child.revision))
        result.provenance[fld.key] = parts
        result.missing[fld.key] = missing
        if rule is Aggregation.COUNT:
            counted = [c for c, scope in zip(children, scopes, strict=True)
                       if scope.applies(fld.key)]  # "not applicable" is no answer to count
            result.tallies[fld.key] = tally(fld, parts, counted)
            continue
        result.values[fld.key] = _combine(fld, rule, parts, result)
    for fld in definition.calculated_fields():
        result.values[fld.key] = None  # filled in below from the consolidated inputs
    calculated = calculate(definition, result.values)
    for fld in definition.calculated_fields():
        if calculated[fld.key] is None:
            del result.values[fld.key]
        else:
            result.values[fld.key] = calculated[fld.key]
    return result


def tally_options(fld: FieldDef) -> list[str]:
    """The answers a tally counts, in the order shown (the unanswered last)."""
    if fld.kind is FieldKind.YESNO:
        return ["yes", "no", UNANSWERED]
    return [c.value for c in fld.choices] + [UNANSWERED]


def tally(fld: FieldDef, parts: Sequence[Part], children: Sequence[ChildReport]
          ) -> list[TallyEntry]:
    """Count *parts* per answer of *fld*; the children without a part are the unanswered."""
    by_option: dict[str, list[Part]] = {option: [] for option in tally_options(fld)}
    answered = set()
    for part in parts:
        answered.add(part.unit_code)
        if fld.kind is FieldKind.YESNO:
            chosen = ["yes" if part.value else "no"]
        elif fld.kind is FieldKind.MULTICHOICE:
            chosen = list(dict.fromkeys(part.value))
        else:
            chosen = [part.value]
        for option in chosen:
            if option in by_option:
                by_option[option].append(part)
    by_option[UNANSWERED] = [Part(c.unit_code, c.unit_name, None, c.revision)
                             for c in children if c.unit_code not in answered]
    return [TallyEntry(option, tuple(units)) for option, units in by_option.items()]


def _combine(fld: FieldDef, rule: Aggregation, parts: list[Part], out: Consolidation) -> Any:
    if fld.is_numeric:
        return aggregate(rule, [p.value for p in parts])
    if rule is Aggregation.LAST:
        return parts[-1].value if parts else None
    if fld.kind is FieldKind.TABLE:
        rows = [row for p in parts for row in p.value]
        return rows or None
    entries = [(p.unit_name, str(p.value)) for p in parts]
    out.lists[fld.key] = entries
    return format_list(entries) or None
