"""Consolidation: the children's reports combined into the parent's values.

A pure function. Numbers aggregate by each field's rule; text becomes an
ordered list headed by unit name that the parent edits into its narrative.
Every figure keeps its provenance: which child (and which revision) gave which
part, so a consolidator can click a total and see its parts.

A field that does not apply to a child (``applies_when``, by the child's unit
tags or its answers) is left out: it is neither a part nor missing, so it is
never counted as zero, and the coverage of a figure says how many children it
applied to.

A cumulative figure (排查隐患累计) rolls up like for like: a child that has not
reported this period, or whose report is not counted yet, contributes its latest
approved figure within the field's span, *carried forward* from its period and
marked so in the provenance. Other figures are never carried: a count of this
quarter's inspections from last quarter would be wrong. 本期新增 compares the
same units in both periods (:func:`previous_like_for_like`), so a change in who
reported never reads as a fall; a unit whose own figure fell is a :class:`Fall`.

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
from forms.calculated import calculate, inputs
from forms.definition import Aggregation, Definition, FieldDef, FieldKind, same_span
from forms.i18n import NP_
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
    # The period of an earlier approved report standing in for a missing one (cumulative
    # figures only); None for a report of the period consolidated.
    carried_from: str | None = None

    def applicability(self, definition: Definition) -> Applicability:
        return applicability(definition, self.tags, self.values)


@dataclass(frozen=True)
class Part:
    """One child's contribution to a consolidated value."""

    unit_code: str
    unit_name: str
    value: Any
    revision: int | None = None
    carried_from: str | None = None  # the period the value was carried forward from
    version: int | None = None  # the template version it was reported under


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
    # Per calculated field: codes of the children it is computed over (those that gave
    # every input), in children order.
    calculated_over: dict[str, list[str]] = field(default_factory=dict)

    def coverage(self, key: str) -> tuple[int, int]:
        """``(applies, reported)``: how many children counted this period the field
        applies to, and how many of those gave a value ("12 个单位适用，其中 10 个已报")."""
        reported = len(self.provenance.get(key, ())) - self.carried(key)
        return reported + len(self.missing.get(key, ())), reported

    def carried(self, key: str) -> int:
        """How many parts of the figure were carried forward from an earlier period."""
        return sum(1 for part in self.provenance.get(key, ()) if part.carried_from)


# "17 个单位：4 个本期已计入，9 个沿用上期，4 个从未报送" beside a total. Every count is
# shown with ngettext: "1 unit:", "2 units:".
COVERAGE_UNITS = NP_("%(num)s unit:", "%(num)s units:")
COVERAGE_COUNTED = NP_("%(num)s counted this period", "%(num)s counted this period")
COVERAGE_CARRIED = NP_("%(num)s carried forward", "%(num)s carried forward")
COVERAGE_BLANK = NP_("%(num)s left it blank", "%(num)s left it blank")
COVERAGE_NEVER = NP_("%(num)s never reported", "%(num)s never reported")
COVERAGE_NOT_COUNTED = NP_("%(num)s not counted", "%(num)s not counted")
COVERAGE_OFF = NP_("does not apply to %(num)s", "does not apply to %(num)s")


@dataclass(frozen=True)
class Counts:
    """Who is in a figure: of the children it applies to, how many are counted with this
    period's report, carried forward from an earlier one, counted but left it blank,
    and the rest (no report that counts). One definition for every channel."""

    applies: int
    reported: int  # counted with a report of this period
    carried: int = 0
    blank: int = 0
    off: int = 0  # children it does not apply to

    @property
    def never(self) -> int:
        return self.applies - self.reported - self.carried - self.blank

    @property
    def complete(self) -> bool:
        return self.reported == self.applies

    def sentence(self, ngettext: Any, *, carrying: bool, locale: str = "zh_CN") -> str:
        """"17 个单位：4 个本期已计入，9 个沿用上期，4 个从未报送". *carrying*: the figure
        carries values forward (a cumulative one in the like-for-like view), so the
        units without any are those that never reported within its span. *ngettext*
        is ``ngettext(singular, plural, num)`` filling in ``num`` (Flask-Babel's)."""
        def say(message: tuple[str, str], count: int) -> str:
            return ngettext(message[0], message[1], count)

        parts = [say(COVERAGE_COUNTED, self.reported)]
        if carrying:
            parts.append(say(COVERAGE_CARRIED, self.carried))
        if self.blank:
            parts.append(say(COVERAGE_BLANK, self.blank))
        parts.append(say(COVERAGE_NEVER if carrying else COVERAGE_NOT_COUNTED, self.never))
        if self.off:
            parts.append(say(COVERAGE_OFF, self.off))
        english = locale.startswith("en")
        head = say(COVERAGE_UNITS, self.applies)
        return head + (" " if english else "") + (", " if english else "，").join(parts)


def counts_for(fld: FieldDef, child: ChildReport, period: Any) -> bool:
    """Whether *child*'s value of *fld* counts in a consolidation of *period*: a report
    of the period always; one carried forward only for a cumulative figure, within its span."""
    if child.carried_from is None:
        return True
    return fld.cumulative and same_span(fld, period, child.carried_from)


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
    """The child's typed value for *fld*, None when absent or unreadable (*values* may be
    raw: a number beyond any real figure reads as none, as it would be typed)."""
    value = values.get(fld.key)
    if value is None:
        return None
    value, _ = coerce(fld, value)
    return value


def format_list(entries: Iterable[tuple[str, str]]) -> str:
    """The draft narrative: one paragraph per unit, headed by its name."""
    return "\n".join(f"{name}：{text}" for name, text in entries)


def consolidate(definition: Definition, children: Sequence[ChildReport],
                period: Any = None) -> Consolidation:
    """The parent's values computed from *children*, with provenance.

    Children carried forward (``carried_from``) give only the cumulative figures
    within the span of *period*; for the others they are neither parts nor missing.
    """
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
            if not counts_for(fld, child, period):
                continue
            if not scope.applies(fld.key):
                off.append(child.unit_code)  # never counted, not even as zero
                continue
            value = child_value(fld, child.values)
            if value is None:
                if child.carried_from is None:
                    missing.append(child.unit_code)
            else:
                parts.append(Part(child.unit_code, child.unit_name, value, child.revision,
                                  child.carried_from, child.version))
        result.provenance[fld.key] = parts
        result.missing[fld.key] = missing
        if rule is Aggregation.COUNT:
            # "not applicable" is no answer to count
            counted = [c for c, scope in zip(children, scopes, strict=True)
                       if scope.applies(fld.key) and counts_for(fld, c, period)]
            result.tallies[fld.key] = tally(fld, parts, counted)
            continue
        result.values[fld.key] = _combine(fld, rule, parts, result)
    _calculate_like_for_like(definition, result, [c.unit_code for c in children])
    return result


def raw_inputs(definition: Definition, fld: FieldDef) -> list[str]:
    """The entered (not calculated) fields *fld*'s formula reads, through calculated ones."""
    found: list[str] = []
    for key in inputs(fld):
        source = definition.field(key)
        if source is not None and source.is_calculated:
            found += [k for k in raw_inputs(definition, source) if k not in found]
        elif key not in found:
            found.append(key)
    return found


def _calculate_like_for_like(definition: Definition, result: Consolidation,
                             order: Sequence[str]) -> None:
    """Calculated fields (rates) from the consolidated inputs of the *same* units.

    Only cumulative figures carry forward and a unit may leave an input blank, so the
    inputs of a rate can hold different units (the town's found with a village carried
    forward, its rectified without it). A rate is then computed over the units that
    gave every input, each input re-aggregated over them; ``calculated_over`` names
    those units for the coverage. When every input holds the same units, that is just
    the rate of the consolidated inputs.
    """
    for fld in definition.calculated_fields():
        result.values[fld.key] = None  # filled in below
    plain = calculate(definition, result.values)
    for fld in definition.calculated_fields():
        keys = [k for k in raw_inputs(definition, fld) if k in result.provenance]
        units = [{p.unit_code for p in result.provenance[k]} for k in keys]
        common = set.intersection(*units) if units else set()
        value = plain[fld.key]
        if units and any(u != common for u in units):
            values = dict(result.values)
            for key in keys:
                source = definition.field(key)
                numbers = [p.value for p in result.provenance[key] if p.unit_code in common]
                values[key] = aggregate(source.effective_aggregation, numbers) \
                    if source is not None and source.is_numeric else None
            value = calculate(definition, values)[fld.key]
        result.calculated_over[fld.key] = [code for code in order if code in common]
        if value is None:
            del result.values[fld.key]
        else:
            result.values[fld.key] = value


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


# -- like for like ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fall:
    """A unit's own cumulative figure lower than its previous one: a real fall (a
    correction), not a change in who reported."""

    unit_code: str
    unit_name: str
    field_key: str
    value: Any
    previous: Any
    previous_period: str


def _like_for_like_fields(definition: Definition) -> list[FieldDef]:
    return [f for f in definition.cumulative_fields()
            if f.effective_aggregation not in (Aggregation.NONE, Aggregation.COUNT)]


def _before(fld: FieldDef, part: Part, prior: Mapping[str, ChildReport], period: Any) -> Any:
    """The unit's figure before *period* within the span (None when it has none)."""
    before = prior.get(part.unit_code)
    if before is None or not same_span(fld, period, before.carried_from):
        return None
    return child_value(fld, before.values)


def previous_like_for_like(definition: Definition, result: Consolidation,
                           prior: Mapping[str, ChildReport], period: Any,
                           previous_period: Any) -> dict[str, Any]:
    """Each cumulative figure as the *same units* stood before *period*.

    *prior* holds, by unit code, each child's latest approved report before
    *period* (``carried_from`` its period). Only the units that make up this
    period's figure count, each with its own earlier figure; a unit without one
    adds nothing, so its whole figure is new. None across a span's start (a
    yearly count in January), where the whole figure is new too.
    """
    out: dict[str, Any] = {}
    for fld in _like_for_like_fields(definition):
        if previous_period is None or not same_span(fld, period, previous_period):
            out[fld.key] = None
            continue
        numbers = [value for value in (_before(fld, part, prior, period)
                                       for part in result.provenance.get(fld.key, ()))
                   if value is not None]
        out[fld.key] = aggregate(fld.effective_aggregation, numbers)
    return out


def falls(definition: Definition, result: Consolidation, prior: Mapping[str, ChildReport],
          period: Any) -> list[Fall]:
    """The parts of this period lower than the same unit's figure before, by field."""
    found = []
    for fld in _like_for_like_fields(definition):
        for part in result.provenance.get(fld.key, ()):
            if part.carried_from is not None:
                continue
            before = _before(fld, part, prior, period)
            if before is not None and part.value < before:
                found.append(Fall(part.unit_code, part.unit_name, fld.key, part.value, before,
                                  prior[part.unit_code].carried_from or ""))
    return found
