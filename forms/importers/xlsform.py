"""An XLSForm (ODK, KoboToolbox, SurveyCTO) read into a draft template definition.

The workbook is read with pyxform's own reader (``pyxform.xls2json_backends``),
so a form opens here exactly as those tools open it: the same sheets, headers
and cell values. Its rows are then mapped to Tianbao's form model:

- a top-level group is a section (one named ``header`` holding only questions
  gives the header fields); a group inside it is a numbered item whose
  questions (nested groups flattened) are its fields; a question, note or
  repeat directly in a section is an item of its own; questions outside any
  group make a section of their own;
- ``integer``, ``decimal``, ``text`` (``multiline`` appearance: long text),
  ``date``, ``select_one``/``select_multiple`` (a list of exactly ``yes``/``no``:
  yes/no), ``image``/``file``/``audio``/``video`` (attachments), ``note`` (an item
  without inputs, or the note of the item it is in), ``begin repeat`` (a table
  whose questions are its columns);
- ``label``/``hint`` in Chinese and English (``label::中文 (zh)``,
  ``label::English (en)`` or the plain column in the form's default language),
  ``required``, and ``constraint``: ``. >= n``/``. <= n`` become bounds,
  ``string-length(.) <= n`` a length limit, the phone pattern Tianbao writes the
  phone format, and the rest a rule in Tianbao's rule language with the
  ``constraint_message`` as its message; the ``tianbao_kind`` and
  ``tianbao_rules`` columns of Tianbao's own export are honoured;
- ``relevant`` of a group, note or question mapped to a section, item or field
  becomes its ``applies_when`` when the rule language says it, and so does Tianbao's
  own ``tianbao_applies_when`` (conditions on the unit's tags, which XLSForm cannot
  say); ``tianbao_applies_basis`` gives the ``applies_basis``;
- ``settings``: ``form_title`` and ``form_id`` give the title and key;
- the group ``event`` of Tianbao's own export (``tianbao_kind`` ``event``) makes the
  draft an event report with the settings in its ``tianbao_rules``; its questions
  (time, place, files) are what every event carries, not fields.

Other ``relevant`` conditions and ``calculation``, constraints XPath cannot share with
the rule language, unknown types and columns, and choices no question uses are listed as
unplaced by sheet and row with their text, so nothing is dropped silently.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from forms.definition import KEY_PATTERN, PHONE_RE, FieldKind
from forms.importers import ImportRefused, ImportResult, Proposal, SourceRef, Unplaced
from forms.keys import KeyMaker
from forms.rules import RuleSyntaxError, parse

SURVEY, CHOICES, SETTINGS = "survey", "choices", "settings"
TEXT_LIMIT = 80  # characters of source text kept in a SourceRef

_QUESTION_KINDS = {
    "integer": FieldKind.INTEGER, "int": FieldKind.INTEGER,
    "decimal": FieldKind.DECIMAL,
    "text": FieldKind.TEXT, "string": FieldKind.TEXT,
    "date": FieldKind.DATE,
    "image": FieldKind.ATTACHMENT, "photo": FieldKind.ATTACHMENT,
    "file": FieldKind.ATTACHMENT, "audio": FieldKind.ATTACHMENT,
    "video": FieldKind.ATTACHMENT,
}
_SELECTS = {"select_one": FieldKind.CHOICE, "select one": FieldKind.CHOICE,
            "select_multiple": FieldKind.MULTICHOICE,
            "select all that apply": FieldKind.MULTICHOICE}
# The Tianbao kinds a ``tianbao_kind`` cell may refine an XLSForm type into.
_REFINES = {
    FieldKind.DECIMAL: {FieldKind.PERCENT},
    FieldKind.TEXT: {FieldKind.LONGTEXT},
    FieldKind.CHOICE: {FieldKind.YESNO},
}
_BEGIN = {"begin group": "group", "begin_group": "group",
          "begin repeat": "repeat", "begin_repeat": "repeat"}
_END = {"end group": "group", "end_group": "group",
        "end repeat": "repeat", "end_repeat": "repeat"}
_TRUE = {"yes", "true", "true()", "1"}
_FALSE = {"no", "false", "false()", "0", ""}
_KNOWN_SURVEY = {"type", "name", "label", "hint", "required", "constraint",
                 "constraint_message", "relevant", "calculation", "read_only",
                 "appearance", "tianbao_kind", "tianbao_rules",
                 "tianbao_applies_when", "tianbao_applies_basis"}
_KNOWN_CHOICES = {"list_name", "name", "label"}
_KNOWN_SETTINGS = {"form_title", "form_id", "version", "default_language"}
_NUMBER_LABEL = re.compile(
    r"^(?P<number>[（(]?[0-9一二三四五六七八九十百]+[）)]?[0-9]*(?:[.、．][0-9]+)*[.、．]?)"
    r"\s+(?P<title>\S.*)$")


@dataclass
class _Node:
    kind: str  # "group", "repeat", "question", "note"
    row: dict[str, str]
    line: int  # 1-based row of the survey sheet
    children: list[_Node] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.row.get("name", "")


def read(data: bytes, filename: str) -> ImportResult:
    """Read the XLSForm *data* (an .xlsx or .xls workbook) into a draft definition."""
    return _Reader(_workbook(data, filename), filename).read()


def _workbook(data: bytes, filename: str) -> dict[str, Any]:
    from pyxform.errors import PyXFormError
    from pyxform.xls2json_backends import xls_to_dict, xlsx_to_dict

    reader = xls_to_dict if PurePath(filename).suffix.lower() == ".xls" else xlsx_to_dict
    try:
        book = reader(io.BytesIO(data))
    except (PyXFormError, ValueError, KeyError, OSError, SyntaxError):
        # SyntaxError covers the XML parsers' errors on a damaged workbook part.
        raise ImportRefused("unreadable", kind="XLSForm") from None
    if SURVEY not in book:
        raise ImportRefused("xlsform_no_survey")
    if not any(book[SURVEY]):
        raise ImportRefused("empty")
    return book


class _Reader:
    def __init__(self, book: dict[str, Any], filename: str):
        self.book = book
        self.filename = filename
        names = {n.lower(): n for n in book.get("sheet_names", [])}
        if len(names) == 1:  # pyxform reads a lone sheet as the survey, whatever its name
            names[SURVEY] = book["sheet_names"][0]
        self.sheet_names = {s: names.get(s, s) for s in (SURVEY, CHOICES, SETTINGS)}
        self.result = ImportResult(data={})
        self.settings = (book.get(SETTINGS) or [{}])[0]
        self.default_language = _language(self.settings.get("default_language", "")) or "zh"
        self.section_keys, self.item_keys = KeyMaker(), KeyMaker()
        self.field_keys, self.rule_keys = KeyMaker(), KeyMaker()
        self.refs: dict[str, str] = {}  # XLSForm name -> field key, for ${name}
        self.top_fields: set[str] = set()
        self.yes_no_fields: set[str] = set()  # compared with 'yes'/'no' in XPath
        self.lists = self._choice_lists()
        self.used_lists: set[str] = set()
        self.constraints: list[tuple[dict[str, Any], _Node, str]] = []
        # Numeric questions with a calculation: formulas, read once every key is known.
        self.calculations: list[tuple[dict[str, Any], _Node]] = []
        # Sections, items and fields with a condition, read once every key is known.
        self.conditions: list[tuple[dict[str, Any], _Node]] = []

    # -- the whole form ---------------------------------------------------------

    def read(self) -> ImportResult:
        for sheet in self.book.get("sheet_names", []):
            if sheet.lower() not in (SURVEY, CHOICES, SETTINGS) and len(
                    self.book.get("sheet_names", [])) > 1:
                self.unplaced(SourceRef(sheet=sheet), "xlsform_ignored_sheet", sheet=sheet)
        self._settings()
        root = self._tree()
        data = self.result.data
        sections: list[dict[str, Any]] = []
        loose: list[_Node] = []
        for node in root.children:
            if node.kind == "group" and node.name == "event" \
                    and node.row.get("tianbao_kind", "").strip() == "event":
                self._event(node)
                continue
            if node.kind == "group" and node.name == "header" and all(
                    c.kind == "question" for c in node.children) and node.children:
                self._row_extras(node)
                data["header"] = [f for f in (self._field(c, f"header[{n}]")
                                              for n, c in enumerate(node.children)) if f]
                continue
            if node.kind == "group":
                self._flush(loose, sections)
                section = self._section(node, len(sections))
                if section:
                    sections.append(section)
            else:
                loose.append(node)
        self._flush(loose, sections)
        data["sections"] = sections
        self._formulas()
        self._conditions()
        rules = self._rules()
        if rules:
            data["rules"] = rules
        self._unused_choices()
        return self.result

    def _event(self, node: _Node) -> None:
        """Tianbao's own event group: the draft is an event report, with its settings."""
        data = self.result.data
        data["schedule"] = {"frequency": "event"}
        try:
            settings = json.loads(node.row.get("tianbao_rules") or "{}")
        except ValueError:
            settings = None
        if isinstance(settings, dict) and settings:
            data["event"] = settings

    def _settings(self) -> None:
        stem = PurePath(self.filename).stem
        title = self.settings.get("form_title") or stem
        key = _template_key(self.settings.get("form_id", "")) or _template_key(stem) or "xlsform"
        self.result.data.update({"key": key, "title": title})
        ref = SourceRef(sheet=self.sheet_names[SETTINGS], row=2, text=_short(title))
        self.result.proposals.append(Proposal("title", "title", ref))
        self.result.proposals.append(Proposal("key", "key", ref))
        self._unknown_columns(SETTINGS, self.settings, 2, _KNOWN_SETTINGS)

    def _tree(self) -> _Node:
        root = _Node("group", {}, 0)
        stack = [root]
        for index, row in enumerate(self.book[SURVEY]):
            line = index + 2
            kind = row.get("type", "").strip()
            lowered = " ".join(kind.lower().split())
            if not row:
                continue
            if lowered in _BEGIN:
                node = _Node(_BEGIN[lowered], row, line)
                stack[-1].children.append(node)
                stack.append(node)
            elif lowered in _END:
                if len(stack) > 1 and stack[-1].kind == _END[lowered]:
                    stack.pop()
                else:
                    self.unplaced(self.ref(line, row), "xlsform_unbalanced", type=kind)
            elif lowered == "note":
                stack[-1].children.append(_Node("note", row, line))
            elif not kind:
                self.unplaced(self.ref(line, row), "xlsform_no_type")
            else:
                stack[-1].children.append(_Node("question", row, line))
        for node in stack[1:]:
            self.unplaced(self.ref(node.line, node.row), "xlsform_unbalanced",
                          type=node.row.get("type", ""))
        return root

    # -- sections and items -----------------------------------------------------

    def _flush(self, loose: list[_Node], sections: list[dict[str, Any]]) -> None:
        """Questions outside any group become a section titled like the form."""
        if not loose:
            return
        path = f"sections[{len(sections)}]"
        items = self._items(loose, path)
        loose.clear()
        if items:
            key = self.section_keys.new("s")
            sections.append({"key": key, "title": self.result.data["title"], "items": items})

    def _section(self, node: _Node, index: int) -> dict[str, Any] | None:
        path = f"sections[{index}]"
        number, title, title_en = self._numbered(node)
        items = self._items(node.children, path)
        if not items:
            self._row_extras(node)
            self.unplaced(self.ref(node.line, node.row), "xlsform_empty_group")
            return None
        section: dict[str, Any] = {"key": self._key(self.section_keys, node.name, "s"),
                                   "number": number, "title": title, "items": items}
        if title_en:
            section["title_en"] = title_en
        self._row_extras(node, scope=section)
        self.result.proposals.append(Proposal(path, "section", self.ref(node.line, node.row)))
        return section

    def _items(self, nodes: list[_Node], path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for node in nodes:
            item_path = f"{path}.items[{len(items)}]"
            number, title, title_en = self._numbered(node)
            item: dict[str, Any] = {"key": self._key(self.item_keys, node.name, "item"),
                                    "number": number or str(len(items) + 1), "title": title}
            if title_en:
                item["title_en"] = title_en
            if node.kind == "group":
                fields, notes = self._group_fields(node, item_path)
                if not fields and not notes:
                    self._row_extras(node)
                    self.unplaced(self.ref(node.line, node.row), "xlsform_empty_group")
                    continue
                self._row_extras(node, scope=item)
                item["fields"] = fields
                if notes:
                    item["note"] = "\n".join(notes)
            elif node.kind == "note":
                self._row_extras(node, scope=item)
            else:
                made = self._field(node, f"{item_path}.fields[0]")
                if made is None:
                    continue
                item["fields"] = [made]
                # A lone question is its own item: the item keeps the label, the
                # field too, so the printed table and the web form both read well.
            self.result.proposals.append(Proposal(item_path, "item",
                                                  self.ref(node.line, node.row)))
            items.append(item)
        return items

    def _group_fields(self, group: _Node, path: str) -> tuple[list[dict[str, Any]], list[str]]:
        fields: list[dict[str, Any]] = []
        notes: list[str] = []
        for node in group.children:
            if node.kind in ("note", "group"):
                self._row_extras(node)
            if node.kind == "note":
                label, _ = self._texts(node.row, "label")
                if label:
                    notes.append(label)
                    self.result.proposals.append(Proposal(f"{path}.note", "note",
                                                          self.ref(node.line, node.row)))
            elif node.kind == "group":
                nested, nested_notes = self._group_fields(node, path)
                fields += nested
                notes += nested_notes
            else:
                made = self._field(node, f"{path}.fields[{len(fields)}]")
                if made is not None:
                    fields.append(made)
        return fields, notes

    def _numbered(self, node: _Node) -> tuple[str, str, str | None]:
        label, label_en = self._texts(node.row, "label")
        label = label or node.name
        match = _NUMBER_LABEL.match(label)
        number, title = (match["number"], match["title"]) if match else ("", label)
        if label_en and match:
            en = _NUMBER_LABEL.match(label_en)
            if en and en["number"] == number:
                label_en = en["title"]
        return number, title, label_en

    # -- fields -----------------------------------------------------------------

    def _field(self, node: _Node, path: str, *, column: bool = False) -> dict[str, Any] | None:
        """The field (or table column) of a question or repeat; None when it cannot be one."""
        row, ref = node.row, self.ref(node.line, node.row)
        if node.kind == "note":
            self.unplaced(ref, "xlsform_not_a_column", type="note")
            return None
        if node.kind == "group":
            self.unplaced(ref, "xlsform_not_a_column", type=row.get("type", ""))
            return None
        kind, list_name = self._kind(node, column)
        if kind is None:
            return None
        key = self._key(self.field_keys, node.name, "field") if not column else _key(
            node.name)
        label, label_en = self._texts(row, "label")
        made: dict[str, Any] = {"key": key, "kind": kind.value, "label": label or node.name}
        if label_en:
            made["label_en"] = label_en
        if kind is FieldKind.TABLE:
            columns = []
            taken = KeyMaker()
            for child in self._flattened(node.children):
                made_column = self._field(child, f"{path}.columns[{len(columns)}]", column=True)
                if made_column is None:
                    continue
                if not re.match(KEY_PATTERN, made_column["key"]) or made_column["key"] in taken:
                    made_column["key"] = taken.new("col")
                taken.reserve(made_column["key"])
                columns.append(made_column)
            if not columns:
                self.unplaced(ref, "xlsform_empty_group")
                return None
            made["columns"] = columns
        elif list_name is not None and kind in (FieldKind.CHOICE, FieldKind.MULTICHOICE):
            made["choices"] = self.lists[list_name][1]
        required = row.get("required", "").strip()
        if required.lower() in _TRUE:
            made["required"] = True
        elif required.lower() not in _FALSE:
            self.unplaced(ref, "xlsform_required_expression", expression=required)
        hint, hint_en = self._texts(row, "hint")
        if hint and not column:
            made["help"] = hint
            if hint_en:
                made["help_en"] = hint_en
        elif hint:
            self.unplaced(ref, "xlsform_column_hint", text=_short(hint))
        self._row_extras(node, made if not column else None,
                         scope=made if not column else None)
        if not column:
            self.refs.setdefault(node.name, key)
            self.top_fields.add(key)
            if made.get("kind") == FieldKind.YESNO:
                self.yes_no_fields.add(key)
        if row.get("constraint", "").strip():
            self.constraints.append((made, node, "column" if column else "field"))
        if row.get("tianbao_rules", "").strip() and not column:
            self.constraints.append((made, node, "tianbao_rules"))
        self.result.proposals.append(Proposal(path, "column" if column else "field", ref))
        return made

    def _flattened(self, nodes: list[_Node]) -> list[_Node]:
        """The questions of a repeat with the groups inside it opened (their rows reported
        like any group's)."""
        out: list[_Node] = []
        for node in nodes:
            if node.kind == "group":
                self._row_extras(node)
                out += self._flattened(node.children)
            else:
                out.append(node)
        return out

    def _kind(self, node: _Node, column: bool) -> tuple[FieldKind | None, str | None]:
        row, ref = node.row, self.ref(node.line, node.row)
        text = " ".join(row.get("type", "").split())
        lowered = text.lower()
        list_name = None
        if node.kind == "repeat":
            if column:
                self.unplaced(ref, "xlsform_not_a_column", type=text)
                return None, None
            kind = FieldKind.TABLE
        elif lowered in _QUESTION_KINDS:
            kind = _QUESTION_KINDS[lowered]
        elif lowered in ("calculate",):
            self.unplaced(ref, "xlsform_calculate",
                          expression=row.get("calculation", ""), name=node.name)
            return None, None
        else:
            for prefix, select_kind in _SELECTS.items():
                if lowered.startswith(prefix + " "):
                    kind = select_kind
                    list_name = text[len(prefix) + 1:].strip()
                    if list_name.endswith(" or_other"):
                        list_name = list_name.removesuffix(" or_other").strip()
                        self.unplaced(ref, "xlsform_or_other", name=node.name)
                    break
            else:
                self.unplaced(ref, "xlsform_unsupported_type", type=text)
                return None, None
            if list_name not in self.lists or not self.lists[list_name][1]:
                self.unplaced(ref, "xlsform_unknown_list", list=list_name)
                return None, None
            self.used_lists.add(list_name)
            values = {c["value"] for c in self.lists[list_name][1]}
            if kind is FieldKind.CHOICE and values == {"yes", "no"}:
                kind = FieldKind.YESNO
        declared = row.get("tianbao_kind", "").strip().lower()
        if declared:
            try:
                wanted = FieldKind(declared)
            except ValueError:
                wanted = None
            if wanted is FieldKind.YESNO and kind is FieldKind.CHOICE:
                pass  # a yes/no list with other values: keep the choices
            elif wanted is not None and (wanted is kind or wanted in _REFINES.get(kind, ())):
                kind = wanted
        if kind is FieldKind.TEXT and row.get("appearance", "").strip().lower() == "multiline":
            kind = FieldKind.LONGTEXT
        if column and kind is FieldKind.ATTACHMENT:
            self.unplaced(ref, "xlsform_not_a_column", type=text)
            return None, None
        return kind, list_name

    # -- constraints and rules -----------------------------------------------------

    def _rules(self) -> list[dict[str, Any]]:
        """Constraints read once every field's key is known, since they name each other."""
        rules: list[dict[str, Any]] = []
        for made, node, what in self.constraints:
            ref = self.ref(node.line, node.row)
            if what == "tianbao_rules":
                rules += self._declared_rules(node, ref, len(rules))
                continue
            leftovers: list[str] = []
            for conjunct in _conjuncts(_tokens(node.row["constraint"])):
                if not self._bound(made, conjunct):
                    leftovers.append(conjunct)
            if not leftovers:
                continue
            if what == "column":
                for text in leftovers:
                    self.unplaced(ref, "xlsform_constraint", expression=text)
                continue
            translated = []
            for text in leftovers:
                expr = self._translate(text, made["key"])
                if expr is None:
                    self.unplaced(ref, "xlsform_constraint", expression=text)
                else:
                    translated.append(expr)
            message, message_en = self._texts(node.row, "constraint_message")
            # Tianbao's export joins the messages of several rules on one question.
            messages = _split(message, "；", len(translated))
            messages_en = _split(message_en, ";", len(translated))
            for expr, text, text_en in zip(translated, messages, messages_en, strict=True):
                rule = {"key": self.rule_keys.new("rule"), "expr": expr, "message": text or expr}
                if text_en:
                    rule["message_en"] = text_en
                self.result.proposals.append(Proposal(f"rules[{len(rules)}]", "rule", ref))
                rules.append(rule)
        return rules

    def _declared_rules(self, node: _Node, ref: SourceRef, start: int) -> list[dict[str, Any]]:
        """Rules Tianbao's export kept in its ``tianbao_rules`` column (warnings)."""
        text = node.row["tianbao_rules"]
        try:
            declared = json.loads(text)
        except ValueError:
            declared = None
        if not isinstance(declared, list):
            self.unplaced(ref, "xlsform_tianbao_rules", text=_short(text))
            return []
        rules = []
        for entry in declared:
            if not (isinstance(entry, dict) and isinstance(entry.get("expr"), str)
                    and isinstance(entry.get("message"), str) and self._known(entry["expr"])):
                self.unplaced(ref, "xlsform_tianbao_rules", text=_short(json.dumps(
                    entry, ensure_ascii=False)))
                continue
            key = entry.get("key")
            if not (isinstance(key, str) and re.match(KEY_PATTERN, key)) or key in self.rule_keys:
                key = self.rule_keys.new("rule")
            self.rule_keys.reserve(key)
            rule = {"key": key, "expr": entry["expr"], "message": entry["message"],
                    "severity": "warning" if entry.get("severity") == "warning" else "error"}
            if isinstance(entry.get("message_en"), str):
                rule["message_en"] = entry["message_en"]
            self.result.proposals.append(Proposal(f"rules[{start + len(rules)}]", "rule", ref))
            rules.append(rule)
        return rules

    def _known(self, expr: str) -> bool:
        try:
            return parse(expr).fields <= self.top_fields
        except RuleSyntaxError:
            return False

    def _bound(self, made: dict[str, Any], conjunct: str) -> bool:
        """Take *conjunct* as a bound, length limit or phone format of *made* if it is one."""
        kind = FieldKind(made["kind"])
        squeezed = conjunct.replace(" ", "")
        match = re.fullmatch(r"\.(<=|>=)(-?\d+(?:\.\d+)?)|(-?\d+(?:\.\d+)?)(<=|>=)\.", squeezed)
        if match and kind in (FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.PERCENT):
            operator = match[1] or {"<=": ">=", ">=": "<="}[match[4]]
            bound = "min" if operator == ">=" else "max"
            value = match[2] or match[3]
            if bound in made:  # two bounds of one side: keep the stricter
                stricter = max if bound == "min" else min
                value = str(stricter(float(made[bound]), float(value)))
            made[bound] = value
            return True
        match = re.fullmatch(r"string-length\(\.\)<=(\d+)", squeezed)
        if match and kind in (FieldKind.TEXT, FieldKind.LONGTEXT) and int(match[1]) > 0:
            made["max_length"] = int(match[1])
            return True
        match = re.fullmatch(r"regex\s*\(\s*\.\s*,\s*'(.*)'\s*\)", conjunct.strip())
        if match and match[1] == PHONE_RE.pattern and kind is FieldKind.TEXT:
            made["format"] = "phone"
            return True
        return False

    def _formulas(self) -> None:
        """A numeric question's calculation as its formula, when the rule language says it."""
        for made, node in self.calculations:
            calculation = node.row["calculation"].strip()
            expr = self._translate(calculation, made["key"], number=True)
            if expr is None or made["key"] in parse(expr).fields:
                self.unplaced(self.ref(node.line, node.row), "xlsform_calculate",
                              expression=calculation, name=node.name)
                continue
            made["formula"] = expr
            made.pop("required", None)  # a calculated field is never typed in

    def _conditions(self) -> None:
        """A row's ``relevant`` (in the rule language) and Tianbao's own condition, joined,
        as the applicability of its section, item or field; what cannot be one is
        reported, as is a condition on the answers it would hide."""
        for scope, node in self.conditions:
            ref = self.ref(node.line, node.row)
            hidden = _field_keys(scope)
            parts = []
            relevant = node.row.get("relevant", "").strip()
            if relevant:
                expr = self._translate(relevant, "")
                if expr is None or parse(expr).fields & hidden:
                    self.unplaced(ref, "xlsform_relevant", expression=relevant, name=node.name)
                else:
                    parts.append(expr)
            declared = node.row.get("tianbao_applies_when", "").strip()
            if declared:
                if self._known(declared) and not parse(declared).fields & hidden:
                    parts.append(declared)
                else:
                    self.unplaced(ref, "xlsform_ignored_column", column="tianbao_applies_when",
                                  value=_short(declared))
            if len(parts) == 1:
                scope["applies_when"] = parts[0]
            elif parts:
                scope["applies_when"] = " and ".join(f"({p})" for p in parts)

    def _translate(self, xpath: str, self_key: str, *, number: bool = False) -> str | None:
        """An XPath condition (with *number*, an amount) in the rule language, or None when
        it has no counterpart."""
        out: list[str] = []
        tokens = _tokens(xpath)
        index = 0
        while index < len(tokens):
            token = tokens[index]
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if token.startswith("${") or token == ".":
                key = self_key if token == "." else self.refs.get(token[2:-1])
                if key is None or key not in self.top_fields:
                    return None
                after = tokens[index + 2] if index + 2 < len(tokens) else None
                if following in ("!=", "=") and after in ("''", '""'):
                    out.append(f"filled({key})" if following == "!=" else f"not filled({key})")
                    index += 3
                    continue
                out.append(key)
            elif re.fullmatch(r"\d+(?:\.\d*)?|\.\d+", token):
                out.append(token)
            elif re.fullmatch(r"'[^']*'|\"[^\"]*\"", token) and len(token) > 2:
                compared = out[-2] if len(out) >= 2 and out[-1] in ("==", "!=") else None
                if compared in self.yes_no_fields and token[1:-1] in ("yes", "no"):
                    out.append("true" if token[1:-1] == "yes" else "false")  # a yes/no answer
                else:
                    out.append(token)  # a choice value
            elif token == "=":
                out.append("==")
            elif token in ("!=", "<", "<=", ">", ">=", "+", "-", "*", "(", ")", ",", "and", "or"):
                out.append(token)
            elif token == "div":
                out.append("/")
            elif token in ("true", "false") and tokens[index + 1:index + 3] == ["(", ")"]:
                out.append(token)
                index += 3
                continue
            elif token in ("not", "abs", "min", "max", "round", "if") and following == "(":
                out.append(token)
            else:
                return None
            index += 1
        expr = re.sub(r"\(\s+", "(", " ".join(out))
        expr = re.sub(r"\s+([),])", r"\1", expr)
        expr = re.sub(r"\b(abs|min|max|round|if) \(", r"\1(", expr)
        try:
            parsed = parse(expr)
        except RuleSyntaxError:
            return None
        return expr if parsed.kind in (("number", "any") if number else ("bool", "any")) else None

    # -- choices ----------------------------------------------------------------------

    def _choice_lists(self) -> dict[str, tuple[list[int], list[dict[str, Any]]]]:
        """Each list name with its rows and its choices (values made into keys)."""
        lists: dict[str, tuple[list[int], list[dict[str, Any]]]] = {}
        taken: dict[str, KeyMaker] = {}
        for index, row in enumerate(self.book.get(CHOICES) or []):
            line = index + 2
            if not row:
                continue
            ref = self.ref(line, row, sheet=CHOICES)
            list_name = (row.get("list_name") or row.get("list name") or "").strip()
            name = row.get("name", "").strip()
            if not list_name or not name:
                self.unplaced(ref, "xlsform_bad_choice")
                continue
            rows, choices = lists.setdefault(list_name, ([], []))
            keys = taken.setdefault(list_name, KeyMaker())
            value = _key(name)
            if not re.match(KEY_PATTERN, value) or value in keys:
                value = keys.new("option")
            keys.reserve(value)
            label, label_en = self._texts(row, "label")
            choice = {"value": value, "label": label or name}
            if label_en:
                choice["label_en"] = label_en
            rows.append(line)
            choices.append(choice)
            self._unknown_columns(CHOICES, row, line, _KNOWN_CHOICES | {"list name"})
        return lists

    def _unused_choices(self) -> None:
        for list_name, (rows, _) in self.lists.items():
            if list_name in self.used_lists:
                continue
            for line in rows:
                self.unplaced(SourceRef(sheet=self.sheet_names[CHOICES], row=line,
                                        text=_short(list_name)),
                              "xlsform_unused_choice", list=list_name)

    # -- helpers ------------------------------------------------------------------

    def _texts(self, row: dict[str, str], base: str) -> tuple[str, str | None]:
        """The Chinese (or only) text of column *base* and its English text if different."""
        by_language: dict[str, str] = {}
        for header, value in row.items():
            header_base, _, language = header.partition("::")
            if _base(header_base) != base or not value.strip():
                continue
            code = _language(language) if language else self.default_language
            if code:
                by_language.setdefault(code, value.strip())
        main = by_language.get("zh") or by_language.get("en") or ""
        english = by_language.get("en")
        return main, (english if english and english != main else None)

    def _key(self, keys: KeyMaker, name: str, prefix: str) -> str:
        key = _key(name)
        if not re.match(KEY_PATTERN, key) or key in keys:
            return keys.new(prefix)
        keys.reserve(key)
        return key

    def _row_extras(self, node: _Node, made: dict[str, Any] | None = None, *,
                    scope: dict[str, Any] | None = None) -> None:
        """Report what a mapped row says beyond the form model: conditions (but those of
        a section, item or field, *scope*, may become its applicability), calculations
        (but a numeric field's calculation may become its formula), columns Tianbao does
        not read."""
        ref = self.ref(node.line, node.row)
        relevant = node.row.get("relevant", "").strip()
        declared = node.row.get("tianbao_applies_when", "").strip()
        basis = node.row.get("tianbao_applies_basis", "").strip()
        if scope is not None and (relevant or declared):
            self.conditions.append((scope, node))
        elif relevant:
            self.unplaced(ref, "xlsform_relevant", expression=relevant, name=node.name)
        if scope is None:
            for column, value in (("tianbao_applies_when", declared),
                                  ("tianbao_applies_basis", basis)):
                if value:
                    self.unplaced(SourceRef(sheet=self.sheet_names[SURVEY], row=node.line,
                                            text=_short(value)),
                                  "xlsform_ignored_column", column=column, value=_short(value))
        elif basis:
            scope["applies_basis"] = basis
        calculation = node.row.get("calculation", "").strip()
        if calculation and made is not None and made["kind"] in (
                FieldKind.INTEGER.value, FieldKind.DECIMAL.value, FieldKind.PERCENT.value):
            self.calculations.append((made, node))
        elif calculation:
            self.unplaced(ref, "xlsform_calculate", expression=calculation, name=node.name)
        self._unknown_columns(SURVEY, node.row, node.line, _KNOWN_SURVEY)

    def _unknown_columns(self, sheet: str, row: dict[str, str], line: int,
                         known: set[str]) -> None:
        for header, value in row.items():
            header_base, _, language = header.partition("::")
            base = _base(header_base)
            if base in known and (not language or _language(language)) and (
                    base != "appearance" or value.strip().lower() == "multiline"):
                continue
            self.unplaced(SourceRef(sheet=self.sheet_names[sheet], row=line,
                                    text=_short(value)),
                          "xlsform_ignored_column", column=header, value=_short(value))

    def ref(self, line: int, row: dict[str, str], sheet: str = SURVEY) -> SourceRef:
        text = ""
        for header, value in row.items():
            if _base(header.partition("::")[0]) == "label" and value.strip():
                text = value
                break
        return SourceRef(sheet=self.sheet_names[sheet], row=line,
                         text=_short(text or row.get("name") or row.get("type", "")))

    def unplaced(self, source: SourceRef, code: str, **params: Any) -> None:
        self.result.unplaced.append(Unplaced(source, code, params))


# -- text helpers -------------------------------------------------------------------


def _field_keys(scope: dict[str, Any]) -> set[str]:
    """The keys of the fields a section, item or field (as read) holds."""
    if "kind" in scope:
        return {scope["key"]}
    items = scope.get("items", [scope])
    return {f["key"] for item in items for f in item.get("fields", [])}


def _base(header: str) -> str:
    return " ".join(header.strip().lower().split()).replace(" ", "_") if header else ""


def _language(text: str) -> str | None:
    """``zh`` or ``en`` for a language column such as ``中文 (zh)`` or ``English (en)``."""
    text = text.strip().lower()
    match = re.search(r"\(([a-z]{2,3})(?:[-_][a-z0-9]+)*\)\s*$", text)
    code = match[1] if match else text
    if code in ("zh", "zho", "chi") or any(w in text for w in ("chinese", "中文", "汉语", "简体")):
        return "zh"
    if code in ("en", "eng") or "english" in text:
        return "en"
    return None


def _key(name: str) -> str:
    """An XLSForm name as a Tianbao key: lower case, other characters as ``_``."""
    plain = unicodedata.normalize("NFKC", name).strip().lower()
    return re.sub(r"[^a-z0-9_]", "_", plain)[:64]


def _template_key(text: str) -> str:
    plain = unicodedata.normalize("NFKC", text).strip().lower()
    key = re.sub(r"[^a-z0-9_-]+", "-", plain).strip("-_")[:64]
    return key if re.fullmatch(r"[a-z0-9][a-z0-9_-]*", key) else ""


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


_XPATH_TOKEN = re.compile(
    r"""\s*(\$\{[^}]*\}|'[^']*'|"[^"]*"|\d+(?:\.\d*)?|\.\d+|<=|>=|!=|\.\.|[-=<>+*(),.]
         |[A-Za-z_][A-Za-z0-9_:-]*|\S)""",
    re.VERBOSE,
)


def _tokens(xpath: str) -> list[str]:
    return [m.group(1) for m in _XPATH_TOKEN.finditer(xpath) if m.group(1)]


def _conjuncts(tokens: list[str]) -> list[str]:
    """The parts of a condition joined by a top-level ``and``, each without the brackets
    around it; a part that is itself a conjunction in brackets stays whole (one rule)."""
    parts: list[list[str]] = [[]]
    depth = 0
    for token in tokens:
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if token == "and" and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return [" ".join(_unwrapped(part)) for part in parts if part]


def _unwrapped(tokens: list[str]) -> list[str]:
    while tokens and tokens[0] == "(" and _closing(tokens, 0) == len(tokens) - 1:
        tokens = tokens[1:-1]
    return tokens


def _split(message: str | None, separator: str, count: int) -> list[str | None]:
    """*message* cut into *count* messages when it has that many parts, else repeated."""
    parts = [p.strip() for p in message.split(separator)] if message else []
    if count > 1 and len(parts) == count and all(parts):
        return parts
    return [message] * count


def _closing(tokens: list[str], start: int) -> int:
    depth = 0
    for index in range(start, len(tokens)):
        depth += {"(": 1, ")": -1}.get(tokens[index], 0)
        if depth == 0:
            return index
    return -1
