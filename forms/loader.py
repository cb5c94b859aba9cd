"""Loading template definitions from YAML, with errors that point at the place.

An administrator who uploads a definition, or a developer who edits the
catalogue, should learn which file, which path inside it (and which line) and
what is wrong, e.g. ``000_progress.yaml: sections[2].items[0].fields[1].kind
(line 88): Input should be 'text', 'longtext', ...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from forms.definition import Definition

CATALOG_DIR = Path(__file__).parent / "catalog"
# A definition is a few thousand nodes; these caps stop "billion laughs" documents
# (aliases of aliases) before anything is built from them.
MAX_NODES = 100_000
MAX_ALIASES = 1_000


@dataclass(frozen=True)
class Problem:
    path: str  # e.g. "sections[2].items[0].title"; "" for the whole document
    message: str
    line: int | None = None  # 1-based

    def __str__(self) -> str:
        where = self.path or "(document)"
        if self.line is not None:
            where += f" (line {self.line})"
        return f"{where}: {self.message}"


class DefinitionError(ValueError):
    """A definition file that cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys instead of keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
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
            raise DefinitionError(source, [Problem("", "the file is not UTF-8 text")]) from None
    try:
        _check_size(text, source)
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
        if node is not None and _expanded_size(node, {}) > MAX_NODES:
            raise DefinitionError(source, [Problem(
                "", f"the document is too large (over {MAX_NODES} values once expanded)")])
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise DefinitionError(source, [Problem("", problem, line)]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError(source, [Problem("", str(exc))]) from None
    except RecursionError:
        raise DefinitionError(source, [Problem("", "the document is nested too deeply")]) from None
    if not isinstance(data, dict):
        raise DefinitionError(source, [Problem("", "the document must be a mapping of keys")])
    try:
        return Definition.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
            message = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(_format_loc(loc), message, _line_of(node, loc)))
        raise DefinitionError(source, problems) from None


def _check_size(text: str, source: str) -> None:
    """Count the nodes and aliases from the event stream, which costs no expansion."""
    nodes = aliases = 0
    for event in yaml.parse(text, Loader=_UniqueKeyLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
        elif isinstance(event, yaml.NodeEvent):
            nodes += 1
        if nodes > MAX_NODES or aliases > MAX_ALIASES:
            raise DefinitionError(source, [Problem(
                "", f"the document is too large (over {MAX_NODES} values or {MAX_ALIASES}"
                " aliases)")])


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
    except OSError as exc:
        raise DefinitionError(path.name, [Problem("", exc.strerror or str(exc))]) from None
    return parse_definition(text, path.name)


def catalog_files(directory: Path = CATALOG_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_catalog(directory: Path = CATALOG_DIR) -> list[Definition]:
    """Every built-in definition, in file-name order."""
    return [load_definition(p) for p in catalog_files(directory)]


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the chosen member of a tagged union to the location,
    # e.g. ('schedule', 'due', 'after_end', 'day'); people think in the YAML path.
    return isinstance(part, str) and part in {"after_end", "in_period", "fixed"}


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest YAML node that *loc* reaches."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    child = value_node
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
