"""Problems found in an uploaded workbook, located at a sheet and a cell.

A :class:`CellIssue` is a :class:`forms.issues.Issue` (same severity, field,
code and parameters) plus where it sits in the workbook, so the upload page
can say "表!F12 组织培训次数: …" and the annotated workbook can put a comment
on exactly that cell. File-level refusals (not a spreadsheet, tampered
signature, …) are CellIssues without a cell.

Messages specific to spreadsheets live here as English msgids; the others come
from ``forms.issues.MESSAGES``. Callers translate the msgid and then
interpolate the parameters (see ``forms.i18n``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from forms.definition import Severity
from forms.i18n import N_
from forms.issues import MESSAGES, Issue, localized_params

EXCEL_MESSAGES: dict[str, str] = {
    # -- the file as a whole ------------------------------------------------
    "empty_file": N_("The file “%(filename)s” is empty."),
    "file_too_large": N_(
        "The file “%(filename)s” is %(size_mb)s MB; files up to %(max_mb)s MB are accepted."
        " Remove pictures or extra sheets and upload it again."
    ),
    "not_a_spreadsheet": N_(
        "“%(filename)s” is not a spreadsheet that can be read (.xlsx, .xls or .ods)."
        " Open it in Excel, WPS or LibreOffice, save it as .xlsx and upload it again."
    ),
    "corrupt_file": N_(
        "“%(filename)s” could not be read; it may be damaged or incomplete."
        " Open it in Excel, WPS or LibreOffice, save it again and upload it again."
    ),
    "password_protected": N_(
        "“%(filename)s” is protected with a password. Remove the password, save it"
        " and upload it again."
    ),
    "unpacked_too_large": N_(
        "“%(filename)s” unpacks to more than %(max_mb)s MB, which is far more than a"
        " filled form needs, so it was not opened."
    ),
    "too_many_parts": N_(
        "“%(filename)s” holds more than %(max)s internal parts, which is far more than a"
        " filled form needs, so it was not opened."
    ),
    "sheet_too_large": N_(
        "The sheet “%(sheet)s” has content far outside the form (up to cell %(cell)s)."
        " Delete it, save and upload the file again."
    ),
    "reader_crashed": N_(
        "“%(filename)s” is malformed in a way that stops the spreadsheet reader, so it"
        " could not be read. Open it in Excel, WPS or LibreOffice, save it again and upload"
        " it again."
    ),
    "reader_over_limit": N_(
        "Reading “%(filename)s” needed far more memory or time than a filled form does,"
        " so it was stopped. Open it in Excel, WPS or LibreOffice, delete what does not"
        " belong to the form, save it and upload it again."
    ),
    "too_many_files": N_(
        "“%(filename)s” holds more than %(max)s files; upload at most %(max)s workbooks at"
        " once."
    ),
    "empty_bundle": N_("“%(filename)s” holds no workbook."),
    # -- which report the workbook belongs to --------------------------------
    "no_identity": N_(
        "“%(filename)s” is not a Tianbao template: its identification sheet is missing."
        " Download the template of this report, fill it in and upload that file."
    ),
    "bad_signature": N_(
        "The identification of “%(filename)s” was changed or it comes from another"
        " server, so it cannot be matched to a report. Download a fresh template and"
        " copy your figures into it."
    ),
    "unknown_template": N_(
        "“%(filename)s” was made for template %(template)s version %(version)s, which is"
        " unknown here or has been retired. Download the current template and copy your"
        " figures into it."
    ),
    "wrong_template": N_(
        "“%(filename)s” is a workbook of template %(got)s, but this report uses template"
        " %(expected)s. Upload it on the page of its own report, or download the right"
        " template."
    ),
    "wrong_unit": N_(
        "“%(filename)s” was made for unit %(got)s, but this report belongs to unit"
        " %(expected)s. Upload it on the page of its own report, or download the right"
        " template."
    ),
    "wrong_period": N_(
        "“%(filename)s” is for the period %(got)s, but this report is for %(expected)s."
        " Upload it on the page of its own report, or download the right template."
    ),
    "no_form_sheet": N_(
        "The form sheet of “%(filename)s” was not found; it may have been deleted or"
        " replaced. Download the template of this report again, fill it in and upload it."
    ),
    # -- inside the form ------------------------------------------------------
    "field_missing": N_(
        "The row of %(label)s is missing from the workbook (was it deleted?), so it could"
        " not be read. Download the template of this report again, fill it in and upload it."
    ),
    "field_duplicated": N_(
        "%(label)s appears more than once (also at %(other)s); only this cell was read."
    ),
    "extra_row_ignored": N_(
        "Row %(row)s was added outside the form's tables; its content was not read."
    ),
    "not_in_excel": N_("%(label)s cannot be given in Excel; add it on the web form."),
}

LOCATION = N_("%(sheet)s!%(cell)s")
LOCATED_MESSAGE = N_("%(where)s (%(label)s): %(message)s")
LOCATED_UNLABELLED = N_("%(where)s: %(message)s")
TABLE_ROW = N_("%(label)s, row %(row)s")


@dataclass(frozen=True)
class CellIssue:
    """One problem of an upload, with the sheet and cell it was found at."""

    severity: Severity
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    field: str | None = None  # the field key
    label: str | None = None  # the field's label (Chinese)
    label_en: str | None = None
    sheet: str | None = None
    cell: str | None = None  # e.g. "F12"
    row: int | None = None  # 0-based data row of a repeating table
    column: str | None = None  # column key of a repeating table

    @property
    def message(self) -> str:
        """The untranslated msgid."""
        return EXCEL_MESSAGES.get(self.code) or MESSAGES.get(self.code, self.code)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def render(self, translate: Callable[[str], str] = str, locale: str = "zh_CN") -> str:
        """The message alone, in the language *translate* speaks."""
        params = localized_params(self.params, locale)
        try:
            return translate(self.message) % params
        except (KeyError, TypeError, ValueError):
            return translate(self.message)

    def where(self, translate: Callable[[str], str] = str) -> str | None:
        """``表!F12``, or None when the issue concerns the whole file."""
        if not self.cell:
            return None
        return translate(LOCATION) % {"sheet": self.sheet or "", "cell": self.cell}

    def field_label(self, translate: Callable[[str], str] = str, locale: str = "zh_CN") -> str:
        """The field's label, with the table row for repeating tables."""
        label = (self.label_en if locale.startswith("en") and self.label_en else self.label) or ""
        if self.row is not None and label:
            return translate(TABLE_ROW) % {"label": label, "row": self.row + 1}
        return label

    def render_located(self, translate: Callable[[str], str] = str, locale: str = "zh_CN") -> str:
        """The message prefixed with its place, e.g. ``表!F12 (培训次数): …``."""
        message = self.render(translate, locale)
        where = self.where(translate)
        if where is None:
            return message
        label = self.field_label(translate, locale)
        if not label:
            return translate(LOCATED_UNLABELLED) % {"where": where, "message": message}
        return translate(LOCATED_MESSAGE) % {"where": where, "label": label, "message": message}

    def to_dict(self) -> dict[str, Any]:
        data = Issue(self.severity, self.field, self.code, self.params, self.row,
                     self.column).to_dict()
        data.update(sheet=self.sheet, cell=self.cell, label=self.label)
        if self.label_en:
            data["label_en"] = self.label_en
        return data


def file_error(code: str, **params: Any) -> CellIssue:
    """A refusal that concerns the whole file."""
    return CellIssue(Severity.ERROR, code, params)
