"""The submitter on a phone and on a desktop (issue 18): the form first, every problem of a
save at once, drafts that save themselves (also across a lost connection), a confirmed
submission and a withdrawal; and an axe-core scan of the submitter's pages.

Each width has a village of its own, so the journeys do not share a report. Screenshots
go to test-artifacts/screenshots/submitter-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from reporting_setup import (
    LAST_QUARTER,
    PASSWORD,
    file_report,
    fits_the_screen,
    in_time,
    person,
    progress_periods,
    sign_in,
)

from server.db import db_session, unit_of_work
from server.models import Role
from server.models.accounts import User
from server.models.reporting import Report
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.accounts import create_user

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ASSIGNMENT, TOWN = "su-chidian", "SU"
KEPT_DRAFTS = "Object.keys(localStorage).filter(k => k.startsWith('tianbao-draft:')).length"
VILLAGES = {360: ("SU-V1", "su-phone"), 1280: ("SU-V2", "su-desktop")}
DRAFTS = ("SU-V3", "su-drafts")  # a village of its own for the kept-draft conflict


@pytest.fixture(scope="module")
def current(live_server) -> str:
    """The running quarter; each village's last quarter is approved (150 trainees, …)."""
    with live_server.app.app_context():
        session = db_session()
        with unit_of_work(session):
            template, begun = progress_periods(session)
            town = create_unit_with_contact(session, TOWN, "苏坑镇", None)
            reviewer = create_user(session, "su-town", PASSWORD, Role.CONSOLIDATOR, town)
            previous, current = begun[-2], begun[-1]
            villages = []
            for code, username in (*VILLAGES.values(), DRAFTS):
                unit = create_unit_with_contact(session, code, f"{code}村", town)
                villages.append((code, create_user(session, username, PASSWORD,
                                                   Role.SUBMITTER, unit)))
            assignment = assignment_service.create_assignment(
                session, key=ASSIGNMENT, template=template, root=town, first=previous)
            for code, reporter in villages[:len(VILLAGES)]:
                file_report(session, reporter, ASSIGNMENT, code, previous,
                            {"reporter": "周九", "phone": "13800000037", **LAST_QUARTER},
                            now=in_time(assignment, previous), approver=reviewer)
    return current


def create_unit_with_contact(session, code, name, parent):
    from server.services.units import create_unit

    kind = "town" if parent is None else "village"
    return create_unit(session, code, name, kind, parent, contact_name="周九",
                       contact_phone="13800000037")


def stored(live_server, code: str, period: str) -> Report | None:
    with live_server.app.app_context():
        session = db_session()
        session.expire_all()
        return session.query(Report).filter(
            Report.period == period, Report.unit.has(code=code)).one_or_none()


def in_view(page, selector: str) -> bool:
    return page.evaluate("""(selector) => {
        const box = document.querySelector(selector).getBoundingClientRect();
        return box.top >= -1 && box.top < window.innerHeight;
    }""", selector)


@pytest.mark.parametrize("width", [360, 1280])
def test_the_submitters_journey(chromium, live_server, current, screenshot, width):
    code, username = VILLAGES[width]
    form = f"/reports/{ASSIGNMENT}/{code}/{current}"
    with person(chromium, live_server.url, username, width) as village:
        village.goto(form)
        # The form is the page: the Excel panel comes after it, closed.
        assert village.evaluate("""() => {
            const form = document.querySelector('form.report-form');
            const excel = document.querySelector('.workbook-panel');
            return !!(form.compareDocumentPosition(excel) & Node.DOCUMENT_POSITION_FOLLOWING);
        }""")
        expect(village.locator(".workbook-panel")).not_to_have_attribute("open", "")

        # Five mistakes, one save: all five listed at once, with item numbers.
        village.locator("#f_i01_enterprises").fill("abc")
        village.locator("#f_i02_projects").fill("-3")
        village.locator("#f_i04_principals").fill("5")
        village.locator("#f_i04_covered").fill("9")
        village.locator("#f_i08_workers").fill("10")
        village.locator("#f_i08_certified").fill("12")
        village.locator("#f_i09_hazards_found").fill("很多")
        village.locator("#f_i09_hazards_rectified").fill("3")
        village.locator(".report-actions button[value=save]").click()
        summary = village.locator("#issues")
        expect(summary).to_contain_text("5 处错误")
        items = summary.locator("li.is-error")
        expect(items).to_have_count(5)
        for start in ("第1项 ", "第2项 ", "第4项 ", "第8项 ", "第9项 企业自查发现事故隐患："):
            expect(summary.locator("li", has_text=re.compile("^\\s*" + start))).not_to_have_count(0)
        expect(summary).to_contain_text("未检查：其中已整改，因为企业自查发现事故隐患无法识别。")
        # The page opens at the summary, which has the focus.
        expect(village).to_have_url(re.compile("#issues$"))
        expect(summary).to_be_focused()  # waits: the page's script moves the focus on load
        assert in_view(village, "#issues")
        screenshot(village, f"submitter-five-mistakes-{width}")
        assert fits_the_screen(village)
        assert stored(live_server, code, current) is None  # nothing saved
        # A line of the summary leads to its field.
        summary.locator("a[href='#field-i02_projects']").click()
        expect(village).to_have_url(re.compile("#field-i02_projects$"))

        # Corrected: the draft saves itself a few seconds after typing stops.
        for field, value in (("i01_enterprises", "14"), ("i02_projects", "3"),
                             ("i04_covered", "5"), ("i08_certified", "10"),
                             ("i09_hazards_found", "9"), ("i05_trainees", "180")):
            village.locator(f"#f_{field}").fill(value)
        status = village.locator("#autosave-status")
        expect(status).to_have_text(re.compile(r"^已自动保存 \d\d:\d\d$"), timeout=15_000)
        report = stored(live_server, code, current)
        assert report.values["i01_enterprises"] == 14 and report.revision == 1

        # Offline: kept in the browser, sent when the connection is back.
        village.context.set_offline(True)
        village.locator("#f_i01_enterprises").fill("16")
        expect(status).to_contain_text("尚未保存", timeout=15_000)
        assert village.evaluate(KEPT_DRAFTS), "the draft was not kept in the browser"
        assert stored(live_server, code, current).values["i01_enterprises"] == 14
        village.context.set_offline(False)
        village.evaluate("window.dispatchEvent(new Event('online'))")
        expect(status).to_contain_text("已自动保存", timeout=15_000)
        assert stored(live_server, code, current).values["i01_enterprises"] == 16
        assert village.evaluate(KEPT_DRAFTS) == 0

        # Submitting asks to confirm first, showing the warning still open: 其中已整改 fell
        # from last quarter's 6 to 3, explained beside the figure.
        village.locator("#note-i09_hazards_rectified").fill("上季度误将在建项目计入，已核减。")
        village.locator(".report-actions button[value=confirm]").click()
        expect(village.locator(".confirm-submit")).to_be_visible()
        expect(village.locator("h1")).to_contain_text("确认提交报表？")
        expect(village.locator(".confirm-warnings")).to_contain_text(
            "第9项 其中已整改：其中已整改为累计数")
        screenshot(village, f"submitter-confirm-{width}")
        assert fits_the_screen(village)
        assert stored(live_server, code, current).status == "draft"
        village.locator(".confirm-submit button[type=submit]").click()
        expect(village.locator(".report-meta")).to_contain_text("已报送")

        # Withdrawn before the town reviews it: a draft again, and the history says so.
        village.locator(".withdraw-form button[type=submit]").click()
        expect(village.locator(".report-meta")).to_contain_text("草稿")
        expect(village.locator("form.report-form")).to_be_visible()
        assert stored(live_server, code, current).status == "draft"
        village.goto(form + "/history?a=0&b=2")  # everything entered, before and after
        expect(village.locator(".event-list")).to_contain_text("填报单位撤回")
        expect(village.locator(".diff-table")).to_contain_text("修改前")
        screenshot(village, f"submitter-history-{width}")
        assert fits_the_screen(village), "the history scrolls sideways"
        before = village.locator(".diff-table td.diff-before").first
        box = before.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width + 1


@pytest.mark.parametrize("width", [360, 1280])
def test_the_submitters_pages_have_no_serious_accessibility_violations(
        chromium, live_server, current, width):
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test-browser does) to install "
                    "axe-core at the version package-lock.json pins")
    code, username = VILLAGES[width]
    form = f"/reports/{ASSIGNMENT}/{code}/{current}"
    # axe is injected as a script of the page's own: the scan context lifts the
    # Content-Security-Policy that would (rightly) block it.
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", bypass_csp=True,
                                   viewport={"width": width, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, username)
        found = {}
        for path in ("/reports/", form, form + "/history"):
            page.goto(path)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => await axe.run(document, "
                                   "{resultTypes: ['violations']})")
            serious = [f"{v['id']} ({v['impact']}): {v['help']} — "
                       + "; ".join(n["target"][0] if isinstance(n["target"][0], str)
                                   else str(n["target"]) for n in v["nodes"][:3])
                       for v in result["violations"] if v["impact"] in ("serious", "critical")]
            if serious:
                found[path] = serious
        assert not found, "\n".join(f"{path}: {v}" for path, vs in found.items() for v in vs)
    finally:
        context.close()


def keep_draft(page, base: int, enterprises: str) -> None:
    """Leave a draft of the form in the browser as if typed on revision *base*."""
    page.evaluate("""([base, value]) => {
        const url = document.getElementById('autosave-status').dataset.url;
        const pairs = [];
        new FormData(document.querySelector('form.report-form')).forEach((v, name) => {
            if (typeof v === 'string') {
                pairs.push([name, name === 'f_i01_enterprises' ? value : v]);
            }
        });
        localStorage.setItem('tianbao-draft:' + url,
                             JSON.stringify({pairs: pairs, base: base, at: Date.now()}));
    }""", [base, enterprises])


def test_a_kept_draft_older_than_the_server_is_not_put_into_the_form_unasked(
        chromium, live_server, current, screenshot):
    code, username = DRAFTS
    form = f"/reports/{ASSIGNMENT}/{code}/{current}"
    enterprises = "#f_i01_enterprises"
    with person(chromium, live_server.url, username, 360) as village:
        context = village.context
        village.goto(form)
        village.locator(enterprises).fill("14")
        status = village.locator("#autosave-status")
        expect(status).to_have_text(re.compile(r"^已自动保存"), timeout=15_000)
        assert stored(live_server, code, current).revision == 1

        # Typed offline on revision 1, the page closed before it could be sent ...
        context.set_offline(True)
        village.locator(enterprises).fill("16")
        expect(status).to_contain_text("尚未保存", timeout=15_000)
        village.close()
        context.set_offline(False)
        # ... while the report was saved elsewhere: revision 2.
        with live_server.app.app_context():
            session = db_session()
            with unit_of_work(session):
                user = session.query(User).filter_by(username=username).one()
                view = reporting.load(session, user, ASSIGNMENT, code, current)
                reporting.save(session, user, view, {"reporter": "周九", "phone": "13800000037",
                                                    "i01_enterprises": "20"},
                               expected_revision=1)

        # Reopened: the saved version is shown, and the device's draft is offered.
        page = context.new_page()
        page.goto(form)
        notice = page.locator("#draft-conflict")
        expect(notice).to_be_visible()
        expect(page.locator(enterprises)).to_have_value("20")
        screenshot(page, "submitter-draft-conflict-360")
        assert fits_the_screen(page)
        page.wait_for_timeout(500)  # nothing is sent behind the unit's back
        assert stored(live_server, code, current).values["i01_enterprises"] == 20
        assert page.evaluate(KEPT_DRAFTS) == 1

        # 恢复本机草稿: the draft's values come back; saving applies the usual revision check.
        notice.get_by_role("button", name="恢复本机草稿").click()
        expect(notice).to_be_hidden()
        expect(page.locator(enterprises)).to_have_value("16")
        with page.expect_navigation():
            page.locator(".report-actions button[value=save]").click()
        report = stored(live_server, code, current)
        assert report.values["i01_enterprises"] == 16 and report.revision == 3
        assert page.evaluate(KEPT_DRAFTS) == 0

        # 放弃: an older draft is dropped and the saved version stays.
        keep_draft(page, 2, "99")
        page.reload()
        expect(notice).to_be_visible()
        notice.get_by_role("button", name="放弃").click()
        expect(notice).to_be_hidden()
        expect(page.locator(enterprises)).to_have_value("16")
        assert page.evaluate(KEPT_DRAFTS) == 0
        page.reload()
        expect(notice).to_be_hidden()

        # A draft of the revision shown is restored and sent as before.
        keep_draft(page, 3, "18")
        page.reload()
        expect(page.locator(enterprises)).to_have_value("18")
        expect(page.locator("#autosave-status")).to_contain_text("已自动保存", timeout=15_000)
        expect(notice).to_be_hidden()
        assert stored(live_server, code, current).values["i01_enterprises"] == 18
