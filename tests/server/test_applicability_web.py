"""Applicability on the web form: what does not apply is hidden, skipped and said so."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from form_reader import FormReader
from pages import text
from sqlalchemy import select

from server.db import unit_of_work
from server.models.reporting import Report
from server.services import assignments as assignment_service
from server.services.templates import get_version, load_files
from server.services.units import set_tags

APPLIES = Path(__file__).resolve().parents[1] / "forms" / "applies.yaml"
CHEM = "/reports/applies/VA1/2024Q2"
PLAIN = "/reports/applies/VA2/2024Q2"
BASE = {"f_reporter": "王五", "f_phone": "13900000009", "f_found": "4"}


@pytest.fixture
def world(session, tree, make_user):
    """VA1 is tagged 危化, VA2 is not; both owe the applies-sample report to TA."""
    set_tags(session, tree["VA1"], "危化、有限空间")
    session.commit()
    with unit_of_work(session):
        load_files(session, [APPLIES])
        assignment_service.create_assignment(
            session, key="applies", template=get_version(session, "applies-sample", 1),
            root=tree["TA"])
    return {"chem": make_user("va1", unit=tree["VA1"]), "plain": make_user("va2", unit=tree["VA2"])}


def send(browser, path, action="save", **changes):
    page = browser.get(path)
    fields = FormReader(page.get_data(as_text=True)).fields
    return browser.post(path, {**fields, **changes, "action": action})


def stored(session, code) -> Report:
    session.expire_all()
    return session.scalars(select(Report)).all()[-1] if code is None else next(
        r for r in session.scalars(select(Report)) if r.unit.code == code)


def test_a_section_that_does_not_apply_is_never_drawn(browser, world):
    browser.login_ok(world["plain"])
    html = text(browser.get(PLAIN))
    assert "共性工作" in html
    assert "危险化学品" not in html and 'name="f_chem_sites"' not in html


def test_a_section_that_applies_is_drawn(browser, world):
    browser.login_ok(world["chem"])
    html = text(browser.get(CHEM))
    assert "危险化学品" in html and 'name="f_chem_sites"' in html


def test_details_carry_a_hint_and_the_table_the_script_reads(browser, world):
    browser.login_ok(world["plain"])
    page = browser.get(PLAIN, headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    details = re.search(r'<div class="applies-part" data-applies-target="field-committee_members"'
                        r' data-applies-off>', html)
    assert details, "unanswered question: the details start off"
    assert "Asked only when “是否成立安全生产委员会” is “Yes”" in unescape(html)
    data = json.loads(unescape(re.search(r'data-applies="([^"]*)"', html).group(1)))
    assert {"target": "field-committee_members", "inputs": ["f_has_committee"],
            "holds": ["yes"]} in data["conditions"]
    assert {"target": "field-major_plan", "inputs": ["f_level"],
            "holds": ["major"]} in data["conditions"]


def test_saving_leaves_out_what_does_not_apply_and_says_so(browser, session, world):
    browser.login_ok(world["plain"])
    response = send(browser, PLAIN, **BASE, f_has_committee="no", f_committee_members="不涉及",
                    f_chem_sites="0")
    assert response.status_code == 302
    page = text(browser.get(PLAIN))
    assert "不适用于" in page and "委员会成员" in page and "整治储存场所" in page
    report = stored(session, "VA2")
    assert "committee_members" not in report.values and "chem_sites" not in report.values
    assert report.values["has_committee"] is False


def test_details_after_yes_are_kept_and_required(browser, session, world):
    browser.login_ok(world["plain"])
    response = send(browser, PLAIN, "submit", **BASE, f_has_committee="yes")
    assert response.status_code == 422
    assert "委员会成员" in text(response)
    response = send(browser, PLAIN, "submit", **BASE, f_has_committee="yes",
                    f_committee_members="7")
    assert response.status_code == 302
    assert stored(session, "VA2").values["committee_members"] == 7


def test_a_unit_it_applies_to_must_answer_the_section(browser, session, world):
    browser.login_ok(world["chem"])
    refused = send(browser, CHEM, "submit", **BASE, f_has_committee="no")
    assert refused.status_code == 422 and "整治储存场所" in text(refused)
    browser_ok = send(browser, CHEM, "submit", **BASE, f_has_committee="no", f_chem_sites="3")
    assert browser_ok.status_code == 302
    assert stored(session, "VA1").values["chem_sites"] == 3


def test_the_read_only_page_says_not_applicable(browser, session, world, make_user):
    browser.login_ok(world["plain"])
    send(browser, PLAIN, "submit", **BASE, f_has_committee="no")
    page = text(browser.get(PLAIN, headers={"Accept-Language": "en"}))
    assert "Not applicable" in page and "危险化学品" not in page


def test_the_printed_form_marks_what_does_not_apply(browser, session, world):
    browser.login_ok(world["plain"])
    send(browser, PLAIN, **BASE, f_has_committee="no")
    page = text(browser.get(PLAIN + "/print"))
    assert "危险化学品（不适用）" in page
    assert "委员会成员：不适用" in page
