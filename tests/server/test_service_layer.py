"""The service layer serves the web pages, the API and the CLI alike: it builds no web forms.

Checked over everything a service module imports, through the project's own
modules too, so a helper that drags the web layer in is caught where it enters.
"""

from __future__ import annotations

from test_import_graph import ROOT, import_graph, imports_of, project_modules

WEB_FORMS = ("wtforms", "flask_wtf")


def reached_from(graph, start: list[str]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def test_no_service_module_reaches_wtforms():
    graph = import_graph()
    known = project_modules(ROOT, ("forms", "exports", "server"))
    services = [name for name in graph if name.startswith("server.services.")]
    assert len(services) > 5  # the services were found at all
    offenders = {}
    for module in sorted(reached_from(graph, services)):
        web = sorted({found.name for found in imports_of(module, known[module], known)
                      if found.name.split(".")[0] in WEB_FORMS})
        if web:
            offenders[module] = web
    assert offenders == {}
