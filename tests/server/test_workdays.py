"""Due dates that know the calendar: an assignment may move a due date that falls on a
weekend or public holiday to the next working day, from the chinese-calendar package's
days plus the days administrators add (holidays and 调休 working days, with reasons)."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime

import pytest
from api_helpers import api_get, token_for
from pages import EN, text

from forms.loader import CATALOG_DIR, load_definition
from forms.workdays import OFFICIAL_YEARS, WorkCalendar, next_working_day
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import reporting, workdays
from server.services import templates as template_service
from server.services.errors import InvalidInput

QUARTERLY = CATALOG_DIR / "000_chidian_progress.yaml"  # due the 5th after the quarter
HALF_YEARLY = CATALOG_DIR / "004_siping_summary.yaml"  # due 6月10日 / 12月10日


def published(session, path):
    definition = load_definition(path)
    with unit_of_work(session):
        result = template_service.publish(session, definition, origin="catalog")
    return template_service.get_version(session, result.key, result.version)


@pytest.fixture
def quarterly(session, tree, make_assignment):
    template = published(session, QUARTERLY)

    def make(key: str, shift: bool):
        return make_assignment(key, template, tree["TA"], shift_to_workday=shift)

    return make


def test_the_package_knows_2026_national_day_and_its_working_days():
    """What the pinned chinese-calendar says (1.11.0 has 2026): 10月1日–7日 off, the 8th
    (a Thursday) a working day, and Saturday 10月10日 a 调休 working day."""
    assert 2026 in OFFICIAL_YEARS
    calendar = WorkCalendar()
    off = [calendar.day(date(2026, 10, d)) for d in range(1, 8)]
    assert {(d.workday, d.reason) for d in off} == {(False, "国庆节")}
    assert calendar.is_working_day(date(2026, 10, 8))
    assert calendar.day(date(2026, 10, 10)).workday  # a Saturday worked for 国庆
    assert calendar.day(date(2026, 10, 10)).source == "official"


def test_2026q3_moves_to_the_next_working_day_only_when_the_assignment_says_so(
        app, session, quarterly):
    moved = quarterly("cd-moved", shift=True)
    kept = quarterly("cd-kept", shift=False)
    assert assignment_service.due_date(kept, "2026Q3") == date(2026, 10, 5)
    assert assignment_service.due(kept, "2026Q3").shift is None
    found = assignment_service.due(moved, "2026Q3")
    assert found.date == date(2026, 10, 8)
    assert found.shift.original == date(2026, 10, 5)
    with app.test_request_context():
        assert found.reason("zh_CN") == "10月5日为国庆节假期，顺延至10月8日。"
        assert found.reason("en") == ("Oct 5 falls in the National Day holiday; the due date "
                                      "moves to Oct 8.")
    # 2026Q1 is due 4月5日, a Sunday inside 清明 (4月4日–6日): the 7th.
    assert assignment_service.due_date(moved, "2026Q1") == date(2026, 4, 7)
    # 2024Q2 is due 7月5日 2024, a Friday: it stays.
    assert assignment_service.due(moved, "2024Q2").shift is None


def test_a_working_day_due_date_stays(session, tree, make_assignment):
    template = published(session, HALF_YEARLY)
    assignment = make_assignment("sp", template, tree["TA"], shift_to_workday=True)
    assert assignment_service.due(assignment, "2025H1") == assignment_service.Due(
        date(2025, 6, 10))  # a Tuesday


def test_a_holiday_an_administrator_adds_in_a_year_the_package_does_not_know_moves_a_date(
        app, session, quarterly, make_user):
    """2030 is beyond the package; 10月5日 2030 is a Saturday, so the weekend rule alone
    moves it to Monday the 7th. The administrator's 国庆 (1日–7日) moves it to the 8th."""
    assert 2030 not in OFFICIAL_YEARS
    admin = make_user("boss", Role.ADMIN)
    moved = quarterly("cd-moved", shift=True)  # due() reads any period of the frequency
    assert assignment_service.due(moved, "2030Q3").date == date(2030, 10, 7)
    with unit_of_work(session):
        for day in range(1, 8):
            workdays.set_day(session, date(2030, 10, day), workday=False, reason="国庆节",
                             reason_en="National Day", user=admin)
    found = assignment_service.due(moved, "2030Q3")
    assert found.date == date(2030, 10, 8)
    assert found.shift.because.source == "admin"
    with app.test_request_context():
        assert found.reason("zh_CN") == "10月5日为国庆节假期，顺延至10月8日。"


def test_a_tiaoxiu_working_saturday_is_a_working_day(session, quarterly):
    """Beyond the package, an administrator declares Saturday 2030-01-05 a 调休 working
    day: the 2029Q4 due date (1月5日 2030) stays on it instead of moving to Monday."""
    moved = quarterly("cd-moved", shift=True)
    assert date(2030, 1, 5).weekday() == 5
    assert assignment_service.due_date(moved, "2029Q4") == date(2030, 1, 7)
    with unit_of_work(session):
        workdays.set_day(session, date(2030, 1, 5), workday=True, reason="元旦调休上班")
    assert assignment_service.due(moved, "2029Q4") == assignment_service.Due(date(2030, 1, 5))
    # The package's own 调休: Saturday 2026-10-10 is worked.
    assert next_working_day(date(2026, 10, 10), workdays.calendar_of(session)) is None


def test_an_administrator_manages_the_calendar_on_its_page_and_by_csv(
        browser, make_user, session):
    make_user("boss", Role.ADMIN)
    browser.login_ok("boss")
    response = browser.post("/admin/calendar", {"day": "2031-10-03", "kind": "holiday",
                                                "reason": "国庆节", "reason_en": "National Day"})
    assert response.status_code == 302
    page = text(browser.get("/admin/calendar?year=2031"))
    assert "2031-10-03" in page and "国庆节" in page
    refused = browser.post("/admin/calendar", {"day": "2031-10-04", "kind": "holiday",
                                               "reason": ""}, headers=EN)
    assert refused.status_code == 400
    assert "Say why" in html.unescape(refused.get_data(as_text=True))
    with unit_of_work(session):
        result = workdays.import_csv(session, "日期,类型,原因\n2031-10-11,班,国庆节调休上班\n"
                                              "2031-10-06,休,国庆节\n")
    assert result.added == 2
    assert [(e.day, e.workday) for e in workdays.entries(session, 2031)] == [
        (date(2031, 10, 3), False), (date(2031, 10, 6), False), (date(2031, 10, 11), True)]
    with pytest.raises(InvalidInput):
        workdays.import_csv(session, "2031-10-12,maybe,x\n")
    response = browser.post("/admin/calendar/remove", {"day": "2031-10-03"},
                            token_from="/admin/calendar")
    assert response.status_code == 302
    session.expire_all()
    assert date(2031, 10, 3) not in {e.day for e in workdays.entries(session)}


def test_tasks_page_and_api_show_the_moved_date_and_why(
        client, browser, session, tree, quarterly, make_user, monkeypatch):
    from server.api import tasks as api_tasks

    quarterly("cd-moved", shift=True)
    village = make_user("va1", Role.SUBMITTER, tree["VA1"])
    now = datetime(2026, 10, 2, 2, tzinfo=UTC)
    monkeypatch.setattr(reporting, "utcnow", lambda: now)
    monkeypatch.setattr(api_tasks, "utcnow", lambda: now)
    token = token_for(session, village)
    found = api_get(client, "/api/v1/tasks?period=2026Q3", token).get_json()
    item = next(t for t in found["items"] if t["period"] == "2026Q3")
    assert item["due"] == "2026-10-08"
    assert item["due_moved_from"] == "2026-10-05"
    assert item["due_note"] == "10月5日为国庆节假期，顺延至10月8日。"
    browser.login_ok("va1")
    page = text(browser.get("/reports/"))
    assert "10月5日为国庆节假期，顺延至10月8日。" in page


def test_the_cli_imports_days_from_csv_and_lists_them(app, tmp_path, monkeypatch, session):
    from server.cli import cli

    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    file = tmp_path / "2032.csv"
    file.write_text("date,kind,reason,reason_en\n2032-10-01,holiday,国庆节,National Day\n"
                    "2032-10-09,workday,国庆节调休上班,\n", encoding="utf-8-sig")
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["calendar", "import", str(file)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 days saved in the calendar."
    listed = runner.invoke(cli, ["calendar", "list", "--year", "2032"]).output.splitlines()
    assert listed == ["2032-10-01\tholiday\t国庆节\tNational Day",
                      "2032-10-09\tworkday\t国庆节调休上班"]
    file.write_text("2032-10-02,someday,x\n", encoding="utf-8")
    refused = runner.invoke(cli, ["calendar", "import", str(file)])
    assert refused.exit_code == 1
    assert "Line 1: the second column is holiday" in refused.output


def test_the_report_form_and_the_assignment_page_say_why_the_date_moved(
        browser, other_browser, session, tree, quarterly, make_user):
    quarterly("cd-moved", shift=True)
    make_user("boss", Role.ADMIN)
    make_user("va1", Role.SUBMITTER, tree["VA1"])
    admin = other_browser.login_ok("boss")
    detail = text(admin.get("/admin/assignments/cd-moved"))
    assert "10月5日为国庆节假期，顺延至10月8日。" in detail
    browser.login_ok("va1")
    form = text(browser.get("/reports/cd-moved/VA1/2026Q3"))
    assert "2026年10月8日" in form and "10月5日为国庆节假期，顺延至10月8日。" in form


def test_the_official_workbook_and_the_reminders_say_why_the_date_moved(
        app, browser, session, tree, quarterly, make_user):
    import io

    import openpyxl
    from sqlalchemy import select

    from forms.periods import SHANGHAI
    from server.models import Notification
    from server.services import reminders

    moved = quarterly("cd-moved", shift=True)
    kept = quarterly("cd-kept", shift=False)
    make_user("va1", Role.SUBMITTER, tree["VA1"])
    browser.login_ok("va1")

    def lines(path: str) -> list[str]:
        response = browser.get(path)
        assert response.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
        return [c for row in sheet.iter_rows(values_only=True) for c in row
                if isinstance(c, str) and c.startswith("截止")]

    assert lines("/reports/cd-moved/VA1/2026Q3/workbook.xlsx") == [
        "截止 2026年10月8日（10月5日为国庆节假期，顺延至10月8日）"]
    assert lines("/reports/cd-kept/VA1/2026Q3/workbook.xlsx") == ["截止 2026年10月5日"]

    # 3 days before the moved date (the 8th) is the 5th: the reminder says why.
    with app.app_context(), unit_of_work(session):
        reminders.run(session, now=datetime(2026, 10, 5, 10, tzinfo=SHANGHAI))
    found = {n.assignment_key: n for n in session.scalars(
        select(Notification).where(Notification.channel == "app",
                                   Notification.unit_code == "VA1",
                                   Notification.period == "2026Q3"))}
    assert "截止日期 2026年10月8日" in found["cd-moved"].subject
    assert "10月5日为国庆节假期，顺延至10月8日。" in found["cd-moved"].text
    assert found["cd-moved"].step == "before-3"
    kept_text = found["cd-kept"]  # due that very day, and not moved
    assert kept_text.step == "due" and "顺延" not in kept_text.text
    with app.test_request_context():
        chase = reminders.copy_text(moved, "2026Q3", [tree["VA1"]],
                                    now=datetime(2026, 10, 9, 2, tzinfo=UTC))
        plain = reminders.copy_text(kept, "2026Q3", [tree["VA1"]],
                                    now=datetime(2026, 10, 9, 2, tzinfo=UTC))
    assert "截止日期 2026年10月8日）。 10月5日为国庆节假期，顺延至10月8日。 已逾期 1 天" in chase
    assert "顺延" not in plain


def test_an_administrator_uploads_days_as_csv_on_the_calendar_page(
        browser, other_browser, make_user, session, tree):
    import io

    from sqlalchemy import select

    from server.models import AuditEvent

    make_user("boss", Role.ADMIN)
    make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])
    browser.login_ok("boss")
    assert 'action="/admin/calendar/import"' in browser.get("/admin/calendar").get_data(
        as_text=True)

    def upload(data: bytes, name: str = "2033.csv", by=browser, **headers):
        return by.post("/admin/calendar/import", {"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers=headers,
                       token_from="/reports/")

    # GB18030, as Excel saves a CSV on a Chinese Windows; with a header row.
    saved = upload("日期,类型,原因\n2033-10-03,休,国庆节\n2033-10-08,班,国庆节调休上班\n"
                   .encode("gb18030"))
    assert saved.status_code == 302
    assert "已保存2天到日历。" in text(browser.get(saved.headers["Location"]))
    assert [(e.day, e.workday, e.reason) for e in workdays.entries(session, 2033)] == [
        (date(2033, 10, 3), False, "国庆节"), (date(2033, 10, 8), True, "国庆节调休上班")]
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.kind == "calendar_imported"))
    assert event.actor_id is not None and event.details["days"] == ["2033-10-03",
                                                                     "2033-10-08"]

    wrong = upload(b"2033-10-04,holiday,x\n2033-10-05,maybe,x\n")  # all or nothing
    assert wrong.status_code == 400
    assert "第2行：第二列应为 holiday（休）或 workday（班）。" in text(wrong)
    refused = upload(b"2033-10-04,holiday,x\n2033-10-05,maybe,x\n", **EN)
    assert "Line 2: the second column is holiday" in html.unescape(text(refused))
    big = upload(b"2033-10-04,holiday,x\n" * 20000, **EN)
    assert big.status_code == 400 and "larger than 256 KB" in html.unescape(text(big))
    binary = upload(b"\x89PNG\r\n\x1a\n\xff\xfe\x00", "x.csv", **EN)
    assert binary.status_code == 400
    assert "not a CSV text file" in html.unescape(text(binary))
    other = upload(b"2033-10-04,holiday,x\n", "days.xlsx", **EN)
    assert other.status_code == 400 and "Only .csv files" in html.unescape(text(other))
    assert len(workdays.entries(session, 2033)) == 2
    assert session.scalar(select(AuditEvent.id).where(
        AuditEvent.kind == "calendar_imported", AuditEvent.id != event.id)) is None

    other_browser.login_ok("ta-hz")
    assert upload(b"2033-10-04,holiday,x\n", by=other_browser).status_code == 403
