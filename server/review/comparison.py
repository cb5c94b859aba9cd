"""A submission beside the unit's previous period, field by field, with its issues."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from forms.definition import FieldDef, Item, Section
from forms.issues import Issue
from server.locale import translate_issue
from server.services.reporting import ReportView


@dataclass(frozen=True)
class ShownIssue:
    severity: str  # "error" or "warning"
    text: str


@dataclass
class ComparedField:
    field: FieldDef
    current: Any
    previous: Any
    increment: Any  # None unless cumulative with a value
    issues: list[ShownIssue] = field(default_factory=list)

    @property
    def cumulative(self) -> bool:
        return self.field.cumulative


@dataclass
class ComparedItem:
    item: Item
    fields: list[ComparedField]


@dataclass
class ComparedSection:
    section: Section
    items: list[ComparedItem]


@dataclass
class Comparison:
    header: list[ComparedField]
    sections: list[ComparedSection]
    general_issues: list[ShownIssue]  # issues not tied to a field of this version
    errors: int
    warnings: int


def _shown(issue: Issue) -> ShownIssue:
    return ShownIssue("error" if issue.is_error else "warning", translate_issue(issue))


def compare(view: ReportView, issues: list[Issue]) -> Comparison:
    """Every field of the report's version: this period, the previous period, the increment."""
    definition = view.definition
    by_field: dict[str, list[ShownIssue]] = defaultdict(list)
    general: list[ShownIssue] = []
    for issue in issues:
        if issue.field and definition.field(issue.field) is not None:
            by_field[issue.field].append(_shown(issue))
        else:
            general.append(_shown(issue))
    grown = view.increments if view.report is not None else {}
    previous = view.previous_values if view.previous is not None else {}

    def compared(fld: FieldDef) -> ComparedField:
        return ComparedField(fld, view.values.get(fld.key), previous.get(fld.key),
                             grown.get(fld.key) if fld.cumulative else None,
                             by_field.get(fld.key, []))

    sections = [
        ComparedSection(section, [ComparedItem(item, [compared(f) for f in item.fields])
                                  for item in section.items])
        for section in definition.sections
    ]
    errors = sum(1 for i in issues if i.is_error)
    return Comparison([compared(f) for f in definition.header], sections, general,
                      errors, len(issues) - errors)
