"""An event in a real browser: a village files an accident with a photo from its task
list, and its town's consolidator sees it in the list of events as it arrives."""

from __future__ import annotations

import pytest
from event_samples import png
from playwright.sync_api import expect
from reporting_setup import PASSWORD, person, submit

from forms.loader import CATALOG_DIR
from server.db import db_session, unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services.accounts import create_user
from server.services.templates import latest, load_files
from server.services.units import create_unit

pytestmark = pytest.mark.browser

ASSIGNMENT, TOWN, VILLAGE = "ev-accidents", "EV", "EV-V1"
TOWN_USER, VILLAGE_USER = "ev-town", "ev-village"


@pytest.fixture(scope="module")
def assigned(live_server) -> None:
    with live_server.app.app_context():
        session = db_session()
        with unit_of_work(session):
            load_files(session, [CATALOG_DIR / "003_cangyuan_accidents.yaml"])
            town = create_unit(session, TOWN, "勐董镇", "town", contact_name="张三",
                               contact_phone="13800000031")
            village = create_unit(session, VILLAGE, "永和村", "village", town,
                                  contact_name="岩恩", contact_phone="13800000032")
            create_user(session, TOWN_USER, PASSWORD, Role.CONSOLIDATOR, town)
            create_user(session, VILLAGE_USER, PASSWORD, Role.SUBMITTER, village)
            assignment_service.create_assignment(
                session, key=ASSIGNMENT, template=latest(session, "cangyuan-accidents"),
                root=town)


def test_a_village_files_an_event_with_a_photo_and_the_town_sees_it(
        chromium, live_server, assigned, tmp_path):
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(png(40, 30))
    with (person(chromium, live_server.url, VILLAGE_USER, 1280) as village,
          person(chromium, live_server.url, TOWN_USER, 1280) as town):
        village.goto("/reports/")
        village.get_by_role("link", name="报告新事件").click()
        village.locator("#event_at").fill("2024-07-01T09:30")
        village.locator("#event_location").fill("永和村茶叶初制所")
        village.locator("#event_files").set_input_files(str(photo))
        village.locator("#f_kind").select_option("machinery")
        village.locator("#f_deaths").fill("0")
        village.locator("#f_injured").fill("1")
        village.locator("#f_description").fill("揉捻机卷手，一人轻伤。")
        submit(village)
        expect(village.locator(".alert-success").first).to_contain_text("报表已提交至勐董镇")
        expect(village.locator(".event-attachments")).to_contain_text("现场照片.png")

        town.goto("/review/events")
        row = town.locator("table.events-list tbody tr").first
        expect(row).to_contain_text("永和村")
        expect(row).to_contain_text("2024-07-01 09:30")
        expect(row.locator("td.num")).to_have_text("1")
        row.get_by_role("link").click()
        expect(town.locator(".event-panel")).to_contain_text("永和村茶叶初制所")
        link = town.get_by_role("link", name="现场照片.png").get_attribute("href")
        answer = town.request.get(link)  # with the town's cookies
        assert answer.ok and answer.body() == photo.read_bytes()
        assert answer.headers["content-disposition"].startswith("attachment")
