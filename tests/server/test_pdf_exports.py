"""The leader's summary and a single report as PDF: the demo town's 汇总表 alone in three
A4 pages or fewer, a village's 21-item report in four or fewer, printed by LibreOffice
with a CJK font; the same scope as the workbooks they print; 503 with a message where
LibreOffice is missing."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import openpyxl
import pytest
from demo_loaded import NOW, PASSWORD, prepared_demo
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import pdf
from server.db import database
from server.models import Role, Unit, User
from server.models.reporting import Report
from server.services import assignments as assignment_service

pytestmark = pytest.mark.slow  # builds the whole demo; most tests run LibreOffice

KEY, TOWN, VILLAGE = "chidian-progress", "CHIDIAN", "CHIDIAN-V01"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not "
                                   "installed: workbooks cannot be printed to PDF here")


@dataclass
class Demo:
    app: Flask
    period: str  # the latest period that has begun: the town's summary
    reported: str  # the latest period the village has a report of
    town_user: str  # a consolidator of 池店镇
    other_user: str  # a consolidator of another jurisdiction
    town_name: str
    village_name: str


def consolidator_of(session: Session, code: str) -> str:
    return session.scalar(select(User.username).join(Unit, User.unit_id == Unit.id)
                          .where(Unit.code == code, User.role == Role.CONSOLIDATOR,
                                 User.active.is_(True)).order_by(User.username).limit(1))


@pytest.fixture(scope="module")
def demo(migrated, tmp_path_factory) -> Iterator[Demo]:
    with prepared_demo(migrated, tmp_path_factory, "zh-CN") as (app, _):
        with Session(database(app).engine) as session:
            assignment = assignment_service.get_assignment(session, KEY)
            latest = assignment_service.open_periods(assignment, NOW.date())[-1]
            reported = session.scalar(
                select(Report.period).join(Unit, Report.unit_id == Unit.id)
                .where(Report.assignment_id == assignment.id, Unit.code == VILLAGE)
                .order_by(Report.period.desc()).limit(1))
            names = dict(session.execute(select(Unit.code, Unit.name)
                                         .where(Unit.code.in_([TOWN, VILLAGE]))).all())
            town_user, other_user = consolidator_of(session, TOWN), consolidator_of(session,
                                                                                     "XUEFENG")
        assert town_user and other_user and reported
        yield Demo(app, latest, reported, town_user, other_user, names[TOWN], names[VILLAGE])


@pytest.fixture
def signed_in(browser_of):
    """A test client of the demo signed in as *username*."""
    return lambda demo, username: browser_of(demo.app).login_ok(username, PASSWORD).client


def summary_url(demo: Demo) -> str:
    return f"/consolidation/{KEY}/{TOWN}/{demo.period}/summary.pdf"


def report_url(demo: Demo) -> str:
    return f"/reports/{KEY}/{VILLAGE}/{demo.reported}/report.pdf"


def get(client, url: str):
    return client.get(url, headers={"Accept-Language": "zh-CN"})


def pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def cjk_font(data: bytes) -> bool:
    """An embedded font that draws Chinese (LibreOffice names the subset XXXXXX+Family)."""
    return re.search(rb"/BaseFont\s*/[A-Z]{6}\+[^/\s]*(CJK|WenQuanYi|Hei|Song|Kai|Ming)",
                     data) is not None


@pytest.fixture
def printed(monkeypatch) -> list[bytes]:
    """The workbooks handed to the converter, which answers with a stand-in PDF."""
    seen: list[bytes] = []

    def convert(xlsx: bytes) -> bytes:
        seen.append(xlsx)
        return b"%PDF-1.4 stand-in"

    monkeypatch.setattr(pdf, "convert", convert)
    return seen


def visible_text(xlsx: bytes) -> tuple[list[str], str]:
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    shown = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
    text = " ".join(str(c.value) for ws in shown for row in ws.iter_rows() for c in row
                    if c.value is not None)
    return [ws.title for ws in shown], text


def test_the_summary_pdf_prints_the_leaders_summary_alone(demo, printed, signed_in):
    client = signed_in(demo, demo.town_user)
    page = get(client, f"/consolidation/{KEY}/{TOWN}/{demo.period}").get_data(as_text=True)
    assert summary_url(demo) in page and "领导阅示汇总表（PDF）" in page
    response = get(client, summary_url(demo))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert quote("汇总表-") in response.headers["Content-Disposition"]
    assert response.data == b"%PDF-1.4 stand-in"
    titles, text = visible_text(printed[0])
    book = openpyxl.load_workbook(io.BytesIO(printed[0]))
    assert book.sheetnames == titles == ["汇总表"]  # no data sheets, nothing hidden either
    assert demo.town_name in text and "（盖章）" in text
    # The query options are those of the merged workbook: strict drops carried figures.
    assert get(client, summary_url(demo) + "?strict=1").status_code == 200
    _titles, strict_text = visible_text(printed[1])
    assert "严格口径：只计入本期报表。" in strict_text
    assert "严格口径：只计入本期报表。" not in text


def test_the_report_pdf_prints_the_official_form(demo, printed, signed_in):
    client = signed_in(demo, demo.town_user)
    review = get(client, f"/review/{KEY}/{VILLAGE}/{demo.reported}")
    assert review.status_code == 200 and report_url(demo) in review.get_data(as_text=True)
    form = get(client, f"/reports/{KEY}/{VILLAGE}/{demo.reported}")
    assert form.status_code == 200 and report_url(demo) in form.get_data(as_text=True)
    response = get(client, report_url(demo))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    titles, text = visible_text(printed[0])
    # The form sheet alone: not its 说明 list, not its very hidden identity and lists.
    assert openpyxl.load_workbook(io.BytesIO(printed[0])).sheetnames == titles
    assert len(titles) == 1 and "说明" not in titles and titles[0].startswith(demo.town_name)
    assert demo.village_name in text and "报送单位（盖章）：" in text
    # The narrow 21-item form is printed upright; its workbook download stays as it was.
    form_sheet = openpyxl.load_workbook(io.BytesIO(printed[0])).worksheets[0]
    assert form_sheet.page_setup.orientation == "portrait"
    assert form_sheet.print_title_rows and "&P" in form_sheet.oddFooter.center.text


def test_the_units_explanations_print_after_the_form(demo, printed, signed_in):
    """A figure the unit explained (a correction, an outlier) prints with its 说明 on a page
    after the form, alone under the column headers: the rows of figures it did not
    explain, and the guide to filling the sheet in, are not printed."""
    note = "村里核实后更正了上季度的重复统计"
    with Session(database(demo.app).engine) as session:
        report = session.scalar(
            select(Report).join(Unit, Report.unit_id == Unit.id)
            .where(Unit.code == VILLAGE, Report.period == demo.reported))
        numeric = [f for f in report.template_version.definition.numeric_fields()
                   if not f.is_calculated]
        explained, before, report_id = numeric[1], report.explanations, report.id
        report.explanations = {explained.key: note}
        session.commit()
    try:
        response = get(signed_in(demo, demo.town_user), report_url(demo))
    finally:
        with Session(database(demo.app).engine) as session:
            session.get(Report, report_id).explanations = before
            session.commit()
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(printed[0]))
    assert [ws.title for ws in book.worksheets] == [book.worksheets[0].title, "说明"]
    notes = book["说明"]
    shown = [[c.value for c in row] for row in notes.iter_rows()
             if not notes.row_dimensions[row[0].row].hidden]
    assert len(shown) == 2  # the column headers and the one explained figure
    assert shown[0][1:6] == ["序号", "指标", "本期数", "上期数", "说明"]
    assert explained.label in shown[1][2] and shown[1][5] == note
    assert notes.page_setup.paperSize is not None and notes.print_title_rows


def test_another_towns_consolidator_gets_404(demo, printed, signed_in):
    client = signed_in(demo, demo.other_user)
    assert get(client, summary_url(demo)).status_code == 404
    assert get(client, report_url(demo)).status_code == 404
    assert printed == []


def test_without_libreoffice_the_answer_is_503_with_a_message(demo, monkeypatch, signed_in):
    monkeypatch.setattr(pdf, "soffice", lambda: None)
    client = signed_in(demo, demo.town_user)
    for url in (summary_url(demo), report_url(demo)):
        response = get(client, url)
        assert response.status_code == 503
        assert "LibreOffice" in response.get_data(as_text=True)
        assert "请改为下载工作簿" in response.get_data(as_text=True)


@needs_soffice
def test_the_town_summary_prints_in_three_pages_with_a_chinese_font(demo, signed_in):
    response = get(signed_in(demo, demo.town_user), summary_url(demo))
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert 1 <= pages(response.data) <= 3
    assert cjk_font(response.data)


@needs_soffice
def test_a_single_report_prints_in_four_pages_with_a_chinese_font(demo, signed_in):
    response = get(signed_in(demo, demo.town_user), report_url(demo))
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert 1 <= pages(response.data) <= 4
    assert cjk_font(response.data)
