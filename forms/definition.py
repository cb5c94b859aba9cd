"""The template definition: the document that describes one reporting form.

A definition is plain data validated by pydantic. It carries everything needed
to render the web form, write the official Excel workbook, validate a
submission and consolidate many submissions: the source plan, the schedule,
the header fields, the table columns, sections of numbered items with their
fields, cross-field rules and the footer notes.

Field keys are unique within a template and keep their meaning and kind across
versions, so submissions made under old versions still render and merge.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal, NamedTuple, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from forms.definition_errors import DefinitionRuleError, Labelled, labelled
from forms.periods import FixedDate, Period, Schedule
from forms.rules import Expr, RuleSyntaxError, parse

T = TypeVar("T")

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN, max_length=64)]
TemplateKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]

APPLIES_WHEN_HELP = (
    "A condition in the rule language, e.g. unit_has('危化') or has_committee == true: "
    "the part is asked only when it holds"
)

# Mobile numbers, and landlines with an area code and an optional extension.
PHONE_RE = re.compile(r"^(?:\+?86[- ]?)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?)$")


class FieldKind(StrEnum):
    TEXT = "text"
    LONGTEXT = "longtext"
    INTEGER = "integer"
    DECIMAL = "decimal"
    PERCENT = "percent"
    DATE = "date"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    YESNO = "yesno"
    ATTACHMENT = "attachment"
    TABLE = "table"


NUMERIC_KINDS = frozenset({FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.PERCENT})
TEXT_KINDS = frozenset({FieldKind.TEXT, FieldKind.LONGTEXT})
TALLY_KINDS = frozenset({FieldKind.YESNO, FieldKind.CHOICE, FieldKind.MULTICHOICE})


class Aggregation(StrEnum):
    """How the values of the children combine into the parent's value."""

    SUM = "sum"
    MAX = "max"
    MIN = "min"
    MEAN = "mean"
    LAST = "last"
    NONE = "none"
    LIST = "list"  # text: an ordered list headed by unit name
    COUNT = "count"  # yes/no and choices: how many units gave each answer (a tally)


class CumulativeSpan(StrEnum):
    PLAN = "plan"  # accumulates over the whole plan window
    YEAR = "year"  # restarts every calendar year


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Model):
    """Mixin for objects with a Chinese text and an optional English one."""

    def text(self, attr: str, locale: str) -> str:
        """The attribute in *locale*, falling back to the Chinese original."""
        if locale.startswith("en"):
            english = getattr(self, f"{attr}_en", None)
            if english:
                return english
        return getattr(self, attr) or ""


class SourcePlan(_Model):
    issuer: str
    title: str
    doc_number: str | None = None
    date: dt.date | None = None
    seed: str | None = Field(default=None, description="File name of the plan text it derives from")


class Choice(Localized):
    value: Key
    label: str
    label_en: str | None = None


# -- targets (issue #14) ------------------------------------------------------------


class TargetKind(StrEnum):
    """What a plan asks to be reached; progress is computed in ``forms.targets``."""

    ABSOLUTE = "absolute"  # a figure by a date: ≥ 12 posts by 2026-12-31
    SHARE = "share"  # value / denominator field ≥ a percentage by a date: 全覆盖, 100%持证
    STOCK = "stock"  # a stock down to a level (0) by a date, from the unit's first report
    RECURRING = "recurring"  # at least N per year, half-year, quarter or month: 每年至少1次


class TargetWindow(StrEnum):
    YEAR = "year"
    HALFYEAR = "halfyear"
    QUARTER = "quarter"
    MONTH = "month"


class TargetScope(StrEnum):
    """Whose figures a target is judged on."""

    JURISDICTION = "jurisdiction"  # the consolidating office's (e.g. 2 firms in the county)
    UNIT = "unit"  # every reporting unit's own (e.g. each firm drills once a year)


class Target(_Model):
    """A value the plan asks to reach by a date, e.g. at least 12 posts by 2026-12-31.

    ``kind`` defaults to an absolute target so that entries written before the
    other kinds existed keep their meaning. ``value`` is the figure for an
    absolute target, the percentage for a share, the level the stock must fall
    to (default 0) and the minimum per window for a recurring one. ``since``
    starts the pace (and the first window); without it the plan window's first
    day is used.
    """

    kind: TargetKind = TargetKind.ABSOLUTE
    value: Decimal = Decimal(0)
    by: dt.date
    comparison: Literal[">=", "<="] = ">="
    denominator: Key | None = Field(default=None, description="Share: the field divided by")
    every: TargetWindow | None = Field(default=None, description="Recurring: the window")
    since: dt.date | None = None
    scope: TargetScope = TargetScope.JURISDICTION
    basis: str | None = Field(default=None, description="The plan sentence that sets it")

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data):
        if isinstance(data, dict) and data.get("kind") == TargetKind.STOCK:
            data = {"comparison": "<=", **data}
        return data

    @model_validator(mode="after")
    def _check_kind(self) -> Target:
        kind = self.kind
        if kind is not TargetKind.STOCK and "value" not in self.model_fields_set:
            raise DefinitionRuleError("target_needs_value", at=("value",), kind=Labelled(kind))
        if (self.denominator is not None) != (kind is TargetKind.SHARE):
            raise DefinitionRuleError("target_denominator", at=("denominator",))
        if (self.every is not None) != (kind is TargetKind.RECURRING):
            raise DefinitionRuleError("target_window", at=("every",))
        if kind is TargetKind.SHARE and not 0 < self.value <= 100:
            raise DefinitionRuleError("target_share_range", at=("value",))
        if kind is TargetKind.STOCK and self.comparison != "<=":
            raise DefinitionRuleError("target_stock_comparison", at=("comparison",))
        if kind in (TargetKind.SHARE, TargetKind.RECURRING) and self.comparison != ">=":
            raise DefinitionRuleError("target_minimum_comparison", at=("comparison",),
                                     kind=Labelled(kind))
        if kind is TargetKind.RECURRING and self.value <= 0:
            raise DefinitionRuleError("target_recurring_positive", at=("value",))
        if self.value < 0:
            raise DefinitionRuleError("target_negative", at=("value",))
        if self.since is not None and self.since >= self.by:
            raise DefinitionRuleError("target_since_after_by", at=("since",))
        return self


# Months per target window, and the schedules whose periods fit inside one.
TARGET_WINDOW_MONTHS = {TargetWindow.YEAR: 12, TargetWindow.HALFYEAR: 6, TargetWindow.QUARTER: 3,
                        TargetWindow.MONTH: 1}


# -- phases (issue #14) ----------------------------------------------------------------


class Phase(Localized):
    """A named stage of a plan with its dates, e.g. 动员部署 2024-04-01 to 2024-05-31."""

    key: Key
    name: str
    name_en: str | None = None
    start: dt.date
    end: dt.date
    basis: str | None = Field(default=None, description="The plan sentence that sets it")

    @model_validator(mode="after")
    def _check_dates(self) -> Phase:
        if self.end < self.start:
            raise DefinitionRuleError("phase_ends_before_start", at=("end",))
        return self


def check_phases(phases: tuple[Phase, ...]) -> None:
    """Phases have unique keys and follow each other without overlapping."""
    _unique([p.key for p in phases], "duplicate_phase_key")
    for before, after in zip(phases, phases[1:], strict=False):
        if after.start <= before.end:
            raise DefinitionRuleError("phases_overlap", after=after.name, before=before.name)


def merge_phases(own: Sequence[Phase], overrides: Sequence[Phase]) -> tuple[Phase, ...]:
    """A template's phases as an assignment adjusts them, in date order and checked.

    An assignment's phase with the key of a template's phase replaces it (other
    dates for the same stage); any other is added. Raises DefinitionRuleError
    when the result overlaps.
    """
    by_key = {p.key: p for p in own}
    _unique([p.key for p in overrides], "duplicate_phase_key")
    by_key.update((p.key, p) for p in overrides)
    merged = tuple(sorted(by_key.values(), key=lambda p: p.start))
    check_phases(merged)
    return merged


def current_phase(phases: tuple[Phase, ...], today: dt.date) -> Phase | None:
    """The phase *today* falls in (None before the first, between or after the last)."""
    return next((p for p in phases if p.start <= today <= p.end), None)


class Column(Localized):
    """A typed column of a repeating table."""

    key: Key
    kind: FieldKind
    label: str
    label_en: str | None = None
    unit: str | None = None
    unit_en: str | None = None
    required: bool = False
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int | None = Field(default=None, gt=0)
    choices: tuple[Choice, ...] = ()
    format: Literal["phone"] | None = None

    @model_validator(mode="after")
    def _check_kind(self) -> Column:
        if self.kind in (FieldKind.TABLE, FieldKind.ATTACHMENT):
            raise DefinitionRuleError("column_kind_not_allowed", kind=Labelled(self.kind))
        _check_common(self)
        return self


class FieldDef(Column):
    """One input of the form.

    ``Column`` already holds what a typed input needs; a field adds what only
    top-level inputs have: cumulative behaviour, aggregation, targets, the plan
    sentence behind an indicator and, for tables, the columns.
    """

    help: str | None = None
    help_en: str | None = None
    cumulative: bool = False
    cumulative_span: CumulativeSpan = CumulativeSpan.PLAN
    cumulative_severity: Severity = Severity.WARNING
    outlier_k: Decimal | None = Field(default=None, ge=0)
    outlier_jump: Decimal | None = Field(default=None, ge=0)
    aggregation: Aggregation | None = None
    target: Target | None = None
    basis: str | None = Field(default=None, description="The plan sentence that justifies it")
    columns: tuple[Column, ...] = ()
    min_rows: int = Field(default=0, ge=0)
    max_rows: int | None = Field(default=None, gt=0)
    max_size_mb: Decimal | None = Field(default=None, gt=0, description="Attachments only")
    # -- calculated fields (a rate, total or difference of other fields) --
    formula: str | None = Field(
        default=None,
        description="Rule-language expression the field is calculated from, e.g. "
                    "round(rectified / found * 100, 2); the field is then read-only",
    )
    # -- applicability (see forms/applicability.py)
    applies_when: str | None = Field(default=None, description=APPLIES_WHEN_HELP)
    applies_basis: str | None = Field(default=None, description="The plan sentence scoping it")

    @model_validator(mode="after")
    def _check_kind(self) -> FieldDef:
        _check_common(self)
        _check_formula(self)
        if self.kind is FieldKind.TABLE:
            if not self.columns:
                raise DefinitionRuleError("table_needs_columns", at=("columns",))
            _unique([c.key for c in self.columns], "duplicate_column_key")
        elif self.columns:
            raise DefinitionRuleError("columns_not_allowed", at=("columns",))
        if (self.cumulative or self.target) and self.kind not in NUMERIC_KINDS:
            raise DefinitionRuleError("cumulative_not_numeric")
        if self.target is not None and self.target.denominator == self.key:
            raise DefinitionRuleError("share_of_itself", at=("target", "denominator"))
        allowed = allowed_aggregations(self.kind)
        if self.aggregation is not None and self.aggregation not in allowed:
            raise DefinitionRuleError(
                "aggregation_mismatch", at=("aggregation",), aggregation=Labelled(self.aggregation),
                kind=Labelled(self.kind), allowed=labelled(a for a in Aggregation if a in allowed))
        return self

    @property
    def effective_aggregation(self) -> Aggregation:
        """The declared aggregation, or the natural one for the kind."""
        if self.aggregation is not None:
            return self.aggregation
        if self.formula is not None:
            return Aggregation.NONE  # recomputed from the consolidated inputs instead
        if self.kind in (FieldKind.INTEGER, FieldKind.DECIMAL):
            return Aggregation.SUM
        if self.kind is FieldKind.PERCENT:
            return Aggregation.MEAN
        if self.kind in TEXT_KINDS:
            return Aggregation.LIST
        if self.kind is FieldKind.TABLE:
            return Aggregation.LIST
        if self.kind in TALLY_KINDS:
            return Aggregation.COUNT
        return Aggregation.NONE

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def is_calculated(self) -> bool:
        return self.formula is not None


def allowed_aggregations(kind: FieldKind) -> frozenset[Aggregation]:
    if kind in NUMERIC_KINDS:
        return frozenset(Aggregation) - {Aggregation.LIST, Aggregation.COUNT}
    if kind in TEXT_KINDS or kind is FieldKind.TABLE:
        return frozenset({Aggregation.LIST, Aggregation.NONE, Aggregation.LAST})
    if kind in TALLY_KINDS:
        return frozenset({Aggregation.COUNT, Aggregation.NONE, Aggregation.LAST})
    return frozenset({Aggregation.NONE, Aggregation.LAST})


def _check_formula(fld: FieldDef) -> None:
    """A calculated field is a read-only number: its value always comes from its formula."""
    if fld.formula is None:
        return
    if fld.kind not in NUMERIC_KINDS:
        raise DefinitionRuleError("formula_not_numeric", at=("formula",), kind=Labelled(fld.kind))
    if fld.required or fld.cumulative:
        raise DefinitionRuleError("formula_typed", at=("formula",))
    if fld.aggregation is not None:
        raise DefinitionRuleError("formula_aggregation", at=("aggregation",))
    try:
        expr = parse(fld.formula)
    except RuleSyntaxError as exc:
        raise DefinitionRuleError(f"rule_{exc.code}", at=("formula",), msgid=exc.message,
                                  **exc.params) from None
    if expr.kind == "bool":
        raise DefinitionRuleError("formula_condition", at=("formula",))


def _check_common(col: Column) -> None:
    if col.kind in (FieldKind.CHOICE, FieldKind.MULTICHOICE):
        if not col.choices:
            raise DefinitionRuleError("choices_missing", kind=Labelled(col.kind))
        _unique([c.value for c in col.choices], "duplicate_choice_value")
    elif col.choices:
        raise DefinitionRuleError("choices_not_allowed", at=("choices",))
    if (col.min is not None or col.max is not None) and col.kind not in NUMERIC_KINDS:
        raise DefinitionRuleError("bounds_not_allowed")
    if col.min is not None and col.max is not None and col.min > col.max:
        raise DefinitionRuleError("min_above_max", at=("min",), min=str(col.min), max=str(col.max))
    if col.format and col.kind is not FieldKind.TEXT:
        raise DefinitionRuleError("format_not_allowed", at=("format",))


class TableColumn(Localized):
    """A column of the official printed table (e.g. 序号, 项目名称, 推进情况).

    ``source`` says what fills the column for each item: the printed number,
    the item title, one of the item's static texts (``texts[key]``), or an
    input: then every item gets a field ``<item key>_<column key>`` of
    ``input_kind`` unless it declares that field itself. An item's text under
    an input column's key is the plan's wording, shown as guidance (the
    field's hint) while the unit's own entry is what is saved: a county's
    推进措施 is its own, the plan's measures only suggest it.
    """

    key: Key
    label: str
    label_en: str | None = None
    source: Literal["number", "title", "text", "input"]
    input_kind: FieldKind | None = None
    input_required: bool = False
    width: int | None = Field(default=None, gt=0, description="Relative width in the printed form")

    @model_validator(mode="after")
    def _check_input(self) -> TableColumn:
        if self.source == "input":
            if self.input_kind not in TEXT_KINDS:
                raise DefinitionRuleError("input_kind_required", at=("input_kind",))
        elif self.input_kind is not None:
            raise DefinitionRuleError("input_kind_not_allowed", at=("input_kind",))
        return self


GUIDANCE_PREFIX = ("方案要求：", "The plan asks: ")


def _guidance(text: str | None, english: bool = False) -> str | None:
    """The plan's wording for an input column, as the hint under the unit's own entry."""
    return f"{GUIDANCE_PREFIX[english]}{text}" if text else None


class Item(Localized):
    """A numbered row of the official table, e.g. 1. 开展主要负责人安全生产教育培训."""

    key: Key
    number: str = Field(min_length=1, description="As printed: '1', '(一)1', '三'")
    title: str
    title_en: str | None = None
    texts: dict[Key, str] = Field(default_factory=dict, description="Static column texts")
    plan_text: str | None = Field(default=None, description="The plan's wording for this task")
    omit_columns: tuple[Key, ...] = Field(
        default=(), description="Input columns this row does not ask for")
    fields: tuple[FieldDef, ...] = ()
    note: str | None = None
    # -- applicability (see forms/applicability.py)
    applies_when: str | None = Field(default=None, description=APPLIES_WHEN_HELP)
    applies_basis: str | None = Field(default=None, description="The plan sentence scoping it")


class Section(Localized):
    key: Key
    number: str = ""
    title: str
    title_en: str | None = None
    items: tuple[Item, ...] = Field(min_length=1)
    note: str | None = None
    # -- applicability (see forms/applicability.py)
    applies_when: str | None = Field(default=None, description=APPLIES_WHEN_HELP)
    applies_basis: str | None = Field(default=None, description="The plan sentence scoping it")


class ParsedRule(NamedTuple):
    """A rule with its parsed expression and the fields it names, in written order."""

    rule: Rule
    expr: Expr
    names: tuple[str, ...]


class Rule(_Model):
    """A cross-field check written in the rule language, e.g. ``rectified <= found``."""

    key: Key
    expr: str
    severity: Severity = Severity.ERROR
    message: str = Field(description="Chinese message shown when the rule fails")
    message_en: str | None = None

    def text(self, locale: str) -> str:
        return self.message_en if locale.startswith("en") and self.message_en else self.message


# -- event reports (issue #14) -----------------------------------------------------------


class EventTotals(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


class EventRules(_Model):
    """What an event report carries besides its fields, and how much it may attach.

    Every event has its time (required, not in the future, Asia/Shanghai) and
    may have a location and photos or documents (JPEG, PNG, PDF; checked by
    content in ``forms.event_files``).
    """

    location: bool = Field(default=True, description="Ask for an optional location")
    max_files: int = Field(default=5, ge=0, le=20, description="Attachments per event")
    max_file_mb: Decimal = Field(default=Decimal(10), gt=0, le=100,
                                 description="Largest attachment, in MB")
    max_total_mb: Decimal = Field(default=Decimal(30), gt=0, le=500,
                                  description="All attachments of one event, in MB")
    totals: EventTotals | None = Field(
        default=None, description="Total the numbers of the events per month or quarter "
                                  "of the event time in the merged workbook")

    @model_validator(mode="after")
    def _check_sizes(self) -> EventRules:
        if self.max_total_mb < self.max_file_mb:
            raise DefinitionRuleError("event_total_below_file", at=("max_total_mb",))
        return self


def _default_header() -> tuple[FieldDef, ...]:
    return (
        FieldDef(key="reporter", kind=FieldKind.TEXT, label="报送人", label_en="Reported by",
                 required=True, max_length=50, aggregation=Aggregation.NONE),
        FieldDef(key="phone", kind=FieldKind.TEXT, label="联系电话", label_en="Phone",
                 required=True, format="phone", max_length=30, aggregation=Aggregation.NONE),
    )


class Definition(Localized):
    """A whole template version."""

    key: TemplateKey
    version: int = Field(default=1, ge=1)
    title: str
    title_en: str | None = None
    description: str | None = None
    source: SourcePlan
    schedule: Schedule
    unit_label: str = Field(default="报送单位", description="Header label of the reporting unit")
    header: tuple[FieldDef, ...] = Field(default_factory=_default_header)
    columns: tuple[TableColumn, ...] = ()
    sections: tuple[Section, ...] = Field(min_length=1)
    rules: tuple[Rule, ...] = ()
    notes: tuple[str, ...] = ()
    notes_en: tuple[str, ...] = ()
    phases: tuple[Phase, ...] = ()
    due_phase: Key | None = Field(
        default=None, description="One-off reports: due at the end of this phase")
    event: EventRules | None = Field(
        default=None, description="Event reports (schedule frequency event): time, location, "
                                  "attachments")

    @property
    def is_event(self) -> bool:
        return self.schedule.is_event

    @property
    def event_rules(self) -> EventRules:
        """The event settings (the defaults when an event template leaves them out)."""
        return self.event or EventRules()

    @model_validator(mode="before")
    @classmethod
    def _due_from_phase(cls, data):
        """A one-off report tied to a phase may leave out its due date: the phase's end."""
        if not isinstance(data, dict) or not data.get("due_phase"):
            return data
        schedule = data.get("schedule")
        if isinstance(schedule, dict) and "due" not in schedule:
            for phase in data.get("phases") or ():
                key = phase.get("key") if isinstance(phase, dict) else getattr(phase, "key", None)
                if key == data["due_phase"]:
                    end = phase.get("end") if isinstance(phase, dict) else phase.end
                    data = {**data, "schedule": {**schedule, "due": {"rule": "fixed", "date": end}}}
        return data

    @field_validator("columns")
    @classmethod
    def _columns_unique(cls, columns: tuple[TableColumn, ...]) -> tuple[TableColumn, ...]:
        _unique([c.key for c in columns], "duplicate_column_key")
        return columns

    @model_validator(mode="after")
    def _complete_and_check(self) -> Definition:
        # Give every item its per-column input fields, then check key uniqueness
        # and that every rule only names fields that exist.
        input_cols = [c for c in self.columns if c.source == "input"]
        text_cols = {c.key for c in self.columns if c.source in ("text", "input")}
        sections = []
        for s_index, section in enumerate(self.sections):
            items = []
            for i_index, item in enumerate(section.items):
                unknown = set(item.texts) - text_cols
                if unknown:
                    raise DefinitionRuleError(
                        "unknown_texts", at=("sections", s_index, "items", i_index, "texts"),
                        keys=", ".join(sorted(unknown)))
                omitted = set(item.omit_columns) - {c.key for c in input_cols}
                if omitted:
                    raise DefinitionRuleError(
                        "unknown_omitted_columns",
                        at=("sections", s_index, "items", i_index, "omit_columns"),
                        keys=", ".join(sorted(omitted)))
                declared = {f.key for f in item.fields}
                extra = tuple(
                    FieldDef(key=f"{item.key}_{c.key}", kind=c.input_kind, label=c.label,
                             label_en=c.label_en, required=c.input_required,
                             help=_guidance(item.texts.get(c.key)),
                             help_en=_guidance(item.texts.get(c.key), english=True))
                    for c in input_cols
                    if f"{item.key}_{c.key}" not in declared and c.key not in item.omit_columns
                )
                items.append(item.model_copy(update={"fields": extra + item.fields}))
            sections.append(section.model_copy(update={"items": tuple(items)}))
        object.__setattr__(self, "sections", tuple(sections))

        _unique([s.key for s in self.sections], "duplicate_section_key")
        _unique([i.key for s in self.sections for i in s.items], "duplicate_item_key")
        _unique([f.key for f in self.fields()], "duplicate_field_key")
        _unique([r.key for r in self.rules], "duplicate_rule_key")
        known = {f.key for f in self.fields()}
        for index, rule in enumerate(self.rules):
            try:
                expr = parse(rule.expr)
            except RuleSyntaxError as exc:
                raise DefinitionRuleError(f"rule_{exc.code}", at=("rules", index, "expr"),
                                          msgid=exc.message, **exc.params) from None
            missing = sorted(expr.fields - known)
            if missing:
                raise DefinitionRuleError("rule_unknown_fields", at=("rules", index, "expr"),
                                          fields=", ".join(missing))
        self._check_targets()
        self._check_phases()
        self._check_event()
        _check_formula_inputs(self)
        self._check_conditions(known)
        return self

    def _check_targets(self) -> None:
        """Share denominators exist and are numeric; recurring windows hold whole periods."""
        for at, fld in self._item_fields():
            target = fld.target
            if target is None:
                continue
            if target.kind is TargetKind.SHARE:
                denominator = self.field(target.denominator)
                if denominator is None or not denominator.is_numeric:
                    raise DefinitionRuleError("target_denominator_unknown",
                                              at=(*at, "target", "denominator"),
                                              key=target.denominator)
            if target.kind is TargetKind.RECURRING:
                months = self.schedule.first_period.months  # 0 for a one-off report
                if months == 0 or months > TARGET_WINDOW_MONTHS[target.every]:
                    raise DefinitionRuleError(
                        "target_window_too_short", at=(*at, "target", "every"),
                        frequency=Labelled(self.schedule.frequency), every=Labelled(target.every))

    def _item_fields(self) -> Iterator[tuple[tuple[str | int, ...], FieldDef]]:
        """The items' fields with their place in the document, for problems to point at."""
        for s_index, section in enumerate(self.sections):
            for i_index, item in enumerate(section.items):
                for f_index, fld in enumerate(item.fields):
                    yield ("sections", s_index, "items", i_index, "fields", f_index), fld

    def _check_phases(self) -> None:
        check_phases(self.phases)
        if self.due_phase is None:
            return
        phase = next((p for p in self.phases if p.key == self.due_phase), None)
        if phase is None:
            raise DefinitionRuleError("due_phase_unknown", at=("due_phase",), key=self.due_phase)
        if not isinstance(self.schedule.due, FixedDate):
            raise DefinitionRuleError("due_phase_not_once", at=("due_phase",))
        # The due date is derived: the phase's last day, so the two can never disagree.
        if self.schedule.due.date != phase.end:
            schedule = self.schedule.model_copy(
                update={"due": FixedDate(date=phase.end)})
            object.__setattr__(self, "schedule", schedule)

    def _check_event(self) -> None:
        """Events stand alone: nothing accumulates across them and nothing is due."""
        if not self.is_event:
            if self.event is not None:
                raise DefinitionRuleError("event_rules_not_event", at=("event",))
            return
        if self.due_phase is not None:
            raise DefinitionRuleError("event_due_phase", at=("due_phase",))
        for at, fld in self._item_fields():
            if fld.cumulative or fld.target or fld.outlier_k is not None \
                    or fld.outlier_jump is not None:
                raise DefinitionRuleError("event_not_cumulative", at=at, key=fld.key)

    def current_phase(self, today: dt.date) -> Phase | None:
        return current_phase(self.phases, today)

    def target_fields(self) -> list[FieldDef]:
        return list(self.derived("target_fields",
                                 lambda: tuple(f for f in self.fields() if f.target is not None)))

    def _check_conditions(self, known: set[str]) -> None:
        """Every ``applies_when`` parses as a condition, names existing fields, compares
        answers with values they can take, and never depends on a field it would hide
        (that part could never be shown again)."""
        scopes: list[tuple[tuple[str | int, ...], str, set[str]]] = []
        for s_index, section in enumerate(self.sections):
            if section.applies_when:
                scopes.append((("sections", s_index), section.applies_when,
                               {f.key for i in section.items for f in i.fields}))
            for i_index, item in enumerate(section.items):
                if item.applies_when:
                    scopes.append((("sections", s_index, "items", i_index), item.applies_when,
                                   {f.key for f in item.fields}))
        for h_index, fld in enumerate(self.header):
            if fld.applies_when:
                scopes.append((("header", h_index), fld.applies_when, {fld.key}))
        for place, fld in self._item_fields():
            if fld.applies_when:
                scopes.append((place, fld.applies_when, {fld.key}))
        for place, text, hidden in scopes:
            at = (*place, "applies_when")
            try:
                expr = parse(text)
            except RuleSyntaxError as exc:
                raise DefinitionRuleError(f"rule_{exc.code}", at=at, msgid=exc.message,
                                          **exc.params) from None
            if expr.kind not in ("bool", "any"):
                raise DefinitionRuleError("applies_not_condition", at=at)
            missing = sorted(expr.fields - known)
            if missing:
                raise DefinitionRuleError("applies_unknown_fields", at=at,
                                          fields=", ".join(missing))
            for key, literal in expr.comparisons():
                _check_literal(at, self.field(key), literal)
            own = sorted(expr.fields & hidden)
            if own:
                raise DefinitionRuleError("applies_hides_itself", at=at, fields=", ".join(own))

    # -- navigation ---------------------------------------------------------

    def items(self) -> Iterator[tuple[Section, Item]]:
        for section in self.sections:
            for item in section.items:
                yield section, item

    def progress_column(self) -> TableColumn | None:
        """The printed column that lists the indicators: 推进情况 (or the first long input).

        Other input columns (a county's own 推进措施, 责任部门) hold only their text.
        """
        inputs = [c for c in self.columns if c.source == "input"]
        for column in inputs:
            if column.key == "progress" or "情况" in column.label:
                return column
        longs = [c for c in inputs if c.input_kind is FieldKind.LONGTEXT]
        return (longs or inputs or [None])[0]

    def fields(self) -> Iterator[FieldDef]:
        """Every field: the header first, then the items' fields in order (listed once,
        see :meth:`derived`: a save walks them a dozen times)."""
        return iter(self.derived("fields", self._list_fields))

    def _list_fields(self) -> tuple[FieldDef, ...]:
        found = [*self.header]
        for _, item in self.items():
            found.extend(item.fields)
        return tuple(found)

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """``build()``, something worked out from the header and sections alone (the
        fields of a kind, the conditions), kept under *name* until the definition is
        given another header or other sections. A template version's definition is
        parsed once per process, so what every request of its reports needs is worked
        out once too, instead of walking every field at each request."""
        kept = self.__dict__.get("_derived")
        if kept is None or kept[0] is not self.header or kept[1] is not self.sections:
            kept = (self.header, self.sections, {})
            self.__dict__["_derived"] = kept
        found = kept[2]
        if name not in found:
            found[name] = build()
        return found[name]

    def field(self, key: str) -> FieldDef | None:
        return self._field_index.get(key)

    def item_of(self, key: str) -> Item | None:
        """The item a field belongs to (None for header fields)."""
        for _, item in self.items():
            if any(f.key == key for f in item.fields):
                return item
        return None

    def calculated_fields(self) -> list[FieldDef]:
        """The calculated fields, each after every calculated field its formula reads."""
        return list(self._calculated)

    def presence_checked_fields(self) -> tuple[FieldDef, ...]:
        """The fields a missing answer can be an issue of: required ones and tables (their
        row counts and required columns). Most fields of a plan's table are neither, and a
        save's answer checks presence every time."""
        return self.derived("presence_checked_fields", lambda: tuple(
            f for f in self.fields() if f.required or f.kind is FieldKind.TABLE))

    def cumulative_fields(self) -> list[FieldDef]:
        return list(self.derived("cumulative_fields",
                                 lambda: tuple(f for f in self.fields() if f.cumulative)))

    def numeric_fields(self) -> list[FieldDef]:
        return list(self.derived("numeric_fields",
                                 lambda: tuple(f for f in self.fields() if f.is_numeric)))

    @cached_property
    def _calculated(self) -> tuple[FieldDef, ...]:
        return tuple(self._field_index[key] for key in _calculation_order(self))

    @cached_property
    def _field_index(self) -> dict[str, FieldDef]:
        return {f.key: f for f in self.fields()}

    @cached_property
    def parsed_rules(self) -> tuple[ParsedRule, ...]:
        """Every rule with its expression parsed, once per definition (it was validated,
        so each parses), and the fields it names in the order they are written."""
        found = []
        for rule in self.rules:
            expr = parse(rule.expr)
            names = tuple(k for k in re.findall(r"[a-z][a-z0-9_]*", rule.expr)
                          if k in expr.fields)
            found.append(ParsedRule(rule, expr, names))
        return tuple(found)

    # -- serialisation ------------------------------------------------------

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True, indent=2)

    def to_yaml(self) -> str:
        """The definition as the YAML people write: defaults left out, Chinese kept
        readable; ``forms.loader.parse_definition`` reads it back to an equal definition."""
        data = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        # The schedule keeps its defaults: its due rule is the tag that selects the rule kind.
        data["schedule"] = self.schedule.model_dump(mode="json", exclude_none=True)
        data = {"key": data.pop("key"), "version": self.version, **data}
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)

    @classmethod
    def from_json(cls, text: str | bytes) -> Definition:
        return cls.model_validate_json(text)


FORMULA_INPUT_KINDS = NUMERIC_KINDS


def _formula_inputs(fld: FieldDef) -> frozenset[str]:
    return parse(fld.formula).fields if fld.formula else frozenset()


def _formula_at(definition: Definition, key: str) -> tuple[Any, ...]:
    """Where the formula of field *key* stands in the document."""
    for n, fld in enumerate(definition.header):
        if fld.key == key:
            return ("header", n, "formula")
    for s, section in enumerate(definition.sections):
        for i, item in enumerate(section.items):
            for f, fld in enumerate(item.fields):
                if fld.key == key:
                    return ("sections", s, "items", i, "fields", f, "formula")
    return ()  # pragma: no cover - every field is in the header or an item


def _check_formula_inputs(definition: Definition) -> None:
    """Formulas read existing numeric fields and never depend on themselves."""
    index = {f.key: f for f in definition.fields()}
    for fld in index.values():
        keys = sorted(_formula_inputs(fld))
        missing = [key for key in keys if key not in index]
        if missing:
            raise DefinitionRuleError("formula_unknown_fields",
                                      at=_formula_at(definition, fld.key),
                                      fields=", ".join(missing))
        for key in keys:
            if index[key].kind not in FORMULA_INPUT_KINDS:
                raise DefinitionRuleError("formula_input_not_numeric",
                                          at=_formula_at(definition, fld.key), key=key,
                                          kind=Labelled(index[key].kind))
    _calculation_order(definition)


def _calculation_order(definition: Definition) -> list[str]:
    """Calculated field keys in dependency order; a cycle is a definition error."""
    formulas = {f.key: _formula_inputs(f) for f in definition.fields() if f.formula}
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(key: str, path: list[str]) -> None:
        if state.get(key) == "done":
            return
        if state.get(key) == "visiting":
            cycle = path[path.index(key):] + [key]
            raise DefinitionRuleError("formula_cycle", at=_formula_at(definition, key),
                                      cycle=" -> ".join(cycle))
        state[key] = "visiting"
        for source in sorted(formulas[key] & formulas.keys()):
            visit(source, path + [key])
        state[key] = "done"
        order.append(key)

    for key in formulas:
        visit(key, [])
    return order
def _check_literal(at: tuple[str | int, ...], fld: FieldDef | None, literal: object) -> None:
    """A yes/no answer is compared with true/false, a choice with one of its values."""
    if fld is None:
        return
    if fld.kind is FieldKind.YESNO and not isinstance(literal, bool):
        raise DefinitionRuleError("applies_yesno_literal", at=at, field=fld.key,
                                  value=str(literal))
    if fld.kind is FieldKind.CHOICE and literal not in {c.value for c in fld.choices}:
        raise DefinitionRuleError("applies_choice_literal", at=at, field=fld.key,
                                  value=str(literal),
                                  choices=", ".join(c.value for c in fld.choices))


def _unique(keys: list[str], code: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise DefinitionRuleError(code, key=key)
        seen.add(key)


def same_span(fld: FieldDef, period: Period | str | None, other: Period | str | None) -> bool:
    """Whether a cumulative figure of *other* counts toward the same total as *period*'s:
    always for a plan-long figure, within one calendar year for a yearly one."""
    if fld.cumulative_span is CumulativeSpan.YEAR and period and other:
        return _year(period) == _year(other)
    return True


def _year(period: Period | str) -> int:
    return (period if isinstance(period, Period) else Period.parse(period)).year
