"""The web form of a report, built at runtime from the template definition.

Every field kind has a WTForms field class that keeps what the person typed
as text: reading it into a typed value ("１２家" → 12 with a warning) is the
job of :func:`forms.values.coerce`, called by the reporting service, so the
web form, Excel uploads and the API accept exactly the same input. WTForms
here renders the inputs, carries CSRF and hands back the raw data.

Input names are ``f_<field key>`` (table cells ``f_<table>-<row>-f_<column>``)
so no field key can clash with the attributes of a WTForms form.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from forms.applicability import (
    Applicability,
    Condition,
    applicability,
    condition_parts,
    conditions,
    live_conditions,
)
from forms.calculated import inputs, parse, places, readable
from forms.definition import Column, Definition, FieldDef, FieldKind
from forms.issues import Issue
from forms.values import format_number, is_blank

PREFIX = "f_"
BLANK_ROWS = 3  # empty rows offered below a table (and added by "add rows" without JavaScript)


def field_name(key: str) -> str:
    return PREFIX + key


# -- field classes per kind ------------------------------------------------------------------


class RequiredMark:
    """Marks a field as required for the label's asterisk; checks nothing.

    Whether a value is missing is judged by the reporting service when the
    report is submitted: a draft may be incomplete, so the browser must not
    refuse to save it either (the inputs get ``required=False``).
    """

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        return None


class NumberField(StringField):
    """A number typed as text: full-width digits, "1,200" and "12家" are read by the service."""


class DateTextField(StringField):
    """A date picker whose value is read by the service (ISO from the picker, or typed)."""


def option(value: str, label: Any) -> Any:
    """One choice of a select, radio or checkbox field (WTForms deprecates plain pairs)."""
    return SelectChoice(value, label)


class MultiCheckboxField(SelectMultipleField):
    """Several options as checkboxes (the layout's render_field shows them as a group)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AttachmentForm(Form):
    file = FileField()
    remove = BooleanField(_l("Remove the file"))


def _common(col: Column, locale: str) -> dict[str, Any]:
    options: dict[str, Any] = {"label": col.text("label", locale),
                               "render_kw": {"required": False, "autocomplete": "off"}}
    help_text = col.text("help", locale) if isinstance(col, FieldDef) else ""
    if help_text:
        options["description"] = help_text
    if col.required:
        options["validators"] = [RequiredMark()]
    return options


def _text(col: Column, locale: str):
    options = _common(col, locale)
    if col.format == "phone":
        options["render_kw"].update(type="tel", inputmode="tel", autocomplete="tel")
    return StringField(**options)


def _longtext(col: Column, locale: str):
    options = _common(col, locale)
    options["render_kw"]["rows"] = 3
    return TextAreaField(**options)


def _number(inputmode: str) -> Callable:
    def make(col: Column, locale: str):
        options = _common(col, locale)
        options["render_kw"]["inputmode"] = inputmode
        return NumberField(**options)

    return make


def _date(col: Column, locale: str):
    options = _common(col, locale)
    options["render_kw"]["type"] = "date"
    return DateTextField(**options)


def _choice(col: Column, locale: str):
    choices = [option("", "—")] + [option(c.value, c.text("label", locale))
                                   for c in col.choices]
    return SelectField(choices=choices, validate_choice=False, **_common(col, locale))


def _multichoice(col: Column, locale: str):
    choices = [option(c.value, c.text("label", locale)) for c in col.choices]
    return MultiCheckboxField(choices=choices, validate_choice=False, **_common(col, locale))


def _yesno(col: Column, locale: str):
    choices = [option("yes", _l("Yes")), option("no", _l("No"))]
    if not col.required:
        # Optional answers can be taken back.
        choices.append(option("", _l("Not answered")))
    return RadioField(choices=choices, validate_choice=False, **_common(col, locale))


def _attachment(col: Column, locale: str):
    # FormField takes no validators (WTForms 3.3 refuses them); the label's asterisk
    # comes from the definition, and the service judges whether the file is missing.
    options = _common(col, locale)
    options.pop("validators", None)
    return FormField(AttachmentForm, **options)


def _table(col: Column, locale: str):
    row_form = row_form_class(col, locale)
    return FieldList(FormField(row_form), min_entries=0, **_common(col, locale))


FIELD_FACTORIES: dict[FieldKind, Callable] = {
    FieldKind.TEXT: _text,
    FieldKind.LONGTEXT: _longtext,
    FieldKind.INTEGER: _number("numeric"),
    FieldKind.DECIMAL: _number("decimal"),
    FieldKind.PERCENT: _number("decimal"),
    FieldKind.DATE: _date,
    FieldKind.CHOICE: _choice,
    FieldKind.MULTICHOICE: _multichoice,
    FieldKind.YESNO: _yesno,
    FieldKind.ATTACHMENT: _attachment,
    FieldKind.TABLE: _table,
}


def row_form_class(table: FieldDef, locale: str) -> type[Form]:
    """The form of one row of a repeating table: its cells and a "remove" checkbox."""
    attrs: dict[str, Any] = {
        field_name(c.key): FIELD_FACTORIES[c.kind](c, locale) for c in table.columns
    }
    attrs["remove"] = BooleanField(_l("Remove"))
    return type(f"Row_{table.key}", (Form,), attrs)


class ReportForm(FlaskForm):
    """The fields every report has; the definition's fields are added per template."""

    revision = HiddenField()
    remarks = TextAreaField(
        _l("Remarks"),
        description=_l("Anything the consolidator should know. Explain any warnings here "
                       "before submitting."),
        render_kw={"rows": 4},
    )


def _calculated(fld: FieldDef, definition: Definition, locale: str):
    """A read-only number the browser's script recomputes as inputs change (the service
    recomputes it anyway and ignores what is posted)."""
    options = _common(fld, locale)

    def label(key: str) -> str | None:
        source = definition.field(key)
        return source.text("label", locale) if source else None

    help_text = options.pop("description", "")
    options["description"] = " ".join(filter(None, [
        gettext("Calculated: %(formula)s", formula=readable(fld, label, locale)), help_text]))
    options["render_kw"].update({
        "readonly": True,
        "tabindex": "-1",
        "inputmode": "decimal",
        "data-formula": json.dumps(parse(fld.formula).to_tree(), ensure_ascii=False),
        "data-inputs": " ".join(field_name(k) for k in inputs(fld)),
        "data-places": str(places(fld)),
    })
    return NumberField(**options)


def form_class(definition: Definition, locale: str) -> type[ReportForm]:
    """A form class with one field per field of *definition*, labelled in *locale*."""
    attrs = {field_name(f.key): (_calculated(f, definition, locale) if f.formula
                                 else FIELD_FACTORIES[f.kind](f, locale))
             for f in definition.fields()}
    return type(f"ReportForm_{definition.key.replace('-', '_')}", (ReportForm,), attrs)


# -- values in, values out -------------------------------------------------------------------


def shown_value(col: Column, value: Any) -> Any:
    """A typed value as the input shows it."""
    if value is None:
        return None
    kind = col.kind
    if kind in (FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.PERCENT):
        return format_number(value) if isinstance(value, int | Decimal) else str(value)
    if kind is FieldKind.DATE:
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind is FieldKind.YESNO:
        return {True: "yes", False: "no"}.get(value)
    if kind is FieldKind.MULTICHOICE:
        return list(value) if isinstance(value, list | tuple) else [value]
    return value


def form_data(definition: Definition, values: Mapping[str, Any]) -> dict[str, Any]:
    """The form's initial data from typed *values* (attachments are shown, not prefilled)."""
    data: dict[str, Any] = {}
    for fld in definition.fields():
        value = values.get(fld.key)
        if fld.kind is FieldKind.ATTACHMENT:
            continue
        if fld.kind is FieldKind.TABLE:
            data[field_name(fld.key)] = [
                {field_name(c.key): shown_value(c, row.get(c.key)) for c in fld.columns}
                for row in value or [] if isinstance(row, Mapping)
            ]
        else:
            data[field_name(fld.key)] = shown_value(fld, value)
    return data


def build_form(definition: Definition, locale: str, *, values: Mapping[str, Any] | None = None,
               remarks: str = "", revision: int = 0, from_request: bool = False) -> ReportForm:
    """The report form: as the request sent it, or filled with typed *values*."""
    cls = form_class(definition, locale)
    if from_request:
        form = cls()
    else:
        form = cls(formdata=None, data={**form_data(definition, values or {}),
                                        "remarks": remarks, "revision": str(revision)})
    add_blank_rows(form, definition)
    return form


def tables(definition: Definition) -> list[FieldDef]:
    return [f for f in definition.fields() if f.kind is FieldKind.TABLE]


def add_blank_rows(form: ReportForm, definition: Definition, count: int = BLANK_ROWS,
                   only: str | None = None) -> None:
    """Offer empty rows below each table (up to its row limit) for typing without JavaScript.

    With *only*, add *count* more rows to that table alone (the "add rows" button);
    otherwise top every table up to *count* empty rows, and at least its minimum.
    """
    for fld in tables(definition):
        if only is not None and fld.key != only:
            continue
        entries = form[field_name(fld.key)]
        empty = sum(1 for entry in entries if _row_is_blank(fld, entry))
        wanted = count if only is not None else max(count - empty,
                                                     fld.min_rows - len(entries.entries), 0)
        for _ in range(wanted):
            if fld.max_rows is not None and len(entries.entries) >= fld.max_rows:
                break
            entries.append_entry()


ROW_PLACEHOLDER = "__index__"


def template_row(entries: FieldList):
    """An unattached empty row named with a placeholder index, copied by the browser's script
    when a row is added (it replaces the placeholder with the next free index)."""
    # Bound like FieldList binds its entries, through the API every supported WTForms has.
    row = entries.unbound_field.bind(form=None, name=f"{entries.name}-{ROW_PLACEHOLDER}",
                                     id=f"{entries.id}-{ROW_PLACEHOLDER}", _meta=entries.meta,
                                     translations=entries._translations)
    row.process(None)
    return row


def _row_is_blank(table: FieldDef, entry) -> bool:
    return all(is_blank(entry[field_name(c.key)].data) for c in table.columns)


def _raw(col: Column, form_field) -> Any:
    data = form_field.data
    if col.kind is FieldKind.MULTICHOICE:
        return [v for v in data or [] if v]
    return data


@dataclass
class RawInput:
    """What the form sent, ready for the reporting service."""

    values: dict[str, Any]
    # For each table: the form row index of every row the service will keep, in order, so
    # an issue about stored row i is shown at the row the person typed it in.
    rows: dict[str, list[int]] = field(default_factory=dict)


def raw_input(form: ReportForm, definition: Definition) -> RawInput:
    """The raw values of every non-attachment field (attachments: see server.services.files)."""
    result = RawInput({})
    for fld in definition.fields():
        form_field = form[field_name(fld.key)]
        if fld.kind is FieldKind.ATTACHMENT:
            continue
        if fld.kind is FieldKind.TABLE:
            rows, kept = [], []
            for index, entry in enumerate(form_field.entries):
                if entry["remove"].data or _row_is_blank(fld, entry):
                    continue
                rows.append({c.key: _raw(c, entry[field_name(c.key)]) for c in fld.columns})
                kept.append(index)
            result.values[fld.key] = rows
            result.rows[fld.key] = kept
        else:
            result.values[fld.key] = _raw(fld, form_field)
    return result


# -- issues at their place -------------------------------------------------------------------


@dataclass(frozen=True)
class ShownIssue:
    """An issue rendered in the reader's language, with the anchor of its place in the form."""

    anchor: str
    message: str
    is_error: bool
    label: str = ""
    # The message as the summary lists it: "第3项 排查隐患数：…" (item, field, row, column).
    located: str = ""

    @property
    def summary_text(self) -> str:
        return self.located or self.message


def field_anchor(key: str) -> str:
    return f"field-{key}"


def cell_anchor(key: str, row: int, column: str) -> str:
    return f"cell-{key}-{row}-{column}"


REMARKS_ANCHOR = "field-remarks"
NOTE_PREFIX = "note-"


def posted_explanations(formdata: Mapping[str, str], stored: Mapping[str, str] | None
                        ) -> dict[str, str]:
    """The stored 说明 with the note boxes the page sent (a box emptied clears its note)."""
    sent = {k[len(NOTE_PREFIX):]: v for k, v in formdata.items() if k.startswith(NOTE_PREFIX)}
    return {**(stored or {}), **sent}


@dataclass
class IssueMap:
    """The issues of a report placed at fields, table rows and cells."""

    fields: dict[str, list[ShownIssue]] = field(default_factory=dict)
    cells: dict[tuple[str, int, str], list[ShownIssue]] = field(default_factory=dict)
    rows: dict[tuple[str, int], list[ShownIssue]] = field(default_factory=dict)
    general: list[ShownIssue] = field(default_factory=list)
    summary: list[ShownIssue] = field(default_factory=list)
    flagged: set[str] = field(default_factory=set)  # figures that need a 说明 beside them

    def at(self, key: str) -> list[ShownIssue]:
        return self.fields.get(key, [])

    def errors_at(self, key: str) -> list[str]:
        return [i.message for i in self.at(key) if i.is_error]

    def warnings_at(self, key: str) -> list[str]:
        return [i.message for i in self.at(key) if not i.is_error]

    def at_cell(self, key: str, row: int, column: str) -> list[ShownIssue]:
        return self.cells.get((key, row, column), [])

    def at_row(self, key: str, row: int) -> list[ShownIssue]:
        return self.rows.get((key, row), [])

    @property
    def error_count(self) -> int:
        return sum(1 for i in self.summary if i.is_error)

    @property
    def warning_count(self) -> int:
        return sum(1 for i in self.summary if not i.is_error)

    def __bool__(self) -> bool:
        return bool(self.summary)


def place_issues(definition: Definition, issues: Iterable[Issue], translate: Callable,
                 locale: str, rows: Mapping[str, list[int]] | None = None) -> IssueMap:
    """Every issue rendered in *locale* and placed where the person will look for it.

    *rows* maps stored table rows to form rows (see :class:`RawInput`); without it
    the rows are shown as stored.
    """
    placed = IssueMap()
    seen: set[tuple] = set()
    for issue in issues:
        identity = (issue.field, issue.row, issue.column, issue.code, str(issue.params))
        if identity in seen:
            continue
        seen.add(identity)
        if issue.needs_figure_note:
            placed.flagged.add(issue.field)
        message = issue.render(translate, locale)
        fld = definition.field(issue.field) if issue.field else None
        label = fld.text("label", locale) if fld else ""
        if fld is None:
            shown = ShownIssue("", message, issue.is_error)
            placed.general.append(shown)
            placed.summary.append(shown)
            continue
        row = issue.row
        if row is not None and rows and fld.key in rows and row < len(rows[fld.key]):
            row = rows[fld.key][row]
        located = located_message(definition, fld, message, locale, row, issue.column)
        if row is not None and issue.column:
            shown = ShownIssue(cell_anchor(fld.key, row, issue.column), message,
                               issue.is_error, label, located)
            placed.cells.setdefault((fld.key, row, issue.column), []).append(shown)
        elif row is not None:
            shown = ShownIssue(field_anchor(fld.key), message, issue.is_error, label, located)
            placed.rows.setdefault((fld.key, row), []).append(shown)
        else:
            shown = ShownIssue(field_anchor(fld.key), message, issue.is_error, label, located)
            placed.fields.setdefault(fld.key, []).append(shown)
        placed.summary.append(shown)
    return placed


def issue_place(definition: Definition, fld: FieldDef, locale: str, row: int | None = None,
                column: str | None = None) -> str:
    """Where a problem is, as a person finds it on the printed form: "第3项 排查隐患数",
    with the row and column of a table ("第3项 隐患清单 第 2 行 整改期限")."""
    parts = []
    item = definition.item_of(fld.key)
    if item is not None and item.number:
        number = item.number.strip()
        parts.append(gettext("Item %(number)s", number=number) if number.isdigit()
                     else number)
    parts.append(fld.text("label", locale))
    if row is not None:
        parts.append(gettext("row %(number)s", number=row + 1))
        col = next((c for c in fld.columns if c.key == column), None) if column else None
        if col is not None:
            parts.append(col.text("label", locale))
    return " ".join(parts)


def located_message(definition: Definition, fld: FieldDef, message: str, locale: str,
                    row: int | None = None, column: str | None = None) -> str:
    """The message headed by its place: "第3项 排查隐患数：排查隐患数为必填项。"."""
    place = issue_place(definition, fld, locale, row, column)
    return gettext("%(place)s: %(message)s", place=place, message=message)


def show_errors_on(form: ReportForm, definition: Definition, placed: IssueMap) -> None:
    """Put the field-level errors on the WTForms fields, where render_field shows them."""
    for fld in definition.fields():
        errors = placed.errors_at(fld.key)
        if errors and fld.kind not in (FieldKind.TABLE, FieldKind.ATTACHMENT):
            form[field_name(fld.key)].errors = errors


# -- applicability on the page ---------------------------------------------------------------


@dataclass
class FormApplicability:
    """What of the form applies to the unit, for the template and its script.

    A part whose condition is on the unit's tags alone and does not hold is not
    drawn at all. A part that depends on answers is drawn with a hint saying when
    it applies; when it does not apply to the answers shown, it is marked
    ``data-applies-off`` (hidden when scripts run, shown with its hint without them:
    the server then leaves out its values on save and says so).
    """

    scope: Applicability
    on_answers: dict[tuple[str, str], str]  # (scope, key) -> hint text
    script: dict[str, Any]

    def drawn(self, scope: str, key: str) -> bool:
        return (scope, key) in self.on_answers or not self._off(scope, key)

    def off(self, scope: str, key: str) -> bool:
        return self._off(scope, key)

    def hint(self, scope: str, key: str) -> str:
        return self.on_answers.get((scope, key), "")

    def _off(self, scope: str, key: str) -> bool:
        if scope == "section":
            return not self.scope.section_applies(key)
        if scope == "item":
            return not self.scope.item_applies(key)
        return not self.scope.applies(key)


def form_applicability(definition: Definition, tags: Collection[str] | None,
                       values: Mapping[str, Any], locale: str) -> FormApplicability:
    """The applicability of *definition* to a unit with *tags* that gave *values*."""
    scope = applicability(definition, tags, values)
    hints = {(c.scope, c.key): _hint(definition, c, locale)
             for c in conditions(definition) if c.on_answers}
    live = [
        {"target": f"{lc.condition.scope}-{lc.condition.key}",
         "inputs": [field_name(key) for key in lc.inputs],
         "holds": sorted("|".join(_form_value(v) for v in combo) for combo in lc.holds)}
        for lc in live_conditions(definition, tags)
    ]
    return FormApplicability(scope, hints, {"conditions": live})


def _form_value(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return "" if value is None else str(value)


def _hint(definition: Definition, condition: Condition, locale: str) -> str:
    """"Asked only when “是否成立安全生产委员会” is “是”…" from what a condition compares."""
    parts = []
    for label, answer in condition_parts(definition, condition, locale):
        if isinstance(answer, bool):
            answer = str(_l("Yes") if answer else _l("No"))
        parts.append(str(_l("“%(label)s” is “%(value)s”", label=label, value=answer)))
    if not parts:
        return str(_l("Asked only when your other answers call for it; otherwise it is "
                      "left out when saved."))
    separator = "; " if locale.startswith("en") else "；"
    return str(_l("Asked only when %(condition)s; otherwise it is left out when saved.",
                  condition=separator.join(parts)))
