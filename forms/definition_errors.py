"""The messages of a definition that cannot be loaded, as codes with parameters.

The schema's validators (``forms.definition``, ``forms.periods``) raise
:class:`DefinitionRuleError`, a pydantic ``PydanticCustomError`` whose type is
a code of :data:`MESSAGES` and whose context holds the parameters, so the
loader turns them into translatable problems exactly like pydantic's own error
types. Enumerated values travel as :class:`Labelled` so that a reader sees
``percent（百分比）`` rather than a bare English word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticCustomError

from forms.i18n import N_

# The error codes of definition files: YAML syntax, pydantic's error types and the
# schema's own checks. Parameters are named as in pydantic's error context.
MESSAGES: dict[str, str] = {
    # -- the file ------------------------------------------------------------
    "file_unreadable": N_("The file cannot be read."),
    "file_too_large": N_("The file is larger than %(limit)s MB."),
    "not_utf8": N_(
        "The file is not UTF-8 text: save it again choosing the UTF-8 encoding."
    ),
    "empty_document": N_("The file is empty."),
    "too_many_values": N_(
        "The document is too large: more than %(nodes)s values or %(aliases)s aliases."
    ),
    "too_large_expanded": N_(
        "The document is too large: more than %(nodes)s values once its aliases are expanded."
    ),
    "too_deep": N_("The document is nested too deeply."),
    "not_a_mapping": N_(
        "The document must be a mapping of attributes such as “key: …” and “title: …”."
    ),
    # -- YAML syntax ---------------------------------------------------------
    "yaml_tab": N_("A tab character is used here: indent with spaces only."),
    "yaml_duplicate_key": N_("The attribute “%(key)s” appears twice in the same place."),
    "yaml_mapping_values": N_(
        "A colon is not allowed here: check the indentation of this line, or put a text"
        " containing “: ” in quotes."
    ),
    "yaml_indentation": N_(
        "The indentation is wrong here: attributes of the same entry must start in the"
        " same column."
    ),
    "yaml_unclosed_quote": N_("A quoted text is not closed."),
    "yaml_unclosed_bracket": N_(
        "A bracket “[” or “{” is not closed, or a comma is missing between two entries."
    ),
    "yaml_bad_character": N_(
        "The character “%(char)s” cannot start a value here: put the text in quotes."
    ),
    "yaml_unknown_alias": N_("An alias (*name) refers to no anchor (&name) defined before it."),
    "yaml_tag": N_("Tags such as “!!python/…” are not allowed in a definition."),
    "yaml_bad_date": N_("This date does not exist: write dates as 2024-06-30."),
    "yaml_syntax": N_("The file is not valid YAML here."),
    # -- pydantic's error types ------------------------------------------------
    "missing": N_("The required attribute “%(name)s” is missing."),
    "extra_forbidden": N_(
        "“%(name)s” is not an attribute here: check its spelling against the definition"
        " format."
    ),
    "not_one_of": N_("“%(value)s” is not allowed: use one of %(allowed)s."),
    "invalid_key": N_(
        "“%(value)s” is not a valid key: use lower-case letters, digits and underscores,"
        " starting with a letter."
    ),
    "invalid_template_key": N_(
        "“%(value)s” is not a valid template key: use lower-case letters, digits, hyphens"
        " and underscores."
    ),
    "pattern_mismatch": N_("“%(value)s” does not have the expected form."),
    "text_too_long": N_("At most %(max_length)s characters are allowed."),
    "text_empty": N_("This must not be empty."),
    "too_few_entries": N_("At least %(min_length)s entries are needed."),
    "too_many_entries": N_("At most %(max_length)s entries are allowed."),
    "greater_than": N_("Must be greater than %(gt)s, not %(value)s."),
    "greater_than_equal": N_("Must be at least %(ge)s, not %(value)s."),
    "less_than": N_("Must be less than %(lt)s, not %(value)s."),
    "less_than_equal": N_("Must be at most %(le)s, not %(value)s."),
    "not_a_date": N_("“%(value)s” is not a date: write it as 2024-06-30."),
    "not_a_number": N_("“%(value)s” is not a number."),
    "not_an_integer": N_("“%(value)s” is not a whole number."),
    "not_a_bool": N_("“%(value)s” is not true or false."),
    "not_text": N_("This must be a text: write “%(value)s” in quotes."),
    "not_text_structure": N_("This must be a text, not a list or a mapping."),
    "not_a_mapping_here": N_("This must be a mapping of attributes (name: value)."),
    "not_a_list": N_("This must be a list: entries starting with “- ”, or [a, b]."),
    "missing_tag": N_(
        "The attribute “%(name)s” is missing: it says which kind of entry this is."
    ),
    "invalid": N_("This value is not valid here."),
    # -- the schema's own checks (forms.definition) ----------------------------
    "column_kind_not_allowed": N_("A table column cannot be of kind %(kind)s."),
    "choices_missing": N_("A field of kind %(kind)s needs choices."),
    "choices_not_allowed": N_("Only fields of kind choice or multichoice have choices."),
    "bounds_not_allowed": N_(
        "Only numeric fields (integer, decimal, percent) have min and max."
    ),
    "min_above_max": N_("min (%(min)s) is greater than max (%(max)s)."),
    "format_not_allowed": N_("A format applies to fields of kind text only."),
    "table_needs_columns": N_("A table field needs at least one column."),
    "columns_not_allowed": N_("Only table fields have columns."),
    "cumulative_not_numeric": N_("Only numeric fields can be cumulative or have a target."),
    "aggregation_mismatch": N_(
        "The aggregation %(aggregation)s does not fit a field of kind %(kind)s: use one of"
        " %(allowed)s."
    ),
    "input_kind_required": N_("An input column needs input_kind text or longtext."),
    "input_kind_not_allowed": N_("Only input columns (source: input) have an input_kind."),
    "unknown_texts": N_("The texts %(keys)s match no column with source text."),
    "unknown_omitted_columns": N_(
        "The omitted columns %(keys)s match no column with source input."),
    "duplicate_column_key": N_("The column key “%(key)s” is used twice."),
    "duplicate_choice_value": N_("The choice value “%(key)s” is used twice."),
    "duplicate_section_key": N_("The section key “%(key)s” is used twice."),
    "duplicate_item_key": N_("The item key “%(key)s” is used twice."),
    "duplicate_field_key": N_(
        "The field key “%(key)s” is used twice (an input column also gives every item a"
        " field named <item key>_<column key>)."
    ),
    "duplicate_rule_key": N_("The rule key “%(key)s” is used twice."),
    "rule_unknown_fields": N_("The rule names fields that do not exist: %(fields)s."),
    "formula_not_numeric": N_(
        "Only numeric fields (integer, decimal, percent) can be calculated, not %(kind)s."
    ),
    "formula_typed": N_(
        "A calculated field is never typed in: it cannot be required or cumulative."
    ),
    "formula_aggregation": N_(
        "A calculated field has no aggregation: it is recomputed from the consolidated figures."
    ),
    "formula_condition": N_("A formula must give a number, not a condition."),
    "formula_unknown_fields": N_("The formula names fields that do not exist: %(fields)s."),
    "formula_input_not_numeric": N_(
        "The formula reads “%(key)s”, a field of kind %(kind)s: formulas read numeric fields only."
    ),
    "formula_cycle": N_("Formulas depend on each other in a circle: %(cycle)s."),
    # -- applicability (applies_when) -------------------------------------------
    "applies_not_condition": N_(
        "applies_when must be a condition that is true or false, not a number."
    ),
    "applies_unknown_fields": N_("The condition names fields that do not exist: %(fields)s."),
    "applies_hides_itself": N_(
        "The condition depends on %(fields)s, which it would hide: the part could never"
        " be shown."
    ),
    "applies_yesno_literal": N_(
        "The condition compares the yes/no answer %(field)s with “%(value)s”: compare it"
        " with true or false."
    ),
    "applies_choice_literal": N_(
        "The condition compares the choice %(field)s with “%(value)s”, which is not one of"
        " its values (%(choices)s)."
    ),
    "share_of_itself": N_("A share target cannot divide a field by itself."),
    "target_needs_value": N_("A target of kind %(kind)s needs a value."),
    "target_denominator": N_(
        "A share target, and only a share target, names a denominator field."
    ),
    "target_window": N_(
        "A recurring target, and only a recurring target, has a window (every)."
    ),
    "target_share_range": N_("A share target is a percentage above 0 and at most 100."),
    "target_stock_comparison": N_("A stock target asks the stock to fall: use comparison <=."),
    "target_minimum_comparison": N_("A target of kind %(kind)s is a minimum: use comparison >=."),
    "target_recurring_positive": N_("A recurring minimum must be above 0."),
    "target_negative": N_("A target value cannot be negative."),
    "target_since_after_by": N_("A target's start (since) must come before its date (by)."),
    "target_denominator_unknown": N_(
        "The denominator “%(key)s” is not a numeric field of this template."
    ),
    "target_window_too_short": N_(
        "A %(frequency)s report cannot be judged per %(every)s: its periods do not fit inside"
        " one window."
    ),
    "phase_ends_before_start": N_("The phase ends before it starts."),
    "phases_overlap": N_("The phase “%(after)s” starts before the phase “%(before)s” ends."),
    "duplicate_phase_key": N_("The phase key “%(key)s” is used twice."),
    "due_phase_unknown": N_("due_phase “%(key)s” names no phase of this template."),
    "due_phase_not_once": N_("Only a one-off report can be due at the end of a phase."),
    # -- schedules (forms.periods) ---------------------------------------------
    "bad_period_key": N_(
        "“%(key)s” is not a period key: write 2024-05, 2024Q2, 2024H1, 2024 or once."
    ),
    "period_frequency_mismatch": N_(
        "The period “%(key)s” is %(period_frequency)s, but the schedule is %(frequency)s."
    ),
    "period_order": N_("The first period %(first)s comes after the last one %(last)s."),
    "once_needs_fixed": N_("A one-off schedule needs a fixed due date (rule: fixed)."),
    "fixed_needs_once": N_(
        "A fixed due date only suits a one-off schedule: use after_end or in_period."
    ),
    "event_needs_no_deadline": N_(
        "An event schedule has no deadline: leave “due” out (or write rule: never)."
    ),
    "deadline_needed": N_("Only an event schedule goes without a deadline (rule: never)."),
    "event_window": N_("An event schedule has no periods: leave “first” and “last” out."),
    "event_rules_not_event": N_(
        "“event” settings only suit an event schedule (frequency: event)."
    ),
    "event_due_phase": N_("An event report cannot be due at the end of a phase."),
    "event_not_cumulative": N_(
        "The field “%(key)s” of an event report cannot be cumulative, have a target or an"
        " outlier check: each event stands alone."
    ),
    "event_total_below_file": N_(
        "max_total_mb cannot be smaller than max_file_mb."
    ),
    "month_out_of_period": N_(
        "Month %(month)s of the period does not exist: a period of this schedule has"
        " %(months)s month(s)."
    ),
}

# How enumerated values read; msgids shared with the server's labels of kinds and
# frequencies, so one translation serves both.
VALUE_LABELS: dict[str, str] = {
    # FieldKind
    "text": N_("Text"),
    "longtext": N_("Long text"),
    "integer": N_("Whole number"),
    "decimal": N_("Decimal number"),
    "percent": N_("Percentage"),
    "date": N_("Date"),
    "choice": N_("Single choice"),
    "multichoice": N_("Multiple choice"),
    "yesno": N_("Yes / no"),
    "attachment": N_("Attachment"),
    "table": N_("Table"),
    # Aggregation
    "sum": N_("Sum"),
    "max": N_("Largest"),
    "min": N_("Smallest"),
    "mean": N_("Average"),
    "last": N_("Latest value"),
    "none": N_("Not combined"),
    "list": N_("Listed by unit"),
    "count": N_("Counted per answer"),
    # CumulativeSpan
    "plan": N_("Whole plan window"),
    "year": N_("Calendar year"),
    # Severity
    "error": N_("Error"),
    "warning": N_("Warning"),
    # Frequency
    "monthly": N_("Monthly"),
    "quarterly": N_("Quarterly"),
    "halfyearly": N_("Half-yearly"),
    "yearly": N_("Yearly"),
    "once": N_("One-off"),
    "event": N_("Whenever it happens (event)"),
    # Due rules
    "after_end": N_("After the period ends"),
    "in_period": N_("A day within the period"),
    "fixed": N_("A fixed date"),
    "never": N_("No deadline (events)"),
    # TableColumn.source
    "number": N_("Printed number"),
    "title": N_("Item title"),
    "input": N_("Input"),
    # Column.format and Target.comparison
    "phone": N_("Phone number"),
    # Target.kind, Target.every and Target.scope
    "absolute": N_("A figure"),
    "share": N_("A share of another field"),
    "stock": N_("A stock to clear"),
    "recurring": N_("A recurring minimum"),
    "halfyear": N_("Half-year"),
    "quarter": N_("Quarter"),
    "month": N_("Month"),
    "jurisdiction": N_("The jurisdiction's consolidated figures"),
    "unit": N_("Every unit's own figures"),
    ">=": N_("At least"),
    "<=": N_("At most"),
}


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Labelled:
    """An enumerated value a person must write as is, shown with its translated label."""

    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", str(self.value))  # an enum member reads as its value

    @property
    def label(self) -> str | None:
        return VALUE_LABELS.get(self.value)

    def __str__(self) -> str:
        return self.value

    def render(self, translate: Callable[[str], str], locale: str) -> str:
        """``percent（百分比）`` / ``percent (Percentage)``: the value to write, and its meaning."""
        if self.label is None:
            return self.value
        label = translate(self.label)
        return f"{self.value} ({label})" if locale.startswith("en") else f"{self.value}（{label}）"


def labelled(values: Iterable[Any]) -> tuple[Labelled, ...]:
    return tuple(Labelled(str(v)) for v in values)


class DefinitionRuleError(PydanticCustomError):
    """A schema check that failed, as a code of :data:`MESSAGES` with its parameters.

    ``at`` names the attribute inside the validated object that is wrong (e.g.
    ``("rules", 2, "expr")``), so the problem points there rather than at the
    whole object; ``msgid`` carries a message defined elsewhere (the rule
    parser's) under the same mechanism.
    """

    def __new__(
        cls, code: str, *, at: tuple[Any, ...] = (), msgid: str | None = None, **params: Any
    ) -> DefinitionRuleError:
        context = dict(params)
        if at:
            context["at"] = tuple(at)
        if msgid:
            context["msgid"] = msgid
        # pydantic fills "{name}" placeholders: developers reading a ValidationError see
        # the English sentence; people see the translated msgid via the loader.
        template = _PLACEHOLDER.sub(r"{\1}", msgid or MESSAGES[code])
        return super().__new__(cls, code, template, context)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Everything is set in ``__new__``; the base exception takes no keywords."""
