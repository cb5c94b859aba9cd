"""``tianbao backup`` and ``restore``: a round trip on the configured database, and refusals."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from server import migrate
from server.backup import archive, postgres
from server.backup.archive import BackupRefused
from server.cli import cli
from server.db import database, unit_of_work
from server.models import Role
from server.models.reporting import Report
from server.services import accounts, reporting
from server.services import assignments as assignment_service
from server.services import units as unit_service
from server.services.templates import get_version, load_files

SAMPLE = Path(__file__).resolve().parents[1] / "forms" / "sample.yaml"
HISTORY = "/reports/sample/VA1/2024Q2/history"


@pytest.fixture
def run(app, monkeypatch):
    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(cli, [str(arg) for arg in args], input=input)

    return invoke


@pytest.fixture
def village(session, tree, make_user):
    """The submitter of VA1, with a draft sample report of two revisions."""
    with unit_of_work(session):
        load_files(session, [SAMPLE])
        assignment_service.create_assignment(session, key="sample",
                                             template=get_version(session, "sample", 1),
                                             root=tree["TA"])
    user = make_user("va1", unit=tree["VA1"])
    save(session, user, found=5, reporter="王五")
    save(session, user, found=7, reporter="王五", phone="13900000009", done="是")
    session.close()
    return user


def save(session: Session, user, **values):
    view = reporting.load(session, user, "sample", "VA1", "2024Q2")
    with unit_of_work(session):
        reporting.save(session, user, view, values)
    return view


def history(browser) -> str:
    """The text of the report's history page (revisions, their values, the audit trail)."""
    response = browser.get(HISTORY)
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_restore_brings_back_units_accounts_and_report_history(
        run, app, session, village, browser, other_browser, make_user, password, tmp_path):
    make_user("ta-hz", Role.CONSOLIDATOR, unit_service.get_unit(session, "TA"))
    before = history(browser.login_ok(village))
    file = tmp_path / "tianbao.backup"
    result = run("backup", file)
    assert result.exit_code == 0, result.output
    assert str(file) in result.output and file.is_file()

    # Afterwards: one more revision, an account's password changed, another disabled, a new unit.
    with unit_of_work(session):
        unit_service.create_unit(session, "NEW", "New town", "town", None)
    save(session, village, found=9, reporter="赵六")
    with unit_of_work(session):
        accounts.reset_password(session, accounts.get_user(session, "va1"), "another-pass-9")
        accounts.set_active(session, accounts.get_user(session, "ta-hz"), False)
    session.close()
    assert other_browser.login("va1", password).status_code != 302

    result = run("restore", "--yes", file)
    assert result.exit_code == 0, result.output
    assert "Restored the backup" in result.output

    assert history(other_browser.login_ok("va1", password)) == before
    type(browser)(app.test_client()).login_ok("ta-hz", password)
    assert unit_service.get_unit(session, "NEW") is None
    report = session.scalar(select(Report))
    assert (report.revision, report.values["found"], report.status) == (2, 7, "draft")
    assert migrate.is_up_to_date(database(app).engine)


def test_restore_asks_first_and_does_nothing_when_told_no(run, session, village, tmp_path):
    file = tmp_path / "tianbao.backup"
    assert run("backup", file).exit_code == 0
    save(session, village, found=8, reporter="王五")
    session.close()
    result = run("restore", file, input="n\n")
    assert result.exit_code == 1
    assert "Replace all data of" in result.output
    assert session.scalar(select(Report.revision)) == 3


def test_an_existing_file_is_kept_unless_forced(run, village, tmp_path):
    file = tmp_path / "tianbao.backup"
    file.write_bytes(b"precious")
    result = run("backup", file)
    assert result.exit_code == 1
    assert "already exists" in result.output and "--force" in result.output
    assert file.read_bytes() == b"precious"
    assert run("backup", "--force", file).exit_code == 0
    assert tarfile.is_tarfile(file)
    assert [p.name for p in tmp_path.iterdir()] == ["tianbao.backup"]  # no temporary left
    result = run("backup", tmp_path / "nowhere" / "tianbao.backup")
    assert result.exit_code == 1 and "There is no folder" in result.output


def test_the_backup_says_what_it_is(run, village, app, tmp_path):
    file = tmp_path / "tianbao.backup"
    assert run("backup", file).exit_code == 0
    with tarfile.open(file) as tar:
        manifest = json.load(tar.extractfile("tianbao-backup.json"))
    assert manifest["format"] == "tianbao-backup"
    assert manifest["kind"] == database(app).engine.url.get_backend_name()
    assert manifest["revision"] == migrate.head_revision()
    assert manifest["app_version"] and manifest["created_at"]


def fake_backup(path: Path, **changes) -> Path:
    manifest = {**json.loads(archive.Manifest.now("sqlite", None, None).to_bytes()), **changes}
    with tarfile.open(path, "w:gz") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo(archive.MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        payload = b"not a database"
        info = tarfile.TarInfo(archive.PAYLOADS[manifest["kind"]])
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return path


def test_a_backup_of_the_other_kind_of_database_is_refused(run, app, village, session, tmp_path):
    kind = database(app).engine.url.get_backend_name()
    other = "sqlite" if kind == "postgresql" else "postgresql"
    result = run("restore", "--yes", fake_backup(tmp_path / "other.backup", kind=other))
    assert result.exit_code == 1
    assert f"backup of a {other} database" in result.output
    assert session.scalar(select(Report.revision)) == 2


def test_a_backup_from_a_newer_version_is_refused(run, village, app, session, tmp_path):
    kind = database(app).engine.url.get_backend_name()
    result = run("restore", "--yes", fake_backup(tmp_path / "new.backup", kind=kind,
                                                 revision="ffffffffffff", app_version="9.0"))
    assert result.exit_code == 1
    assert "ffffffffffff is unknown" in result.output and "9.0" in result.output
    assert session.scalar(select(Report.revision)) == 2


def test_a_file_that_is_not_a_backup_is_refused(run, village, session, tmp_path):
    for name, content in (("plain.backup", b"hello"), ("empty.backup", b"")):
        (tmp_path / name).write_bytes(content)
        result = run("restore", "--yes", tmp_path / name)
        assert result.exit_code == 1
        assert "is not a Tianbao backup" in result.output
    result = run("restore", "--yes", tmp_path / "missing.backup")
    assert result.exit_code == 1 and "There is no file" in result.output
    assert session.scalar(select(Report.revision)) == 2


def test_missing_postgresql_tools_are_named(monkeypatch, app, tmp_path):
    """Without pg_dump or pg_restore on PATH, the refusal names the missing program."""
    monkeypatch.setenv("PATH", str(tmp_path))
    url = make_url("postgresql://tianbao:secret@db.example/tianbao")
    with app.app_context(), force_locale("zh_CN"):
        with pytest.raises(BackupRefused) as dump:
            postgres.dump(url, tmp_path / "dump")
        with pytest.raises(BackupRefused) as restore:
            postgres.restore(url, tmp_path / "dump")
        assert str(dump.value).startswith("未找到 pg_dump。")
        assert str(restore.value).startswith("未找到 pg_restore。")
    assert not (tmp_path / "dump").exists()


def test_a_backup_taken_while_reports_are_saved_is_consistent(run, village, app, tmp_path):
    """Another thread keeps saving; every backup opens and agrees with itself."""
    stop = threading.Event()
    saved = []

    def keep_saving():
        with Session(database(app).engine, expire_on_commit=False) as own:
            user = accounts.get_user(own, "va1")
            number = 10
            while not stop.is_set():
                save(own, user, found=number, reporter="王五")
                saved.append(number)
                number += 1

    writer = threading.Thread(target=keep_saving)
    writer.start()
    try:
        files = []
        while len(files) < 3 or len(saved) < 5:
            files.append(tmp_path / f"during-{len(files)}.backup")
            result = run("backup", files[-1])
            assert result.exit_code == 0, result.output
    finally:
        stop.set()
        writer.join()
    assert saved, "the writer saved nothing"
    counts = {check_backup(file, tmp_path) for file in files}
    assert len(counts) > 1  # the backups saw the data move on


def check_backup(file: Path, folder: Path) -> int:
    """The number of revisions in *file*; asserts it matches the report's latest number."""
    with tarfile.open(file) as tar:
        kind = json.load(tar.extractfile(archive.MANIFEST))["kind"]
        payload = folder / (file.name + ".payload")
        payload.write_bytes(tar.extractfile(archive.PAYLOADS[kind]).read())
    reports, revisions = (sqlite_rows if kind == "sqlite" else dump_rows)(payload)
    [report] = reports
    latest, found = int(report["revision"]), json.loads(report["values"])["found"]
    assert latest == len(revisions)
    assert found == (7 if latest == 2 else latest + 7)  # the values of its latest revision
    return latest


def sqlite_rows(payload: Path):
    with sqlite3.connect(payload) as copy:
        copy.row_factory = sqlite3.Row
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return ([dict(row) for row in copy.execute("SELECT * FROM reports")],
                copy.execute("SELECT id FROM revisions").fetchall())


def dump_rows(payload: Path):
    """The rows of reports and revisions in a custom-format dump, read back as SQL."""
    sql = subprocess.run(["pg_restore", "--file=-", str(payload)], capture_output=True,
                         text=True, check=True).stdout
    tables = {}
    for name, columns, body in re.findall(
            r"^COPY \S+?\.(\w+) \(([^)]*)\) FROM stdin;\n(.*?)^\\\.$", sql, re.M | re.S):
        names = [column.strip().strip('"') for column in columns.split(",")]
        tables[name] = [dict(zip(names, line.split("\t"), strict=True))
                        for line in body.splitlines()]
    return tables["reports"], tables["revisions"]


def test_an_older_backup_is_migrated_up_once_restored(run, app, village, session, tmp_path):
    engine = database(app).engine
    head = migrate.head_revision()
    migrate.downgrade(engine, "-1")
    older = migrate.current_revision(engine)
    try:
        assert run("backup", tmp_path / "older.backup").exit_code == 0
    finally:
        migrate.upgrade(engine)
    result = run("restore", "--yes", tmp_path / "older.backup")
    assert result.exit_code == 0, result.output
    assert f"upgraded from schema revision {older} to {head}" in result.output
    assert migrate.current_revision(engine) == head
    assert session.scalar(select(Report.revision)) == 2
