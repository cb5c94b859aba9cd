"""Loading template definitions from YAML, with problems people can act on.

An administrator who uploads a definition, or a developer who edits the
catalogue, learns what is wrong and where: every problem is a code of
``forms.definition_errors.MESSAGES`` with parameters (translated by whoever
shows it), the path inside the document for developers
(``sections[2].items[0].fields[1].kind``), the place as a person reads it,
built from the labels found in the document (第3节「…」 → 第1项「…」 → 字段「…」),
and the line and column in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from forms.definition import KEY_PATTERN, Definition
from forms.definition_errors import MESSAGES, Labelled
from forms.i18n import N_

CATALOG_DIR = Path(__file__).parent / "catalog"
# A definition is a few thousand nodes; these caps stop "billion laughs" documents
# (aliases of aliases) before anything is built from them.
MAX_NODES = 100_000
MAX_ALIASES = 1_000
# Long values are cut in messages and places, which must stay readable in a table cell.
MAX_SHOWN = 40

PlacePart = tuple[str, Mapping[str, Any]]  # (msgid, params)


@dataclass(frozen=True)
class Problem:
    """One reason a definition cannot be loaded, as data.

    ``code`` names a message of :data:`MESSAGES` (or ``msgid`` carries one
    defined elsewhere, as the rule parser's); ``path`` is the developer's path
    inside the document; ``place`` the same place in people's words.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    path: str = ""  # e.g. "sections[2].items[0].title"; "" for the whole document
    place: tuple[PlacePart, ...] = ()
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    msgid: str | None = None

    @property
    def message(self) -> str:
        """The untranslated msgid of this problem."""
        return self.msgid or MESSAGES.get(self.code, MESSAGES["invalid"])

    def render(self, translate: Callable[[str], str] = lambda s: s, locale: str = "en") -> str:
        """The message in the language *translate* speaks, parameters filled in."""
        return _fill(translate, self.message, self.params, locale)

    def render_place(self, translate: Callable[[str], str] = lambda s: s,
                     locale: str = "en") -> str:
        """Where the problem is, by the labels of sections, items and fields."""
        if not self.place:
            return translate(N_("The whole document"))
        return " → ".join(_fill(translate, msgid, params, locale) for msgid, params in self.place)

    @property
    def position(self) -> str:
        """``line:column`` in the file, or the line alone, or "" when unknown."""
        if self.line is None:
            return ""
        return f"{self.line}:{self.column}" if self.column is not None else str(self.line)

    def describe(self, translate: Callable[[str], str] = lambda s: s, locale: str = "en") -> str:
        """One line: place (path, line:column): message."""
        where = self.render_place(translate, locale)
        details = ", ".join(x for x in (self.path, self.position) if x)
        if details:
            where += f" ({details})"
        return f"{where}: {self.render(translate, locale)}"

    def __str__(self) -> str:
        return self.describe()


def problem(code: str, line: int | None = None, column: int | None = None,
            **params: Any) -> Problem:
    """A problem of the whole file (encoding, size, syntax)."""
    return Problem(code, params, line=line, column=column)


def _fill(translate: Callable[[str], str], msgid: str, params: Mapping[str, Any],
          locale: str) -> str:
    text = translate(msgid)
    if not params:
        return text
    shown = {k: _show(v, translate, locale) for k, v in params.items()}
    try:
        return text % shown
    except (KeyError, TypeError, ValueError):
        return text


def _show(value: Any, translate: Callable[[str], str], locale: str) -> str:
    """A parameter as text: enumerated values with their translated label, lists joined."""
    chinese = not locale.startswith("en")
    if isinstance(value, Labelled):
        return value.render(translate, locale)
    if isinstance(value, tuple | list):
        return ("、" if chinese else ", ").join(_show(v, translate, locale) for v in value)
    text = str(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


class DefinitionError(ValueError):
    """A definition file that cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))

    def describe(self, translate: Callable[[str], str], locale: str) -> str:
        """Every problem on its own line, in the language *translate* speaks."""
        return "\n".join(f"{self.source}: {p.describe(translate, locale)}" for p in self.problems)


class _DuplicateKey(yaml.constructor.ConstructorError):
    def __init__(self, key: Any, mark: yaml.Mark):
        super().__init__(None, None, f"duplicate key '{key}'", mark)
        self.key = key


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys instead of keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise _DuplicateKey(key, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def parse_definition(text: str | bytes, source: str = "<definition>") -> Definition:
    """Parse and validate one definition from YAML (or JSON, a subset of YAML)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DefinitionError(source, [problem("not_utf8")]) from None
    if not text.strip():
        raise DefinitionError(source, [problem("empty_document")])
    node: yaml.Node | None = None
    try:
        _check_size(text, source)
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
        if node is not None and _expanded_size(node, {}) > MAX_NODES:
            raise DefinitionError(source, [problem("too_large_expanded", nodes=MAX_NODES)])
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader subclass
    except DefinitionError:
        raise
    except ValueError:  # a timestamp that is no date, e.g. 2024-13-45
        line, column = _bad_timestamp(node)
        code = "yaml_syntax" if line is None else "yaml_bad_date"
        raise DefinitionError(source, [problem(code, line, column)]) from None
    except yaml.MarkedYAMLError as exc:
        raise DefinitionError(source, [_yaml_problem(exc)]) from None
    except yaml.YAMLError:
        raise DefinitionError(source, [problem("yaml_syntax")]) from None
    except RecursionError:
        raise DefinitionError(source, [problem("too_deep")]) from None
    if data is None:
        raise DefinitionError(source, [problem("empty_document")])
    if not isinstance(data, dict):
        raise DefinitionError(source, [problem("not_a_mapping", 1, 1)])
    try:
        return Definition.model_validate(data)
    except ValidationError as exc:
        problems = [_validation_problem(err, data, node) for err in exc.errors()
                    if not _echo_of_broken_entries(err)]
        raise DefinitionError(source, problems) from None


def _bad_timestamp(node: yaml.Node | None) -> tuple[int | None, int | None]:
    """Where the first date-looking value that is no date is."""
    pending = [node] if node is not None else []
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            if current.tag.endswith(":timestamp"):
                try:
                    yaml.SafeLoader("").construct_yaml_timestamp(current)
                except ValueError:
                    return current.start_mark.line + 1, current.start_mark.column + 1
        elif isinstance(current, yaml.SequenceNode):
            pending.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            pending.extend(n for pair in current.value for n in pair)
    return None, None


def _yaml_problem(exc: yaml.MarkedYAMLError) -> Problem:
    """A YAML syntax error as a code, from what PyYAML says (it has no codes of its own)."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
    said = f"{exc.context or ''} {exc.problem or ''}"
    if isinstance(exc, _DuplicateKey):
        return problem("yaml_duplicate_key", line, column, key=exc.key)
    if "'\\t'" in said or "\t" in said:
        return problem("yaml_tab", line, column)
    if "mapping values are not allowed" in said:
        return problem("yaml_mapping_values", line, column)
    if "quoted scalar" in said:
        return problem("yaml_unclosed_quote", line, column)
    if "flow sequence" in said or "flow mapping" in said:
        return problem("yaml_unclosed_bracket", line, column)
    if "undefined alias" in said:
        return problem("yaml_unknown_alias", line, column)
    if "constructor for the tag" in said:
        return problem("yaml_tag", line, column)
    if "cannot start any token" in said and exc.problem:
        char = exc.problem.split("'")[1] if exc.problem.count("'") >= 2 else "?"
        return problem("yaml_bad_character", line, column, char=char)
    if "expected <block end>" in said or "expected key" in said or "block" in said:
        return problem("yaml_indentation", line, column)
    return problem("yaml_syntax", line, column)


def _check_size(text: str, source: str) -> None:
    """Count the nodes and aliases from the event stream, which costs no expansion."""
    nodes = aliases = 0
    for event in yaml.parse(text, Loader=_UniqueKeyLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
        elif isinstance(event, yaml.NodeEvent):
            nodes += 1
        if nodes > MAX_NODES or aliases > MAX_ALIASES:
            raise DefinitionError(source, [problem(
                "too_many_values", nodes=MAX_NODES, aliases=MAX_ALIASES)])


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values the document has once every alias is expanded (aliases share nodes)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = MAX_NODES + 1  # a recursive alias counts as too large
    size = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    else:
        children = []
    for child in children:
        size += _expanded_size(child, sizes)
        if size > MAX_NODES:
            break
    sizes[id(node)] = size
    return size


def load_definition(path: str | Path) -> Definition:
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError:
        raise DefinitionError(path.name, [problem("file_unreadable")]) from None
    return parse_definition(text, path.name)


def catalog_files(directory: Path = CATALOG_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_catalog(directory: Path = CATALOG_DIR) -> list[Definition]:
    """Every built-in definition, in file-name order."""
    return [load_definition(p) for p in catalog_files(directory)]


# -- pydantic's errors as problems -------------------------------------------------

# pydantic's error types that say the same thing to a person share one code.
_TYPE_CODES = {
    "missing": "missing",
    "extra_forbidden": "extra_forbidden",
    "literal_error": "not_one_of",
    "enum": "not_one_of",
    "union_tag_invalid": "not_one_of",
    "union_tag_not_found": "missing_tag",
    "string_too_long": "text_too_long",
    "string_too_short": "text_empty",
    "too_short": "too_few_entries",
    "too_long": "too_many_entries",
    "greater_than": "greater_than",
    "greater_than_equal": "greater_than_equal",
    "less_than": "less_than",
    "less_than_equal": "less_than_equal",
    "date_parsing": "not_a_date",
    "date_from_datetime_parsing": "not_a_date",
    "date_from_datetime_inexact": "not_a_date",
    "date_type": "not_a_date",
    "date_future": "not_a_date",
    "date_past": "not_a_date",
    "decimal_parsing": "not_a_number",
    "decimal_type": "not_a_number",
    "finite_number": "not_a_number",
    "float_parsing": "not_a_number",
    "float_type": "not_a_number",
    "int_parsing": "not_an_integer",
    "int_type": "not_an_integer",
    "int_from_float": "not_an_integer",
    "bool_parsing": "not_a_bool",
    "bool_type": "not_a_bool",
    "model_type": "not_a_mapping_here",
    "model_attributes_type": "not_a_mapping_here",
    "dict_type": "not_a_mapping_here",
    "tuple_type": "not_a_list",
    "list_type": "not_a_list",
}


def _validation_problem(err: Mapping[str, Any], data: dict, node: yaml.Node | None) -> Problem:
    """One pydantic error as a problem: a code with parameters, never pydantic's English."""
    kind = err["type"]
    ctx = dict(err.get("ctx") or {})
    loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
    loc += tuple(ctx.pop("at", ()))
    msgid = ctx.pop("msgid", None)
    value = err.get("input")
    params: dict[str, Any] = {}
    if msgid or (kind in MESSAGES and kind not in _TYPE_CODES):  # the schema's own checks
        code, params = kind, ctx
    elif kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        code = ("invalid_key" if pattern == KEY_PATTERN
                else "invalid_template_key" if "-" in pattern else "pattern_mismatch")
        params = {"value": value}
    elif kind == "string_type":
        structured = isinstance(value, dict | list | tuple)
        code, params = ("not_text_structure" if structured else "not_text"), {"value": value}
    else:
        code = _TYPE_CODES.get(kind, "invalid")
        params = {**ctx, "value": _plain(value)}
        if kind in ("missing", "extra_forbidden"):
            params["name"] = loc[-1] if loc else ""
        elif kind == "union_tag_not_found":
            params["name"] = str(ctx.get("discriminator", "")).strip("'")
            loc += (params["name"],)
        elif kind == "union_tag_invalid":
            params["value"] = ctx.get("tag", "")
            params["allowed"] = _allowed(str(ctx.get("expected_tags", "")))
            loc += (str(ctx.get("discriminator", "")).strip("'"),)
        elif code == "not_one_of":
            params["allowed"] = _allowed(str(ctx.get("expected", "")))
    if code in _DUPLICATES:
        loc = _duplicate_at(data, loc, code, params.get("key"))
    line, column = _mark_of(node, loc)
    if msgid and isinstance(params.get("position"), int) and column is not None:
        column = _column_in_rule(node, loc, column, params["position"])
    return Problem(code, params, _format_loc(loc), _place(data, loc), line, column, msgid)


# Which lists hold the entries a duplicate key is looked for in, and the attribute that
# names an entry there.
_DUPLICATES: dict[str, tuple[tuple[str, ...], str]] = {
    "duplicate_field_key": (("header", "fields"), "key"),
    "duplicate_item_key": (("items",), "key"),
    "duplicate_section_key": (("sections",), "key"),
    "duplicate_rule_key": (("rules",), "key"),
    "duplicate_column_key": (("columns",), "key"),
    "duplicate_choice_value": (("choices",), "value"),
}


def _duplicate_at(data: Any, loc: tuple[Any, ...], code: str, key: Any) -> tuple[Any, ...]:
    """The place of the second entry named *key*, searched below *loc* in the document.

    A field key may also collide with one an input column generates (``i01_progress``);
    then the declared field is the only one found, and it is the one to rename.
    """
    lists, attribute = _DUPLICATES[code]
    node: Any = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return loc
    found: list[tuple[Any, ...]] = []

    def walk(value: Any, at: tuple[Any, ...]) -> None:
        if isinstance(value, dict):
            for name, child in value.items():
                if name in lists and isinstance(child, list):
                    for index, entry in enumerate(child):
                        if isinstance(entry, dict) and entry.get(attribute) == key:
                            found.append((*at, name, index, attribute))
                walk(child, (*at, name))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, (*at, index))

    walk(node, loc)
    return found[1] if len(found) > 1 else found[0] if found else loc


def _column_in_rule(node: yaml.Node | None, loc: tuple[Any, ...], column: int,
                    position: int) -> int:
    """The column of the rule's character at *position* (1-based), when the rule is one line."""
    target = node
    for part in loc:
        child = None
        if isinstance(target, yaml.MappingNode):
            child = next((v for k, v in target.value if k.value == part), None)
        elif isinstance(target, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(target.value):
            child = target.value[part]
        if child is None:
            return column
        target = child
    if not isinstance(target, yaml.ScalarNode) or target.start_mark.line != target.end_mark.line:
        return column
    quoted = 1 if target.style in ("'", '"') else 0
    return target.start_mark.column + 1 + quoted + position - 1


def _echo_of_broken_entries(err: Mapping[str, Any]) -> bool:
    """pydantic also says "too short" of a list whose entries are there but broken."""
    if err["type"] != "too_short" or not isinstance(err.get("input"), list | tuple):
        return False
    return len(err["input"]) >= (err.get("ctx") or {}).get("min_length", 0)


def _allowed(expected: str) -> tuple[Labelled, ...]:
    """The allowed values pydantic lists as "'a', 'b' or 'c'"."""
    return tuple(Labelled(v) for v in expected.split("'")[1::2])


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list | tuple):
        return "[…]"
    return "" if value is None else value


# -- the place as a person reads it -------------------------------------------------

# Lists of labelled entries: how one entry is named, with and without its label.
_ENTRY_NAMES: dict[str, tuple[str, str]] = {
    "header": (N_("header field “%(label)s”"), N_("header field %(index)s")),
    "fields": (N_("field “%(label)s”"), N_("field %(index)s")),
    "columns": (N_("column “%(label)s”"), N_("column %(index)s")),
    "choices": (N_("option “%(label)s”"), N_("option %(index)s")),
    "rules": (N_("rule “%(label)s”"), N_("rule %(index)s")),
}
_OBJECT_NAMES: dict[str, str] = {
    "source": N_("source plan"),
    "schedule": N_("schedule"),
    "due": N_("due date rule"),
    "target": N_("target"),
}


def _place(data: Any, loc: tuple[Any, ...]) -> tuple[PlacePart, ...]:
    """The place *loc* points at, named by the labels found in the document data."""
    parts: list[PlacePart] = []
    node: Any = data
    parent: Any = None
    for position, part in enumerate(loc):
        if isinstance(part, int) and isinstance(node, list):
            child = node[part] if 0 <= part < len(node) else None
            parts.append(_entry(parent, part, child))
            node = child
            continue
        if part == "[key]":  # pydantic's marker for a wrong key of a mapping
            continue
        child = node.get(part) if isinstance(node, dict) else None
        following = loc[position + 1] if position + 1 < len(loc) else None
        if part in _ENTRY_NAMES or part in ("sections", "items"):
            if not isinstance(following, int):
                parts.append((N_("attribute “%(name)s”"), {"name": part}))
        elif part in _OBJECT_NAMES and not (position == len(loc) - 1 and child is None):
            parts.append((_OBJECT_NAMES[part], {}))
        else:
            parts.append((N_("attribute “%(name)s”"), {"name": part}))
        parent, node = part, child
    return tuple(parts)


def place_of(data: Any, loc: tuple[Any, ...]) -> tuple[PlacePart, ...]:
    """The place *loc* points at in a definition's data (e.g. ``("sections", 0, "title")``),
    named by its labels: for problems found outside the loader, such as the designer's."""
    return _place(data, loc)


def _entry(parent: Any, index: int, entry: Any) -> PlacePart:
    labels = entry if isinstance(entry, dict) else {}
    number = index + 1
    if parent == "sections":
        title = _text(labels.get("title"))
        if title:
            return N_("section %(index)s “%(title)s”"), {"index": number, "title": title}
        return N_("section %(index)s"), {"index": number}
    if parent == "items":
        printed = _text(labels.get("number"))
        if printed.isdigit():
            number = int(printed)
        title = _text(labels.get("title"))
        if title:
            return N_("item %(index)s “%(title)s”"), {"index": number, "title": title}
        return N_("item %(index)s"), {"index": number}
    if parent in _ENTRY_NAMES:
        with_label, without = _ENTRY_NAMES[parent]
        label = _text(labels.get("label") or labels.get("key"))
        if parent == "rules":
            label = _text(labels.get("key"))
        if label:
            return with_label, {"label": label}
        return without, {"index": number}
    return N_("entry %(index)s"), {"index": number}


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    text = str(value).strip()
    return text if len(text) <= 20 else text[:19] + "…"


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the chosen member of a tagged union to the location,
    # e.g. ('schedule', 'due', 'after_end', 'day'); people think in the YAML path.
    return isinstance(part, str) and part in {"after_end", "in_period", "fixed"}


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _mark_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int | None, int | None]:
    """The 1-based line and column of the deepest YAML node that *loc* reaches.

    A wrong key of a mapping points at the key itself, so the reader sees the
    misspelt word rather than its value.
    """
    if node is None:
        return None, None
    mark = node.start_mark
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    child = value_node
                    mark = key_node.start_mark if value_node.start_mark.line > \
                        key_node.start_mark.line else value_node.start_mark
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            mark = child.start_mark
        if child is None:
            break
        node = child
    return mark.line + 1, mark.column + 1
