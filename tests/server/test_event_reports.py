"""Event reports on the web: filed from the task list, with content-checked attachments,
listed for the consolidators above, never owed nor late."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from event_helpers import ACCIDENTS, assign_accidents, event_people
from event_samples import jpeg, pdf, png
from openpyxl import load_workbook
from sqlalchemy import func, select

from server.db import unit_of_work
from server.jobs import background
from server.jobs.runner import jobs_of
from server.models import Role
from server.models.reporting import Report, Revision, StoredFile
from server.services import assignments as assignment_service
from server.services import events as event_service
from server.services import reporting
from server.services.templates import get_version, load_files

NEW = "/reports/accidents/VA1/event-1"
FIELDS = {"f_reporter": "李四", "f_phone": "13800000000", "f_kind": "fire", "f_deaths": "0",
          "f_injured": "2", "f_description": "仓库起火，已扑灭"}


@pytest.fixture
def world(session, tree, make_user):
    assign_accidents(session, tree["TA"])
    return {**event_people(make_user, tree),
            "tb": make_user("tb-hz", role=Role.CONSOLIDATOR, unit=tree["TB"])}


def post_event(browser, path=NEW, *, files=(), revision="0", action="submit", **fields):
    data = {"revision": revision, "action": action, "event_at": "2024-07-01T09:30",
            "event_location": "勐董镇", **FIELDS, **fields}
    if files:
        data["event_files"] = [(io.BytesIO(content), name) for name, content in files]
    return browser.post(path, data, token_from=path, content_type="multipart/form-data")


def stored(session, period="event-1") -> Report | None:
    session.expire_all()
    return session.scalar(select(Report).where(Report.period == period))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_village_files_an_event_from_its_task_list(browser, world, session):
    browser.login_ok(world["va1"])
    page = unescape(browser.get("/reports/").get_data(as_text=True))
    assert "报告新事件" in page and f'href="{NEW}"' in page
    form = browser.get(NEW).get_data(as_text=True)
    assert 'name="event_at"' in form and 'name="event_files"' in form
    response = post_event(browser, files=[("现场.jpg", jpeg()), ("通报.pdf", pdf())])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    report = stored(session)
    assert report.status == "submitted" and not report.late
    assert report.event_at.astimezone(UTC) == datetime(2024, 7, 1, 1, 30, tzinfo=UTC)
    assert [a["name"] for a in report.event["attachments"]] == ["现场.jpg", "通报.pdf"]
    assert report.event["attachments"][0]["content_type"] == "image/jpeg"
    assert report.event["location"] == "勐董镇" and report.values["injured"] == 2
    # the next event gets the next number; the first one is listed as handed in
    page = unescape(browser.get("/reports/").get_data(as_text=True))
    assert 'href="/reports/accidents/VA1/event-2"' in page and "第1号事件" in page
    assert "天" not in re.sub(r"\s+", "", page.split("第1号事件", 1)[1].split("</tr>", 1)[0])


def test_every_save_is_a_revision_and_the_files_follow(browser, world, session):
    browser.login_ok(world["va1"])
    assert post_event(browser, action="save", files=[("a.png", png())]).status_code == 302
    token = stored(session).event["attachments"][0]["id"]
    # saved again without the file box: the attachment is kept only when ticked
    response = post_event(browser, revision="1", action="save", event_keep=token,
                          f_injured="3")
    assert response.status_code == 302
    assert stored(session).event["attachments"][0]["id"] == token
    assert post_event(browser, revision="2", action="save").status_code == 302
    report = stored(session)
    assert report.event["attachments"] == [] and report.revision == 3
    revisions = session.scalars(select(Revision).order_by(Revision.number)).all()
    assert [len(r.event["attachments"]) for r in revisions] == [1, 1, 0]
    # the file of an earlier revision can still be read through the report
    assert browser.get(f"{NEW}/files/{token}").status_code == 200


@pytest.mark.parametrize(("name", "content", "message"), [
    ("病毒.exe", b"MZ\x90\x00binary", "只接受 JPEG、PNG 和 PDF 文件"),
    ("现场.pdf", png(), "文件名与内容不符"),  # a PNG renamed .pdf
    ("半张.png", png()[:40], "不是完整的"),
])
def test_refused_files_change_nothing(browser, world, session, name, content, message):
    browser.login_ok(world["va1"])
    before = count(session, StoredFile)
    response = post_event(browser, files=[(name, content)])
    assert response.status_code == 422
    assert message in unescape(response.get_data(as_text=True))
    assert stored(session) is None and count(session, StoredFile) == before


def test_too_big_too_many_and_no_time_are_refused(app, browser, world, session):
    browser.login_ok(world["va1"])
    big = png() + b"\x00" * (11 * 1024 * 1024)
    response = post_event(browser, files=[("big.png", big)])
    assert response.status_code == 422 and "大于 10 MB" in unescape(response.get_data(as_text=True))
    six = [(f"p{n}.png", png()) for n in range(6)]
    response = post_event(browser, files=six)
    assert response.status_code == 422 and "最多 5 个附件" in unescape(
        response.get_data(as_text=True))
    response = post_event(browser, event_at="")
    assert response.status_code == 422 and "须填写事件发生时间" in unescape(
        response.get_data(as_text=True))
    response = post_event(browser, event_at="2999-01-01T00:00")
    assert response.status_code == 422 and "晚于现在" in unescape(response.get_data(as_text=True))
    # no event; of the files only the acceptable ones within the count are kept, pending
    # for the next save (the one too large never is)
    assert stored(session) is None and count(session, StoredFile) == 5


def test_attachments_are_served_only_within_scope(browser, other_browser, world, session):
    browser.login_ok(world["va1"])
    post_event(browser, files=[("现场.png", png())])
    token = stored(session).event["attachments"][0]["id"]
    link = f"{NEW}/files/{token}"
    download = browser.get(link)
    assert download.status_code == 200 and download.data == png()
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    other_browser.login_ok(world["ta"])  # the town above sees it
    assert other_browser.get(link).status_code == 200
    for user in ("va2", "tb"):  # a sibling village, another town: as if it did not exist
        other = other_browser.client.application.test_client()

        type(browser)(other).login_ok(world[user])
        assert other.get(link).status_code == 404
        assert other.get(f"/reports/accidents/VA2/event-1/files/{token}").status_code == 404


def test_the_town_sees_the_events_as_they_arrive(browser, other_browser, world, session):
    browser.login_ok(world["va1"])
    post_event(browser, files=[("现场.png", png())])
    post_event(browser, "/reports/accidents/VA1/event-2", event_at="2024-08-03T20:00")
    post_event(browser, "/reports/accidents/VA1/event-3", action="save")  # a draft: not arrived
    other_browser.login_ok(world["ta"])
    page = unescape(other_browser.get("/review/events").get_data(as_text=True))
    assert page.index("2024-08-03 20:00") < page.index("2024-07-01 09:30")  # newest first
    assert "第3号事件" not in page and "VA1" in page
    july = unescape(other_browser.get("/review/events?since=2024-07-01&until=2024-07-31")
                    .get_data(as_text=True))
    assert "2024-07-01 09:30" in july and "2024-08-03" not in july
    tb = other_browser.client.application.test_client()

    type(browser)(tb).login_ok(world["tb"])
    assert "VA1" not in unescape(tb.get("/review/events").get_data(as_text=True))


def test_an_event_is_never_owed_nor_late(session, world, tree, monkeypatch):
    monkeypatch.setattr(reporting, "utcnow", lambda: datetime(2030, 1, 1, tzinfo=UTC))
    assert reporting.tasks_for_unit(session, tree["VA1"]) == []
    assignment = assignment_service.get_assignment(session, "accidents")
    assert assignment_service.assignment_periods(assignment) == []
    assert [a.key for a in reporting.event_assignments(session, tree["VA1"])] == ["accidents"]
    assert reporting.next_event_key(session, assignment, tree["VA1"]) == "event-1"


def test_review_return_and_approve_work_as_for_any_report(browser, other_browser, world,
                                                          session):
    browser.login_ok(world["va1"])
    post_event(browser)
    other_browser.login_ok(world["ta"])
    view = reporting.load(session, world["ta"], "accidents", "VA1", "event-1")
    with unit_of_work(session):
        reporting.return_report(session, world["ta"], view, "补充事故经过")
    view = reporting.load(session, world["va1"], "accidents", "VA1", "event-1")
    with unit_of_work(session):
        event_service.save_event(session, world["va1"], view, dict(view.values), None,
                                 expected_revision=1)
        reporting.submit(session, world["va1"], view)
    view = reporting.load(session, world["ta"], "accidents", "VA1", "event-1")
    with unit_of_work(session):
        reporting.approve(session, world["ta"], view)
    report = stored(session)
    assert report.status == "approved" and report.revision == 2
    assert report.event_at is not None  # the time stayed when the fields alone were saved


def test_only_the_next_event_number_can_be_opened(browser, world):
    browser.login_ok(world["va1"])
    assert browser.get(NEW).status_code == 200
    for key in ("event-2", "event-0", "event", "2024Q1"):
        assert browser.get(f"/reports/accidents/VA1/{key}").status_code == 404, key


def test_the_events_export_lists_each_event_with_its_provenance(browser, other_browser, world,
                                                                 session):
    browser.login_ok(world["va1"])
    post_event(browser, files=[("现场.png", png())], f_deaths="1", f_injured="2")
    post_event(browser, "/reports/accidents/VA1/event-2", event_at="2024-07-20T08:00",
               f_injured="5")
    post_event(browser, "/reports/accidents/VA1/event-3", event_at="2024-08-02T08:00",
               f_injured="1")
    other_browser.login_ok(world["ta"])
    page = other_browser.get("/review/events").get_data(as_text=True)
    assert "/review/events/accidents/events.xlsx" in page
    response = other_browser.get("/review/events/accidents/events.csv")
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert lines[0][:4] == ["单位代码", "单位", "事件", "事件发生时间"] and "受伤人数" in lines[0]
    assert [(r[0], r[2], r[3], r[6]) for r in lines[1:]] == [
        ("VA1", "第1号事件", "2024-07-01 09:30", "1"),
        ("VA1", "第2号事件", "2024-07-20 08:00", "1"),
        ("VA1", "第3号事件", "2024-08-02 08:00", "1")]
    assert lines[1][10] == "1"  # one attachment
    book = load_workbook(io.BytesIO(other_browser.get(
        "/review/events/accidents/events.xlsx?since=2024-07-01&until=2024-07-31").data))
    listed = [row for row in book.worksheets[0].iter_rows(min_row=4, values_only=True)]
    assert [row[2] for row in listed] == ["第1号事件", "第2号事件"]
    totals = book["合计"]  # the template totals per month of the event time
    header = [c.value for c in totals[3]]
    injured = header.index("受伤人数")
    assert [(r[0], r[1], r[injured]) for r in totals.iter_rows(min_row=4, values_only=True)] \
        == [("2024年7月", 2, 7)]
    # another town's consolidator sees no event of this town
    other = other_browser.client.application.test_client()
    type(browser)(other).login_ok(world["tb"])
    lines = other.get("/review/events/accidents/events.csv").data.decode("utf-8-sig")
    assert "VA1" not in lines


def test_the_review_page_shows_the_event_and_its_attachments(browser, other_browser, world):
    browser.login_ok(world["va1"])
    post_event(browser, files=[("现场.png", png())])
    other_browser.login_ok(world["ta"])
    page = unescape(other_browser.get("/review/accidents/VA1/event-1").get_data(as_text=True))
    assert "2024-07-01 09:30" in page and "勐董镇" in page and "现场.png" in page
    assert "无：事件随时发生随时报告" in page


def test_administrators_pages_show_an_event_assignment(browser, world, make_user, session):
    make_user("boss", role=Role.ADMIN)
    browser.login_ok("boss")
    for path in ("/admin/assignments", "/admin/assignments/accidents",
                 "/admin/templates/cangyuan-accidents", "/admin/assignments/new",
                 "/review/events", "/review/", "/consolidation/"):
        assert browser.get(path).status_code == 200, path
    detail = unescape(browser.get("/admin/assignments/accidents").get_data(as_text=True))
    assert "随时报告" in detail


def test_no_page_shows_a_due_date_for_an_event(browser, other_browser, world, make_user):
    """An event is never due: every page that shows a due date says 随时报告, never 9999-12-31."""
    make_user("boss", role=Role.ADMIN)
    admin = type(browser)(browser.client.application.test_client()).login_ok("boss")
    for path in ("/admin/templates/cangyuan-accidents", "/admin/assignments/accidents"):
        page = unescape(admin.get(path).get_data(as_text=True))
        assert "随时报告" in page and "9999" not in page, path
    browser.login_ok(world["va1"])
    assert post_event(browser, action="save").status_code == 302
    tasks = unescape(browser.get("/reports/").get_data(as_text=True))
    row = tasks.split("第1号事件", 1)[1].split("</tr>", 1)[0]
    assert "随时报告" in row and "9999" not in tasks
    for path in (NEW, "/reports/accidents/VA1/event-2"):
        assert "9999" not in browser.get(path).get_data(as_text=True), path
    other_browser.login_ok(world["ta"])
    assert "9999" not in other_browser.get("/review/accidents/VA1/event-1").get_data(as_text=True)
    browser.post("/language", {"locale": "en", "next": "/reports/"}, token_from="/reports/")
    english = unescape(browser.get("/reports/").get_data(as_text=True))
    assert "Reported as events occur" in english.split("Event 1", 1)[1].split("</tr>", 1)[0]


def test_a_period_of_an_event_assignment_leads_to_its_events(browser, other_browser, world):
    """The per-period consolidation links of an event assignment answer with its events for
    the period's days, never 404; still within the consolidator's scope."""
    browser.login_ok(world["va1"])
    post_event(browser)
    post_event(browser, "/reports/accidents/VA1/event-2", event_at="2024-08-02T08:00")
    other_browser.login_ok(world["ta"])
    base = "/consolidation/accidents/TA"
    merged = other_browser.get(base + "/2024-07/merged.xlsx")
    assert merged.status_code == 302
    assert merged.location.endswith(
        "/review/events/accidents/events.xlsx?since=2024-07-01&until=2024-07-31")
    book = load_workbook(io.BytesIO(other_browser.get(merged.location).data))
    assert [row[2] for row in book.worksheets[0].iter_rows(min_row=4, values_only=True)] \
        == ["第1号事件"]
    flat = other_browser.get(base + "/2024Q3/data.csv", follow_redirects=True)
    lines = list(csv.reader(io.StringIO(flat.data.decode("utf-8-sig"))))
    assert [r[2] for r in lines[1:]] == ["第1号事件", "第2号事件"]
    page = other_browser.get(base + "/event", follow_redirects=True)
    assert page.status_code == 200 and "第2号事件" in unescape(page.get_data(as_text=True))
    assert other_browser.get(base + "/2024-08").location.endswith(
        "/review/events?assignment=accidents&since=2024-08-01&until=2024-08-31")
    assert other_browser.get(base + "/not-a-period/merged.xlsx").status_code == 404
    other = type(browser)(other_browser.client.application.test_client()).login_ok(world["tb"])
    assert other.get(base + "/2024-07/merged.xlsx").status_code == 404


# -- the official workbook of an event ------------------------------------------------------


def event_sheet(data: bytes) -> dict:
    """The event sheet's entries by marker, and the attachments it lists."""
    import openpyxl

    from exports.identity import parse_marker
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["事件"]
    rows = list(sheet.iter_rows(values_only=True))
    entries = {parse_marker(r[0]).field: r[2] for r in rows if parse_marker(r[0]).kind == "e"}
    return {"entries": entries, "rows": rows, "sheet": sheet, "book": book}


def filled_event(data: bytes, **entries) -> bytes:
    import openpyxl

    from exports.identity import parse_marker
    book = openpyxl.load_workbook(io.BytesIO(data))
    for row in book["事件"].iter_rows():
        key = parse_marker(row[0].value).field
        if parse_marker(row[0].value).kind == "e" and key in entries:
            row[2].value = entries[key]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload_workbook(browser, path: str, data: bytes):
    return browser.post(path + "/workbook", {"workbook": (io.BytesIO(data), "event.xlsx")},
                        token_from=path, content_type="multipart/form-data")


def test_the_workbook_of_an_event_carries_its_time_place_and_files(browser, world, session):
    browser.login_ok(world["va1"])
    assert post_event(browser, action="save", files=[("现场.png", png())]).status_code == 302
    download = browser.get(NEW + "/workbook.xlsx")
    assert download.status_code == 200
    found = event_sheet(download.data)
    assert found["entries"] == {"at": "2024-07-01 09:30", "location": "勐董镇",
                                "latitude": None, "longitude": None}
    listed = [r for r in found["rows"] if r[1] == "现场.png"]
    assert listed and listed[0][3] == "PNG" and listed[0][2].endswith("MB")
    assert any("网页" in str(cell) for row in found["rows"] for cell in row if cell)
    sheet = found["sheet"]
    assert sheet.protection.sheet and not sheet["C2"].protection.locked
    # filled in Excel and uploaded: the time (Beijing) and place are stored, the file stays
    response = upload_workbook(browser, NEW, filled_event(
        download.data, at="2024-06-30 18:05", location="芒卡镇", latitude="23.1",
        longitude="99.2"))
    assert response.status_code == 200, unescape(response.get_data(as_text=True))[:3000]
    report = stored(session)
    assert report.revision == 2
    assert report.event_at.astimezone(UTC) == datetime(2024, 6, 30, 10, 5, tzinfo=UTC)
    assert report.event["location"] == "芒卡镇" and report.event["latitude"] == "23.1"
    assert [a["name"] for a in report.event["attachments"]] == ["现场.png"]
    assert event_sheet(browser.get(NEW + "/workbook.xlsx").data)["entries"]["at"] \
        == "2024-06-30 18:05"


def test_a_bad_time_in_the_workbook_changes_nothing(browser, world, session):
    browser.login_ok(world["va1"])
    assert post_event(browser, action="save").status_code == 302
    data = browser.get(NEW + "/workbook.xlsx").data
    for at, message in (("昨天下午", "“昨天下午”"), ("", "须填写事件发生时间"),
                        ("2099-01-01 08:00", "晚于现在")):
        response = upload_workbook(browser, NEW, filled_event(data, at=at, location="芒卡镇"))
        page = unescape(response.get_data(as_text=True))
        assert response.status_code == 422, at
        assert "事件发生时间" in page and message in page, (at, page[:3000])
        report = stored(session)
        assert report.revision == 1 and report.event["location"] == "勐董镇"


def test_a_new_event_can_be_filed_from_its_workbook(browser, world, session):
    browser.login_ok(world["va1"])
    data = browser.get(NEW + "/workbook.xlsx").data
    assert event_sheet(data)["entries"]["at"] is None
    filled = filled_event(data, at=datetime(2024, 7, 3, 16, 45))  # typed as an Excel date
    response = upload_workbook(browser, NEW, filled)
    assert response.status_code == 200, unescape(response.get_data(as_text=True))[:3000]
    report = stored(session)
    assert report.event_at.astimezone(UTC) == datetime(2024, 7, 3, 8, 45, tzinfo=UTC)
    assert report.event["attachments"] == []


# -- files chosen for a refused event are kept ----------------------------------------------


def pending_values(page: str) -> list[str]:
    return re.findall(r'name="event_pending" value="([^"]+)"', page)


def test_a_refused_event_keeps_the_chosen_photo_for_the_next_save(browser, world, session):
    browser.login_ok(world["va1"])
    refused = post_event(browser, event_at="", files=[("现场.png", png()), ("病毒.exe", b"MZ")])
    page = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and stored(session) is None
    assert "现场.png" in page and "已附上" in page and "病毒.exe" not in page.split(
        'class="event-attachments event-pending"', 1)[1].split("</ul>", 1)[0]
    kept = pending_values(page)
    assert len(kept) == 1
    # refused once more without choosing the file again: still kept, once
    again = unescape(post_event(browser, event_at="明天", event_pending=kept)
                     .get_data(as_text=True))
    assert pending_values(again) == kept
    fixed = post_event(browser, event_pending=kept)
    assert fixed.status_code == 302, unescape(fixed.get_data(as_text=True))[:3000]
    report = stored(session)
    assert [a["name"] for a in report.event["attachments"]] == ["现场.png"]
    attachment = report.event["attachments"][0]
    assert attachment["size"] == len(png()) and attachment["content_type"] == "image/png"
    assert browser.get(f"{NEW}/files/{attachment['id']}").data == png()


def test_a_pending_file_cannot_be_claimed_elsewhere(browser, other_browser, world, session):
    browser.login_ok(world["va1"])
    kept = pending_values(unescape(post_event(browser, event_at="", files=[("现场.png", png())])
                                   .get_data(as_text=True)))
    assert len(kept) == 1
    # another unit sends the signed token with its own event: nothing is attached
    other_browser.login_ok(world["va2"])
    response = post_event(other_browser, "/reports/accidents/VA2/event-1", event_pending=kept)
    assert response.status_code == 302
    assert stored(session).event["attachments"] == []
    # the same token for another event of the same unit is not accepted either
    assert post_event(browser, event_pending=kept).status_code == 302  # event-1 gets it
    assert post_event(browser, "/reports/accidents/VA1/event-2", event_pending=kept,
                      ).status_code == 302
    session.expire_all()
    second = session.scalar(select(Report).where(Report.period == "event-2",
                                                 Report.unit_id == world["va1"].unit_id))
    assert second.event["attachments"] == []
    # and a pending file expires
    with browser.client.application.test_request_context():
        view = reporting.load(session, world["va1"], "accidents", "VA1", "event-3")
        token = kept[0].split(".", 1)[0]
        re_signed = event_service.pending_token(view, token)
        later = datetime.now(UTC) + event_service.PENDING_FOR + event_service.PENDING_FOR
        assert event_service.claim_pending(session, world["va1"], view, [re_signed]) != []
        assert event_service.claim_pending(session, world["va1"], view, [re_signed],
                                           now=later) == []
        assert event_service.claim_pending(session, world["va2"], view, [re_signed]) == []


DEATHS_WARNING = """
rules:
- key: r_deaths
  expr: deaths <= 0
  severity: warning
  message: 有人员死亡，请在备注中说明善后情况
  message_en: People died; say in the remarks what was done
"""


def test_an_event_with_an_open_warning_is_confirmed_first(browser, session, tree, make_user,
                                                           tmp_path):
    """Sent at once without warnings; with one still open, the same confirmation page as a
    periodic report, then sent from it."""
    template = tmp_path / "accidents.yaml"
    template.write_text(ACCIDENTS.read_text(encoding="utf-8") + DEATHS_WARNING, encoding="utf-8")
    with unit_of_work(session):
        load_files(session, [template])
        assignment_service.create_assignment(
            session, key="accidents", template=get_version(session, "cangyuan-accidents", 1),
            root=tree["TA"])
    browser.login_ok(make_user("va1", unit=tree["VA1"]))

    plain = post_event(browser)
    assert plain.status_code == 302 and stored(session).status == "submitted"

    second = "/reports/accidents/VA1/event-2"
    asked = post_event(browser, second, f_deaths="1", remarks="一人送医后不治，已通知家属。")
    assert asked.status_code == 200, asked.get_data(as_text=True)[:2000]
    html = unescape(asked.get_data(as_text=True))
    assert "确认提交报表？" in html and 'class="card confirm-submit"' in html
    assert "有人员死亡，请在备注中说明善后情况" in html.split('class="confirm-warnings"', 1)[1]
    report = stored(session, "event-2")
    assert (report.status, report.revision) == ("draft", 1)  # saved, not sent

    confirmed = browser.post(second + "/submit", {"revision": "1"}, token_from=second)
    assert confirmed.status_code == 302
    assert stored(session, "event-2").status == "submitted"


def test_pending_files_that_expired_unclaimed_are_deleted_by_the_hourly_clean_up(
        app, browser, world, session):
    browser.login_ok(world["va1"])
    claimed = pending_values(unescape(post_event(browser, event_at="", files=[
        ("现场.png", png())]).get_data(as_text=True)))
    assert post_event(browser, event_pending=claimed).status_code == 302  # event-1 attaches it
    second = "/reports/accidents/VA1/event-2"
    forgotten = pending_values(unescape(post_event(browser, second, event_at="", files=[
        ("通报.pdf", pdf())]).get_data(as_text=True)))
    assert len(claimed) == len(forgotten) == 1
    kept = claimed[0].split(".", 1)[0]
    assert count(session, StoredFile) == 2
    # The clean-up is one of the worker's periodic tasks.
    periodic = {task.name for task in jobs_of(app).huey._registry.periodic_tasks}
    assert "clean_up_pending_files_every_hour" in periodic

    start = datetime.now(UTC)
    with app.app_context():
        with time_machine.travel(start + event_service.PENDING_FOR - timedelta(hours=1)):
            assert background.clean_up_pending_files() == 0  # still claimable
        with time_machine.travel(start + event_service.PENDING_FOR + timedelta(hours=1)):
            assert background.clean_up_pending_files() == 1
    session.expire_all()
    assert session.scalars(select(StoredFile.token)).all() == [kept]  # row and bytes gone
    attachment = stored(session).event["attachments"][0]
    assert attachment["id"] == kept
    assert browser.get(f"{NEW}/files/{kept}").data == png()  # the attached one stays
    # Once expired, the forgotten file's token attaches nothing.
    assert post_event(browser, second, event_pending=forgotten).status_code == 302
    assert stored(session, "event-2").event["attachments"] == []
