"""A large merged export in a real browser: started from the consolidation's download
link, prepared by a real huey worker (a consumer thread on a queue of the test's own),
the progress bar advancing as the merged writer reports units, the bell ringing when the
file is ready, and the file downloaded and read back with openpyxl."""

from __future__ import annotations

import signal
import time

import openpyxl
import pytest
from live import LiveServer, new_page
from playwright.sync_api import expect

from forms.definition import Definition
from forms.values import jsonable
from server import migrate
from server.app import create_app
from server.db import database, db_session, unit_of_work
from server.jobs.runner import make_consumer
from server.models import Role, Status
from server.models.accounts import utcnow
from server.models.reporting import Report
from server.services import accounts, jobs
from server.services import assignments as assignment_service
from server.services import templates as template_service
from server.services import units as unit_service

pytestmark = pytest.mark.browser

PASSWORD = "browser-jobs-42"
VILLAGES = 40
PERIOD = "2024Q3"
DEFINITION = {
    "key": "hazards", "title": "隐患排查情况表", "title_en": "Hazard checks",
    "source": {"issuer": "测试镇人民政府", "title": "《测试方案》"},
    "schedule": {"frequency": "quarterly", "due": {"rule": "after_end", "months": 1, "day": 5},
                 "first": "2024Q2", "last": "2026Q4"},
    "sections": [{"key": "s1", "number": "一", "title": "隐患排查", "items": [
        {"key": "i01", "number": "1", "title": "排查整治隐患", "fields": [
            {"key": "found", "kind": "integer", "label": "排查隐患", "unit": "处", "min": 0}]}]}],
}


def found(number: int) -> int:
    return number * 3 + 1


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A live server of the test's own (database, instance folder, queue) and a worker."""
    app = create_app({
        "SECRET_KEY": "browser-jobs", "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tianbao.db'}", "BACKGROUND_UNITS": 10,
        "REDIS_URL": "", "JOBS_QUEUE_NAME": "browser-jobs",
    })
    with app.app_context():
        migrate.upgrade(database().engine)
        session = db_session()
        with unit_of_work(session):
            county = unit_service.create_unit(session, "CY", "沧源县", "county", None)
            villages = [unit_service.create_unit(session, f"V{n:02d}", f"村{n:02d}", "village",
                                                 county) for n in range(1, VILLAGES + 1)]
            template_service.publish(session, Definition.model_validate(DEFINITION),
                                     origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        with unit_of_work(session):
            assignment = assignment_service.create_assignment(
                session, key="hz", template=template, root=county)
            for n, village in enumerate(villages, start=1):
                session.add(Report(assignment_id=assignment.id, unit_id=village.id,
                                   period=PERIOD, template_version_id=template.id,
                                   status=Status.APPROVED, revision=1,
                                   values=jsonable({"found": found(n)}),
                                   submitted_at=utcnow()))
            accounts.create_user(session, "county", PASSWORD, Role.CONSOLIDATOR, county)
    # Every unit's progress is written, and each takes a little while, so that a person
    # (and this test) sees the bar move: the counts are still the writer's own.
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", 0)
    write = jobs.Progress.__call__

    def slowly(self, done, force=False):
        time.sleep(0.08)
        write(self, done, force)

    monkeypatch.setattr(jobs.Progress, "__call__", slowly)
    live = LiveServer(app)
    live.start()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = make_consumer(app, workers=1)
    consumer.start()
    yield live
    consumer.stop(graceful=True)
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    live.stop()
    with app.app_context():
        database().engine.dispose()


def test_a_large_merged_export_advances_rings_and_downloads(chromium, server, tmp_path):
    context, page = new_page(chromium, server, 1280, "zh-CN")
    page.goto("/auth/login")
    page.get_by_label("用户名").fill("county")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label("密码").press("Enter")
    page.wait_for_load_state()

    page.goto(f"/consolidation/hz/CY/{PERIOD}/merged.xlsx")
    expect(page.get_by_text(f"本次导出涉及{VILLAGES}个单位")).to_be_visible()
    page.get_by_role("button", name="生成文件").click()
    page.wait_for_url("**/jobs/*")
    bar = page.locator("progress#job-progress")
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            value = int(float(bar.get_attribute("value", timeout=2000) or 0))
        except Exception:  # noqa: BLE001 - the page reloads itself once the file is ready
            continue
        if not seen or seen[-1] != value:
            seen.append(value)
        if page.locator(".job-download:not([hidden])").count():
            break
        time.sleep(0.1)
    assert len(set(seen)) >= 2, seen  # the bar moved
    assert seen == sorted(seen) and seen[-1] == VILLAGES, seen  # forward, up to every unit
    expect(page.locator(".job-state")).to_have_text("文件已准备好。")

    bell = page.locator("a.bell")
    expect(bell).to_have_attribute("data-unread", "1")
    bell.click()
    expect(page.get_by_text("下载文件已准备好")).to_be_visible()
    page.go_back()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载", exact=True).click()
    path = tmp_path / "merged.xlsx"
    download_info.value.save_as(path)
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book["明细数据"].iter_rows(values_only=True))
    header = list(rows[0])
    values = {r[0]: r[header.index("数值")] for r in rows[1:] if r[7] == "found"}
    assert values["V07"] == found(7) and len(values) == VILLAGES

    page.goto("/jobs/")
    expect(page.get_by_role("link", name=download_info.value.suggested_filename)).to_be_visible()
    context.close()
