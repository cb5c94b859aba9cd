"""The definition format described from the schema itself, for the in-app help page.

The models of ``forms.definition`` and ``forms.periods`` are walked through
pydantic (``model_fields``, annotations and their constraints), so the page
lists exactly the attributes the loader accepts, with their types, defaults
and allowed values. Only the words are kept here: one translatable
description per model and per attribute (:data:`MODEL_DESCRIPTIONS`,
:data:`DESCRIPTIONS`); a test fails when an attribute has none.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, StringConstraints
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from forms.definition import KEY_PATTERN, Definition
from forms.definition_errors import Labelled, labelled
from forms.i18n import N_
from forms.rules import _FUNCTIONS

EXAMPLE_PATH = Path(__file__).parent / "examples" / "definition_example.yaml"

MODEL_DESCRIPTIONS: dict[str, str] = {
    "Definition": N_(
        "A whole template: the document uploaded or kept in the catalogue. One file holds one"
        " definition."
    ),
    "SourcePlan": N_("The official plan the template derives from."),
    "Schedule": N_("When the template is reported: how often, the deadline and the plan window."),
    "AfterEnd": N_(
        "Due rule “after_end”: a day of a month after the period ends, e.g. the 5th of the"
        " month after each quarter."
    ),
    "InPeriod": N_(
        "Due rule “in_period”: a day of a month within the period, e.g. 6月10日 and 12月10日"
        " for half-years."
    ),
    "FixedDate": N_("Due rule “fixed”: one calendar date, for one-off reports."),
    "NoDeadline": N_(
        "Due rule “never”: event reports are filed whenever something happens and are never"
        " late; an event schedule (frequency: event) takes it without being told."
    ),
    "EventRules": N_(
        "Event reports: every event carries its time (required, not in the future, Beijing"
        " time), an optional location and photos or documents (JPEG, PNG, PDF)."
    ),
    "TableColumn": N_(
        "A column of the printed table (序号, 项目名称, 推进情况 …) and what fills it for each"
        " item."
    ),
    "Section": N_("A part of the table, e.g. （一）隐患排查整治, holding numbered items."),
    "Item": N_("A numbered row of the table, e.g. 1. 开展主要负责人安全生产教育培训."),
    "FieldDef": N_(
        "One input of the form: a figure, a text, a date, a choice, an attachment or a table."
    ),
    "Column": N_("A typed column of a table field (kind: table)."),
    "Choice": N_("One option of a choice or multichoice field."),
    "Target": N_("A value the plan asks to reach by a date, e.g. at least 12 posts by 2026-12-31."),
    "Rule": N_("A check across fields written in the rule language, e.g. rectified <= found."),
    "Phase": N_("A named stage of the plan with its dates, e.g. 动员部署 from April to May 2024."),
}

# "Model.attribute": its description. Inherited attributes are found under the class
# that declares them (FieldDef.key is Column.key).
DESCRIPTIONS: dict[str, str] = {
    # Definition
    "Definition.key": N_(
        "The template's stable key; it never changes across versions."
    ),
    "Definition.version": N_(
        "The version number; publishing changed content makes the next version anyway."
    ),
    "Definition.title": N_("The title of the table, in Chinese."),
    "Definition.title_en": N_("The title in English."),
    "Definition.description": N_("A note for administrators about the template."),
    "Definition.source": N_("The plan the template derives from."),
    "Definition.schedule": N_("When the template is reported."),
    "Definition.unit_label": N_("The header label of the reporting unit."),
    "Definition.header": N_(
        "The fields above the table; by default the reporter and the phone number."
    ),
    "Definition.columns": N_(
        "The columns of the printed table, in order. Input columns give every item a field"
        " named <item key>_<column key>."
    ),
    "Definition.sections": N_("The sections of the table, in order."),
    "Definition.rules": N_("Checks across fields, run on every submission."),
    "Definition.notes": N_("Notes printed under the table, in Chinese."),
    "Definition.notes_en": N_("The notes in English."),
    "Definition.phases": N_(
        "The plan's phases in order, without overlaps; shown on tasks and report pages."
    ),
    "Definition.due_phase": N_(
        "One-off reports: the key of the phase whose last day is the due date."
    ),
    "Definition.event": N_(
        "Event reports only (schedule frequency event): location, attachment limits and"
        " totals; the defaults apply when it is left out."
    ),
    # SourcePlan
    "SourcePlan.issuer": N_("Who issued the plan, e.g. 某镇人民政府."),
    "SourcePlan.title": N_("The plan's title, e.g. 《…三年行动实施方案》."),
    "SourcePlan.doc_number": N_("The document number, e.g. 某政〔2024〕1号."),
    "SourcePlan.date": N_("The date the plan was issued."),
    "SourcePlan.seed": N_("The file name of the plan's text in the catalogue."),
    # Schedule and due rules
    "Schedule.frequency": N_("How often a report is due."),
    "Schedule.due": N_("The deadline of each period; “rule” chooses how it is computed."),
    "Schedule.first": N_(
        "The first period to report, as a period key: 2024-05, 2024Q2, 2024H1, 2024 or once"
        " (left out for events)."
    ),
    "Schedule.last": N_("The last period to report, as a period key."),
    "AfterEnd.rule": N_("Chooses this rule."),
    "AfterEnd.months": N_("How many months after the period's last month (0: that month)."),
    "AfterEnd.day": N_("The day of that month (the month's last day when it is shorter)."),
    "InPeriod.rule": N_("Chooses this rule."),
    "InPeriod.month": N_("Which month of the period (1: its first month)."),
    "InPeriod.day": N_("The day of that month."),
    "FixedDate.rule": N_("Chooses this rule."),
    "NoDeadline.rule": N_("Chooses this rule."),
    # EventRules
    "EventRules.location": N_("Whether the form asks for a location (address and/or"
                              " coordinates, always optional)."),
    "EventRules.max_files": N_("How many photos or documents one event may carry (0: none)."),
    "EventRules.max_file_mb": N_("The largest photo or document accepted, in MB."),
    "EventRules.max_total_mb": N_("All the attachments of one event together, in MB."),
    "EventRules.totals": N_(
        "month or quarter: the merged workbook also totals the events' numbers per month or"
        " quarter of the event time."
    ),
    "FixedDate.date": N_("The due date."),
    # TableColumn
    "TableColumn.key": N_("The column's key, unique among the columns."),
    "TableColumn.label": N_("The column heading, in Chinese."),
    "TableColumn.label_en": N_("The column heading in English."),
    "TableColumn.source": N_(
        "What fills the column: the item's number, its title, its static text (texts) or an"
        " input."
    ),
    "TableColumn.input_kind": N_("For input columns: text or longtext."),
    "TableColumn.input_required": N_("For input columns: whether the input must be filled."),
    "TableColumn.width": N_("The relative width of the column in the printed form."),
    # Section
    "Section.key": N_("The section's key, unique in the template."),
    "Section.number": N_("The number as printed, e.g. （一）."),
    "Section.title": N_("The section's title, in Chinese."),
    "Section.title_en": N_("The section's title in English."),
    "Section.items": N_("The numbered items of the section, in order."),
    "Section.note": N_("A note shown under the section."),
    "Section.applies_when": N_(
        "A condition on the unit's tags or on answers, e.g. unit_has('危化'): the section is"
        " asked only of the units it holds for; for the others it is hidden, skipped and"
        " never counted, not even as zero."
    ),
    "Section.applies_basis": N_("The plan sentence that scopes the section to those units."),
    # Item
    "Item.key": N_("The item's key, unique in the template."),
    "Item.number": N_("The number as printed, e.g. 1 or (一)1; write it in quotes."),
    "Item.title": N_("The item's title, in Chinese."),
    "Item.title_en": N_("The item's title in English."),
    "Item.texts": N_(
        "The item's static texts, by the key of a column with source text; under the key of"
        " an input column, the plan's wording shown as guidance beside the unit's own entry."
    ),
    "Item.plan_text": N_("The plan's own wording for this task."),
    "Item.omit_columns": N_(
        "Input columns this row does not ask for (a narrative row of a summary has no"
        " measures of its own); their cells stay empty."
    ),
    "Item.fields": N_("The item's inputs, after those its input columns give it."),
    "Item.note": N_("A note shown under the item."),
    "Item.applies_when": N_(
        "A condition on the unit's tags or on answers: the item is asked only when it holds."
    ),
    "Item.applies_basis": N_("The plan sentence that scopes the item."),
    # Column (and FieldDef, which extends it)
    "Column.key": N_(
        "The key, unique in the template; it keeps its meaning and kind across versions."
    ),
    "Column.kind": N_("What is entered."),
    "Column.label": N_("The label, in Chinese."),
    "Column.label_en": N_("The label in English."),
    "Column.unit": N_("The unit shown after a figure, e.g. 处, 万元."),
    "Column.unit_en": N_("The unit in English."),
    "Column.required": N_("Whether it must be filled before submitting."),
    "Column.min": N_("The smallest value allowed (numeric kinds only)."),
    "Column.max": N_("The largest value allowed (numeric kinds only)."),
    "Column.max_length": N_("The most characters allowed in a text."),
    "Column.choices": N_("The options (choice and multichoice only)."),
    "Column.format": N_("A format the text must have (text only)."),
    "Choice.value": N_("The stored value, a key."),
    "Choice.label": N_("The option as shown, in Chinese."),
    "Choice.label_en": N_("The option in English."),
    # FieldDef
    "FieldDef.help": N_("A hint shown under the input, in Chinese."),
    "FieldDef.help_en": N_("The hint in English."),
    "FieldDef.cumulative": N_(
        "A running total that must never go down from one period to the next (numeric only)."
    ),
    "FieldDef.cumulative_span": N_("Over which span the total accumulates."),
    "FieldDef.cumulative_severity": N_(
        "Whether a total that went down blocks the submission (error) or stands with an"
        " explanation beside the figure (warning, the default)."
    ),
    "FieldDef.outlier_k": N_(
        "How many MADs (median absolute deviations) a figure may lie from the median of the"
        " unit's earlier figures before it needs an explanation (for a cumulative field: of what"
        " it added in each earlier period); default 5, 0 turns it off."
    ),
    "FieldDef.outlier_jump": N_(
        "A figure more than this many times the unit's last one needs an explanation;"
        " default 10, 0 turns it off."
    ),
    "FieldDef.aggregation": N_(
        "How the values of the units below combine in consolidation; by default sum for"
        " numbers, average for percentages, a list for texts and, for yes/no and choices,"
        " how many units gave each answer and which."
    ),
    "FieldDef.target": N_("A value the plan asks to reach by a date (numeric only)."),
    "FieldDef.basis": N_("The plan sentence that justifies the indicator."),
    "FieldDef.columns": N_("The columns of a table field (kind: table only)."),
    "FieldDef.min_rows": N_("The fewest rows of a table field."),
    "FieldDef.max_rows": N_("The most rows of a table field."),
    "FieldDef.max_size_mb": N_("The largest attachment, in MB (attachments only)."),
    "FieldDef.formula": N_(
        "Makes the field calculated (numeric only): a rule-language expression over other"
        " numeric fields, e.g. round(rectified / found * 100, 2). Never typed in: recomputed"
        " on every save, upload and consolidation; empty while an input is empty or on a"
        " division by zero."
    ),
    "FieldDef.applies_when": N_(
        "A condition on the unit's tags or on other answers, e.g. has_committee == true or"
        " level == 'major': the field is asked only when it holds (details after a yes)."
    ),
    "FieldDef.applies_basis": N_("The plan sentence that scopes the field."),
    # Target
    "Target.value": N_("The value to reach."),
    "Target.by": N_("The date by which it is to be reached."),
    "Target.comparison": N_("Whether the figure must reach at least or at most the value."),
    "Target.kind": N_(
        "What is to be reached: absolute (a figure), share (a percentage of a denominator field),"
        " stock (a stock that falls to the value, 0 by default, from the unit's first report) or"
        " recurring (at least the value in every window)."
    ),
    "Target.denominator": N_("Share targets: the field the figure is divided by."),
    "Target.every": N_("Recurring targets: the window (year, halfyear, quarter or month)."),
    "Target.since": N_(
        "The day progress is paced from (and the first window starts); default: the first day"
        " of the plan window."
    ),
    "Target.scope": N_(
        "Whose figures are judged: jurisdiction (the consolidated figures of an office) or unit"
        " (every reporting unit's own)."
    ),
    "Target.basis": N_("The plan sentence that sets the target, quoted."),
    # Phase
    "Phase.key": N_("A stable key of the phase (letters, digits, _)."),
    "Phase.name": N_("The phase's name as the plan gives it, e.g. 专项治理."),
    "Phase.name_en": N_("The phase's name in English (optional)."),
    "Phase.start": N_("The first day of the phase."),
    "Phase.end": N_("The last day of the phase."),
    "Phase.basis": N_("The plan sentence that sets the phase, quoted."),
    # Rule
    "Rule.key": N_("The rule's key, unique in the template."),
    "Rule.expr": N_("The condition that must hold, in the rule language below."),
    "Rule.severity": N_("Whether a broken rule blocks the submission or only warns."),
    "Rule.message": N_("The message shown when the rule is broken, in Chinese."),
    "Rule.message_en": N_("The message in English."),
}

RULE_OPERATORS: tuple[tuple[str, str], ...] = (
    ("+  -  *  /", N_("Arithmetic on numbers.")),
    ("<  <=  >  >=  ==  !=", N_(
        "Comparisons; ≤ ≥ ≠ are accepted too, and 0 <= rate <= 100 reads as in mathematics."
    )),
    ("and  or  not", N_("Combine conditions.")),
    ("( )", N_("Group; full-width brackets and commas are accepted.")),
    ("true  false", N_("The two truth values.")),
)
RULE_FUNCTIONS: dict[str, str] = {
    "sum": N_("sum(a, b, …): the total of the values."),
    "min": N_("min(a, b, …): the smallest of the values."),
    "max": N_("max(a, b, …): the largest of the values."),
    "abs": N_("abs(a): the value without its sign."),
    "filled": N_("filled(key): true when the field has a value."),
    "round": N_("round(a, n): the value rounded half away from zero to n decimal places."),
    "if": N_("if(condition, a, b): a when the condition holds, b when it fails."),
    "unit_has": N_(
        "unit_has('危化'): true when the reporting unit carries the tag (tags are kept on"
        " units); compare choices with their values in quotes, e.g. level == 'major'."
    ),
}
RULE_NOTES: tuple[str, ...] = (
    N_("A rule names fields by their keys; a key that no field has is refused on upload."),
    N_(
        "When a value the rule needs is empty, or a division by zero occurs, the rule cannot"
        " be judged and is not reported as broken."
    ),
)


# -- types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeDoc:
    """A type as people read it: ``msgid`` with ``%(inner)s`` filled by ``inner``,
    or a reference to another model of the format."""

    msgid: str = ""
    inner: tuple[TypeDoc, ...] = ()
    ref: str | None = None
    joiner: str = ", "


@dataclass(frozen=True)
class AttributeDoc:
    name: str
    type: TypeDoc
    required: bool
    default: str | None  # as written in YAML; None when there is none
    allowed: tuple[Labelled, ...]
    constraints: tuple[tuple[str, dict[str, Any]], ...]
    description: str | None  # msgid; None when missing (a test fails)


@dataclass(frozen=True)
class ModelDoc:
    name: str
    description: str | None
    attributes: tuple[AttributeDoc, ...]


def models(root: type[BaseModel] = Definition) -> list[type[BaseModel]]:
    """Every model reachable from *root*, in the order a reader meets them."""
    found: list[type[BaseModel]] = []
    pending = [root]
    while pending:
        model = pending.pop(0)
        if model in found:
            continue
        found.append(model)
        for info in model.model_fields.values():
            pending.extend(m for m in _models_in(info.annotation) if m not in found)
    return found


def document(root: type[BaseModel] = Definition) -> list[ModelDoc]:
    """The format, model by model and attribute by attribute."""
    return [
        ModelDoc(model.__name__, MODEL_DESCRIPTIONS.get(model.__name__),
                 tuple(_attribute(model, name, info) for name, info in model.model_fields.items()))
        for model in models(root)
    ]


def description_of(model: type[BaseModel], name: str) -> str | None:
    """The description of *name*, looked up under the class that declares it."""
    for cls in model.__mro__:
        found = DESCRIPTIONS.get(f"{cls.__name__}.{name}")
        if found:
            return found
    return None


def example_text() -> str:
    return EXAMPLE_PATH.read_text(encoding="utf-8")


def _attribute(model: type[BaseModel], name: str, info: FieldInfo) -> AttributeDoc:
    return AttributeDoc(
        name=name,
        type=_type(info.annotation, info.metadata),
        required=info.is_required(),
        default=None if info.is_required() else _default(info),
        allowed=_allowed(info.annotation),
        constraints=tuple(_constraints(info.annotation, info.metadata)),
        description=description_of(model, name),
    )


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """The annotation without ``| None`` and ``Annotated``, with the metadata found."""
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            metadata.extend(annotation.__metadata__)
            annotation = annotation.__origin__
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, metadata
            annotation = args[0]
        else:
            return annotation, metadata


def _type(annotation: Any, metadata: list[Any] = ()) -> TypeDoc:
    annotation, found = _strip(annotation)
    metadata = [*metadata, *found]
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return TypeDoc(ref=annotation.__name__)
    if origin in (typing.Union, types.UnionType):
        return TypeDoc(N_("one of %(inner)s"),
                       tuple(_type(a) for a in typing.get_args(annotation)), joiner=" | ")
    if origin is tuple:
        return TypeDoc(N_("list of %(inner)s"), (_type(typing.get_args(annotation)[0]),))
    if origin is dict:
        key, value = typing.get_args(annotation)
        return TypeDoc(N_("mapping of %(inner)s"), (_type(key), _type(value)), joiner=" → ")
    if origin is typing.Literal or (isinstance(annotation, type)
                                    and issubclass(annotation, enum.Enum)):
        return TypeDoc(N_("one of the values listed"))
    if annotation is str:
        patterns = [m.pattern for m in metadata if isinstance(m, StringConstraints) and m.pattern]
        if KEY_PATTERN in patterns:
            return TypeDoc(N_("key (lower-case letters, digits and _, starting with a letter)"))
        if patterns:
            return TypeDoc(N_("key (lower-case letters, digits, - and _)"))
        return TypeDoc(N_("text"))
    simple = {
        bool: N_("true or false"),
        int: N_("whole number"),
        Decimal: N_("number"),
        dt.date: N_("date (2024-06-30)"),
    }
    return TypeDoc(simple.get(annotation, N_("value")))


def _allowed(annotation: Any) -> tuple[Labelled, ...]:
    annotation, _ = _strip(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return labelled(typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return labelled(member.value for member in annotation)
    return ()


def _constraints(annotation: Any, metadata: list[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    _, found = _strip(annotation)
    for item in [*metadata, *found]:
        if isinstance(item, annotated_types.Gt):
            yield N_("greater than %(value)s"), {"value": item.gt}
        elif isinstance(item, annotated_types.Ge):
            yield N_("at least %(value)s"), {"value": item.ge}
        elif isinstance(item, annotated_types.Lt):
            yield N_("less than %(value)s"), {"value": item.lt}
        elif isinstance(item, annotated_types.Le):
            yield N_("at most %(value)s"), {"value": item.le}
        elif isinstance(item, annotated_types.MinLen):
            yield N_("at least %(value)s entries or characters"), {"value": item.min_length}
        elif isinstance(item, annotated_types.MaxLen | StringConstraints) and getattr(
                item, "max_length", None):
            yield N_("at most %(value)s characters"), {"value": item.max_length}


def _default(info: FieldInfo) -> str | None:
    if info.default_factory is not None:
        value = info.default_factory()
    elif info.default is PydanticUndefined:
        return None
    else:
        value = info.default
    return _yaml(value)


def _yaml(value: Any) -> str | None:
    """A default as it would be written in YAML."""
    if value is None:
        return None
    if value == "":
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, BaseModel):
        return str(getattr(value, "key", "") or getattr(value, "rule", "") or "{…}")
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_yaml(v) or "" for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return str(value)


def rule_functions_documented() -> bool:
    """Whether every function the rule parser knows is described here."""
    return set(RULE_FUNCTIONS) == set(_FUNCTIONS)
