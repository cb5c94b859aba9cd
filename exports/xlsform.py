"""A template definition written as an XLSForm, the spreadsheet form language of ODK,
KoboToolbox and SurveyCTO, so a template can be filled in or reworked with those tools.

Sheets ``survey``, ``choices`` and ``settings``, as the XLSForm standard names them:

- sections and items become groups (an item without inputs becomes a note, an item's
  note a note at the end of its group); the header
  fields (报送人, 联系电话) a group named ``header``; tables become repeats whose
  questions are the columns; attachments become ``file`` questions;
- keys become names, labels and help texts go into ``label::中文 (zh)`` and
  ``label::English (en)`` columns (``hint::…`` likewise), ``required`` is ``yes``;
- bounds, lengths and the phone format become ``constraint`` expressions, and so do
  the rules of severity *error*, attached to the last field they read (in XPath:
  ``${key}`` for other fields, ``.`` for the question itself, ``=`` for ``==``);
  every bound and rule is one bracketed part of the constraint, and the rules'
  messages, joined by ``；`` (``; `` in English), make the ``constraint_message``;
- two columns of Tianbao's own, which XLSForm tools ignore, keep what XLSForm cannot
  say: ``tianbao_kind`` (the field kind, e.g. ``percent`` or ``longtext`` where the
  XLSForm type is only ``decimal`` or ``text``) and ``tianbao_rules`` (rules of severity
  *warning*, which must not block a submission as a constraint would, as a JSON list of
  ``{"key", "expr", "severity", "message", "message_en"}`` in Tianbao's rule language);
- applicability: a section's, item's or field's ``applies_when`` that only reads other
  answers becomes XLSForm's ``relevant`` (in XPath, as constraints are written); one
  that names the unit's tags (``unit_has(...)``), which a form cannot know, stays in
  Tianbao's rule language in the column ``tianbao_applies_when``, and the plan
  sentence behind either (``applies_basis``) goes into ``tianbao_applies_basis``;
- an event report (``frequency: event``) starts with a group ``event`` (``tianbao_kind``
  ``event``, its settings as JSON in ``tianbao_rules``): the time of the event as a
  ``dateTime`` not after ``now()``, the place as text and ``geopoint``, and a repeat of
  ``file`` questions for photos and documents. XLSForm cannot say which file types or
  sizes are accepted: the server checks them.

Strings are always written as strings, never as formulas.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import IO

import xlsxwriter

from exports.cell_values import yes_no_labels
from forms.definition import PHONE_RE, Column, Definition, FieldDef, FieldKind, Rule, Severity
from forms.rules import parse, to_xpath

LANGUAGE_ZH = "中文 (zh)"
LANGUAGE_EN = "English (en)"
KIND_COLUMN = "tianbao_kind"
RULES_COLUMN = "tianbao_rules"
APPLIES_COLUMN = "tianbao_applies_when"
APPLIES_BASIS_COLUMN = "tianbao_applies_basis"
YESNO_LIST = "yesno"
HEADER_GROUP = "header"
EVENT_GROUP = "event"  # event reports: time, place and attachments (tianbao_kind "event")

SURVEY_COLUMNS = (
    "type", "name", f"label::{LANGUAGE_ZH}", f"label::{LANGUAGE_EN}",
    f"hint::{LANGUAGE_ZH}", f"hint::{LANGUAGE_EN}", "required", "constraint",
    f"constraint_message::{LANGUAGE_ZH}", f"constraint_message::{LANGUAGE_EN}",
    "relevant", "calculation", "read_only", "appearance", KIND_COLUMN, RULES_COLUMN,
    APPLIES_COLUMN, APPLIES_BASIS_COLUMN,
)
CHOICES_COLUMNS = ("list_name", "name", f"label::{LANGUAGE_ZH}", f"label::{LANGUAGE_EN}")
SETTINGS_COLUMNS = ("form_title", "form_id", "version", "default_language")

_TYPES = {
    FieldKind.TEXT: "text",
    FieldKind.LONGTEXT: "text",
    FieldKind.INTEGER: "integer",
    FieldKind.DECIMAL: "decimal",
    FieldKind.PERCENT: "decimal",
    FieldKind.DATE: "date",
    FieldKind.ATTACHMENT: "file",
}


def write_xlsform(definition: Definition, out: IO[bytes]) -> None:
    """Write *definition* as an XLSForm workbook into the binary stream *out*."""
    survey, choices = _Survey(definition).build()
    settings = [{"form_title": definition.title, "form_id": definition.key,
                 "version": str(definition.version), "default_language": LANGUAGE_ZH}]
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    for name, columns, rows in (("survey", SURVEY_COLUMNS, survey),
                                ("choices", CHOICES_COLUMNS, choices),
                                ("settings", SETTINGS_COLUMNS, settings)):
        sheet = book.add_worksheet(name)
        sheet.freeze_panes(1, 0)
        for col, header in enumerate(columns):
            sheet.write_string(0, col, header, bold)
            sheet.set_column(col, col, 28 if header.startswith(("label", "hint")) else 16)
        for row, values in enumerate(rows, start=1):
            for col, header in enumerate(columns):
                value = values.get(header)
                if value:
                    sheet.write_string(row, col, value)
    book.close()


def xlsform_bytes(definition: Definition) -> bytes:
    buffer = io.BytesIO()
    write_xlsform(definition, buffer)
    return buffer.getvalue()


def number_text(value: Decimal) -> str:
    """A bound as XPath writes numbers: plain digits, no exponent, no trailing zeros."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Survey:
    def __init__(self, definition: Definition):
        self.definition = definition
        self.rows: list[dict[str, str]] = []
        self.choices: list[dict[str, str]] = []
        self.lists: set[str] = set()
        self.rules_at: dict[str, list[Rule]] = {}
        order = {f.key: n for n, f in enumerate(definition.fields())}
        for rule in definition.rules:
            if parse(rule.expr).tags:
                continue  # unit_has(): the unit's tags are the server's, not the form's
            fields = parse(rule.expr).fields
            target = max(fields, key=order.__getitem__) if fields else next(iter(order))
            self.rules_at.setdefault(target, []).append(rule)

    def build(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        d = self.definition
        if d.header:
            labels = [f.label for f in d.header]
            labels_en = [f.label_en or f.label for f in d.header]
            self._begin("begin group", HEADER_GROUP, " / ".join(labels), " / ".join(labels_en))
            for header_field in d.header:
                self._field(header_field)
            self.rows.append({"type": "end group"})
        if d.is_event:
            self._event()
        for section in d.sections:
            row = self._begin("begin group", section.key,
                              _numbered(section.number, section.title),
                              _numbered(section.number, section.title_en))
            _applies(row, section.applies_when, section.applies_basis)
            for item in section.items:
                label = _numbered(item.number, item.title)
                label_en = _numbered(item.number, item.title_en)
                if not item.fields:
                    row = self._begin("note", item.key, label, label_en)
                    _applies(row, item.applies_when, item.applies_basis)
                    continue
                row = self._begin("begin group", item.key, label, label_en)
                _applies(row, item.applies_when, item.applies_basis)
                for item_field in item.fields:
                    self._field(item_field)
                if item.note:
                    self._begin("note", f"{item.key}_note", item.note, None)
                self.rows.append({"type": "end group"})
            self.rows.append({"type": "end group"})
        return self.rows, self.choices

    def _event(self) -> None:
        """What every event carries: its time (not in the future), where it happened and
        its photos and documents; the template's event settings ride along as JSON."""
        rules = self.definition.event_rules
        row = self._begin("begin group", EVENT_GROUP, "事件", "The event")
        row[KIND_COLUMN] = "event"
        row[RULES_COLUMN] = rules.model_dump_json(exclude_defaults=True)
        at = self._begin("dateTime", "event_at", "事件发生时间（北京时间）",
                         "Time of the event (Beijing time)")
        at.update({"required": "yes", "constraint": ". <= now()",
                   f"constraint_message::{LANGUAGE_ZH}": "事件发生时间不能晚于现在",
                   f"constraint_message::{LANGUAGE_EN}": "The time cannot be in the future"})
        if rules.location:
            self._begin("text", "event_location", "地点", "Location")
            self._begin("geopoint", "event_coordinates", "坐标", "Coordinates")
        if rules.max_files:
            self._begin("begin repeat", "event_attachments", "照片和文件",
                        "Photos and documents")
            self._begin("file", "event_file", "照片或文件（JPEG、PNG、PDF）",
                        "Photo or document (JPEG, PNG, PDF)")
            self.rows.append({"type": "end repeat"})
        self.rows.append({"type": "end group"})

    def _begin(self, kind: str, name: str, label: str, label_en: str | None) -> dict[str, str]:
        row = {"type": kind, "name": name, f"label::{LANGUAGE_ZH}": label,
               f"label::{LANGUAGE_EN}": label_en or ""}
        self.rows.append(row)
        return row

    def _field(self, field: FieldDef) -> None:
        if field.kind is FieldKind.TABLE:
            row = self._begin("begin repeat", field.key, field.label, field.label_en)
            row[KIND_COLUMN] = field.kind.value
            self._help(row, field)
            _applies(row, field.applies_when, field.applies_basis)
            for column in field.columns:
                self._question(column, list_name=f"{field.key}_{column.key}")
            self.rows.append({"type": "end repeat"})
            return
        row = self._question(field, list_name=field.key)
        self._help(row, field)
        _applies(row, field.applies_when, field.applies_basis)
        if field.formula:  # a calculated field: XLSForm's calculation, read-only
            row["calculation"] = to_xpath(parse(field.formula), lambda key: f"${{{key}}}")
            row["read_only"] = "yes"
        rules = self.rules_at.get(field.key, [])
        errors = [r for r in rules if r.severity is Severity.ERROR]
        warnings = [r for r in rules if r.severity is Severity.WARNING]
        if errors:
            bounds = _bounds(field)
            conditions = bounds + [self._xpath(r, field.key) for r in errors]
            # Brackets keep each rule one part, so a reader can tell the rules apart.
            row["constraint"] = " and ".join(
                c if len(conditions) == 1 and (bounds or " and " not in c) else f"({c})"
                for c in conditions)
            row[f"constraint_message::{LANGUAGE_ZH}"] = "；".join(r.message for r in errors)
            row[f"constraint_message::{LANGUAGE_EN}"] = "; ".join(
                r.message_en or r.message for r in errors)
        if warnings:
            row[RULES_COLUMN] = json.dumps(
                [r.model_dump(mode="json", exclude_none=True) for r in warnings],
                ensure_ascii=False)

    def _question(self, column: Column, list_name: str) -> dict[str, str]:
        if column.kind in (FieldKind.CHOICE, FieldKind.MULTICHOICE):
            list_name = self._choice_list(list_name, column)
            kind = "select_one" if column.kind is FieldKind.CHOICE else "select_multiple"
            xlsform_type = f"{kind} {list_name}"
        elif column.kind is FieldKind.YESNO:
            self._yesno_list()
            xlsform_type = f"select_one {YESNO_LIST}"
        else:
            xlsform_type = _TYPES[column.kind]
        row = self._begin(xlsform_type, column.key, column.label, column.label_en)
        row[KIND_COLUMN] = column.kind.value
        if column.kind is FieldKind.LONGTEXT:
            row["appearance"] = "multiline"
        if column.required:
            row["required"] = "yes"
        if _bounds(column):
            row["constraint"] = " and ".join(_bounds(column))
        return row

    @staticmethod
    def _help(row: dict[str, str], field: FieldDef) -> None:
        if field.help:
            row[f"hint::{LANGUAGE_ZH}"] = field.help
            row[f"hint::{LANGUAGE_EN}"] = field.help_en or ""

    def _xpath(self, rule: Rule, self_key: str) -> str:
        return to_xpath(parse(rule.expr), lambda key: "." if key == self_key else f"${{{key}}}")

    def _choice_list(self, name: str, column: Column) -> str:
        while name in self.lists or name == YESNO_LIST:
            name += "_list"
        self.lists.add(name)
        self._add_choices(name, ((c.value, c.label, c.label_en) for c in column.choices))
        return name

    def _yesno_list(self) -> None:
        if YESNO_LIST in self.lists:
            return
        self.lists.add(YESNO_LIST)
        (yes, no), (yes_en, no_en) = yes_no_labels("zh_CN"), yes_no_labels("en")
        self._add_choices(YESNO_LIST, (("yes", yes, yes_en), ("no", no, no_en)))

    def _add_choices(self, name: str, choices: Iterable[tuple[str, str, str | None]]) -> None:
        for value, label, label_en in choices:
            self.choices.append({"list_name": name, "name": value,
                                 f"label::{LANGUAGE_ZH}": label,
                                 f"label::{LANGUAGE_EN}": label_en or ""})


def _applies(row: dict[str, str], when: str | None, basis: str | None) -> None:
    """Write an applicability condition as ``relevant`` when XLSForm can say it."""
    if when:
        condition = parse(when)
        if condition.tags:  # the unit's tags are the server's, not the form's
            row[APPLIES_COLUMN] = when
        else:
            row["relevant"] = to_xpath(condition, lambda key: f"${{{key}}}")
    if basis:
        row[APPLIES_BASIS_COLUMN] = basis


def _bounds(column: Column) -> list[str]:
    """The XPath conditions of a column's bounds, length limit and format."""
    conditions = []
    if column.min is not None:
        conditions.append(f". >= {number_text(column.min)}")
    if column.max is not None:
        conditions.append(f". <= {number_text(column.max)}")
    if column.max_length:
        conditions.append(f"string-length(.) <= {column.max_length}")
    if column.format == "phone":
        conditions.append(f"regex(., '{PHONE_RE.pattern}')")
    return conditions


def _numbered(number: str, title: str | None) -> str:
    if not title:
        return ""
    return f"{number} {title}" if number else title
