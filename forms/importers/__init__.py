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
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from forms.i18n import N_

# The reader of each source kind, and the file extensions that select it.
KINDS: dict[str, tuple[str, ...]] = {
    "excel": (".xlsx", ".xlsm", ".xls", ".ods"),
    "docx": (".docx",),
    "text": (".txt", ".md"),
    "xlsform": (),  # an XLSForm is an .xlsx too: chosen explicitly or by its survey sheet
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
    "damaged": N_("%(name)s could not be read: it is damaged, protected, or far larger than a"
                  " plan once unpacked."),
    "too_large": N_("The file is larger than %(max_mb)s MB; a plan is much smaller."),
    # What a reader saw but could not place in the draft.
    "no_items": N_("No numbered tasks were found; add the sections and items in the designer."),
    "not_a_task": N_("“%(heading)s” holds no numbered tasks and was not made into items."),
    "table_not_placed": N_("This table was not used: the draft takes its columns from the"
                           " first table that has a header row."),
    "table_no_items": N_("The table has a header row but no column for the item titles."),
    "cell_not_placed": N_("The cell “%(text)s” is neither a section, an item nor a note."),
    "sheet_not_placed": N_("The sheet %(sheet)s was not used: the draft comes from the first"
                           " sheet that holds a table."),
    "table_item_missing": N_("The attachment table lists item %(number)s “%(text)s”, which the"
                             " plan text does not have; the draft follows the text."),
    "table_title_differs": N_("The attachment table names item %(number)s “%(text)s”; the plan"
                              " text names it otherwise, and the draft follows the text."),
    "table_group_differs": N_("The attachment table puts item %(number)s under “%(group)s”; the"
                              " plan text groups it otherwise, and the draft follows the text."),
    "other_duty": N_("Another reporting duty, not used for the schedule: “%(text)s”."),
    "due_guessed": N_("The plan names how often to report but no deadline; the draft takes"
                      " the 5th of the month after each period: check it."),
    "schedule_guessed": N_("The plan states no reporting frequency or deadline; the schedule"
                           " is guessed from how often the plan asks for work: check it."),
    "no_schedule": N_("No reporting frequency was found; set the schedule in the designer."),
    "no_window": N_("The plan window (e.g. 2024—2026年) was not found; set the first and last"
                    " periods in the designer."),
    "no_issuer": N_("The issuing office was not found; enter it in the designer."),
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
    "xlsform_relevant": N_("“%(name)s” is shown only when %(expression)s, which is not a "
                           "Tianbao condition (one on other answers, never on the part it "
                           "would hide)."),
    "xlsform_calculate": N_("“%(name)s” is calculated as %(expression)s, which is not a "
                            "Tianbao formula (a number from other numeric fields with + - * /, "
                            "round, if, min, max, abs)."),
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


# A plan with its tables is a few hundred KB; this keeps a stray huge file from
# being parsed at all. (Web uploads also go through the channel's own checks.)
MAX_BYTES = 20 * 1024 * 1024


def import_document(data: bytes, filename: str, kind: str | None = None) -> ImportResult:
    """Read *data* with the reader of *kind* (default: chosen by the file name)."""
    kind = kind or kind_of(filename)
    if kind not in KINDS:
        raise ImportRefused("unknown_kind", name=filename)
    if len(data) > MAX_BYTES:
        raise ImportRefused("too_large", max_mb=MAX_BYTES // (1024 * 1024))
    if kind == "excel" and _has_survey_sheet(data):
        kind = "xlsform"  # an XLSForm is an .xlsx whose first sheets say so
    reader = importlib.import_module(f"forms.importers.{kind}")
    return reader.read(data, filename)


def _has_survey_sheet(data: bytes) -> bool:
    """Whether *data* is an .xlsx with a sheet named ``survey`` (as every XLSForm has)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if archive.getinfo("xl/workbook.xml").file_size > 1024 * 1024:
                return False  # no real workbook part is that large: let the reader refuse it
            workbook = archive.read("xl/workbook.xml")
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    return re.search(rb'<(?:\w+:)?sheet\b[^>]*\bname="survey"', workbook) is not None
