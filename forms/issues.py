"""Validation issues and their translatable messages.

An issue is data (severity, where, a machine code and parameters), never an
exception: the web form, the Excel reader and the API all show the same issue
in the user's language by translating ``MESSAGES[code]`` and interpolating
``params``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from forms.definition import Severity
from forms.i18n import N_

MESSAGES: dict[str, str] = {
    "required": N_("%(label)s is required."),
    "not_a_number": N_("%(label)s must be a number, not “%(value)s”."),
    "not_an_integer": N_("%(label)s must be a whole number, not “%(value)s”."),
    "below_min": N_("%(label)s must be at least %(min)s (got %(value)s)."),
    "above_max": N_("%(label)s must be at most %(max)s (got %(value)s)."),
    "unit_stripped": N_("%(label)s: “%(value)s” was read as %(number)s; enter the number only."),
    "too_long": N_("%(label)s is too long: at most %(max)s characters."),
    "bad_phone": N_("%(label)s is not a valid phone number: “%(value)s”."),
    "bad_date": N_("%(label)s must be a date such as 2024-06-30, not “%(value)s”."),
    "bad_choice": N_("%(label)s: “%(value)s” is not one of the options."),
    "bad_yesno": N_("%(label)s must be yes or no, not “%(value)s”."),
    "bad_attachment": N_("%(label)s: the attachment could not be read."),
    "attachment_too_large": N_("%(label)s: the file is larger than %(max)s MB."),
    "bad_table": N_("%(label)s must be a list of rows."),
    "too_few_rows": N_("%(label)s needs at least %(min)s rows."),
    "too_many_rows": N_("%(label)s allows at most %(max)s rows."),
    "cumulative_decreased": N_(
        "%(label)s is cumulative but went down from %(previous)s in %(previous_period)s"
        " to %(value)s."
    ),
    "later_period_lower": N_(
        "%(label)s (%(value)s) is now higher than the %(later)s already reported for"
        " %(later_period)s; a cumulative figure cannot go down, so check both reports."
    ),
    "rule_failed": N_("%(message)s"),
    "rule_not_checked": N_("Not checked: %(label)s, because %(fields)s could not be read."),
    "target_missed": N_(
        "%(label)s: the plan's target of %(target)s by %(by)s is not reached (%(value)s)."
    ),
    "stock_baseline_changed": N_(
        "%(label)s is the starting figure its stock target is measured from: it was"
        " %(original)s when first handed in and is now %(value)s. Explain the correction"
        " beside the figure."
    ),
    "outlier_jump": N_(
        "%(label)s jumped from %(previous)s to %(value)s, more than %(factor)s times the last"
        " figure: check it, or explain it beside the figure."
    ),
    "outlier_history": N_(
        "%(label)s (%(value)s) is outside the range of this unit's %(count)s earlier figures"
        " (%(low)s to %(high)s): check it, or explain it beside the figure."
    ),
    "outlier_increment": N_(
        "%(label)s grew by %(value)s this period, outside the range of what this unit added"
        " in its %(count)s earlier periods (%(low)s to %(high)s): check it, or explain it"
        " beside the figure."
    ),
    "differs_from_children": N_(
        "%(label)s is %(value)s but the units below add up to %(expected)s."
    ),
    # -- event reports (forms.events, forms.event_files)
    "event_time_required": N_("The time of the event is required."),
    "event_time_bad": N_(
        "The time of the event must be a date and time such as 2024-06-30 14:30, not"
        " “%(value)s”."
    ),
    "event_time_future": N_("The time of the event (%(value)s) is in the future."),
    "location_too_long": N_("The location is too long: at most %(max)s characters."),
    "coordinates_bad": N_(
        "Give both coordinates, a latitude from -90 to 90 and a longitude from -180 to 180,"
        " or neither."
    ),
    "attachment_type": N_("%(name)s: only JPEG, PNG and PDF files are accepted."),
    "attachment_damaged": N_("%(name)s is not a complete JPEG, PNG or PDF file."),
    "attachment_extension": N_(
        "%(name)s: the file's name does not say what it holds (%(kind)s); rename it and"
        " upload it again."
    ),
    "attachment_empty": N_("%(name)s is empty."),
    "attachment_file_too_large": N_("%(name)s is larger than %(max)s MB."),
    "attachments_too_large": N_("The attachments of one event together may not exceed %(max)s MB."),
    "too_many_attachments": N_("An event carries at most %(max)s attachments."),
}


# Warnings about one figure that stand only with a 说明 (explanation) beside that
# figure: a correction of a cumulative total, a figure outside the unit's history,
# a changed starting figure of a stock. Every other warning is explained in the
# report's remarks. Errors are never explained away.
EXPLAINED_PER_FIGURE = frozenset({
    "cumulative_decreased", "outlier_jump", "outlier_history", "outlier_increment",
    "stock_baseline_changed",
})


@dataclass(frozen=True)
class Issue:
    """One problem found in a submission."""

    severity: Severity
    field: str | None
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    row: int | None = None  # 0-based row of a repeating table
    column: str | None = None  # column key of a repeating table

    @property
    def message(self) -> str:
        """The untranslated msgid for this issue."""
        return MESSAGES.get(self.code, self.code)

    def render(self, translate: Callable[[str], str] = lambda s: s, locale: str = "zh_CN") -> str:
        """The message in the language *translate* speaks.

        Labels come from the definition in Chinese with an optional English
        twin: a parameter ``x_en`` replaces ``x`` when rendering in English.
        """
        params = localized_params(self.params, locale)
        try:
            return translate(self.message) % params
        except (KeyError, TypeError, ValueError):
            return translate(self.message)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def needs_figure_note(self) -> bool:
        """Whether this warning needs a 说明 beside its figure (not just the remarks)."""
        return (not self.is_error and self.field is not None and self.row is None
                and self.code in EXPLAINED_PER_FIGURE)

    def at(self, **changes: Any) -> Issue:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "severity": str(self.severity),
            "field": self.field,
            "code": self.code,
            "params": {k: _plain(v) for k, v in self.params.items()},
        }
        if self.row is not None:
            data["row"] = self.row
        if self.column is not None:
            data["column"] = self.column
        return data


def localized_params(params: dict[str, Any], locale: str) -> dict[str, Any]:
    english = locale.startswith("en")
    out = {k: v for k, v in params.items() if not k.endswith("_en")}
    if english:
        for key, value in params.items():
            if key.endswith("_en") and value:
                out[key[:-3]] = value
    return out


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)


def error(field: str | None, code: str, **params: Any) -> Issue:
    return Issue(Severity.ERROR, field, code, params)


def warning(field: str | None, code: str, **params: Any) -> Issue:
    return Issue(Severity.WARNING, field, code, params)


def has_errors(issues: Iterable[Issue]) -> bool:
    return any(i.is_error for i in issues)


def flagged_figures(issues: Iterable[Issue]) -> list[str]:
    """The fields whose warnings need a 说明 beside the figure, in order, once each."""
    return list(dict.fromkeys(i.field for i in issues if i.needs_figure_note))


def unexplained(issues: Iterable[Issue], explanations: Mapping[str, str],
                remarks: str) -> tuple[list[Issue], list[Issue]]:
    """The warnings still lacking an explanation: (per figure, in the remarks).

    The one rule for "warnings need an explanation": a flagged figure needs its
    own non-blank note in *explanations*; any other warning needs the remarks.
    """
    figure, general = [], []
    for issue in issues:
        if issue.is_error:
            continue
        if issue.needs_figure_note:
            if not (explanations.get(issue.field) or "").strip():
                figure.append(issue)
        elif not remarks.strip():
            general.append(issue)
    return figure, general
