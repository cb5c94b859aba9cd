"""Turning what an office already has into a draft template definition.

Each reader takes the bytes of one file and returns an :class:`ImportResult`:
the draft as plain data in the shape of :class:`forms.definition.Definition`
(it may be incomplete: the administrator finishes it in the designer), every
proposal it made with the place in the source it came from, and every piece
of the source it could not place, so nothing is silently dropped.

Readers live in their own modules (``excel``, ``docx``, ``text``, ``xlsform``)
and expose ``read(data: bytes, filename: str) -> ImportResult``; they are
pure (no Flask, no database) and raise :class:`ImportRefused` for a file they
cannot read at all. Messages are English msgids marked with ``N_`` and
carried as code + params, translated by whoever shows them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from forms.i18n import N_

# The reader of each source kind, and the file extensions that select it.
KINDS: dict[str, tuple[str, ...]] = {
    "excel": (".xlsx", ".xlsm", ".xls", ".ods"),
    "docx": (".docx",),
    "text": (".txt", ".md"),
    "xlsform": (),  # an XLSForm is an .xlsx too: chosen explicitly or by its sheets
}


@dataclass(frozen=True)
class SourceRef:
    """Where in the source file something came from, as a person would find it."""

    paragraph: int | None = None  # 1-based, documents and plain text
    sheet: str | None = None  # workbooks
    row: int | None = None  # 1-based row of a sheet
    column: str | None = None  # column letter
    text: str = ""  # the words of the source, shortened for display


@dataclass(frozen=True)
class Proposal:
    """One thing the reader put into the draft, and the source that justifies it."""

    path: str  # where in the draft, e.g. "sections[1].items[3]" or "schedule"
    what: str  # a code: "section", "item", "field", "schedule", "due", "target", ...
    source: SourceRef


@dataclass(frozen=True)
class Unplaced:
    """A piece of the source the reader saw but could not place in the draft."""

    source: SourceRef
    code: str  # key of MESSAGES below
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportResult:
    data: dict[str, Any]
    proposals: list[Proposal] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)


class ImportRefused(ValueError):
    """The file cannot be read at all (wrong kind, damaged, empty)."""

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(MESSAGES.get(code, code) % params if params else MESSAGES.get(code, code))


# Every message an import can produce, by code. Readers add theirs here.
MESSAGES: dict[str, str] = {
    "unknown_kind": N_("Tianbao cannot tell what kind of file %(name)s is; choose the kind."),
    "unreadable": N_("The file could not be read as %(kind)s."),
    "empty": N_("The file holds nothing to import."),
    # XLSForm (forms.importers.xlsform)
    "xlsform_no_survey": N_("The workbook has no survey sheet: it is not an XLSForm."),
    "xlsform_ignored_sheet": N_("The sheet “%(sheet)s” is not read: Tianbao reads the survey, "
                                "choices and settings sheets."),
    "xlsform_ignored_column": N_("Column “%(column)s” (“%(value)s”) has no counterpart in a "
                                 "Tianbao template."),
    "xlsform_unbalanced": N_("“%(type)s” has no matching begin or end row."),
    "xlsform_no_type": N_("The row has no type."),
    "xlsform_unsupported_type": N_("The question type “%(type)s” has no counterpart in a "
                                   "Tianbao template."),
    "xlsform_empty_group": N_("The group or repeat holds no question that could be placed."),
    "xlsform_not_a_column": N_("A “%(type)s” cannot be a column of a table (a repeat)."),
    "xlsform_unknown_list": N_("The choice list “%(list)s” is missing or empty."),
    "xlsform_or_other": N_("“%(name)s” offers “other”: add such a choice by hand."),
    "xlsform_required_expression": N_("Required only when %(expression)s: Tianbao cannot make "
                                      "a field required on a condition."),
    "xlsform_column_hint": N_("A table column cannot carry a help text: “%(text)s”."),
    "xlsform_relevant": N_("“%(name)s” is shown only when %(expression)s: Tianbao templates "
                           "cannot make questions conditional yet."),
    "xlsform_calculate": N_("“%(name)s” is calculated as %(expression)s: Tianbao templates "
                            "have no calculated fields yet."),
    "xlsform_constraint": N_("The constraint %(expression)s cannot be written as a Tianbao "
                             "rule."),
    "xlsform_tianbao_rules": N_("This rule could not be read: %(text)s"),
    "xlsform_bad_choice": N_("The choice has no list name or no name."),
    "xlsform_unused_choice": N_("No question uses the choice list “%(list)s”."),
}


def kind_of(filename: str) -> str | None:
    """The reader kind for *filename*'s extension (None when it says nothing)."""
    suffix = PurePath(filename).suffix.lower()
    for kind, suffixes in KINDS.items():
        if suffix in suffixes:
            return kind
    return None


def import_document(data: bytes, filename: str, kind: str | None = None) -> ImportResult:
    """Read *data* with the reader of *kind* (default: chosen by the file name)."""
    kind = kind or kind_of(filename)
    if kind not in KINDS:
        raise ImportRefused("unknown_kind", name=filename)
    reader = importlib.import_module(f"forms.importers.{kind}")
    return reader.read(data, filename)
