"""批量上传 in the background: an upload of more workbooks than the threshold is read by a
worker (huey on SQLite storage and on Redis) with real progress, each file's outcome kept as
data and shown on the job's page in the reader's language with the table of the page that
reads small uploads at once; the scope is the uploader's when the worker reads the files."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import test_jobs
from notify_receivers import wait_until
from pages import text
from sqlalchemy import select
from test_background_jobs import Worker, the_job
from test_workbooks_pages import FILLED, bundle, download, fill, page

from forms.loader import CATALOG_DIR
from server.db import unit_of_work
from server.models import Job, JobStatus, Notification, Role, User
from server.models.accounts import utcnow
from server.models.reporting import Report
from server.services import assignments as assignment_service
from server.services import jobs
from server.services.templates import get_version, load_files

job_app = test_jobs.job_app  # the app with its queue on SQLite storage, then on Redis
UPLOADS = "/review/uploads"
PASSWORD = "secret-password-1"


@pytest.fixture
def people(session, tree, make_user):
    """Chidian's form assigned to the villages of county CY; ta-hz consolidates town TA."""
    with unit_of_work(session):
        load_files(session, [CATALOG_DIR / "000_chidian_progress.yaml"])
        assignment_service.create_assignment(
            session, key="chidian-q", template=get_version(session, "chidian-progress", 1),
            root=tree["CY"], kinds=["village"])
    return {"ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"], password=PASSWORD),
            "admin": make_user("admin", Role.ADMIN, password=PASSWORD)}


@pytest.fixture
def workbooks(job_app, browser_of, people):
    """Filled workbooks of VA1 (correct), VA2 (an error) and VB1 (outside town TA), made by
    the application that reads them (its signing key)."""
    admin = browser_of(job_app).login_ok("admin", PASSWORD)
    return {
        "VA1.xlsx": fill(download(admin, page("chidian-q", "VA1")), FILLED),
        "VA2.xlsx": fill(download(admin, page("chidian-q", "VA2")), {"i01_enterprises": "-3"}),
        "VB1.xlsx": fill(download(admin, page("chidian-q", "VB1")), FILLED),
    }


def post(browser, files: dict[str, bytes]):
    return browser.post(UPLOADS, {"files": [(io.BytesIO(data), name)
                                            for name, data in files.items()]},
                        token_from=UPLOADS, content_type="multipart/form-data")


def rows_of(body: str) -> dict[str, str]:
    """The results table's rows by file name."""
    rows = body.split('<tr class="result-')[1:]
    return {r.split("<td>")[1].split("</td>")[0]: r for r in rows}


def saved_units(session) -> list[str]:
    session.expire_all()
    return sorted(r.unit.code for r in session.scalars(select(Report)))


def test_a_large_upload_is_read_by_a_worker_with_progress_and_a_results_page(
        job_app, browser_of, session, workbooks, monkeypatch):
    job_app.config["BACKGROUND_UNITS"] = 3  # 4 files: above
    seen: list[int] = []
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", 0)
    write = jobs.Progress.__call__
    monkeypatch.setattr(jobs.Progress, "__call__",
                        lambda self, done, force=False: (seen.append(done),
                                                         write(self, done, force))[1])
    consolidator = browser_of(job_app).login_ok("ta-hz", PASSWORD)
    response = post(consolidator, {**workbooks, "scan.pdf": b"%PDF-1.4"})
    assert response.status_code == 302
    job = the_job(session)
    assert response.headers["Location"] == f"/jobs/{job.id}"
    assert (job.kind, job.status, job.done, job.total) == ("bulk-upload", "queued", 0, 4)
    assert saved_units(session) == []  # nothing read inside the request
    assert len(list(jobs.folder(job_app).glob("upload-*"))) == 4  # kept for the worker
    waiting = text(consolidator.get(f"/jobs/{job.id}", headers={"Accept-Language": "en"}))
    assert "<progress" in waiting and "Workbooks read" in waiting

    with Worker(job_app):
        assert wait_until(lambda: the_job(session).status == JobStatus.DONE, timeout=60)
    assert seen == [1, 2, 3, 4]  # after each file
    assert saved_units(session) == ["VA1"]
    job = the_job(session)
    assert (job.done, job.total) == (4, 4)

    english = text(consolidator.get(f"/jobs/{job.id}", headers={"Accept-Language": "en"}))
    assert "1 saved, 1 not saved because of errors, 2 refused." in english
    row = rows_of(english)
    assert sorted(row) == ["VA1.xlsx", "VA2.xlsx", "VB1.xlsx", "scan.pdf"]
    assert row["VA1.xlsx"].startswith("saved") and "Saved as draft revision 1" in row["VA1.xlsx"]
    assert 'href="/reports/chidian-q/VA1/2024Q3"' in row["VA1.xlsx"]
    assert row["VA2.xlsx"].startswith("not-saved") and "Not saved: 1 error" in row["VA2.xlsx"]
    assert "Problems (1)" in row["VA2.xlsx"]
    assert row["VB1.xlsx"].startswith("refused")
    assert "no such report of template chidian-progress is within your reach" in row["VB1.xlsx"]
    assert "“scan.pdf” is not a spreadsheet" in row["scan.pdf"]
    annotated = row["VA2.xlsx"].split('href="')[2].split('"')[0]
    assert annotated.startswith("/workbooks/annotated/")
    assert consolidator.get(annotated).status_code == 200

    chinese = text(consolidator.get(f"/jobs/{job.id}", headers={"Accept-Language": "zh-CN"}))
    assert "已保存 1 个，因有错误未保存 1 个，拒收 2 个。" in chinese
    assert "的第 1 版草稿" in rows_of(chinese)["VA1.xlsx"]
    assert "“scan.pdf”不是可读取的表格文件" in rows_of(chinese)["scan.pdf"]

    bell = session.scalars(select(Notification).where(
        Notification.user_id == job.user_id)).one()
    assert bell.link == f"/jobs/{job.id}" and "已保存 1 个，因有错误未保存 1 个" in bell.text
    listing = text(consolidator.get("/jobs/", headers={"Accept-Language": "en"}))
    assert f'href="/jobs/{job.id}"' in listing
    assert "1 saved, 1 not saved because of errors, 2 refused." in listing

    # The uploaded files go with the job's time, not before.
    with job_app.app_context():
        assert jobs.clean_up(session, utcnow() + timedelta(hours=23)) == 0
        assert len(list(jobs.folder().glob("upload-*"))) == 4
        assert jobs.clean_up(session, utcnow() + timedelta(hours=25)) == 1
        assert not list(jobs.folder().glob("upload-*"))


def test_a_small_upload_is_still_read_at_once(job_app, browser_of, session, workbooks):
    job_app.config["BACKGROUND_UNITS"] = 3  # a .zip of 3 workbooks: not above
    consolidator = browser_of(job_app).login_ok("ta-hz", PASSWORD)
    response = consolidator.post(UPLOADS, {"files": (io.BytesIO(bundle(workbooks)), "x.zip")},
                                 token_from=UPLOADS, content_type="multipart/form-data",
                                 headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "1 saved, 1 not saved because of errors, 1 refused." in text(response)
    assert session.scalar(select(Job.id)) is None


def test_the_worker_reads_with_the_uploaders_scope_as_it_is_then(
        job_app, browser_of, session, workbooks, tree):
    job_app.config["BACKGROUND_UNITS"] = 2
    consolidator = browser_of(job_app).login_ok("ta-hz", PASSWORD)
    # In a .zip: the members are counted (3 workbooks, above the threshold).
    assert consolidator.post(
        UPLOADS, {"files": (io.BytesIO(bundle(workbooks)), "村级报表.zip")},
        token_from=UPLOADS, content_type="multipart/form-data").status_code == 302
    job = the_job(session)
    assert job.total == 3
    with unit_of_work(session):  # moved to town TB before the worker reads the files
        session.get(User, job.user_id).unit_id = tree["TB"].id
    with job_app.app_context():
        assert jobs.run(session, job.id) == JobStatus.DONE
    assert saved_units(session) == ["VB1"]  # VA1 is no longer within its reach
    row = rows_of(text(consolidator.get(f"/jobs/{job.id}", headers={"Accept-Language": "en"})))
    assert row["VA1.xlsx"].startswith("refused")
    assert "no such report of template chidian-progress is within your reach" in row["VA1.xlsx"]
    assert row["VB1.xlsx"].startswith("saved")


def test_an_account_that_may_no_longer_upload_gets_every_file_skipped(
        job_app, browser_of, session, workbooks):
    job_app.config["BACKGROUND_UNITS"] = 2
    consolidator = browser_of(job_app).login_ok("ta-hz", PASSWORD)
    assert post(consolidator, workbooks).status_code == 302
    job = the_job(session)
    with unit_of_work(session):
        session.get(User, job.user_id).role = Role.SUBMITTER
    with job_app.app_context():
        assert jobs.run(session, job.id) == JobStatus.DONE
    assert saved_units(session) == []
    body = text(consolidator.get(f"/jobs/{job.id}", headers={"Accept-Language": "en"}))
    assert "0 saved, 0 not saved because of errors, 0 refused. 3 files skipped." in body
    row = rows_of(body)
    assert row["VA1.xlsx"].startswith("skipped")
    assert "may no longer upload workbooks for other units" in row["VA1.xlsx"]


def test_an_upload_of_nothing_but_refused_files_lists_each(job_app, browser_of, session,
                                                           people):
    job_app.config["BACKGROUND_UNITS"] = 2
    consolidator = browser_of(job_app).login_ok("ta-hz", PASSWORD)
    assert consolidator.post(UPLOADS, {}, content_type="multipart/form-data",
                             token_from=UPLOADS).status_code == 400  # nothing chosen
    assert session.scalar(select(Job.id)) is None
    junk = {f"scan-{n}.pdf": b"%PDF-1.4" for n in range(3)}
    assert post(consolidator, junk).status_code == 302
    job = the_job(session)
    with job_app.app_context():
        assert jobs.run(session, job.id) == JobStatus.DONE
    body = text(consolidator.get(f"/jobs/{job.id}", headers={"Accept-Language": "en"}))
    assert "0 saved, 0 not saved because of errors, 3 refused." in body
    assert all(r.startswith("refused") for r in rows_of(body).values())
    assert len(rows_of(body)) == 3


def test_another_account_cannot_see_the_results(job_app, browser_of, session, workbooks,
                                                make_user, tree):
    job_app.config["BACKGROUND_UNITS"] = 2
    consolidator = browser_of(job_app).login_ok("ta-hz", PASSWORD)
    assert post(consolidator, workbooks).status_code == 302
    job = the_job(session)
    with job_app.app_context():
        jobs.run(session, job.id)
    make_user("ta-2", Role.CONSOLIDATOR, tree["TA"], password=PASSWORD)
    other = browser_of(job_app).login_ok("ta-2", PASSWORD)
    assert other.get(f"/jobs/{job.id}").status_code == 404


def test_an_upload_whose_files_are_gone_fails_and_says_so(job_app, browser_of, session,
                                                          workbooks):
    job_app.config["BACKGROUND_UNITS"] = 2
    consolidator = browser_of(job_app).login_ok("ta-hz", PASSWORD)
    assert post(consolidator, workbooks).status_code == 302
    job = the_job(session)
    for kept in jobs.folder(job_app).glob("upload-*"):
        kept.unlink()  # e.g. the jobs folder was emptied before a worker took the job
    with job_app.app_context():
        assert jobs.run(session, job.id) == JobStatus.FAILED
    assert saved_units(session) == []
    english = text(consolidator.get(f"/jobs/{job.id}", headers={"Accept-Language": "en"}))
    assert "The uploaded workbooks could not be read. Upload them again" in english
    chinese = text(consolidator.get(f"/jobs/{job.id}", headers={"Accept-Language": "zh-CN"}))
    assert "上传的工作簿未能读取。请重新上传" in chinese
    bell = session.scalars(select(Notification)).one()
    assert "上传未能读取" in bell.subject and bell.link == f"/jobs/{job.id}"
