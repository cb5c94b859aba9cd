"""The Excel round trip through HTTP: download the form, fill it offline, upload it.

Workbooks are filled the way a person does it in Excel: typing into the input
cells (found here through the template's ``tb_<field>`` defined names).
"""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from pages import text
from sqlalchemy import func, select

from forms.loader import CATALOG_DIR
from server.db import unit_of_work
from server.models import Role
from server.models.reporting import Report, Revision, Status, StoredFile
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.templates import get_version, load_files, set_retired

CHIDIAN = CATALOG_DIR / "000_chidian_progress.yaml"
XUEFENG = CATALOG_DIR / "001_xuefeng_progress.yaml"
PERIOD = "2024Q3"
FILLED = {"reporter": "王五", "phone": "13900000009", "i01_enterprises": 12,
          "i01_progress": "已督促12家企业落实标准规范。", "i04_principals": 30,
          "i04_covered": 25}


def page(assignment: str, unit: str, period: str = PERIOD) -> str:
    return f"/reports/{assignment}/{unit}/{period}"


@pytest.fixture
def people(session, tree, make_user):
    """Chidian's form assigned to the villages of county CY; accounts reading English."""
    with unit_of_work(session):
        load_files(session, [CHIDIAN])
        assignment_service.create_assignment(session, key="chidian-q",
                                             template=get_version(session, "chidian-progress", 1),
                                             root=tree["CY"], kinds=["village"])
    accounts = {
        "va1": make_user("va1", unit=tree["VA1"]),
        "va2": make_user("va2", unit=tree["VA2"]),
        "ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]),
        "admin": make_user("admin", Role.ADMIN),
    }
    for user in accounts.values():
        user.locale = "en"
    session.commit()
    return accounts


@pytest.fixture
def va1(browser, people):
    return browser.login_ok(people["va1"])


@pytest.fixture
def admin(other_browser, people):
    return other_browser.login_ok(people["admin"])


def download(browser, path: str) -> bytes:
    response = browser.get(path + "/workbook.xlsx")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return response.data


def names(book) -> dict[str, tuple[str, str]]:
    found = {}
    for name, defined in book.defined_names.items():
        if name.startswith("tb_"):
            (sheet, ref), = list(defined.destinations)
            found[name[3:]] = (sheet, ref.replace("$", ""))
    return found


def fill(data: bytes, values: dict) -> bytes:
    """Type *values* into the workbook's input cells."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = names(book)
    for key, value in values.items():
        sheet, ref = cells[key]
        book[sheet][ref].value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cell_value(data: bytes, key: str):
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet, ref = names(book)[key]
    return book[sheet][ref].value


def upload(browser, path: str, data: bytes, filename: str = "filled.xlsx"):
    return browser.post(path + "/workbook", {"workbook": (io.BytesIO(data), filename)},
                        token_from=path, content_type="multipart/form-data")


def reports(session) -> int:
    return session.scalar(select(func.count()).select_from(Report))


# -- the round trip ---------------------------------------------------------------------------


def test_download_fill_upload_saves_a_draft_revision_from_excel(va1, session):
    path = page("chidian-q", "VA1")
    form_page = text(va1.get(path))
    assert f'href="{path}/workbook.xlsx"' in form_page
    assert f'action="{path}/workbook"' in form_page

    workbook = download(va1, path)
    filled = fill(workbook, FILLED)
    response = upload(va1, path, filled, "池店镇-VA1.xlsx")

    assert response.status_code == 200, text(response)
    assert "Saved as draft revision 1" in text(response)
    report = session.scalar(select(Report))
    assert report.status == Status.DRAFT
    for key, value in FILLED.items():
        assert report.values[key] == value
    revision = session.scalar(select(Revision))
    assert revision.source == "excel"
    original = session.get(StoredFile, revision.file_id)
    assert original.data == filled and original.filename == "池店镇-VA1.xlsx"
    assert original.unit_id == report.unit_id

    # The next download carries the draft, ready to be corrected offline.
    again = download(va1, path)
    assert cell_value(again, "i01_enterprises") == 12
    assert cell_value(again, "reporter") == "王五"


def test_download_names_the_unit_period_and_form(va1):
    response = va1.get(page("chidian-q", "VA1") + "/workbook.xlsx")
    disposition = response.headers["Content-Disposition"]
    assert "attachment" in disposition
    assert "Unit%20VA1" in disposition and ".xlsx" in disposition


def test_warnings_only_are_saved_as_a_draft_with_the_warnings_listed(va1, session):
    path = page("chidian-q", "VA1")
    filled = fill(download(va1, path), {**FILLED, "i01_enterprises": "12家"})

    response = upload(va1, path, filled)

    body = text(response)
    assert response.status_code == 200, body
    assert "Saved as draft revision 1" in body and "1 warning" in body
    assert "Enterprises urged to apply sector standards" in body  # the label beside its cell
    assert session.scalar(select(Report)).values["i01_enterprises"] == 12


def test_errors_save_nothing_and_offer_the_workbook_back_annotated(va1, other_browser, people,
                                                                   session):
    path = page("chidian-q", "VA1")
    workbook = download(va1, path)
    filled = fill(workbook, {**FILLED, "i01_enterprises": "many", "i04_covered": 40})

    response = upload(va1, path, filled)

    body = text(response)
    assert response.status_code == 422
    assert "Not saved: 2 errors" in body
    assert reports(session) == 0
    link = next(part.split('"')[0] for part in body.split('href="')[1:]
                if part.startswith("/workbooks/annotated/"))
    annotated = va1.get(link)
    assert annotated.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(annotated.data))
    cells = names(openpyxl.load_workbook(io.BytesIO(workbook)))
    sheet, enterprises = cells["i01_enterprises"]
    _, covered = cells["i04_covered"]
    assert "many" in book[sheet][enterprises].comment.text
    assert book[sheet][covered].comment.text  # the rule's message at the rule's field
    assert book[sheet][cells["reporter"][1]].comment is None

    # The marked copy is the uploader's alone.
    other_browser.login_ok(people["admin"])
    assert other_browser.get(link).status_code == 404


# -- refusals ---------------------------------------------------------------------------------


def assert_refused(response, session, *phrases: str) -> None:
    body = text(response)
    assert response.status_code == 422, body
    for phrase in phrases:
        assert phrase in body
    assert reports(session) == 0


def test_workbook_of_another_unit_is_refused(va1, admin, session):
    other = fill(download(admin, page("chidian-q", "VA2")), FILLED)
    response = upload(va1, page("chidian-q", "VA1"), other, "va2.xlsx")
    assert_refused(response, session, "was made for unit", "VA2")


def test_workbook_of_another_period_is_refused(va1, session):
    other = fill(download(va1, page("chidian-q", "VA1", "2024Q4")), FILLED)
    response = upload(va1, page("chidian-q", "VA1"), other)
    assert_refused(response, session, "is for the period")


def test_workbook_of_another_template_is_refused(va1, session, tree):
    with unit_of_work(session):
        load_files(session, [XUEFENG])
        template = get_version(session, "xuefeng-progress", 1)
        assignment_service.create_assignment(session, key="xuefeng", template=template,
                                             root=tree["CY"], kinds=["village"],
                                             first=template.definition.schedule.first)
    period = template.definition.schedule.first
    other = download(va1, page("xuefeng", "VA1", period))
    response = upload(va1, page("chidian-q", "VA1"), other)
    assert_refused(response, session, "is a workbook of template xuefeng-progress")


def test_tampered_identity_is_refused(va1, session):
    book = openpyxl.load_workbook(io.BytesIO(download(va1, page("chidian-q", "VA1"))))
    identity = book["_tianbao"]
    for row in identity.iter_rows():
        if row[0].value == "period":
            row[1].value = "2024Q2"  # re-labelled as the previous quarter
    out = io.BytesIO()
    book.save(out)
    response = upload(va1, page("chidian-q", "VA1"), out.getvalue())
    assert_refused(response, session, "was changed or it comes from another server")


def test_retired_version_is_refused(va1, session):
    workbook = fill(download(va1, page("chidian-q", "VA1")), FILLED)
    with unit_of_work(session):
        set_retired(session, get_version(session, "chidian-progress", 1), True)
    response = upload(va1, page("chidian-q", "VA1"), workbook)
    assert_refused(response, session, "unknown here or has been retired")


def test_not_a_spreadsheet_gets_a_clear_message(va1, session):
    response = upload(va1, page("chidian-q", "VA1"), b"Meeting notes, not a workbook.",
                      "notes.txt")
    assert_refused(response, session, "is not a spreadsheet that can be read")


def test_no_file_chosen_asks_for_one(va1):
    path = page("chidian-q", "VA1")
    response = va1.post(path + "/workbook", {}, token_from=path)
    assert response.status_code == 400
    assert "Choose a filled workbook to upload." in text(response)


def test_submitted_report_refuses_an_upload_and_keeps_its_values(va1, people, session):
    path = page("chidian-q", "VA1")
    workbook = download(va1, path)
    assert upload(va1, path, fill(workbook, FILLED)).status_code == 200
    with va1.client.application.test_request_context(), unit_of_work(session):
        view = reporting.load(session, people["va1"], "chidian-q", "VA1", PERIOD)
        reporting.submit(session, people["va1"], view)

    response = upload(va1, path, fill(workbook, {**FILLED, "i01_enterprises": 99}))

    assert response.status_code == 422
    assert "the report is submitted and cannot change now" in text(response)
    session.expire_all()
    report = session.scalar(select(Report))
    assert report.revision == 1 and report.values["i01_enterprises"] == 12


def test_out_of_scope_report_answers_404(va1, admin):
    other = page("chidian-q", "VA2")
    assert va1.get(other + "/workbook.xlsx").status_code == 404
    workbook = download(admin, other)
    assert upload(va1, other, workbook).status_code == 404


def test_messages_follow_the_users_language(va1, people, session):
    people["va1"].locale = "zh_CN"
    session.commit()
    path = page("chidian-q", "VA1")
    response = upload(va1, path, b"not a workbook", "notes.txt")
    body = text(response)
    assert "<h1>上传工作簿</h1>" in body
    assert "拒收：“notes.txt”不是可读取的表格文件" in body


# -- bulk upload ------------------------------------------------------------------------------


def bundle(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_bulk_zip_saves_each_workbook_in_scope_and_refuses_the_rest(admin, browser, people,
                                                                    session):
    workbooks = {
        f"{code}.xlsx": fill(download(admin, page("chidian-q", code)),
                             {**FILLED, "i01_enterprises": n})
        for n, code in enumerate(("VA1", "VA2", "VB1"), start=1)
    }
    consolidator = browser.login_ok(people["ta-hz"])
    form = text(consolidator.get("/review/uploads"))
    assert 'name="files"' in form and "multiple" in form

    response = consolidator.post(
        "/review/uploads", {"files": (io.BytesIO(bundle(workbooks)), "村级报表.zip")},
        content_type="multipart/form-data")

    body = text(response)
    assert response.status_code == 200, body
    assert "2 saved, 0 not saved because of errors, 1 refused." in body
    rows = body.split('<tr class="result-')[1:]
    assert len(rows) == 3
    row = {r.split("<td>")[1].split("</td>")[0]: r for r in rows}
    assert row["VA1.xlsx"].startswith("saved") and "Saved as draft revision 1" in row["VA1.xlsx"]
    assert row["VA2.xlsx"].startswith("saved")
    assert row["VB1.xlsx"].startswith("refused")
    assert "no such report of template chidian-progress is within your reach" in row["VB1.xlsx"]

    saved = {r.unit.code: r for r in session.scalars(select(Report))}
    assert sorted(saved) == ["VA1", "VA2"]
    assert saved["VA1"].values["i01_enterprises"] == 1
    assert saved["VA2"].values["i01_enterprises"] == 2
    revisions = session.scalars(select(Revision)).all()
    assert {r.source for r in revisions} == {"excel"}
    assert {r.author.username for r in revisions} == {"ta-hz"}
    assert all(r.file_id for r in revisions)


def test_bulk_lists_bad_files_beside_good_ones(admin, browser, people, session):
    good = fill(download(admin, page("chidian-q", "VA1")), FILLED)
    bad = fill(download(admin, page("chidian-q", "VA2")), {"i01_enterprises": "-3"})
    consolidator = browser.login_ok(people["ta-hz"])
    response = consolidator.post(
        "/review/uploads",
        {"files": [(io.BytesIO(good), "good.xlsx"), (io.BytesIO(bad), "bad.xlsx"),
                   (io.BytesIO(b"%PDF-1.4"), "scan.pdf")]},
        token_from="/review/uploads", content_type="multipart/form-data")
    body = text(response)
    assert "1 saved, 1 not saved because of errors, 1 refused." in body
    assert "/workbooks/annotated/" in body
    assert "“scan.pdf” is not a spreadsheet" in body
    # Each outcome is said once ("Not saved: …"), not after a badge saying it again.
    assert "Not saved Not saved" not in re.sub(r"<[^>]+>|\s+", " ", body).replace("  ", " ")
    assert body.count("Not saved: 1 error") == 1 and ">Not saved<" not in body
    assert [r.unit.code for r in session.scalars(select(Report))] == ["VA1"]


def test_bulk_upload_is_for_consolidators_and_administrators(va1, admin):
    assert va1.get("/review/uploads").status_code == 403
    assert admin.get("/review/uploads").status_code == 200


def test_bulk_upload_without_files_asks_for_them(admin):
    response = admin.post("/review/uploads", {}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose one or more workbooks" in text(response)


def test_an_upload_beyond_the_request_limit_gets_the_file_too_large_page(va1, app, session):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = upload(va1, page("chidian-q", "VA1"), b"PK\x03\x04" + b"x" * 100_000)
    assert response.status_code == 413
    assert "File too large" in text(response)
    assert reports(session) == 0
