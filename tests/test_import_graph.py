"""The import graph of ``forms/``, ``exports/`` and ``server/``: no cycles, and pure packages.

The graph is read from the source with :mod:`ast`, not by importing anything, and
every import statement counts wherever it stands: at the top, inside a function,
or under ``if TYPE_CHECKING``. An import moved into a function only to dodge a
cycle is still a cycle: the two modules still need each other.

An edge A → B means "A's source imports B": ``import a.b`` and ``from a import b``
(when ``a/b.py`` exists) lead to ``a.b``; ``from a import name`` (a name defined
in ``a/__init__.py``) leads to ``a``. Python runs a package's ``__init__`` before
any module inside it, but that is the interpreter's doing, not an import anyone
wrote, so it is not an edge: a package whose ``__init__`` imports its modules is
fine as long as none of them imports the package back.

``forms`` and ``exports`` take and return plain data: they never import Flask,
Flask extensions, Werkzeug, WTForms or SQLAlchemy, nor the server; ``forms``
imports nothing of ``exports`` either.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("forms", "exports", "server")
# What each pure package may import of the project: itself and the packages below it.
PURE = {"forms": {"forms"}, "exports": {"forms", "exports"}}
FORBIDDEN_IN_PURE = re.compile(r"(flask|flask_\w+|sqlalchemy|werkzeug|wtforms)(\.|$)")


@dataclass(frozen=True)
class Import:
    """One imported module name, as written (made absolute), and where."""

    name: str
    path: Path
    line: int


def project_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` file of *packages* under *root*."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, known: Mapping[str, Path]) -> list[Import]:
    """Every module *path* (the module *name*) imports, anywhere in its source.

    ``from a import b`` names ``a.b`` when that is one of the *known* modules, else ``a``.
    """
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, path, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package of this module, `level - 1` up
                package = name.split(".") if is_package else name.split(".")[:-1]
                anchor = package[:len(package) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                found.append(Import(candidate if candidate in known else base, path,
                                    node.lineno))
    return found


def owner(name: str, known: Mapping[str, Path]) -> str | None:
    """The project module that *name* (a module, or a name inside one) belongs to."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES
                 ) -> dict[str, dict[str, Import]]:
    """Module → {imported project module → the first import of it}."""
    known = project_modules(root, packages)
    graph: dict[str, dict[str, Import]] = {}
    for name, path in known.items():
        edges = graph.setdefault(name, {})
        for found in imports_of(name, path, known):
            target = owner(found.name, known)
            if target is not None and target != name:
                edges.setdefault(target, found)
    return graph


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The groups of two or more nodes that all reach one another (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return sorted(groups)


def a_cycle(graph: Mapping[str, Iterable[str]], group: list[str]) -> list[str]:
    """One shortest cycle through the first module of *group*: [a, b, …, a]."""
    members, start = set(group), group[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph.get(node, ())):
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if successor in members and successor not in came_from:
                    came_from[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"{group} is not strongly connected")


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def describe_cycles(graph: Mapping[str, Mapping[str, Import]]) -> list[str]:
    """One paragraph per cycle: its modules, then the imports of one loop through them."""
    found = []
    for group in strongly_connected(graph):
        loop = a_cycle(graph, group)
        lines = [f"{len(group)} modules import one another: {', '.join(group)}",
                 "  for example:"]
        for source, target in zip(loop, loop[1:], strict=False):
            edge = graph[source][target]
            lines.append(f"    {source} → {target}  ({shown(edge.path)}:{edge.line})")
        found.append("\n".join(lines))
    return found


def impurities(root: Path = ROOT) -> list[str]:
    """Imports of the web stack or of the server (or the wrong package) in forms/ and exports/."""
    known = project_modules(root, PACKAGES)
    found = []
    for name, path in known.items():
        package = name.partition(".")[0]
        if package not in PURE:
            continue
        for imported in imports_of(name, path, known):
            top = imported.name.partition(".")[0]
            web = FORBIDDEN_IN_PURE.match(imported.name)
            upward = top in PACKAGES and top not in PURE[package]
            if web or upward:
                found.append(f"{path.relative_to(root)}:{imported.line} imports "
                             f"{imported.name}")
    return sorted(found)


# -- the project ---------------------------------------------------------------------------------


def test_the_project_has_no_import_cycles():
    cycles = describe_cycles(import_graph())
    assert not cycles, "Import cycles:\n" + "\n".join(cycles)


def test_forms_and_exports_stay_free_of_the_web_stack_and_the_server():
    found = impurities()
    assert not found, "forms/ and exports/ must take and return plain data:\n" + "\n".join(found)


def test_the_graph_sees_the_project():
    graph = import_graph()
    assert {"forms.definition", "exports.merged_workbook", "server.app"} <= graph.keys()
    assert "forms.definition" in graph["server.models.templates"]


# -- the checks themselves -----------------------------------------------------------------------


def test_cycles_are_found_and_acyclic_graphs_pass():
    assert strongly_connected({"a": ["b"], "b": ["c"], "c": []}) == []
    graph = {"a": ["b"], "b": ["c", "d"], "c": ["a"], "d": ["e"], "e": ["d"], "f": ["a"]}
    assert strongly_connected(graph) == [["a", "b", "c"], ["d", "e"]]
    assert a_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    assert a_cycle(graph, ["d", "e"]) == ["d", "e", "d"]


def test_a_long_chain_does_not_exhaust_the_stack():
    chain = {f"m{i}": [f"m{i + 1}"] for i in range(5000)}
    assert strongly_connected(chain) == []
    chain["m5000"] = ["m0"]
    [group] = strongly_connected(chain)
    assert len(group) == 5001


def write(root: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def test_imports_inside_functions_relative_ones_and_submodules_make_edges(tmp_path):
    write(tmp_path, {
        "server/__init__.py": "",
        "server/a.py": "def later():\n    from server import b\n",
        "server/b.py": "from .sub import thing\n",
        "server/sub/__init__.py": "from server.sub import deep\nthing = 1\n",
        "server/sub/deep.py": "import server.a\n",
    })
    graph = import_graph(tmp_path, ["server"])
    assert set(graph["server.a"]) == {"server.b"}  # the module, not the package it is in
    assert set(graph["server.b"]) == {"server.sub"}  # a name defined in the package
    assert set(graph["server.sub"]) == {"server.sub.deep"}
    cycles = describe_cycles(graph)
    assert len(cycles) == 1
    assert cycles[0].startswith("4 modules import one another: server.a, server.b, "
                                "server.sub, server.sub.deep")
    assert "server.a → server.b  (" in cycles[0] and "server/a.py:2)" in cycles[0]


def test_a_package_importing_its_modules_is_no_cycle_unless_they_import_it_back(tmp_path):
    write(tmp_path, {
        "server/__init__.py": "",
        "server/views/__init__.py": "from server.views.blueprint import bp\n"
                                    "from server.views import pages\n",
        "server/views/blueprint.py": "bp = object()\n",
        "server/views/pages.py": "from server.views.blueprint import bp\n",
    })
    assert describe_cycles(import_graph(tmp_path, ["server"])) == []
    write(tmp_path, {"server/views/pages.py": "from server.views import bp\n"})
    [cycle] = describe_cycles(import_graph(tmp_path, ["server"]))
    assert "server.views, server.views.pages" in cycle


def test_the_web_stack_and_the_server_are_refused_in_the_pure_packages(tmp_path):
    write(tmp_path, {
        "forms/__init__.py": "",
        "forms/ok.py": "import re\nfrom forms import other\nfrom flaskish import x\n",
        "forms/other.py": "def f():\n    from flask_babel import gettext\n",
        "exports/__init__.py": "",
        "exports/ok.py": "from forms.ok import thing\n",
        "exports/bad.py": "import sqlalchemy.orm\nfrom server.db import Base\n",
        "server/__init__.py": "",
        "server/db.py": "from flask import Flask\n",
    })
    assert impurities(tmp_path) == [
        "exports/bad.py:1 imports sqlalchemy.orm",
        "exports/bad.py:2 imports server.db",
        "forms/other.py:2 imports flask_babel",
    ]
    write(tmp_path, {"forms/other.py": "from exports import ok\n"})
    assert impurities(tmp_path) == [
        "exports/bad.py:1 imports sqlalchemy.orm",
        "exports/bad.py:2 imports server.db",
        "forms/other.py:1 imports exports.ok",
    ]
