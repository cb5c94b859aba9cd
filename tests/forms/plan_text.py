"""Helpers of the catalogue tests: the plan texts the templates come from, and which
cross-field rules fire.

Each template file ``forms/catalog/NNN_*.yaml`` derives from the converted plan
``forms/catalog/plans/NNN_*.txt``; the tests read their expectations from that
text independently of the YAML.
"""

from __future__ import annotations

import re
from pathlib import Path

from forms.definition import Definition, FieldDef, Item
from forms.loader import CATALOG_DIR
from forms.validation import validate

PLANS_DIR = CATALOG_DIR / "plans"


def squash(text: str) -> str:
    """The text without whitespace and without Markdown bold markers (``**``).

    The conversion of the plans left line breaks and page-break gaps inside
    sentences, spaces around digits (``至少开展 1 次``, ``4月 10日前``) and, in
    plan 001, bold markers around the first task titles.
    """
    return re.sub(r"\s+|\*\*", "", text)


def plan_number(template_file: Path) -> str:
    """The number of the plan a catalogue file derives from: ``000`` for ``000_*.yaml``."""
    return template_file.name.split("_", 1)[0]


def plan_file(number: str) -> Path:
    """The one converted plan text numbered *number*."""
    [path] = PLANS_DIR.glob(f"{number}_*.txt")
    return path


def plan_text(number: str) -> str:
    """The plan text as converted, with its line breaks (tables, headings) intact."""
    return plan_file(number).read_text(encoding="utf-8")


def item_indicators(definition: Definition) -> list[tuple[Item, FieldDef]]:
    """Every numeric field of an item, with its item."""
    return [(item, f) for _, item in definition.items() for f in item.fields if f.is_numeric]


def indicators_not_quoting_their_own_item(definition: Definition) -> list[str]:
    """Keys of the fields that break how a task table derives its indicators.

    Every indicator is named after its item (``i03_…``) and has a basis, and
    every basis is quoted from its own item's paragraph, not from elsewhere.
    """
    faults = []
    for _, item in definition.items():
        own = squash(item.plan_text or "")
        for fld in item.fields:
            unnamed_or_unfounded = fld.is_numeric and not (
                fld.key.startswith(f"{item.key}_") and fld.basis
            )
            quoted_elsewhere = bool(fld.basis) and squash(fld.basis) not in own
            if unnamed_or_unfounded or quoted_elsewhere:
                faults.append(fld.key)
    return faults


def rule_issues(definition: Definition, values: dict, errors: bool = True) -> list:
    """The failed rules (errors, or warnings with ``errors=False``) for *values*."""
    issues = validate(definition, values, check_required=False)
    return [i for i in issues if i.code == "rule_failed" and i.is_error == errors]
