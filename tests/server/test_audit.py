"""The one audit log: every recording site, who may read it, its filters and its export."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from designer_helpers import build_monthly_draft
from rollup_tree import build, roll_up
from sqlalchemy import select

from forms.loader import CATALOG_DIR
from server.db import unit_of_work
from server.models import AuditEvent, Role
from server.services import accounts, audit, closing, designer
from server.services import templates as template_service

CHIDIAN = CATALOG_DIR / "000_chidian_progress.yaml"
EN = {"Accept-Language": "en"}


@dataclass
class World:
    browser: object
    session: object
    admin: object
    clerk: object
    tree: dict
    password: str

    def another_browser(self):
        """A second person with a cookie jar of their own."""
        return type(self.browser)(self.browser.client.application.test_client())


@pytest.fixture
def world(browser, session, make_user, tree, password) -> World:
    admin = make_user("boss", Role.ADMIN)
    clerk = make_user("clerk", Role.SUBMITTER, tree["VA1"])
    return World(browser, session, admin, clerk, tree, password)


def events(session, kind: str | None = None) -> list[AuditEvent]:
    session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    return list(session.scalars(query))


def upload(browser, path: str, name: str, data: bytes):
    return browser.post(path, {"file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")


def publish_upload(w: World):
    w.browser.login_ok("boss")
    assert upload(w.browser, "/admin/templates", "chidian.yaml",
                  CHIDIAN.read_bytes()).status_code == 302


def retire(w: World):
    with unit_of_work(w.session):
        template_service.load_files(w.session, [CHIDIAN])
    w.browser.login_ok("boss")
    path = "/admin/templates/chidian-progress/v1"
    assert w.browser.post(f"{path}/retire", token_from=path).status_code == 302


def draft_created(w: World):
    w.browser.login_ok("boss")
    assert w.browser.post("/admin/designer/new",
                          token_from="/admin/designer").status_code in (302, 303)


def unit_added(w: World):
    w.browser.login_ok("boss")
    response = w.browser.post("/admin/units-new", {
        "parent": "ta", "code": "VA9", "name": "新村", "kind": "village"})
    assert response.status_code == 302, response.get_data(as_text=True)


def unit_edited(w: World):
    w.browser.login_ok("boss")
    response = w.browser.post("/admin/units/VA1/edit", {
        "name": "改名村", "kind": "village", "contact_name": "张三", "contact_phone": "123"},
        token_from="/admin/units/VA1")
    assert response.status_code == 302, response.get_data(as_text=True)


def unit_moved(w: World):
    w.browser.login_ok("boss")
    response = w.browser.post("/admin/units/VA1/move", {"parent": "tb"},
                              token_from="/admin/units/VA1")
    assert response.status_code == 302, response.get_data(as_text=True)


def unit_closed(w: World):
    w.browser.login_ok("boss")
    response = w.browser.post("/admin/units/VA1/dates", {"stops_on": "2030-01-01"},
                              token_from="/admin/units/VA1")
    assert response.status_code == 302, response.get_data(as_text=True)


def units_imported(w: World):
    w.browser.login_ok("boss")
    data = "code,name,kind,parent\nVA7,七村,village,TA\n".encode()
    assert upload(w.browser, "/admin/units-import", "units.csv", data).status_code == 302


def user_created(w: World):
    w.browser.login_ok("boss")
    response = w.browser.post("/admin/users/new", {
        "username": "newbie", "role": "submitter", "unit_code": "va2",
        "password": "long-enough-1"})
    assert response.status_code == 302, response.get_data(as_text=True)


def user_disabled(w: World):
    w.browser.login_ok("boss")
    assert w.browser.post(f"/admin/users/{w.clerk.id}/disable",
                          token_from="/admin/users").status_code == 302


def contact_changed(w: World):
    w.browser.login_ok("boss")
    response = w.browser.post(f"/admin/users/{w.clerk.id}/contact", {
        "email": "clerk@example.gov.cn", "mobile": "", "wecom_userid": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    [event] = events(w.session, "user_changed")
    assert event.details == {"email": [None, "clerk@example.gov.cn"]}


def users_imported(w: World):
    w.browser.login_ok("boss")
    data = b"username,role,unit,password\nva2-clerk,submitter,VA2,long-enough-1\n"
    assert upload(w.browser, "/admin/users/import", "users.csv", data).status_code == 302


def signed_in(w: World):
    w.browser.login_ok("clerk")


def sign_in_failed(w: World):
    assert w.browser.login("clerk", "wrong-password-1").status_code == 200


def password_changed(w: World):
    w.browser.login_ok("clerk")
    response = w.browser.post("/auth/account", {
        "current_password": w.password, "new_password": "new-secret-pass-1",
        "confirm": "new-secret-pass-1"})
    assert response.status_code == 302, response.get_data(as_text=True)


def password_reset(w: World):
    w.browser.login_ok("boss")
    assert w.browser.post(f"/admin/users/{w.clerk.id}/password",
                          {"password": "fresh-pass-123"}).status_code == 302


def token_created(w: World):
    w.browser.login_ok("clerk")
    assert w.browser.post("/auth/account/tokens", {"name": "script", "days": "30"},
                          token_from="/auth/account").status_code == 200


def token_revoked(w: World):
    w.browser.login_ok("clerk")
    w.browser.post("/auth/account/tokens", {"name": "script", "days": "30"},
                   token_from="/auth/account")
    token = w.session.scalars(select(AuditEvent).where(
        AuditEvent.kind == "token_created")).one().details["prefix"]
    from server.models import ApiToken
    token_id = w.session.scalar(select(ApiToken.id).where(ApiToken.prefix == token))
    assert w.browser.post(f"/auth/account/tokens/{token_id}/revoke",
                          token_from="/auth/account").status_code == 302


@dataclass(frozen=True)
class Case:
    kind: str
    act: Callable[[World], None]
    actor: str | None
    unit: str | None
    target: str


CASES = [
    Case("template_published", publish_upload, "boss", None, "chidian-progress v1"),
    Case("template_retired", retire, "boss", None, "chidian-progress v1"),
    Case("template_draft_created", draft_created, "boss", None, "template_1"),
    Case("unit_created", unit_added, "boss", "VA9", "VA9 新村"),
    Case("unit_changed", unit_edited, "boss", "VA1", "VA1 改名村"),
    Case("unit_moved", unit_moved, "boss", "VA1", "VA1"),
    Case("unit_closed", unit_closed, "boss", "VA1", "VA1"),
    Case("units_imported", units_imported, "boss", None, "units.csv"),
    Case("user_created", user_created, "boss", "VA2", "newbie"),
    Case("user_changed", user_disabled, "boss", "VA1", "clerk"),
    Case("user_changed", contact_changed, "boss", "VA1", "clerk"),
    Case("users_imported", users_imported, "boss", None, "users.csv"),
    Case("sign_in", signed_in, "clerk", "VA1", "clerk"),
    Case("sign_in_failed", sign_in_failed, None, "VA1", "clerk"),
    Case("password_changed", password_changed, "clerk", "VA1", "clerk"),
    Case("password_reset", password_reset, "boss", "VA1", "clerk"),
    Case("token_created", token_created, "clerk", "VA1", "clerk"),
    Case("token_revoked", token_revoked, "clerk", "VA1", "clerk"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.act.__name__ for case in CASES])
def test_each_recording_site_writes_one_event(world, case):
    before = {event.id for event in events(world.session, case.kind)}
    case.act(world)
    new = [event for event in events(world.session, case.kind) if event.id not in before]
    assert len(new) == 1, [(e.kind, e.target) for e in new]
    event = new[0]
    assert (event.actor.username if event.actor else None) == case.actor
    assert (event.unit.code if event.unit else None) == case.unit
    assert case.target in event.target
    assert event.ip == "127.0.0.1"
    assert "password" not in str(event.details).lower().replace("known_account", "")


def test_a_failed_sign_in_never_stores_the_password(world):
    world.browser.login("clerk", "hunter2-secret-guess")
    world.browser.login("nobody", "another-secret-guess")
    failed = events(world.session, "sign_in_failed")
    assert [(e.target, e.actor_id, e.details["reason"]) for e in failed] == [
        ("clerk", None, "invalid"), ("nobody", None, "invalid")]
    assert all("secret-guess" not in repr(e.details) + e.target for e in failed)


def test_the_designer_publish_names_its_author(app, world):
    draft = build_monthly_draft(world.session, world.admin)
    with app.test_request_context(), unit_of_work(world.session):
        designer.publish(world.session, world.admin, draft, draft.revision)
    published = events(world.session, "template_published")
    assert [(e.actor.username, e.details["origin"]) for e in published] == [("boss", "designer")]


def test_closing_and_reopening_a_period_are_audited(session, make_unit, make_user):
    rolled = build(session, make_unit, make_user)
    roll_up(session, rolled)
    units, users = rolled["units"], rolled["users"]
    with unit_of_work(session):
        closing.close(session, users["t1-hz"], rolled["assignment"], units["T1"], "2024Q3")
    with unit_of_work(session):
        closing.reopen(session, users["t1-hz"], rolled["assignment"], units["T1"], "2024Q3",
                       "a figure was wrong")
    logged = [(e.kind, e.actor.username, e.unit.code, e.details.get("reason"))
              for e in events(session) if e.kind.startswith("period_")]
    assert logged == [("period_closed", "t1-hz", "T1", None),
                      ("period_reopened", "t1-hz", "T1", "a figure was wrong")]


def test_record_is_the_one_function_for_other_sites(app, session, world):
    """A site outside this module records through audit.record, passwords dropped."""
    with (app.test_request_context(environ_base={"REMOTE_ADDR": "10.0.0.9"}),
          unit_of_work(session)):
        audit.record(session, audit.Kind.UNITS_REMINDED, actor=world.clerk,
                     unit=world.tree["VA1"], target="chidian-progress 2026Q3",
                     details={"comment": "wrong figure", "password": "x"})
    [event] = events(session, "units_reminded")
    assert (event.actor.username, event.unit.code, event.ip) == ("clerk", "VA1", "10.0.0.9")
    assert event.details == {"comment": "wrong figure"}


def test_every_kind_has_a_label_in_both_languages(app):
    for locale in ("en", "zh-CN"):
        with app.test_request_context(headers={"Accept-Language": locale}):
            labels = [audit.kind_label(kind) for kind in audit.Kind]
        assert len(set(labels)) == len(audit.Kind)
        assert all(label not in {kind.value for kind in audit.Kind} for label in labels)


# --- reading: scope, filters, paging, export ----------------------------------------------


def seed(session, tree, admin, clerk, at: datetime | None = None) -> None:
    """Events about CY, TA, VA1 and TB, and one about no unit."""
    with unit_of_work(session):
        for code in ("CY", "TA", "VA1", "TB"):
            event = audit.record(session, audit.Kind.UNIT_CHANGED, actor=admin,
                                 unit=tree[code], target=f"changed {code}", ip="")
            if at is not None:
                event.at = at
        audit.record(session, audit.Kind.TEMPLATE_PUBLISHED, actor=admin, target="tpl", ip="")
        audit.record(session, audit.Kind.PASSWORD_RESET, actor=admin, unit=tree["VA1"],
                     target="clerk", ip="")


def listed(response) -> list[str]:
    import re
    return re.findall(r'<td class="audit-target"[^>]*>([^<]*)</td>',
                      response.get_data(as_text=True))


def test_administrators_see_everything_consolidators_their_subtree_units_nothing(
        world, make_user):
    seed(world.session, world.tree, world.admin, world.clerk)
    make_user("ta-hz", Role.CONSOLIDATOR, world.tree["TA"])
    world.browser.login_ok("boss")
    everything = listed(world.browser.get("/admin/audit"))
    assert {"changed CY", "changed TA", "changed VA1", "changed TB", "tpl"} <= set(everything)

    other = world.another_browser()
    other.login_ok("ta-hz")
    page = other.get("/admin/audit")
    assert page.status_code == 200
    seen = set(listed(page))
    assert {"changed TA", "changed VA1", "clerk", "ta-hz"} <= seen  # ta-hz: signing in
    assert not seen & {"changed CY", "changed TB", "tpl", "boss"}
    assert all("VB1" not in target and "CY" not in target for target in seen)
    assert sorted(listed(other.get("/admin/audit?kind=unit_changed"))) == [
        "changed TA", "changed VA1"]
    # Filtering by a unit outside the subtree finds nothing: it is not visible.
    outside = other.get("/admin/audit?unit=TB")
    assert outside.status_code == 400 and listed(outside) == []
    assert other.get("/admin/audit.xlsx?unit=CY").status_code == 400

    unit_account = world.another_browser()
    unit_account.login_ok("clerk")
    assert unit_account.get("/admin/audit").status_code == 403
    assert unit_account.get("/admin/audit.xlsx").status_code == 403


def test_filters_by_person_unit_kind_and_days(world, app):
    seed(world.session, world.tree, world.admin, world.clerk,
         at=datetime(2026, 3, 1, 2, tzinfo=UTC))
    world.browser.login_ok("boss")
    get = world.browser.get
    assert sorted(listed(get("/admin/audit?unit=ta&person=boss"))) == [
        "changed TA", "changed VA1", "clerk"]
    assert listed(get("/admin/audit?person=BOSS&kind=password_reset")) == ["clerk"]
    assert listed(get("/admin/audit?person=clerk")) == []
    assert listed(get("/admin/audit?kind=template_published")) == ["tpl"]
    assert listed(get("/admin/audit?kind=password_reset")) == ["clerk"]
    in_march = listed(get("/admin/audit?kind=unit_changed&since=2026-03-01&until=2026-03-01"))
    assert sorted(in_march) == ["changed CY", "changed TA", "changed TB", "changed VA1"]
    assert listed(get("/admin/audit?kind=unit_changed&since=2026-03-02")) == []
    assert listed(get("/admin/audit?kind=unit_changed&until=2026-02-28")) == []
    # The failed sign-ins of a name are found by that name.
    world.another_browser().login("clerk", "wrong-password-1")
    assert listed(get("/admin/audit?person=CLERK")) == ["clerk"]
    failed = get("/admin/audit?person=clerk&kind=sign_in_failed").get_data(as_text=True)
    assert "Sign-in failed" in get("/admin/audit?person=clerk&kind=sign_in_failed",
                                   headers=EN).get_data(as_text=True)
    assert "登录失败" in failed


def test_the_list_is_paged_newest_first(world):
    with unit_of_work(world.session):
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for number in range(60):
            event = audit.record(world.session, audit.Kind.UNIT_CHANGED, actor=world.admin,
                                 unit=world.tree["TB"], target=f"changed n{number:02d}")
            event.at = start + timedelta(minutes=number)
    world.browser.login_ok("boss")
    first = listed(world.browser.get("/admin/audit?unit=TB&kind=unit_changed"))
    second = listed(world.browser.get("/admin/audit?unit=TB&kind=unit_changed&page=2"))
    assert first[:2] == ["changed n59", "changed n58"] and len(first) == 50
    assert second[-1] == "changed n00" and len(second) == 10


def test_export_is_an_xlsx_with_the_filtered_events_and_no_formulas(world):
    hostile = "=HYPERLINK(\"http://x\",\"y\")"
    with unit_of_work(world.session):
        audit.record(world.session, audit.Kind.UNIT_CHANGED, actor=world.admin,
                     unit=world.tree["TA"], target=hostile, details={"name": "+1+1"})
        audit.record(world.session, audit.Kind.SIGN_IN, actor=world.clerk,
                     unit=world.tree["VA1"], target="clerk")
    world.browser.login_ok("boss")
    response = world.browser.get("/admin/audit.xlsx?kind=unit_changed", headers=EN)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[0][:3] == ("Time", "Person", "Kind of event")
    data = [row for row in rows[1:] if row[5] == hostile]
    assert len(data) == 1 and data[0][1:5] == ("boss", "Unit changed", "TA", "Unit TA")
    assert data[0][6] == "name: +1+1"
    assert all(row[2] == "Unit changed" for row in rows[1:])
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


def test_nothing_deletes_audit_events():
    """Retained indefinitely: no code path deletes or updates the log."""
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parents[2] / "server"
    offending = [str(path) for path in root.rglob("*.py")
                 if re.search(r"(delete|update)\(AuditEvent", path.read_text(encoding="utf-8"))]
    assert offending == []


def test_sign_in_outcomes_through_the_service(session, world):
    with unit_of_work(session):
        accounts.authenticate(session, "clerk", world.password, "1.2.3.4")
    [event] = events(session, "sign_in")
    assert (event.actor.username, event.ip) == ("clerk", "1.2.3.4")


def test_details_read_as_one_line():
    assert audit.describe_details({"parent": "T01", "stops_on": None, "tags": [[], ["危化"]],
                                   "name": ["旧村", "新村"], "created": ["A", "B"]}) == (
        "parent: T01; tags: — → 危化; name: 旧村 → 新村; created: A, B")


# --- the reports' own history, listed with the log ------------------------------------------


def test_report_actions_are_listed_from_the_reports_history(world, make_user, session, app):
    from hazards import hazards_definition

    from forms.definition import Definition
    from server.models import ReportEvent
    from server.services import assignments as assignment_service
    from server.services import reporting
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(hazards_definition()),
                                 origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment_service.create_assignment(session, key="hazards-cy", template=template,
                                             root=world.tree["CY"])
    ta = make_user("ta-hz", Role.CONSOLIDATOR, world.tree["TA"])
    make_user("tb-hz", Role.CONSOLIDATOR, world.tree["TB"])
    with app.test_request_context(), unit_of_work(session):
        view = reporting.load(session, world.clerk, "hazards-cy", "VA1", "2024Q3")
        reporting.save(session, world.clerk, view, {"reporter": "张三", "phone": "13800000000",
                                                    "found": 3})
        reporting.submit(session, world.clerk, view)
    with app.test_request_context(), unit_of_work(session):
        view = reporting.load(session, world.clerk, "hazards-cy", "VA1", "2024Q3")
        reporting.withdraw(session, world.clerk, view)
    with app.test_request_context(), unit_of_work(session):
        view = reporting.load(session, world.clerk, "hazards-cy", "VA1", "2024Q3")
        reporting.submit(session, world.clerk, view)
    with app.test_request_context(), unit_of_work(session):
        view = reporting.load(session, ta, "hazards-cy", "VA1", "2024Q3")
        reporting.return_report(session, ta, view, "请核实")
    stored = session.scalar(select(ReportEvent.id).where(ReportEvent.action == "returned"))
    assert stored is not None and events(session, "report_returned") == []  # not copied

    world.browser.login_ok("boss")
    both = world.browser.get("/admin/audit?unit=VA1", headers=EN).get_data(as_text=True)
    assert "Report returned" in both and "Report submitted" in both
    assert "Report withdrawn" in both
    withdrawn = listed(world.browser.get("/admin/audit?kind=report_withdrawn"))
    assert withdrawn == ["hazards-cy 2024年第三季度"]
    assert "hazards-cy 2024 Q3" in both and "comment: 请核实" in both
    only = listed(world.browser.get("/admin/audit?kind=report_returned"))
    assert only == ["hazards-cy 2024年第三季度"]
    by_person = listed(world.browser.get("/admin/audit?person=ta-hz&kind=report_returned"))
    assert by_person == ["hazards-cy 2024年第三季度"]
    assert listed(world.browser.get("/admin/audit?person=boss&kind=report_returned")) == []
    xlsx = world.browser.get("/admin/audit.xlsx?kind=report_submitted", headers=EN)
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(
        min_row=3, values_only=True))
    assert [(row[1], row[2], row[3]) for row in rows] == [("clerk", "Report submitted", "VA1")] * 2

    other = world.another_browser()
    other.login_ok("tb-hz")
    assert listed(other.get("/admin/audit?kind=report_submitted")) == []


def test_a_large_import_is_one_event_with_counts_and_the_first_codes(world, app, session):
    rows = "\n".join(f"BIG{number:04d},村{number},village,TB" for number in range(120))
    with app.test_request_context(), unit_of_work(session):
        from server.services import units as unit_service
        report = unit_service.import_units(session, f"code,name,kind,parent\n{rows}\n".encode(),
                                           "big.csv")
    assert report.ok
    [event] = events(session, "units_imported")
    assert event.details["created_count"] == 120 and event.details["updated_count"] == 0
    assert event.details["created"] == [f"BIG{number:04d}" for number in range(50)]


def test_a_nul_character_in_a_filter_finds_nothing_and_breaks_nothing(world):
    world.browser.login_ok("boss")
    assert world.browser.get("/admin/audit?person=a%00b").status_code == 400
    assert world.browser.get("/admin/audit?unit=a%00b").status_code == 400
    assert world.browser.get("/admin/unit-picker?q=a%00b").get_json() == []
