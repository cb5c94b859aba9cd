"""The figures page, line by line: every field of the official form with its consolidated
value, the parts that make it up, last period's figure and this period's increment."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from forms.calculated import readable
from forms.consolidation import Fall, Part
from forms.definition import Aggregation, FieldDef, Item, Section
from server.labels import tally_label
from server.locale import current_locale_code
from server.models import Status
from server.reporting.display import column_inputs, indicators
from server.services.consolidation import ChildState, Coverage, Figures

# How a total was made, said beside it when it is not a plain sum.
RULE_LABELS = {
    Aggregation.MEAN: _l("average"),
    Aggregation.MAX: _l("highest"),
    Aggregation.MIN: _l("lowest"),
    Aggregation.LAST: _l("last unit's"),
}


@dataclass(frozen=True)
class PartLine:
    """One child's contribution to a consolidated value."""

    unit_code: str
    unit_name: str
    value: Any
    revision: int | None
    status: str
    consolidates: bool  # the child has children of its own: its figures page exists
    unapproved: bool  # counted only because the switch includes submitted reports
    note: str = ""  # the child's 说明 beside this figure (a correction, an outlier)
    carried_from: str | None = None  # not counted this period: carried forward from then


@dataclass(frozen=True)
class TallyLine:
    """How many counted units gave one answer (``option`` "" for no answer), and which."""

    option: str
    label: str
    parts: list[PartLine]

    @property
    def count(self) -> int:
        return len(self.parts)


@dataclass(frozen=True)
class FieldLine:
    field: FieldDef
    value: Any
    combined: bool  # False for fields that are not consolidated (aggregation "none")
    parts: list[PartLine]
    without_value: list[str]  # names of included children that gave no value
    previous: Any
    increment: Any
    tally: list[TallyLine] = dc_field(default_factory=list)  # yes/no and choice answers
    formula: str = ""  # calculated fields: the formula with the fields' labels
    coverage: Coverage | None = None  # None for fields that are not consolidated
    coverage_text: str = ""  # "17 个单位：4 个本期已计入，9 个沿用上期，4 个从未报送"
    falls: list[Fall] = dc_field(default_factory=list)  # units whose own figure fell

    @property
    def rule_label(self) -> str:
        label = RULE_LABELS.get(self.field.effective_aggregation)
        return str(label) if label else ""

    @property
    def has_unapproved(self) -> bool:
        return any(p.unapproved for p in self.parts)

    @property
    def notes(self) -> int:
        """How many parts carry a 说明 (the summary says so while the parts are closed)."""
        return sum(1 for p in self.parts if p.note)

    @property
    def carried(self) -> int:
        return sum(1 for p in self.parts if p.carried_from)


@dataclass(frozen=True)
class ItemLines:
    item: Item
    indicators: list[FieldLine]
    inputs: list[FieldLine]  # the item's input columns (measures, progress…): per-unit lists


@dataclass(frozen=True)
class SectionLines:
    section: Section
    items: list[ItemLines]


def part_lines(figures: Figures, key: str, parts: list[Part] | None = None) -> list[PartLine]:
    children = {c.unit.code: c for c in figures.children}
    lines = []
    for part in figures.result.provenance.get(key, []) if parts is None else parts:
        child = children.get(part.unit_code)
        lines.append(PartLine(
            part.unit_code, part.unit_name, part.value, part.revision,
            child.status if child else Status.NOT_STARTED,
            bool(child and child.consolidates), bool(child and _unapproved(child)),
            _note(child, key),
            part.carried_from,
        ))
    return lines


def _note(child: ChildState | None, key: str) -> str:
    if child is None or child.report is None:
        return ""
    return str((child.report.explanations or {}).get(key) or "").strip()


def _unapproved(child: ChildState) -> bool:
    return child.included and child.status != Status.APPROVED


def tally_lines(figures: Figures, fld: FieldDef) -> list[TallyLine]:
    return [TallyLine(entry.option, tally_label(fld, entry.option),
                      part_lines(figures, fld.key, list(entry.units)))
            for entry in figures.result.tallies.get(fld.key, [])]


def field_line(figures: Figures, fld: FieldDef) -> FieldLine:
    names = {c.unit.code: c.unit.name for c in figures.children}
    result = figures.result
    combined = fld.effective_aggregation is not Aggregation.NONE
    previous = figures.previous_values.get(fld.key) if figures.previous_period else None
    formula = ""
    if fld.is_calculated:
        definition = figures.definition

        def label(key: str) -> str | None:
            source = definition.field(key)
            return source.text("label", current_locale_code()) if source else None

        formula = readable(fld, label, current_locale_code())
    return FieldLine(
        field=fld,
        value=result.values.get(fld.key),
        combined=combined,
        parts=part_lines(figures, fld.key) if combined else [],
        without_value=[names.get(code, code) for code in result.missing.get(fld.key, [])],
        previous=previous,
        increment=figures.increments.get(fld.key) if fld.cumulative else None,
        tally=tally_lines(figures, fld) if fld.effective_aggregation is Aggregation.COUNT else [],
        formula=formula,
        coverage=figures.coverage(fld.key) if combined else None,
        coverage_text=(figures.coverage_sentence(fld.key, ngettext, current_locale_code())
                       if combined or fld.key in result.calculated_over else ""),
        falls=[f for f in figures.falls if f.field_key == fld.key],
    )


def section_lines(figures: Figures) -> list[SectionLines]:
    """The form's sections and items, each field with its consolidated line."""
    definition = figures.definition
    return [
        SectionLines(section, [
            ItemLines(item,
                      [field_line(figures, f) for f in indicators(definition, item)],
                      [field_line(figures, f) for f in column_inputs(definition, item)])
            for item in section.items
        ])
        for section in definition.sections
    ]


def unapproved_children(figures: Figures) -> list[ChildState]:
    """The children counted although their report is not approved yet (switch on)."""
    return [c for c in figures.children if _unapproved(c)]
