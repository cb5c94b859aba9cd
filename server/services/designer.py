"""Template drafts: build a template in the browser, then publish it as a version.

A draft holds a definition as plain JSON in the shape of
:class:`forms.definition.Definition`, possibly incomplete; :func:`validate`
lists what stops it from being published. Every change goes through
:func:`change`, which checks the revision the administrator started from, so
two administrators never overwrite each other silently. Keys are generated with
:class:`forms.keys.KeyMaker` seeded with every key the template has ever had,
so a deleted key is never given to something new. Publishing goes through
:func:`server.services.templates.publish`, the same path as uploads.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exports.source_import import import_untrusted
from exports.template_workbook import build_template
from forms.definition import Definition, FieldDef, FieldKind
from forms.definition_diff import FieldChange, field_changes
from forms.i18n import N_
from forms.importers import MESSAGES as IMPORT_MESSAGES
from forms.importers import ImportRefused, ImportResult
from forms.keys import KeyMaker
from forms.loader import DefinitionError, Problem, parse_definition, place_of
from server.models import Assignment, Report, Role, TemplateDraft, User
from server.models.accounts import utcnow
from server.models.templates import TemplateVersion
from server.services import audit
from server.services import templates as template_service
from server.services.errors import InvalidInput, InvalidState, NotAllowed, NotVisible, StaleRevision

TEMPLATE_KEY_PREFIX = "template"

# What each collection of the definition holds, and the prefix of its generated keys.
NODE_KINDS = {
    "sections": ("section", "section"),
    "items": ("item", "item"),
    "fields": ("field", "field"),
    "header": ("field", "field"),
    "rules": ("rule", "rule"),
    "phases": ("phase", "phase"),
    # "columns" is a table field's columns inside a field, the printed table's at the root.
}
MOVABLE = frozenset({"sections", "items", "fields", "header", "columns", "rules", "phases"})


# -- reading --------------------------------------------------------------------------------


def _require_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise NotAllowed()


def get(session: Session, user: User, draft_id: int) -> TemplateDraft:
    """The draft, for an administrator; anyone else learns nothing (not even that it exists)."""
    draft = session.get(TemplateDraft, draft_id)
    if draft is None or user.role != Role.ADMIN:
        raise NotVisible()
    return draft


def list_drafts(session: Session, user: User) -> list[TemplateDraft]:
    _require_admin(user)
    return list(session.scalars(select(TemplateDraft).order_by(TemplateDraft.updated_at.desc(),
                                                              TemplateDraft.id.desc())))


# -- creating -------------------------------------------------------------------------------


def blank_definition(key: str, today: dt.date | None = None) -> dict[str, Any]:
    """A new template: monthly this year, due the 5th of the next month, the default header."""
    year = (today or dt.date.today()).year
    header = [f.model_dump(mode="json", exclude_none=True)
              for f in Definition.model_fields["header"].default_factory()]
    return {
        "key": key, "title": "",
        "source": {"issuer": "", "title": ""},
        "schedule": {"frequency": "monthly", "due": {"rule": "after_end", "months": 1, "day": 5},
                     "first": f"{year}-01", "last": f"{year}-12"},
        "header": header, "columns": [], "sections": [], "rules": [], "notes": [],
    }


def new_template_key(session: Session) -> str:
    """A template key no published version and no draft has used."""
    taken = set(session.scalars(select(TemplateVersion.key).distinct()))
    taken |= set(session.scalars(select(TemplateDraft.template_key).distinct()))
    return KeyMaker(taken).new(TEMPLATE_KEY_PREFIX)


def create_blank(session: Session, user: User) -> TemplateDraft:
    _require_admin(user)
    key = new_template_key(session)
    return _add(session, user, key, None, "blank", blank_definition(key))


def create_from_version(session: Session, user: User, key: str, version: int) -> TemplateDraft:
    """A draft of version N+1 that starts as a copy of *version*."""
    _require_admin(user)
    row = template_service.get_version(session, key, version)
    if row is None:
        raise NotVisible()
    data = json.loads(row.definition_json)
    data.pop("version", None)
    return _add(session, user, key, version, "version", data)


def read_document(data: bytes, filename: str, kind: str | None = None) -> ImportResult:
    """What an importer reads from an uploaded file, within the upload limits and in the
    sandbox (:func:`exports.source_import.import_untrusted`).

    Raises :class:`InvalidInput` about the input ``file`` for a file that is refused.
    """
    try:
        return import_untrusted(data, filename, kind or None)
    except ImportRefused as refused:
        raise InvalidInput(IMPORT_MESSAGES.get(refused.code, refused.code), field="file",
                           **refused.params) from None


def create_from_import(session: Session, user: User, result: ImportResult,
                       filename: str) -> TemplateDraft:
    """A new template from what an importer read, with its proposals and unplaced pieces."""
    _require_admin(user)
    key = new_template_key(session)
    data = blank_definition(key)
    for name, value in (result.data or {}).items():
        if name not in ("key", "version") and value is not None:
            data[name] = value
    _fill_missing_keys(data, KeyMaker(_keys_in(data)))
    notes = {
        "filename": filename,
        "proposals": [dataclasses.asdict(p) for p in result.proposals],
        "unplaced": [dataclasses.asdict(u) for u in result.unplaced],
    }
    draft = _add(session, user, key, None, "import", data)
    draft.import_json = json.dumps(notes, ensure_ascii=False, default=str)
    return draft


def _add(session: Session, user: User, key: str, base: int | None, origin: str,
         data: dict[str, Any]) -> TemplateDraft:
    draft = TemplateDraft(template_key=key, base_version=base, origin=origin,
                          definition_json=_dump(data), revision=1,
                          created_by_id=user.id, updated_by_id=user.id)
    session.add(draft)
    session.flush()
    audit.record(session, audit.Kind.TEMPLATE_DRAFT_CREATED, actor=user,
                 target=f"{key} ({origin})", details={"key": key, "origin": origin,
                                                      "base_version": base})
    return draft


def delete(session: Session, user: User, draft: TemplateDraft, expected_revision: int) -> None:
    _require_admin(user)
    _check_revision(draft, expected_revision)
    session.delete(draft)
    session.flush()


# -- changing -------------------------------------------------------------------------------


def change(session: Session, user: User, draft: TemplateDraft, expected_revision: int,
           operation: Callable[[dict[str, Any], KeyMaker], Any]) -> Any:
    """Apply *operation* to a copy of the draft's definition and store it as the next revision.

    The operation gets the data and a key maker seeded with every key the template
    has ever had; what it returns is returned (e.g. the path of an added node).
    """
    _require_admin(user)
    _check_revision(draft, expected_revision)
    data = draft.data
    result = operation(data, key_maker(session, draft, data))
    draft.definition_json = _dump(data)
    draft.revision += 1
    draft.updated_at = utcnow()
    draft.updated_by_id = user.id
    session.flush()
    return result


def _check_revision(draft: TemplateDraft, expected: int) -> None:
    if expected != draft.revision:
        raise StaleRevision(_l("Another administrator changed this draft since you opened it. "
                               "Your change was not saved: look at the draft again, then "
                               "repeat it."), current=draft.revision)


def key_maker(session: Session, draft: TemplateDraft, data: dict[str, Any]) -> KeyMaker:
    taken = _keys_in(data)
    for text in session.scalars(select(TemplateVersion.definition_json)
                                .where(TemplateVersion.key == draft.template_key)):
        taken |= _keys_in(json.loads(text))
    taken.discard(draft.template_key)
    return KeyMaker(taken)


def _keys_in(node: Any, inside_choices: bool = False) -> set[str]:
    """Every key (and choice value) anywhere in a definition's data."""
    found: set[str] = set()
    if isinstance(node, dict):
        for name, value in node.items():
            if isinstance(value, str) and (name == "key" or (name == "value" and inside_choices)):
                found.add(value)
            else:
                found |= _keys_in(value, name == "choices")
    elif isinstance(node, list):
        for child in node:
            found |= _keys_in(child, inside_choices)
    return found


def _fill_missing_keys(data: dict[str, Any], keys: KeyMaker) -> None:
    """Give every section, item, field, column and rule without a key a generated one."""
    for section in data.get("sections") or []:
        section.setdefault("key", keys.new("section"))
        for item in section.get("items") or []:
            item.setdefault("key", keys.new("item"))
            item.setdefault("number", "")
            for fld in item.get("fields") or []:
                fld.setdefault("key", keys.new("field"))
                for column in fld.get("columns") or []:
                    column.setdefault("key", keys.new("col"))
    for fld in data.get("header") or []:
        fld.setdefault("key", keys.new("field"))
    for column in data.get("columns") or []:
        column.setdefault("key", keys.new("col"))
    for rule in data.get("rules") or []:
        rule.setdefault("key", keys.new("rule"))


# -- paths: "sections.0.items.2.fields.1" -----------------------------------------------------


def parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for index, part in enumerate(path.split(".")):
        if index % 2:
            if not part.isdigit():
                raise InvalidInput(_l("That part of the draft does not exist."), field="path")
            parts.append(int(part))
        else:
            parts.append(part)
    if len(parts) % 2:
        raise InvalidInput(_l("That part of the draft does not exist."), field="path")
    return parts


def locate(data: dict[str, Any], path: str) -> tuple[list[Any], int]:
    """The list holding the node at *path*, and its index there."""
    parts = parse_path(path)
    node: Any = data
    try:
        for name, index in zip(parts[:-2:2], parts[1:-2:2], strict=True):
            node = node[name][index]
        container = node[parts[-2]]
        container[parts[-1]]  # noqa: B018 - it must exist
    except (KeyError, IndexError, TypeError):
        raise InvalidInput(_l("That part of the draft does not exist."), field="path") from None
    if not isinstance(container, list):
        raise InvalidInput(_l("That part of the draft does not exist."), field="path")
    return container, parts[-1]  # type: ignore[return-value]


def node_at(data: dict[str, Any], path: str) -> dict[str, Any]:
    container, index = locate(data, path)
    return container[index]


def display_path(path: str) -> str:
    """A designer path as the loader writes locations: ``sections[0].items[2].title``."""
    out = ""
    for part in path.split("."):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def node_type(path: str) -> str:
    """What the path names: section, item, field, column (of a table field), table_column
    (of the printed table) or rule."""
    parts = parse_path(path)
    collection = parts[-2]
    if collection == "columns":
        return "table_column" if len(parts) == 2 else "column"
    if collection not in NODE_KINDS:
        raise InvalidInput(_l("That part of the draft does not exist."), field="path")
    return NODE_KINDS[collection][0]


# -- operations (each takes the data and a key maker) -------------------------------------------


def set_attributes(path: str | None, values: dict[str, Any]) -> Callable:
    """Set attributes of the node at *path* (the root when None); None removes one.

    Dotted names reach into a nested object ("target.value"); an object left empty
    is removed, so an unset target is no target.
    """
    def operation(data: dict[str, Any], _keys: KeyMaker) -> None:
        node = data if path is None else node_at(data, path)
        for name, value in values.items():
            _set(node, name.split("."), value)
    return operation


def _set(node: dict[str, Any], names: list[str], value: Any) -> None:
    head, rest = names[0], names[1:]
    if not rest:
        if value is None or value == "" or value == []:
            node.pop(head, None)
        else:
            node[head] = value
        return
    child = node.get(head)
    if not isinstance(child, dict):
        child = {}
    _set(child, rest, value)
    if child:
        node[head] = child
    else:
        node.pop(head, None)


def add(parent: str | None, collection: str, kind: str | None = None) -> Callable:
    """Append a new, generated-key node to *collection* of *parent* (the root when None);
    the operation returns the new node's path."""
    def operation(data: dict[str, Any], keys: KeyMaker) -> str:
        node = data if parent is None else node_at(data, parent)
        where = (parent + "." if parent else "") + collection
        new = _new_node(data, node, collection, kind, keys, root=parent is None)
        node.setdefault(collection, []).append(new)
        return f"{where}.{len(node[collection]) - 1}"
    return operation


def _new_node(data, parent, collection, kind, keys: KeyMaker, *, root: bool) -> dict[str, Any]:
    if collection == "sections" and root:
        return {"key": keys.new("section"), "number": "", "title": "", "items": []}
    if collection == "items" and "items" in parent:
        number = str(sum(len(s.get("items") or []) for s in data.get("sections") or []) + 1)
        return {"key": keys.new("item"), "number": number, "title": "", "fields": []}
    if collection in ("fields", "header") and (collection == "header") == root:
        field_kind = _kind(kind, table_ok=True)
        new = {"key": keys.new("field"), "kind": field_kind, "label": ""}
        if field_kind == FieldKind.TABLE:
            new["columns"] = [{"key": keys.new("col"), "kind": "text", "label": ""}]
        return new
    if collection == "columns" and not root and parent.get("kind") == FieldKind.TABLE:
        return {"key": keys.new("col"), "kind": _kind(kind, table_ok=False), "label": ""}
    if collection == "columns" and root:
        return {"key": keys.new("col"), "label": "", "source": "input", "input_kind": "text"}
    if collection == "rules" and root:
        return {"key": keys.new("rule"), "expr": "", "severity": "error", "message": ""}
    if collection == "phases" and root:  # its dates are the draft's problem until typed
        return {"key": keys.new("phase"), "name": ""}
    raise InvalidInput(_l("That part of the draft does not exist."), field="path")


def _kind(kind: str | None, *, table_ok: bool) -> str:
    allowed = {k.value for k in FieldKind} - (set() if table_ok else {"table", "attachment"})
    if kind not in allowed:
        raise InvalidInput(_l("Choose the kind of the new field."), field="kind")
    return kind


def move(path: str, delta: int) -> Callable:
    """Move the node at *path* by *delta* places among its siblings (stops at the ends)."""
    def operation(data: dict[str, Any], _keys: KeyMaker) -> str:
        container, index = locate(data, path)
        target = max(0, min(len(container) - 1, index + delta))
        container.insert(target, container.pop(index))
        return path.rsplit(".", 1)[0] + f".{target}"
    return operation


def move_to_section(path: str, section: int) -> Callable:
    """Move the item at *path* to the end of section number *section* (its key stays)."""
    def operation(data: dict[str, Any], _keys: KeyMaker) -> str:
        if node_type(path) != "item":
            raise InvalidInput(_l("Only an item moves to another section."), field="path")
        container, index = locate(data, path)
        sections = data.get("sections") or []
        if not 0 <= section < len(sections):
            raise InvalidInput(_l("Choose the section to move the item to."), field="section")
        target = sections[section].setdefault("items", [])
        if target is container:
            return path
        target.append(container.pop(index))
        return f"sections.{section}.items.{len(target) - 1}"
    return operation


def remove(path: str) -> Callable:
    """Delete the node at *path*; its key stays reserved by the published versions."""
    def operation(data: dict[str, Any], _keys: KeyMaker) -> None:
        container, index = locate(data, path)
        removed = container.pop(index)
        if node_type(path) == "table_column":  # the items' texts of that column go with it
            for section in data.get("sections") or []:
                for item in section.get("items") or []:
                    texts = item.get("texts") or {}
                    texts.pop(removed.get("key"), None)
                    if not texts:
                        item.pop("texts", None)
    return operation


def set_choices(path: str, lines: list[str]) -> Callable:
    """The options of a choice field, one line each: ``value: label | English label``.

    The value (a generated key) names the option in every report, so a line that starts
    with one of the field's values keeps it, whatever its label now says (a corrected
    typo is the same option); a line without one keeps the value of an option with the
    same label, or gets a new value.
    """
    def operation(data: dict[str, Any], keys: KeyMaker) -> None:
        node = node_at(data, path)
        old = node.get("choices") or []
        by_value = {c.get("value"): c for c in old}
        by_label = {c.get("label"): c for c in old}
        used: set[str] = set()
        choices = []
        for line in lines:
            value, label, label_en = _choice_line(line, by_value)
            if value is None or value in used:
                kept = by_label.get(label)
                value = kept["value"] if kept and kept["value"] not in used else keys.new("opt")
            used.add(value)
            choice = {"value": value, "label": label}
            if label_en:
                choice["label_en"] = label_en
            choices.append(choice)
        _set(node, ["choices"], choices)
    return operation


def choice_line(choice: dict[str, Any]) -> str:
    """One option as the choice editor shows it (read back by :func:`set_choices`)."""
    line = f"{choice.get('value', '')}: {choice.get('label', '')}"
    return f"{line} | {choice['label_en']}" if choice.get("label_en") else line


def _choice_line(line: str, values: dict[str, Any]) -> tuple[str | None, str, str | None]:
    """The value (when the line starts with a known one), label and English label."""
    value = None
    head, colon, rest = line.partition(":")
    if not colon:
        head, colon, rest = line.partition("：")
    if colon and head.strip() in values:
        value, line = head.strip(), rest
    label, _, label_en = line.partition("|")
    return value, label.strip(), label_en.strip() or None


# -- checking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A draft checked for publishing: its definition when valid, else every problem."""

    definition: Definition | None
    problems: list[Problem]


def validate(draft: TemplateDraft) -> Checked:
    data = draft.data
    data["key"] = draft.template_key
    problems = _missing_texts(data)
    try:
        definition = parse_definition(json.dumps(data, ensure_ascii=False), draft.template_key)
    except DefinitionError as exc:
        # Lines of the JSON text mean nothing to someone using the designer.
        # Where the designer already said it in plainer words, the schema's message is left out.
        said = {p.path for p in problems}
        problems += [dataclasses.replace(p, line=None, column=None) for p in exc.problems
                     if p.path not in said]
        definition = None
    return Checked(definition if not problems else None, problems)


DESIGNER_PROBLEM = "designer"  # the code of problems the designer finds itself


def _missing_texts(data: dict[str, Any]) -> list[Problem]:
    """What the schema allows empty but a published form cannot do without."""
    problems: list[Problem] = []

    def add(path: str, msgid: str) -> None:
        loc = tuple(int(p) if p.isdigit() else p for p in path.split("."))
        problems.append(Problem(DESIGNER_PROBLEM, {}, display_path(path), place_of(data, loc),
                                msgid=msgid))

    def need(path: str, value: Any, msgid: str) -> None:
        if not (isinstance(value, str) and value.strip()):
            add(path, msgid)

    need("title", data.get("title"), N_("The template needs a title."))
    source = data.get("source") or {}
    need("source.issuer", source.get("issuer"), N_("Say who issued the plan."))
    need("source.title", source.get("title"), N_("Give the title of the plan."))
    if not data.get("sections"):
        add("sections", N_("Add at least one section."))
    for path, node in _walk(data):
        kind = node_type(path)
        if kind in ("section", "item"):
            need(f"{path}.title", node.get("title"), N_("Give it a title."))
        elif kind in ("field", "column", "table_column"):
            need(f"{path}.label", node.get("label"), N_("Give it a label."))
        elif kind == "rule":
            need(f"{path}.expr", node.get("expr"), N_("Write the rule."))
            need(f"{path}.message", node.get("message"),
                 N_("Write the message shown when the rule fails."))
        if kind == "section" and not node.get("items"):
            add(f"{path}.items", N_("Add at least one item."))
    return problems


def _walk(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node with its path, in the order of the form."""
    for i, fld in enumerate(data.get("header") or []):
        yield f"header.{i}", fld
    for i, column in enumerate(data.get("columns") or []):
        yield f"columns.{i}", column
    for s, section in enumerate(data.get("sections") or []):
        yield f"sections.{s}", section
        for i, item in enumerate(section.get("items") or []):
            yield f"sections.{s}.items.{i}", item
            for f, fld in enumerate(item.get("fields") or []):
                base = f"sections.{s}.items.{i}.fields.{f}"
                yield base, fld
                for c, column in enumerate(fld.get("columns") or []):
                    yield f"{base}.columns.{c}", column
    for i, rule in enumerate(data.get("rules") or []):
        yield f"rules.{i}", rule


def labelled_fields(data: dict[str, Any], *, with_kind: bool = False) -> list[tuple]:
    """(key, label) of every field a rule may name, in the form's order, for the field
    pickers (with its kind as a third member when *with_kind*)."""
    return [(node["key"], node.get("label") or node["key"])
            + ((node.get("kind"),) if with_kind else ())
            for path, node in _walk(data) if node_type(path) == "field" and "key" in node]


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def readable_rule(expr: str, data: dict[str, Any]) -> str:
    """The rule with each field key replaced by its label, as administrators think of it."""
    labels = dict(labelled_fields(data))
    return _NAME.sub(lambda m: f"[{labels[m[0]]}]" if m[0] in labels else m[0], expr or "")


# -- publishing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishPlan:
    """What publishing the draft would do: the new version, its field changes, what breaks."""

    checked: Checked
    current: TemplateVersion | None
    changes: list[FieldChange]
    reports: int  # reports made under the template so far
    base_version: int | None  # the version the draft started from

    @property
    def breaks(self) -> list[FieldChange]:
        return [c for c in self.changes if c.breaks_continuity] if self.reports else []

    @property
    def overtaken(self) -> bool:
        """A version newer than the one the draft started from was published meanwhile."""
        return self.current is not None and self.current.version != self.base_version

    @property
    def next_version(self) -> int:
        return 1 if self.current is None else self.current.version + 1


def plan(session: Session, user: User, draft: TemplateDraft) -> PublishPlan:
    _require_admin(user)
    checked = validate(draft)
    current = template_service.latest(session, draft.template_key)
    changes = (field_changes(current.definition if current else None, checked.definition)
               if checked.definition else [])
    return PublishPlan(checked, current, changes, reports_under(session, draft.template_key),
                       draft.base_version)


def reports_under(session: Session, template_key: str) -> int:
    return session.scalar(
        select(func.count(Report.id)).join(Assignment, Report.assignment_id == Assignment.id)
        .where(Assignment.template_key == template_key)) or 0


def publish(session: Session, user: User, draft: TemplateDraft, expected_revision: int, *,
            confirmed: bool = False) -> template_service.PublishResult:
    """Publish the draft as the next version and delete it.

    Refused while it has problems, and, where continuity breaks, unless *confirmed*.
    """
    _require_admin(user)
    _check_revision(draft, expected_revision)
    what = plan(session, user, draft)
    if what.checked.definition is None:
        raise InvalidState(_l("The draft has problems: correct them before publishing."))
    if what.breaks and not confirmed:
        raise InvalidInput(_l("Confirm that the changes marked below may break the reading of "
                              "%(num)s existing reports."), field="confirm", num=what.reports)
    if what.overtaken and not confirmed:
        raise InvalidInput(_l("Version %(version)s was published after this draft was started; "
                              "confirm to publish the draft over it."),
                           field="confirm", version=what.current.version)
    result = template_service.publish(session, what.checked.definition, origin="designer",
                                      user_id=user.id)
    session.delete(draft)
    session.flush()
    return result


PREVIEW_UNIT_CODE = "PREVIEW"


def preview_workbook(definition: Definition, locale: str, unit_name: str) -> bytes:
    """The official workbook of a draft, for the first period of its schedule.

    It is signed with a throw-away secret, so an upload of a preview is refused
    like any foreign file: it can never be taken for a report.
    """
    return build_template(
        definition.model_copy(update={"version": 1}), unit_code=PREVIEW_UNIT_CODE,
        unit_name=unit_name, period=definition.schedule.first, secret=secrets.token_bytes(32),
        locale=locale, translate=_)


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(copy.deepcopy(data), ensure_ascii=False, default=str)


def field_def(data: dict[str, Any], path: str) -> FieldDef | None:
    """The field at *path* as the schema reads it, when it is valid on its own."""
    try:
        return FieldDef.model_validate(node_at(data, path))
    except (ValueError, InvalidInput):
        return None
