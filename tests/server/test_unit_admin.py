"""Administration without codes: the unit picker, the unit forms, sample import files and
the uploader of a template version."""

from __future__ import annotations

import csv
import io
from html import unescape

import openpyxl
import pytest
from sqlalchemy import select

from forms.loader import CATALOG_DIR
from server.db import unit_of_work
from server.models import Role, Unit
from server.services import accounts
from server.services import units as unit_service
from server.services.errors import InvalidInput

EN = {"Accept-Language": "en"}


@pytest.fixture
def villages(make_unit):
    """赤甸 town with two villages whose initials collide (cdc), and a company."""
    town = make_unit("CHIDIAN", name="赤甸镇", kind="town")
    return {
        "town": town,
        "v13": make_unit("CHIDIAN-V13", town, name="赤甸村"),
        "v14": make_unit("CHIDIAN-V14", town, name="茶店村"),
        "co": make_unit("CO-1", town, name="ABC化工厂", kind="company"),
        "other": make_unit("ELSE", name="别处", kind="town"),
    }


@pytest.fixture
def admin(make_user):
    return make_user("boss", Role.ADMIN)


def test_initials_are_computed_when_a_unit_is_saved(villages, session):
    assert unit_service.name_initials("赤甸村") == "cdc"
    assert unit_service.name_initials("ABC化工厂") == "abchgc"
    stored = dict(session.execute(select(Unit.code, Unit.initials)).all())
    assert stored["CHIDIAN-V13"] == "cdc" and stored["CHIDIAN"] == "cdz"


def test_import_and_edit_keep_the_initials_current(app, session, villages):
    data = "code,name,kind,parent\nNEW-1,新丰村,village,CHIDIAN\nCO-1,德胜化工,company,CHIDIAN\n"
    with app.test_request_context(), unit_of_work(session):
        assert unit_service.import_units(session, data.encode(), "u.csv").ok
    session.expire_all()
    stored = dict(session.execute(select(Unit.code, Unit.initials)).all())
    assert stored["NEW-1"] == "xfc" and stored["CO-1"] == "dshg"
    with app.test_request_context(), unit_of_work(session):
        unit_service.update_unit(session, unit_service.get_unit(session, "NEW-1"), name="旧丰村")
    assert unit_service.get_unit(session, "NEW-1").initials == "jfc"


@pytest.mark.parametrize(("typed", "code"), [
    ("chidian-v13", "CHIDIAN-V13"),
    ("CHIDIAN-V13", "CHIDIAN-V13"),
    ("  Chidian-V14 ", "CHIDIAN-V14"),
    ("茶店村", "CHIDIAN-V14"),
    ("abchgc", "CO-1"),
    ("ABC化工", "CO-1"),
    ("cdz", "CHIDIAN"),
])
def test_the_picker_resolves_codes_names_and_initials_in_any_case(
        app, session, villages, admin, typed, code):
    with app.test_request_context():
        assert unit_service.resolve_unit(session, admin, typed).code == code


def test_an_ambiguous_or_unknown_text_is_refused_with_suggestions(app, session, villages, admin):
    with app.test_request_context(headers=EN):
        with pytest.raises(InvalidInput) as ambiguous:
            unit_service.resolve_unit(session, admin, "cdc", field="parent")
        message = str(ambiguous.value)
        assert ambiguous.value.field == "parent"
        assert message == ("“cdc” fits several units. Did you mean 赤甸村 (CHIDIAN-V13); 茶店村 "
                           "(CHIDIAN-V14)? Type the code to choose one.")
        with pytest.raises(InvalidInput) as unknown:
            unit_service.resolve_unit(session, admin, "zzz")
        assert "There is no unit “zzz”" in str(unknown.value)
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        with pytest.raises(InvalidInput) as chinese:
            unit_service.resolve_unit(session, admin, "cdc")
        assert "您是否要找：赤甸村（CHIDIAN-V13）、茶店村（CHIDIAN-V14）？" in str(chinese.value)
    assert unit_service.resolve_unit(session, admin, "  ") is None


def test_the_picker_sees_only_the_visible_units(app, session, villages, make_user, browser):
    consolidator = make_user("town-hz", Role.CONSOLIDATOR, villages["town"])
    with app.test_request_context(), pytest.raises(InvalidInput):
        unit_service.resolve_unit(session, consolidator, "ELSE")
    browser.login_ok("town-hz")
    found = browser.get("/admin/unit-picker?q=CDC").get_json()
    assert [unit["code"] for unit in found] == ["CHIDIAN-V13", "CHIDIAN-V14"]
    assert found[0] == {"code": "CHIDIAN-V13", "name": "赤甸村", "initials": "cdc"}
    assert browser.get("/admin/unit-picker?q=else").get_json() == []
    exact_first = browser.get("/admin/unit-picker?q=chidian").get_json()
    assert [unit["code"] for unit in exact_first] == ["CHIDIAN", "CHIDIAN-V13", "CHIDIAN-V14"]


def test_the_picker_endpoint_is_not_for_unit_accounts(browser, villages, make_user):
    make_user("clerk", Role.SUBMITTER, villages["v13"])
    browser.login_ok("clerk")
    assert browser.get("/admin/unit-picker?q=c").status_code == 403


def test_an_account_gets_its_unit_from_a_lower_case_code(browser, session, admin, villages):
    browser.login_ok(admin)
    page = browser.get("/admin/users/new").get_data(as_text=True)
    assert 'list="unit_code-options"' in page and "data-unit-picker" in page
    response = browser.post("/admin/users/new", {
        "username": "v13-clerk", "role": "submitter", "unit_code": "chidian-v13",
        "password": "long-enough-1"})
    assert response.status_code == 302
    assert accounts.get_user(session, "v13-clerk").unit.code == "CHIDIAN-V13"
    ambiguous = browser.post("/admin/users/new", {
        "username": "x-clerk", "role": "submitter", "unit_code": "cdc",
        "password": "long-enough-1"}, headers=EN)
    assert ambiguous.status_code == 400
    assert "Did you mean 赤甸村 (CHIDIAN-V13)" in unescape(ambiguous.get_data(as_text=True))


def test_admin_adds_a_unit_under_a_parent_typed_in_pinyin(browser, session, admin, villages):
    browser.login_ok(admin)
    form = browser.get("/admin/units-new?parent=CHIDIAN").get_data(as_text=True)
    assert 'value="CHIDIAN"' in form
    response = browser.post("/admin/units-new", {
        "parent": "cdz", "code": "CHIDIAN-V15", "name": "新庄村", "kind": "village",
        "contact_name": "李四", "contact_phone": "13800000000"})
    assert response.status_code == 302
    unit = unit_service.get_unit(session, "CHIDIAN-V15")
    assert (unit.parent.code, unit.name, unit.initials, unit.contact_phone) == (
        "CHIDIAN", "新庄村", "xzc", "13800000000")
    assert unit.reports_from is not None  # owes nothing of the past
    taken = browser.post("/admin/units-new", {
        "parent": "", "code": "CHIDIAN-V15", "name": "重复", "kind": "village"}, headers=EN)
    assert taken.status_code == 400
    assert "The unit code “CHIDIAN-V15” is already used." in unescape(
        taken.get_data(as_text=True))


def test_admin_edits_moves_and_closes_a_unit(browser, session, admin, villages):
    browser.login_ok(admin)
    path = "/admin/units/CHIDIAN-V13"
    edited = browser.post(f"{path}/edit", {"name": "赤甸新村", "kind": "community",
                                           "contact_name": "", "contact_phone": "0571-1"})
    assert edited.status_code == 302
    moved = browser.post(f"{path}/move", {"parent": "else"}, token_from=path)
    assert moved.status_code == 302
    closed = browser.post(f"{path}/dates", {"stops_on": "2031-01-01"}, token_from=path)
    assert closed.status_code == 302
    session.expire_all()
    unit = unit_service.get_unit(session, "CHIDIAN-V13")
    assert (unit.name, unit.kind, unit.contact_phone, unit.initials) == (
        "赤甸新村", "community", "0571-1", "cdxc")
    assert unit.parent.code == "ELSE" and unit.stops_on.isoformat() == "2031-01-01"
    refused = browser.post(f"{path}/move", {"parent": "nowhere"}, token_from=path, headers=EN)
    assert refused.status_code == 400
    assert "There is no unit “nowhere”" in unescape(refused.get_data(as_text=True))


def test_unit_forms_are_for_administrators(browser, make_user, villages):
    make_user("town-hz", Role.CONSOLIDATOR, villages["town"])
    browser.login_ok("town-hz")
    assert browser.get("/admin/units-new").status_code == 403
    page = browser.get("/admin/units/CHIDIAN-V13").get_data(as_text=True)
    assert "/edit" not in page


@pytest.mark.parametrize("ending", ["csv", "xlsx"])
def test_each_import_page_links_samples_that_import_as_they_are(browser, session, admin,
                                                                ending):
    browser.login_ok(admin)
    for kind, page_path in (("units", "/admin/units-import"), ("users", "/admin/users/import")):
        page = browser.get(page_path).get_data(as_text=True)
        link = f"/admin/import-samples/{kind}.{ending}"
        assert f'href="{link}"' in page
        sample = browser.get(link)
        assert sample.status_code == 200
        rows = sample_rows(sample.data, ending)
        assert len(rows) == 3 and all(rows[0]) and all(row[0] for row in rows[1:])
        imported = browser.post(page_path, {"file": (io.BytesIO(sample.data), f"s.{ending}")},
                                content_type="multipart/form-data")
        assert imported.status_code == 302, imported.get_data(as_text=True)
    session.expire_all()
    assert unit_service.get_unit(session, "SAMPLE-V01").parent.code == "SAMPLE-TOWN"
    assert accounts.get_user(session, "sample-v01").unit.code == "SAMPLE-V01"
    assert browser.get("/admin/import-samples/secrets.csv").status_code == 404


def sample_rows(data: bytes, ending: str) -> list[list[str]]:
    if ending == "csv":
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]


def test_a_template_version_names_who_published_it(browser, admin):
    browser.login_ok(admin)
    data = (CATALOG_DIR / "000_chidian_progress.yaml").read_bytes()
    browser.post("/admin/templates", {"file": (io.BytesIO(data), "c.yaml")},
                 content_type="multipart/form-data")
    page = browser.get("/admin/templates/chidian-progress/v1", headers=EN).get_data(as_text=True)
    assert "uploaded by boss" in page


def test_a_start_in_the_past_is_saved_only_once_confirmed(browser, session, admin, villages,
                                                           monkeypatch):
    from datetime import date

    from server.admin import units_views
    monkeypatch.setattr(units_views, "today", lambda: date(2026, 12, 6))
    browser.login_ok(admin)
    new = {"parent": "CHIDIAN", "code": "LATE-1", "name": "晚到村", "kind": "village",
           "reports_from": "2026-01-01"}
    warned = browser.post("/admin/units-new", new, headers=EN)
    assert warned.status_code == 200 and unit_service.get_unit(session, "LATE-1") is None
    assert "Nothing is saved yet: from 2026-01-01 on" in warned.get_data(as_text=True)
    assert browser.post("/admin/units-new", {**new, "confirm_past": "y"}).status_code == 302
    assert unit_service.get_unit(session, "LATE-1").reports_from == date(2026, 1, 1)

    path = "/admin/units/CHIDIAN-V13"
    earlier = {"reports_from": "2025-06-01", "stops_on": ""}
    warned = browser.post(f"{path}/dates", earlier, token_from=path, headers=EN)
    assert warned.status_code == 200 and "Nothing is saved yet" in warned.get_data(as_text=True)
    session.expire_all()
    assert unit_service.get_unit(session, "CHIDIAN-V13").reports_from is None
    saved = browser.post(f"{path}/dates", {**earlier, "confirm_past": "y"}, token_from=path)
    assert saved.status_code == 302
    # A later start, or one in the future, needs no confirmation.
    later = browser.post(f"{path}/dates", {"reports_from": "2025-09-01"}, token_from=path)
    assert later.status_code == 302
    session.expire_all()
    assert unit_service.get_unit(session, "CHIDIAN-V13").reports_from == date(2025, 9, 1)
