"""Applicability: which sections, items and fields a report asks of one unit.

A section, item or field may carry ``applies_when``, a condition in the rule
language on the unit's tags (``unit_has('危化')``) or on other answers
(``has_committee == true``). What does not apply is hidden on the web, locked in
the workbook, skipped by validation and left out of consolidation: it is never
counted as zero. :func:`applicability` is the one place that decides it; every
channel asks it.

A part applies only when its condition holds: an unanswered question that a
detail depends on hides the detail until it is answered. A section's or item's
condition applies to everything inside it.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from forms.definition import Definition, FieldDef, FieldKind
from forms.rules import Expr, parse
from forms.values import coerce


class _AnyTag(frozenset):
    """The tags of a unit that is not known: every tag condition holds.

    Used where a definition is read without a unit (a blank form, a preview), so
    nothing is hidden for want of knowing who fills it in.
    """

    def __contains__(self, tag: object) -> bool:
        return True


ANY_TAGS: frozenset[str] = _AnyTag()


@dataclass(frozen=True)
class Condition:
    """Where a condition sits and the field keys it governs."""

    scope: str  # "section", "item" or "field"
    key: str
    expr: Expr
    governs: frozenset[str]

    @property
    def on_answers(self) -> bool:
        """Whether it depends on answers (and so may change while the form is filled)."""
        return bool(self.expr.fields)


# Conditions are parsed on every request that shows or checks a report: once is enough.
_parse = lru_cache(maxsize=1024)(parse)


def conditions(definition: Definition) -> tuple[Condition, ...]:
    """The definition's conditions, outermost first (the definition validated them);
    worked out once per definition (every request that shows or checks a report asks)."""
    return definition.derived("conditions", lambda: _conditions(definition))


def _conditions(definition: Definition) -> tuple[Condition, ...]:
    found: list[Condition] = []
    for fld in definition.header:
        if fld.applies_when:
            found.append(Condition("field", fld.key, _parse(fld.applies_when),
                                   frozenset({fld.key})))
    for section in definition.sections:
        if section.applies_when:
            keys = frozenset(f.key for i in section.items for f in i.fields)
            found.append(Condition("section", section.key, _parse(section.applies_when), keys))
        for item in section.items:
            if item.applies_when:
                found.append(Condition("item", item.key, _parse(item.applies_when),
                                       frozenset(f.key for f in item.fields)))
            for fld in item.fields:
                if fld.applies_when:
                    found.append(Condition("field", fld.key, _parse(fld.applies_when),
                                           frozenset({fld.key})))
    return tuple(found)


@dataclass(frozen=True)
class Applicability:
    """What does not apply to one unit's report (everything else does)."""

    sections: frozenset[str] = frozenset()
    items: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()

    def applies(self, field_key: str) -> bool:
        return field_key not in self.fields

    def section_applies(self, key: str) -> bool:
        return key not in self.sections

    def item_applies(self, key: str) -> bool:
        return key not in self.items

    def prune(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """*values* without those of fields that do not apply."""
        return {k: v for k, v in values.items() if k not in self.fields}

    def dropped(self, values: Mapping[str, Any]) -> list[str]:
        """Keys of fields that do not apply but were given a value, in *values* order."""
        return [k for k, v in values.items() if k in self.fields and not _blank(v)]


EVERYTHING = Applicability()


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return not value
    return False


def applicability(
    definition: Definition,
    tags: Collection[str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> Applicability:
    """What does not apply for a unit with *tags* that gave *values* (raw or typed).

    ``tags=None`` means the unit is not known: tag conditions then hold. A
    condition that reads a field which does not apply itself sees it as blank, so
    chains (tag → yes/no → details) hide everything below a hidden question.
    """
    found = conditions(definition)
    if not found:
        return EVERYTHING
    tag_set = ANY_TAGS if tags is None else frozenset(tags)
    answers = _answers(definition, found, values or {})
    hidden: frozenset[str] = frozenset()
    # Hiding a field can only change conditions that read it; a few rounds settle.
    for _ in range(len(found) + 1):
        visible = {k: v for k, v in answers.items() if k not in hidden}
        off = [c for c in found if c.expr.evaluate(visible, tags=tag_set) is not True]
        now = frozenset().union(*(c.governs for c in off)) if off else frozenset()
        if now == hidden:
            break
        hidden = now
    return Applicability(
        sections=frozenset(c.key for c in off if c.scope == "section"),
        items=frozenset(c.key for c in off if c.scope == "item"),
        fields=hidden,
    )


def applies_by_tags(definition: Definition, tags: Collection[str] | None) -> Applicability:
    """What cannot apply to a unit with *tags*, whatever it answers.

    For a unit whose report is not in yet: a part that depends on answers may
    apply and is counted as applying; one excluded by the tags alone is not.
    """
    found = conditions(definition)
    if not found:
        return EVERYTHING
    tag_set = ANY_TAGS if tags is None else frozenset(tags)
    # With no answers a comparison cannot be judged (None), so only the tags settle it.
    off = [c for c in found if c.expr.evaluate({}, tags=tag_set) is False]
    return Applicability(
        sections=frozenset(c.key for c in off if c.scope == "section"),
        items=frozenset(c.key for c in off if c.scope == "item"),
        fields=frozenset().union(*(c.governs for c in off)) if off else frozenset(),
    )


def _answers(
    definition: Definition, found: tuple[Condition, ...], values: Mapping[str, Any]
) -> dict[str, Any]:
    """The typed answers the conditions read (an unreadable answer counts as blank)."""
    keys = set().union(*(c.expr.fields for c in found))
    answers: dict[str, Any] = {}
    for key in keys:
        fld: FieldDef | None = definition.field(key)
        if fld is None or key not in values:
            continue
        value, _ = coerce(fld, values[key])
        answers[key] = value
    return answers


# -- conditions a form can decide as it is filled in --------------------------------------------

LIVE_LIMIT = 256  # answer combinations enumerated per condition at most


@dataclass(frozen=True)
class LiveCondition:
    """A condition on yes/no and choice answers, as the combinations that make it hold.

    A web form cannot run the rule language; it can look up the answers it shows in
    this table, computed here by the one evaluator. Blank answers are ``None``.
    """

    condition: Condition
    inputs: tuple[str, ...]
    holds: frozenset[tuple[Any, ...]]


def live_conditions(definition: Definition, tags: Collection[str] | None) -> list[LiveCondition]:
    """The answer-dependent conditions that depend only on yes/no and choice answers
    (others are decided by the server when the report is saved)."""
    tag_set = ANY_TAGS if tags is None else frozenset(tags)
    found = []
    for condition in conditions(definition):
        if not condition.on_answers:
            continue
        inputs = tuple(sorted(condition.expr.fields))
        options = [_options(definition.field(key)) for key in inputs]
        if any(o is None for o in options) or _product_size(options) > LIVE_LIMIT:
            continue
        holds = frozenset(
            combo for combo in itertools.product(*options)
            if condition.expr.evaluate(dict(zip(inputs, combo, strict=True)),
                                       tags=tag_set) is True
        )
        found.append(LiveCondition(condition, inputs, holds))
    return found


def _options(fld: FieldDef | None) -> list[Any] | None:
    if fld is None:
        return None
    if fld.kind is FieldKind.YESNO:
        return [True, False, None]
    if fld.kind is FieldKind.CHOICE:
        return [c.value for c in fld.choices] + [None]
    return None


def _product_size(options: list[list[Any] | None]) -> int:
    size = 1
    for values in options:
        size *= len(values or ())
    return size


def condition_parts(definition: Definition, condition: Condition,
                    locale: str) -> list[tuple[str, bool | str]]:
    """``(field label, answer)`` for each comparison a condition makes, to say when a part
    applies ("是否成立安全生产委员会" is True); a yes/no answer is a bool, a choice its label.
    Empty when the condition compares nothing (then callers say it in general words)."""
    parts: list[tuple[str, bool | str]] = []
    for key, literal in condition.expr.comparisons():
        fld = definition.field(key)
        if fld is None:
            continue
        if isinstance(literal, bool):
            parts.append((fld.text("label", locale), literal))
            continue
        choice = next((c for c in fld.choices if c.value == literal), None)
        parts.append((fld.text("label", locale),
                      choice.text("label", locale) if choice else str(literal)))
    return parts
