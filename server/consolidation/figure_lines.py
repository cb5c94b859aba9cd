"""The figures page, line by line: every field of the official form with its consolidated
value, the parts that make it up, last period's figure and this period's increment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy.orm import Session

from forms.calculated import readable
from forms.consolidation import Fall, Part
from forms.definition import Aggregation, FieldDef, Item, Section
from server.labels import tally_label
from server.locale import current_locale_code
from server.models import Status
from server.reporting.display import column_inputs, indicators
from server.services import consolidation
from server.services.consolidation import ChildState, Coverage, Detail, Figures

NAMES_LISTED = 10  # units named beside a rate of a large subtree (then "…")

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
    # How many units make up the figure; with *lazy* its parts are fetched when opened.
    count: int = 0
    lazy: bool = False
    # Texts, tables and tallies of a large subtree: said for the children of one page.
    paged: bool = False

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
        if self.lazy and self.coverage is not None:
            return self.coverage.carried
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


def part_lines(figures: Figures, key: str, parts: list[Part] | None = None,
               detail: Detail | None = None) -> list[PartLine]:
    detail = detail or _whole(figures)
    children = {c.unit.code: c for c in detail.children}
    lines = []
    for part in detail.result.provenance.get(key, []) if parts is None else parts:
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


def _whole(figures: Figures) -> Detail:
    return Detail(figures.children, figures.result, figures.falls)


def tally_lines(figures: Figures, fld: FieldDef, detail: Detail | None = None
                ) -> list[TallyLine]:
    detail = detail or _whole(figures)
    return [TallyLine(entry.option, tally_label(fld, entry.option),
                      part_lines(figures, fld.key, list(entry.units), detail))
            for entry in detail.result.tallies.get(fld.key, [])]


def field_line(figures: Figures, fld: FieldDef) -> FieldLine:
    names = {c.unit.code: c.unit.name for c in figures.children}
    result = figures.result
    combined = fld.effective_aggregation is not Aggregation.NONE
    previous = figures.previous_values.get(fld.key) if figures.previous_period else None
    formula = _formula(figures, fld)
    parts = part_lines(figures, fld.key) if combined else []
    return FieldLine(
        field=fld,
        value=result.values.get(fld.key),
        combined=combined,
        parts=parts,
        without_value=[names.get(code, code) for code in result.missing.get(fld.key, [])],
        previous=previous,
        increment=figures.increments.get(fld.key) if fld.cumulative else None,
        tally=tally_lines(figures, fld) if fld.effective_aggregation is Aggregation.COUNT else [],
        formula=formula,
        coverage=figures.coverage(fld.key) if combined else None,
        coverage_text=(figures.coverage_sentence(fld.key, ngettext, current_locale_code())
                       if combined or fld.key in result.calculated_over else ""),
        falls=[f for f in figures.falls if f.field_key == fld.key],
        count=len(parts) if combined else 0,
    )


def _formula(figures: Figures, fld: FieldDef) -> str:
    if not fld.is_calculated:
        return ""
    definition = figures.definition

    def label(key: str) -> str | None:
        source = definition.field(key)
        return source.text("label", current_locale_code()) if source else None

    return readable(fld, label, current_locale_code())


def large_field_line(session: Session, figures: Figures, fld: FieldDef, detail: Detail,
                     falls: Sequence[Fall] = ()) -> FieldLine:
    """A field of a subtree with more children than a page: the total and who is in it
    from the roll-up, its parts fetched when opened; texts, tables and tallies of the
    children of *detail* (one page of them)."""
    combined = fld.effective_aggregation is not Aggregation.NONE
    previous = figures.previous_values.get(fld.key) if figures.previous_period else None
    increment = figures.rolled.increments.get(fld.key) if fld.cumulative else None
    locale = current_locale_code()
    if fld.is_calculated:
        count, names = consolidation.calculated_over(session, figures, fld.key,
                                                     limit=NAMES_LISTED)
        return FieldLine(fld, figures.totals.get(fld.key), combined, [], [], previous,
                         increment, formula=_formula(figures, fld),
                         coverage_text=consolidation.calculated_words(names, count, ngettext,
                                                                      locale))
    if fld.is_numeric and combined and fld.effective_aggregation is not Aggregation.COUNT:
        counts = figures.counts(fld.key)
        return FieldLine(fld, figures.totals.get(fld.key), combined, [], [], previous,
                         increment, coverage=counts,
                         coverage_text=counts.sentence(ngettext, carrying=figures.carries(fld.key),
                                                       locale=locale),
                         count=counts.reported + counts.carried, lazy=True,
                         falls=[f for f in falls if f.field_key == fld.key])
    parts = part_lines(figures, fld.key, detail=detail) if combined else []
    return FieldLine(
        field=fld, value=detail.result.values.get(fld.key), combined=combined, parts=parts,
        without_value=[], previous=previous, increment=increment,
        tally=(tally_lines(figures, fld, detail)
               if fld.effective_aggregation is Aggregation.COUNT else []),
        count=len(parts), paged=combined)


def section_lines(figures: Figures, line: Callable[[FieldDef], FieldLine] | None = None
                  ) -> list[SectionLines]:
    """The form's sections and items, each field with its consolidated line (by default
    :func:`field_line`, every child in full)."""
    definition = figures.definition
    line = line or (lambda fld: field_line(figures, fld))
    return [
        SectionLines(section, [
            ItemLines(item,
                      [line(f) for f in indicators(definition, item)],
                      [line(f) for f in column_inputs(definition, item)])
            for item in section.items
        ])
        for section in definition.sections
    ]
