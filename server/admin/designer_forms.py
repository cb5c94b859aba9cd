"""The designer's forms, and the one list of what the attribute editors show.

:data:`ATTRIBUTES` says, for every part of a definition (section, item, field,
table column, column of the printed table, rule), which attribute the editor
shows, with which widget and for which field kinds. A new attribute of
``FieldDef`` is one line here: the editor form, the conversion of what was
typed into definition data, and the removal of attributes that do not fit a
field's new kind all follow from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, NumberRange, Optional

from forms.definition import (
    NUMERIC_KINDS,
    TEXT_KINDS,
    Aggregation,
    CumulativeSpan,
    FieldKind,
    Severity,
    TargetKind,
    TargetScope,
    TargetWindow,
    allowed_aggregations,
)
from forms.importers import KINDS as IMPORT_KINDS
from forms.periods import Frequency
from forms.tags import COMMON_TAGS, format_tags
from server.choices import options
from server.labels import FREQUENCY_LABELS, KIND_LABELS
from server.services.designer import choice_line, labelled_fields

ALL_KINDS = frozenset(FieldKind)
COLUMN_KINDS = ALL_KINDS - {FieldKind.TABLE, FieldKind.ATTACHMENT}
CHOICE_KINDS = frozenset({FieldKind.CHOICE, FieldKind.MULTICHOICE})

AGGREGATION_LABELS = {
    Aggregation.SUM: _l("Sum"), Aggregation.MAX: _l("Largest"), Aggregation.MIN: _l("Smallest"),
    Aggregation.MEAN: _l("Average"), Aggregation.LAST: _l("Latest value"),
    Aggregation.NONE: _l("Not consolidated"), Aggregation.LIST: _l("List by unit"),
    Aggregation.COUNT: _l("Count the units per answer"),
}


def kind_options(kinds: Iterable[FieldKind] = FieldKind) -> list[SelectChoice]:
    return options((k.value, KIND_LABELS[k]) for k in FieldKind if k in set(kinds))


def _aggregations(node: dict[str, Any], _definition=None) -> list[SelectChoice]:
    kind = FieldKind(node.get("kind", "text")) if node.get("kind") in set(FieldKind) else None
    allowed = allowed_aggregations(kind) if kind else frozenset()
    return options([("", _l("Natural for the kind"))] + [
        (a.value, AGGREGATION_LABELS[a]) for a in Aggregation if a in allowed])


def _spans(_node, _definition=None) -> list[SelectChoice]:
    return options([(CumulativeSpan.PLAN.value, _l("The whole plan")),
                    (CumulativeSpan.YEAR.value, _l("Each calendar year"))])


def _severities(_node, _definition=None) -> list[SelectChoice]:
    return options([(Severity.ERROR.value, _l("Error: blocks the submission")),
                    (Severity.WARNING.value, _l("Warning: needs an explanation"))])


def _comparisons(_node, _definition=None) -> list[SelectChoice]:
    return options([("", _l("As the kind of target says")), (">=", _l("at least")),
                    ("<=", _l("at most"))])


TARGET_KIND_LABELS = {
    TargetKind.ABSOLUTE: _l("A figure to reach by a date"),
    TargetKind.SHARE: _l("A share of another field (e.g. full coverage)"),
    TargetKind.STOCK: _l("A stock to bring down (e.g. hazards to clear)"),
    TargetKind.RECURRING: _l("At least so many in every window (e.g. once a year)"),
}


def _target_kinds(_node, _definition=None) -> list[SelectChoice]:
    return options((k.value, TARGET_KIND_LABELS[k]) for k in TargetKind)


def _target_windows(_node, _definition=None) -> list[SelectChoice]:
    return options([("", "—"), (TargetWindow.YEAR.value, _l("Every year")),
                    (TargetWindow.HALFYEAR.value, _l("Every half-year")),
                    (TargetWindow.QUARTER.value, _l("Every quarter")),
                    (TargetWindow.MONTH.value, _l("Every month"))])


def _target_scopes(_node, _definition=None) -> list[SelectChoice]:
    return options([(TargetScope.JURISDICTION.value, _l("The consolidating office's total")),
                    (TargetScope.UNIT.value, _l("Every reporting unit on its own"))])


def _denominators(node, definition=None) -> list[SelectChoice]:
    """The numeric fields a share may be taken of, by label (never the field itself)."""
    numeric = {k.value for k in NUMERIC_KINDS}
    fields = [(key, label) for key, label, kind in labelled_fields(definition or {},
                                                                    with_kind=True)
              if kind in numeric and key != node.get("key")]
    return options([("", "—")] + fields)


def _sources(_node, _definition=None) -> list[SelectChoice]:
    return options([("number", _l("The item's number")), ("title", _l("The item's title")),
                    ("text", _l("A text of each item")), ("input", _l("Typed in by the unit"))])


def _input_kinds(_node, _definition=None) -> list[SelectChoice]:
    return options([("", "—")] + [(k.value, KIND_LABELS[k]) for k in FieldKind if k in TEXT_KINDS])


@dataclass(frozen=True)
class Attribute:
    """One attribute an editor shows: its (dotted) name in the node, label and widget.

    *nodes* are the parts it belongs to; *kinds* (fields and table columns) the
    field kinds it applies to. Widgets: text, textarea, lines (one value a line),
    choices (one option a line, ``value: label | English label``), integer, decimal,
    date, check and select (with *options* built from the node).
    """

    name: str
    label: Any
    widget: str
    nodes: frozenset[str]
    kinds: frozenset[FieldKind] = ALL_KINDS
    # (node, whole draft) -> the options of a select
    options: Callable[..., list[SelectChoice]] | None = None
    help: Any = None

    def applies(self, node_type: str, kind: str | None) -> bool:
        if node_type not in self.nodes:
            return False
        return node_type not in ("field", "column") or kind in self.kinds

    @property
    def form_name(self) -> str:
        return "a_" + self.name.replace(".", "__")


F = frozenset({"field"})
FC = frozenset({"field", "column"})
SIF = frozenset({"section", "item", "field"})
PH = frozenset({"phase"})

ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("number", _l("Number as printed"), "text", frozenset({"section", "item"}),
              help=_l("For example 一, （一） or 1.")),
    Attribute("title", _l("Title"), "text", frozenset({"section", "item"})),
    Attribute("title_en", _l("Title in English"), "text", frozenset({"section", "item"})),
    Attribute("plan_text", _l("Wording of the plan"), "textarea", frozenset({"item"}),
              help=_l("The plan's text for this task, shown beside the item.")),
    Attribute("note", _l("Note"), "textarea", frozenset({"section", "item"})),
    Attribute("label", _l("Label"), "text", FC | {"table_column"}),
    Attribute("label_en", _l("Label in English"), "text", FC | {"table_column"}),
    Attribute("kind", _l("Kind"), "select", F, options=lambda _node, _data=None: kind_options()),
    Attribute("kind", _l("Kind"), "select", frozenset({"column"}),
              options=lambda _node, _data=None: kind_options(COLUMN_KINDS)),
    Attribute("unit", _l("Unit of measure"), "text", FC, NUMERIC_KINDS,
              help=_l("For example 家, 次 or 人.")),
    Attribute("unit_en", _l("Unit in English"), "text", FC, NUMERIC_KINDS),
    Attribute("required", _l("Required"), "check", FC),
    Attribute("min", _l("Smallest value"), "decimal", FC, NUMERIC_KINDS),
    Attribute("max", _l("Largest value"), "decimal", FC, NUMERIC_KINDS),
    Attribute("max_length", _l("Longest text (characters)"), "integer", FC, TEXT_KINDS),
    Attribute("choices", _l("Options, one a line"), "choices", FC, CHOICE_KINDS,
              help=_l("Each line: code: label | English label. The code names the option in "
                      "every report: keep it when you correct a label; a new line without "
                      "one gets a new code.")),
    Attribute("cumulative", _l("Cumulative: may not go down from one period to the next"),
              "check", F, NUMERIC_KINDS),
    Attribute("cumulative_span", _l("Accumulates over"), "select", F, NUMERIC_KINDS,
              options=_spans),
    Attribute("cumulative_severity", _l("When a cumulative figure goes down"), "select", F,
              NUMERIC_KINDS, options=_severities),
    Attribute("aggregation", _l("Consolidation of the units' values"), "select", F,
              options=_aggregations),
    Attribute("formula", _l("Formula (a calculated field)"), "text", F, NUMERIC_KINDS,
              help=_l("For example round(field_2 / field_1 * 100, 2): the field is then "
                      "calculated from the others, never typed in. Leave empty to type it.")),
    Attribute("target.kind", _l("Kind of target"), "select", F, NUMERIC_KINDS,
              options=_target_kinds),
    Attribute("target.value", _l("Target value"), "decimal", F, NUMERIC_KINDS,
              help=_l("The figure; for a share the percentage; for a stock the level to "
                      "reach (empty: zero); for a recurring target the minimum per window.")),
    Attribute("target.comparison", _l("Target means"), "select", F, NUMERIC_KINDS,
              options=_comparisons),
    Attribute("target.by", _l("Target date"), "date", F, NUMERIC_KINDS),
    Attribute("target.denominator", _l("Share of the field"), "select", F, NUMERIC_KINDS,
              options=_denominators),
    Attribute("target.every", _l("Window of a recurring target"), "select", F, NUMERIC_KINDS,
              options=_target_windows),
    Attribute("target.since", _l("Target counted from"), "date", F, NUMERIC_KINDS,
              help=_l("Empty: the first day of the plan window.")),
    Attribute("target.scope", _l("Target judged on"), "select", F, NUMERIC_KINDS,
              options=_target_scopes),
    Attribute("target.basis", _l("Plan sentence that sets the target"), "textarea", F,
              NUMERIC_KINDS),
    Attribute("basis", _l("Basis in the plan"), "textarea", F,
              help=_l("The sentence of the plan that asks for this figure.")),
    Attribute("applies_when", _l("Applies only when"), "text", SIF,
              help=_l("Empty: always. For example unit_has('危化') for the units tagged 危化 "
                      "(common tags: %(tags)s), or has_committee == true, level == 'major' "
                      "on other answers (fields by key, as in rules).",
                      tags=format_tags(COMMON_TAGS))),
    Attribute("applies_basis", _l("Plan sentence that scopes it"), "textarea", SIF),
    Attribute("help", _l("Help for the person filling in"), "textarea", F),
    Attribute("help_en", _l("Help in English"), "textarea", F),
    Attribute("min_rows", _l("Fewest rows"), "integer", F, frozenset({FieldKind.TABLE})),
    Attribute("max_rows", _l("Most rows"), "integer", F, frozenset({FieldKind.TABLE})),
    Attribute("max_size_mb", _l("Largest file (MB)"), "decimal", F,
              frozenset({FieldKind.ATTACHMENT})),
    Attribute("source", _l("Filled with"), "select", frozenset({"table_column"}),
              options=_sources),
    Attribute("input_kind", _l("Kind of the typed text"), "select", frozenset({"table_column"}),
              options=_input_kinds),
    Attribute("input_required", _l("Required"), "check", frozenset({"table_column"})),
    Attribute("width", _l("Relative width"), "integer", frozenset({"table_column"})),
    Attribute("name", _l("Name of the phase"), "text", PH,
              help=_l("For example 动员部署, 排查整治 or 巩固提升.")),
    Attribute("name_en", _l("Name in English"), "text", PH),
    Attribute("start", _l("First day"), "date", PH),
    Attribute("end", _l("Last day"), "date", PH,
              help=_l("Phases follow each other: the next starts after this one ends.")),
    Attribute("basis", _l("Plan sentence that sets it"), "textarea", PH),
    Attribute("expr", _l("Rule"), "textarea", frozenset({"rule"}),
              help=_l("For example: field_2 <= field_1. Pick fields by their label below.")),
    Attribute("severity", _l("When it fails"), "select", frozenset({"rule"}), options=_severities),
    Attribute("message", _l("Message shown when it fails"), "text", frozenset({"rule"})),
    Attribute("message_en", _l("Message in English"), "text", frozenset({"rule"})),
)


def attribute_labels(names: Iterable[str]) -> str:
    """The labels of changed attributes, as the editor names them ("target" for its parts)."""
    labels: dict[str, Any] = {}
    for attr in ATTRIBUTES:  # the first of a name (a field's basis before a phase's)
        if "." not in attr.name:
            labels.setdefault(attr.name, attr.label)
    labels["target"] = _l("Target")
    return ", ".join(str(labels.get(name, name)) for name in names)


def attributes_for(node_type: str, node: dict[str, Any],
                   definition: dict[str, Any] | None = None) -> list[Attribute]:
    """The attributes the editor of *node* shows; an item also gets one text per "text"
    column of the printed table (*definition* is the whole draft)."""
    shown = [a for a in ATTRIBUTES if a.applies(node_type, node.get("kind"))]
    if node_type == "item" and definition:
        shown += [Attribute(f"texts.{c['key']}", c.get("label") or c["key"], "textarea",
                            frozenset({"item"}))
                  for c in definition.get("columns") or []
                  if c.get("source") == "text" and c.get("key")]
    return shown


# -- the forms ---------------------------------------------------------------------------------


class RevisionForm(FlaskForm):
    """Every change names the draft revision it was made on (against lost updates)."""

    revision = HiddenField()

    def revision_number(self) -> int:
        try:
            return int(self.revision.data or "0")
        except ValueError:
            return -1


class PathForm(RevisionForm):
    path = HiddenField(validators=[DataRequired()])


class NodeActionForm(PathForm):
    action = HiddenField(validators=[AnyOf(["up", "down", "delete"])])  # the button pressed


class MoveItemForm(PathForm):
    section = IntegerField(_l("Move to section"), validators=[InputRequired()])


class AddForm(RevisionForm):
    parent = HiddenField()
    collection = HiddenField(validators=[DataRequired()])
    kind = SelectField(_l("Kind"), choices=kind_options, validate_choice=False)


class MetaForm(RevisionForm):
    title = StringField(_l("Title of the form"), validators=[Optional()])
    title_en = StringField(_l("Title in English"), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional()],
                                description=_l("Who reports what, and when; shown on the "
                                               "template's page."))
    issuer = StringField(_l("Issued by"), validators=[Optional()])
    plan_title = StringField(_l("Title of the plan"), validators=[Optional()])
    doc_number = StringField(_l("Document number"), validators=[Optional()],
                             description=_l("For example 晋池政〔2024〕53号."))
    plan_date = DateField(_l("Date of the plan"), validators=[Optional()])
    notes = TextAreaField(_l("Notes below the form, one a line"), validators=[Optional()])


def due_rule_options() -> list[SelectChoice]:
    return options([("after_end", _l("A day of a month after the period ends")),
                    ("in_period", _l("A day of a month within the period")),
                    ("fixed", _l("One fixed date (one-off reports)"))])


class ScheduleForm(RevisionForm):
    frequency = SelectField(_l("Frequency"), choices=lambda: options(
        (f.value, FREQUENCY_LABELS[f]) for f in Frequency))
    due_rule = SelectField(_l("Due date"), choices=due_rule_options)
    months = IntegerField(_l("Months after the period"), default=1,
                          validators=[Optional(), NumberRange(0, 24)])
    month = IntegerField(_l("Month of the period"), default=1,
                         validators=[Optional(), NumberRange(1, 12)])
    day = IntegerField(_l("Day of the month"), default=5,
                       validators=[Optional(), NumberRange(1, 31)])
    fixed_date = DateField(_l("Fixed due date"), validators=[Optional()])
    due_phase = SelectField(_l("Or due at the end of a phase"), validate_choice=False,
                            choices=[], description=_l("One-off reports only: the due date is "
                                                       "then the phase's last day."))
    first = StringField(_l("First period"), validators=[InputRequired()],
                        description=_l("For example 2024-05, 2024Q2, 2024H1, 2024, or once "
                                       "(event for event reports)."))
    last = StringField(_l("Last period"), validators=[InputRequired()])
    # -- event reports only (frequency "event"): see forms.definition.EventRules
    event_location = BooleanField(_l("Events: ask for a location"), default=True)
    event_max_files = IntegerField(_l("Events: attachments per event"), default=5,
                                   validators=[Optional(), NumberRange(0, 20)])
    event_max_file_mb = DecimalField(_l("Events: largest attachment (MB)"), default=10,
                                     validators=[Optional(), NumberRange(0.1, 100)])
    event_max_total_mb = DecimalField(_l("Events: all attachments of an event (MB)"),
                                      default=30, validators=[Optional(), NumberRange(0.1, 500)])
    event_totals = SelectField(_l("Events: totals in the merged workbook"),
                               validate_choice=False, choices=lambda: [
        ("", _l("None")), ("month", _l("Per month of the event time")),
        ("quarter", _l("Per quarter of the event time"))])


def phase_options(data: dict[str, Any]) -> list[SelectChoice]:
    """The draft's phases by name, for a one-off report due at the end of one."""
    return options([("", "—")] + [(p["key"], p.get("name") or p["key"])
                                  for p in data.get("phases") or [] if p.get("key")])


class PublishForm(RevisionForm):
    confirm = BooleanField(_l("I have read the changes marked above and publish them anyway"))


class FromVersionForm(FlaskForm):
    # Any published version may be the start (the template page offers each); the service
    # answers an unknown one as not found.
    template = SelectField(_l("Published template"), validate_choice=False,
                           validators=[DataRequired()])


def import_kind_options() -> list[SelectChoice]:
    return options([("", _l("Tell by the file name"))] + [(k, k) for k in IMPORT_KINDS])


class FromFileForm(FlaskForm):
    file = FileField(_l("Plan document, spreadsheet or XLSForm"),
                     validators=[FileRequired(_l("Choose a file to import."))])
    kind = SelectField(_l("Kind of file"), choices=import_kind_options)


def node_form(node_type: str, node: dict[str, Any], definition: dict[str, Any], *,
              from_request: bool = False) -> tuple[PathForm, list[Attribute]]:
    """The editor of one node: a form with a field per attribute that applies to it."""
    shown = attributes_for(node_type, node, definition)

    class NodeForm(PathForm):
        pass

    for attr in shown:
        setattr(NodeForm, attr.form_name, _wtforms_field(attr, node, definition))
    form = NodeForm() if from_request else NodeForm(formdata=None, data=_initial(shown, node))
    return form, shown


def _wtforms_field(attr: Attribute, node: dict[str, Any], definition: dict[str, Any]):
    common = {"label": attr.label, "description": attr.help or ""}
    optional = [Optional()]
    if attr.widget == "text":
        return StringField(validators=optional, **common)
    if attr.widget in ("textarea", "lines", "choices"):
        return TextAreaField(validators=optional, render_kw={"rows": 3}, **common)
    if attr.widget == "integer":
        return IntegerField(validators=optional + [NumberRange(min=0)], **common)
    if attr.widget == "decimal":
        return DecimalField(validators=optional, places=None, **common)
    if attr.widget == "date":
        return DateField(validators=optional, **common)
    if attr.widget == "check":
        return BooleanField(**common)
    if attr.widget == "select":
        return SelectField(choices=attr.options(node, definition), validate_choice=False,
                           **common)
    raise ValueError(f"unknown widget {attr.widget}")


def _read(node: dict[str, Any], name: str) -> Any:
    for part in name.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _initial(shown: list[Attribute], node: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for attr in shown:
        value = _read(node, attr.name)
        if attr.widget == "choices":
            value = "\n".join(choice_line(c) for c in value or [])
        elif attr.widget == "lines":
            value = "\n".join(value or [])
        elif attr.widget == "decimal" and value is not None:
            value = Decimal(str(value))
        elif attr.widget == "date" and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        data[attr.form_name] = value
    return data


def submitted_values(form: PathForm, shown: list[Attribute], node_type: str,
                     node: dict[str, Any]) -> tuple[dict[str, Any], list[str] | None]:
    """What the editor sets: every attribute shown (None removes it), the attributes that no
    longer fit a changed kind removed, and the option labels of a choice field apart."""
    values: dict[str, Any] = {}
    choices: list[str] | None = None
    for attr in shown:
        raw = form[attr.form_name].data
        if attr.widget == "choices":
            choices = [line.strip() for line in (raw or "").splitlines() if line.strip()]
            continue
        values[attr.name] = _stored(attr, raw)
    # A nested object (a target) whose typed parts are all empty is no object: its
    # selects alone (the comparison) do not make one.
    for prefix in {a.name.split(".")[0] for a in shown if "." in a.name}:
        members = [a for a in shown if a.name.startswith(prefix + ".")]
        if any(a.widget == "select" for a in members) and all(
                values.get(a.name) is None for a in members if a.widget != "select"):
            values.update({a.name: None for a in members})
    new_kind = values.get("kind", node.get("kind"))
    for attr in ATTRIBUTES:
        if attr.applies(node_type, node.get("kind")) and not attr.applies(node_type, new_kind):
            values[attr.name] = None
            if attr.widget == "choices":
                choices = []
    if new_kind in CHOICE_KINDS and choices is None:
        choices = [choice_line(c) for c in node.get("choices") or []]
    return values, choices


def _stored(attr: Attribute, raw: Any) -> Any:
    if attr.widget == "check":
        return True if raw else None
    if attr.widget == "lines":
        return [line.strip() for line in (raw or "").splitlines() if line.strip()]
    if attr.widget == "decimal":
        return None if raw is None else format(raw, "f")
    if attr.widget == "date":
        return raw.isoformat() if raw else None
    if isinstance(raw, str):
        return raw.strip() or None
    return raw
