"""The service layer serves the web pages, the API and the CLI alike: it builds no web forms."""

from __future__ import annotations

import ast
from pathlib import Path

import server.services

SERVICES = Path(server.services.__file__).parent
WEB_FORMS = ("wtforms", "flask_wtf")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_no_service_module_imports_wtforms():
    offenders = {path.name: sorted(m for m in imported_modules(path)
                                   if m.split(".")[0] in WEB_FORMS)
                 for path in sorted(SERVICES.rglob("*.py"))}
    assert {name: found for name, found in offenders.items() if found} == {}
    assert len(offenders) > 5  # the services were found at all
