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
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from forms.periods import Schedule
from forms.rules import RuleSyntaxError, parse

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


class Aggregation(StrEnum):
    """How the values of the children combine into the parent's value."""

    SUM = "sum"
    MAX = "max"
    MIN = "min"
    MEAN = "mean"
    LAST = "last"
    NONE = "none"
    LIST = "list"  # text: an ordered list headed by unit name


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


class Target(_Model):
    """A value the plan asks to reach by a date, e.g. at least 12 posts by 2026-12-31."""

    value: Decimal
    by: dt.date
    comparison: Literal[">=", "<="] = ">="


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
            raise ValueError(f"a table column cannot be of kind '{self.kind}'")
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
    cumulative_severity: Severity = Severity.ERROR
    aggregation: Aggregation | None = None
    target: Target | None = None
    basis: str | None = Field(default=None, description="The plan sentence that justifies it")
    columns: tuple[Column, ...] = ()
    min_rows: int = Field(default=0, ge=0)
    max_rows: int | None = Field(default=None, gt=0)
    max_size_mb: Decimal | None = Field(default=None, gt=0, description="Attachments only")
    # -- applicability (see forms/applicability.py)
    applies_when: str | None = Field(default=None, description=APPLIES_WHEN_HELP)
    applies_basis: str | None = Field(default=None, description="The plan sentence scoping it")

    @model_validator(mode="after")
    def _check_kind(self) -> FieldDef:
        _check_common(self)
        if self.kind is FieldKind.TABLE:
            if not self.columns:
                raise ValueError("a table field needs at least one column")
            _unique([c.key for c in self.columns], "column key")
        elif self.columns:
            raise ValueError("only table fields have columns")
        if (self.cumulative or self.target) and self.kind not in NUMERIC_KINDS:
            raise ValueError("only numeric fields can be cumulative or have a target")
        if self.aggregation is not None and self.aggregation not in allowed_aggregations(self.kind):
            raise ValueError(f"aggregation '{self.aggregation}' does not fit kind '{self.kind}'")
        return self

    @property
    def effective_aggregation(self) -> Aggregation:
        """The declared aggregation, or the natural one for the kind."""
        if self.aggregation is not None:
            return self.aggregation
        if self.kind in (FieldKind.INTEGER, FieldKind.DECIMAL):
            return Aggregation.SUM
        if self.kind is FieldKind.PERCENT:
            return Aggregation.MEAN
        if self.kind in TEXT_KINDS:
            return Aggregation.LIST
        if self.kind is FieldKind.TABLE:
            return Aggregation.LIST
        return Aggregation.NONE

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


def allowed_aggregations(kind: FieldKind) -> frozenset[Aggregation]:
    if kind in NUMERIC_KINDS:
        return frozenset(Aggregation) - {Aggregation.LIST}
    if kind in TEXT_KINDS or kind is FieldKind.TABLE:
        return frozenset({Aggregation.LIST, Aggregation.NONE, Aggregation.LAST})
    return frozenset({Aggregation.NONE, Aggregation.LAST})


def _check_common(col: Column) -> None:
    if col.kind in (FieldKind.CHOICE, FieldKind.MULTICHOICE):
        if not col.choices:
            raise ValueError(f"a {col.kind} field needs choices")
        _unique([c.value for c in col.choices], "choice value")
    elif col.choices:
        raise ValueError("only choice fields have choices")
    if (col.min is not None or col.max is not None) and col.kind not in NUMERIC_KINDS:
        raise ValueError("only numeric fields have min/max bounds")
    if col.min is not None and col.max is not None and col.min > col.max:
        raise ValueError("min is greater than max")
    if col.format and col.kind is not FieldKind.TEXT:
        raise ValueError("a format applies to text fields only")


class TableColumn(Localized):
    """A column of the official printed table (e.g. 序号, 项目名称, 推进情况).

    ``source`` says what fills the column for each item: the printed number,
    the item title, one of the item's static texts (``texts[key]``), or an
    input: then every item gets a field ``<item key>_<column key>`` of
    ``input_kind`` unless it declares that field itself.
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
                raise ValueError("an input column needs input_kind text or longtext")
        elif self.input_kind is not None:
            raise ValueError("only input columns have an input_kind")
        return self


class Item(Localized):
    """A numbered row of the official table, e.g. 1. 开展主要负责人安全生产教育培训."""

    key: Key
    number: str = Field(min_length=1, description="As printed: '1', '(一)1', '三'")
    title: str
    title_en: str | None = None
    texts: dict[Key, str] = Field(default_factory=dict, description="Static column texts")
    plan_text: str | None = Field(default=None, description="The plan's wording for this task")
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


class Rule(_Model):
    """A cross-field check written in the rule language, e.g. ``rectified <= found``."""

    key: Key
    expr: str
    severity: Severity = Severity.ERROR
    message: str = Field(description="Chinese message shown when the rule fails")
    message_en: str | None = None

    def text(self, locale: str) -> str:
        return self.message_en if locale.startswith("en") and self.message_en else self.message


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

    @field_validator("columns")
    @classmethod
    def _columns_unique(cls, columns: tuple[TableColumn, ...]) -> tuple[TableColumn, ...]:
        _unique([c.key for c in columns], "column key")
        return columns

    @model_validator(mode="after")
    def _complete_and_check(self) -> Definition:
        # Give every item its per-column input fields, then check key uniqueness
        # and that every rule only names fields that exist.
        input_cols = [c for c in self.columns if c.source == "input"]
        text_cols = {c.key for c in self.columns if c.source == "text"}
        sections = []
        for section in self.sections:
            items = []
            for item in section.items:
                unknown = set(item.texts) - text_cols
                if unknown:
                    raise ValueError(
                        f"item {item.key}: texts {sorted(unknown)} match no text column"
                    )
                declared = {f.key for f in item.fields}
                extra = tuple(
                    FieldDef(key=f"{item.key}_{c.key}", kind=c.input_kind, label=c.label,
                             label_en=c.label_en, required=c.input_required)
                    for c in input_cols
                    if f"{item.key}_{c.key}" not in declared
                )
                items.append(item.model_copy(update={"fields": extra + item.fields}))
            sections.append(section.model_copy(update={"items": tuple(items)}))
        object.__setattr__(self, "sections", tuple(sections))

        _unique([s.key for s in self.sections], "section key")
        _unique([i.key for s in self.sections for i in s.items], "item key")
        _unique([f.key for f in self.fields()], "field key")
        _unique([r.key for r in self.rules], "rule key")
        known = {f.key for f in self.fields()}
        for index, rule in enumerate(self.rules):
            try:
                expr = parse(rule.expr)
            except RuleSyntaxError as exc:
                raise ValueError(f"rules[{index}] ({rule.key}): {exc}") from None
            missing = sorted(expr.fields - known)
            if missing:
                raise ValueError(
                    f"rules[{index}] ({rule.key}): unknown field {', '.join(missing)}"
                )
        _check_conditions(self, known)
        return self

    # -- navigation ---------------------------------------------------------

    def items(self) -> Iterator[tuple[Section, Item]]:
        for section in self.sections:
            for item in section.items:
                yield section, item

    def fields(self) -> Iterator[FieldDef]:
        """Every field: the header first, then the items' fields in order."""
        yield from self.header
        for _, item in self.items():
            yield from item.fields

    def field(self, key: str) -> FieldDef | None:
        return self._field_index.get(key)

    def item_of(self, key: str) -> Item | None:
        """The item a field belongs to (None for header fields)."""
        for _, item in self.items():
            if any(f.key == key for f in item.fields):
                return item
        return None

    def cumulative_fields(self) -> list[FieldDef]:
        return [f for f in self.fields() if f.cumulative]

    def numeric_fields(self) -> list[FieldDef]:
        return [f for f in self.fields() if f.is_numeric]

    @cached_property
    def _field_index(self) -> dict[str, FieldDef]:
        return {f.key: f for f in self.fields()}

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


def _check_conditions(definition: Definition, known: set[str]) -> None:
    """Every ``applies_when`` parses as a condition, names existing fields and never
    depends on a field it would hide (that part could never be shown again)."""
    scopes: list[tuple[str, str, set[str]]] = []
    for section in definition.sections:
        inside = {f.key for i in section.items for f in i.fields}
        if section.applies_when:
            scopes.append((f"section {section.key}", section.applies_when, inside))
        for item in section.items:
            if item.applies_when:
                scopes.append((f"item {item.key}", item.applies_when,
                               {f.key for f in item.fields}))
            for fld in item.fields:
                if fld.applies_when:
                    scopes.append((f"field {fld.key}", fld.applies_when, {fld.key}))
    for fld in definition.header:
        if fld.applies_when:
            scopes.append((f"field {fld.key}", fld.applies_when, {fld.key}))
    for where, text, hidden in scopes:
        try:
            expr = parse(text)
        except RuleSyntaxError as exc:
            raise ValueError(f"{where}: applies_when: {exc}") from None
        if expr.kind not in ("bool", "any"):
            raise ValueError(f"{where}: applies_when must be a condition, not a number")
        missing = sorted(expr.fields - known)
        if missing:
            raise ValueError(f"{where}: applies_when names unknown field {', '.join(missing)}")
        for key, literal in expr.comparisons():
            _check_literal(where, definition.field(key), literal)
        own = sorted(expr.fields & hidden)
        if own:
            raise ValueError(
                f"{where}: applies_when depends on {', '.join(own)}, which it would hide"
            )


def _check_literal(where: str, fld: FieldDef | None, literal: object) -> None:
    """A yes/no answer is compared with true/false, a choice with one of its values."""
    if fld is None:
        return
    if fld.kind is FieldKind.YESNO and not isinstance(literal, bool):
        raise ValueError(
            f"{where}: applies_when compares {fld.key} with {literal}, not true or false"
        )
    if fld.kind is FieldKind.CHOICE and literal not in {c.value for c in fld.choices}:
        raise ValueError(
            f"{where}: applies_when compares {fld.key} with {literal}, not one of its choices "
            f"({', '.join(c.value for c in fld.choices)})"
        )


def _unique(keys: list[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"duplicate {what} '{key}'")
        seen.add(key)
