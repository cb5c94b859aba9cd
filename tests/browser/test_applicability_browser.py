"""Applicability in a real browser: a company never sees a section that does not apply to
it, one it applies to does; details appear and vanish with the answer they depend on."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from reporting_setup import PASSWORD, person

from server.db import db_session, unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services.accounts import create_user
from server.services.templates import latest, load_files
from server.services.units import create_unit, set_tags

pytestmark = pytest.mark.browser

APPLIES = Path(__file__).resolve().parents[1] / "forms" / "applies.yaml"
ASSIGNMENT = "ap-applies"
CHEM, PLAIN = "AP-C1", "AP-C2"


@pytest.fixture(scope="module")
def period(live_server) -> str:
    """A town with a chemicals company (危化) and a machine shop (no tag), both owing the
    applies-sample report; the period is the first of the schedule."""
    with live_server.app.app_context():
        session = db_session()
        with unit_of_work(session):
            load_files(session, [APPLIES])
            town = create_unit(session, "AP", "示例镇", "town")
            chem = create_unit(session, CHEM, "示例化工有限公司", "company", town)
            plain = create_unit(session, PLAIN, "示例机械有限公司", "company", town)
            set_tags(session, chem, "危化、规模以上")
            create_user(session, "ap-chem", PASSWORD, Role.SUBMITTER, chem)
            create_user(session, "ap-plain", PASSWORD, Role.SUBMITTER, plain)
            assignment = assignment_service.create_assignment(
                session, key=ASSIGNMENT, template=latest(session, "applies-sample"), root=town)
            return assignment_service.assignment_periods(assignment)[0]


def form(unit: str, period: str) -> str:
    return f"/reports/{ASSIGNMENT}/{unit}/{period}"


def test_a_company_never_sees_a_section_that_does_not_apply(chromium, live_server, period):
    with person(chromium, live_server.url, "ap-plain", 1280) as page:
        page.goto(form(PLAIN, period))
        expect(page.get_by_role("heading", name="共性工作")).to_be_visible()
        expect(page.get_by_text("危险化学品")).to_have_count(0)
        expect(page.locator("#f_chem_sites")).to_have_count(0)


def test_a_company_it_applies_to_sees_it(chromium, live_server, period):
    with person(chromium, live_server.url, "ap-chem", 1280) as page:
        page.goto(form(CHEM, period))
        expect(page.get_by_role("heading", name="危险化学品")).to_be_visible()
        expect(page.locator("#f_chem_sites")).to_be_visible()


def test_details_follow_the_answer_they_depend_on(chromium, live_server, period):
    with person(chromium, live_server.url, "ap-plain", 360) as page:
        page.goto(form(PLAIN, period))
        members = page.locator("#f_committee_members")
        expect(members).to_be_hidden()  # not answered yet
        page.locator('input[name="f_has_committee"][value="yes"]').check()
        expect(members).to_be_visible()
        members.fill("5")
        page.locator('input[name="f_has_committee"][value="no"]').check()
        expect(members).to_be_hidden()
        expect(page.locator("#f_major_plan")).to_be_hidden()
        page.locator("#f_level").select_option("major")
        expect(page.locator("#f_major_plan")).to_be_visible()
        page.locator("#f_level").select_option("general")
        expect(page.locator("#f_major_plan")).to_be_hidden()

        # Saved while "no": the hidden figure is not sent, nothing is said to be left out.
        page.locator("#f_found").fill("3")
        page.locator(".report-actions button[value=save]").click()
        expect(page.locator(".flashes")).to_contain_text("已暂存为草稿")
        expect(page.locator(".flashes")).not_to_contain_text("不适用")
        expect(members).to_be_hidden()
        expect(members).to_have_value("")
        # Back to "yes": asked again, empty.
        page.locator('input[name="f_has_committee"][value="yes"]').check()
        expect(members).to_be_visible()
