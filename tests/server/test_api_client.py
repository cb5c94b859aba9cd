"""A client generated from the served OpenAPI document reads the API as typed objects.

The generator is one no one here wrote (openapi-python-client), used as a user of the
API would: pointed at ``/api/v1/openapi.json`` of a running server. Its package is
named after the document's title, and every list, report and task comes back as its
own class with typed attributes, not as untyped dictionaries. Generation is local:
the document comes from the server on 127.0.0.1, and the generator's post-hook is the
ruff of this environment.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from api_helpers import token_for
from api_reports_world import HEADER, KEY, PERIOD, world_fixture  # noqa: F401
from werkzeug.serving import make_server

from server.db import unit_of_work
from server.downloads import XLSX
from server.services import reporting

PACKAGE = "tianbao_api_client"  # from the title "Tianbao API"

pytestmark = pytest.mark.slow


@pytest.fixture
def base_url(app) -> Iterator[str]:
    """The application served on 127.0.0.1 by a real server in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def generated(base_url, tmp_path, monkeypatch):
    """The client package generated from the served document and installed with pip.

    pip builds it from its own metadata, so a package name pip refuses (as the one
    derived from a title with Chinese characters was) fails here.
    """
    config = tmp_path / "config.json"
    # The generator has no reader for the workbook media type; a user maps it to bytes.
    config.write_text(json.dumps({"content_type_overrides": {XLSX: "application/octet-stream"}}))
    project = tmp_path / "client"
    bin_dir = str(Path(sys.executable).parent)  # the post-hook runs this environment's ruff
    local = {"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    finished = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate",
         "--url", f"{base_url}/api/v1/openapi.json", "--meta", "setup",
         "--output-path", str(project), "--config", str(config), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), **local})
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert (project / PACKAGE / "__init__.py").is_file()

    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         str(project)], capture_output=True, text=True, timeout=300, env={**os.environ, **local})
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert list(site.glob(f"{PACKAGE}-*.dist-info"))

    monkeypatch.syspath_prepend(str(site))
    yield importlib.import_module(PACKAGE)
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def client_as(generated, base_url: str, session, user):
    return generated.AuthenticatedClient(
        base_url=f"{base_url}/api/v1", token=token_for(session, user),
        headers={"Accept-Language": "en"}, httpx_args={"trust_env": False},
        raise_on_unexpected_status=True)


def test_a_generated_client_reads_tasks_a_report_and_units_as_typed_objects(
        generated, base_url, session, world):
    va1 = world["va1"]
    with unit_of_work(session):
        view = reporting.load(session, va1, KEY, "VA1", PERIOD)
        reporting.save(session, va1, view, {**HEADER, "found": 5, "rectified": 2})
    models = importlib.import_module(f"{PACKAGE}.models")
    get_tasks, get_report, get_units = (
        importlib.import_module(f"{PACKAGE}.api.{name}")
        for name in ("reports.get_tasks", "reports.get_reports_assignment_unit_period",
                     "units.get_units"))

    with client_as(generated, base_url, session, va1) as client:
        tasks = get_tasks.sync(client=client, period=PERIOD)
        report = get_report.sync(client=client, assignment=KEY, unit="VA1", period=PERIOD)

    assert isinstance(tasks, models.TaskPage)
    assert (tasks.total, tasks.page, tasks.per_page) == (1, 1, 50)
    [task] = tasks.items
    assert isinstance(task, models.Task)
    assert task.period == PERIOD and task.assignment == KEY
    assert isinstance(task.unit, models.UnitRef) and task.unit.code == "VA1"
    assert task.status is models.Status.DRAFT and task.revision == 1
    assert task.due == date(2024, 10, 5)
    assert task.links.report == f"/api/v1/reports/{KEY}/VA1/{PERIOD}"

    assert isinstance(report, models.Report)
    assert (report.period, report.status, report.revision) == (PERIOD, models.Status.DRAFT, 1)
    assert report.due == date(2024, 10, 5) and report.submitted_at is None
    assert (report.values["found"], report.values["rectified"]) == (5, 2)
    assert report.values["reporter"] == HEADER["reporter"]
    assert all(isinstance(issue, models.Issue) for issue in report.issues)

    with client_as(generated, base_url, session, world["ta-hz"]) as client:
        units = get_units.sync(client=client, per_page=2)
        rest = get_units.sync(client=client, per_page=2, page=2)

    assert isinstance(units, models.UnitPage)
    assert (units.total, units.page, units.per_page) == (3, 1, 2)
    assert all(isinstance(unit, models.Unit) for unit in [*units.items, *rest.items])
    town, village = units.items
    assert (town.code, town.kind, town.parent, town.level) == ("TA", "town", "CY", 1)
    assert (village.code, village.parent, village.active) == ("VA1", "TA", True)
    assert village.contact_name is None
    assert [unit.code for unit in rest.items] == ["VA2"]
