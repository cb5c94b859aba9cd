"""The administrators' assignment pages: create, preview, list, replace a version."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from hazards import hazards_definition
from pages import EN
from sqlalchemy import func, select

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Assignment, Role
from server.services import assignments as assignment_service
from server.services import owing, reporting
from server.services import templates as template_service
from server.services.errors import InvalidInput

DEFINITION = hazards_definition(last="2025Q2")


def publish(session, **changes):
    definition = Definition.model_validate({**DEFINITION, **changes})
    with unit_of_work(session):
        result = template_service.publish(session, definition, origin="upload")
    return template_service.get_version(session, result.key, result.version)


@pytest.fixture
def admin(browser, make_user, tree):
    make_user("boss", Role.ADMIN)
    return browser.login_ok("boss")


def form(**changes) -> dict:
    # The window lies in the past: confirmed, as after the warning about past-due work.
    data = {"key": "hazards-ta", "template": "hazards:1", "root_code": "TA",
            "consolidating_code": "", "first": "", "last": "", "confirm_overdue": "y"}
    data.update(changes)
    return data


def count(session) -> int:
    return session.scalar(select(func.count(Assignment.id)))


def field_errors(response) -> list[str]:
    found = re.findall(r'<ul class="field-errors" id="([\w-]+)-error">\s*<li>([^<]*)</li>',
                       response.get_data(as_text=True))
    return [(field, html.unescape(text)) for field, text in found]


def test_create_assignment_with_defaults_from_the_schedule(admin, session, tree):
    publish(session)
    response = admin.post("/admin/assignments/new", form(create="1"),
                          token_from="/admin/assignments/new", headers=EN)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/assignments/hazards-ta")
    created = assignment_service.get_assignment(session, "hazards-ta")
    assert (created.first_period, created.last_period) == ("2024Q2", "2025Q2")
    assert created.root_unit.code == "TA" and created.consolidating_unit.code == "TA"
    assert created.kinds == [] and not created.include_root

    detail = admin.get("/admin/assignments/hazards-ta", headers=EN).get_data(as_text=True)
    # Every period of the window with its due date (the 5th of the month after the quarter).
    assert "2024 Q2" in detail and "2025 Q2" in detail
    assert "Jul 5, 2024" in detail and "Jul 5, 2025" in detail
    listing = admin.get("/admin/assignments", headers=EN).get_data(as_text=True)
    # Two villages below TA report.
    assert re.search(r'hazards-ta</code>.*?<td class="num">2</td>', listing, re.S)


def test_kinds_window_and_consolidating_unit(admin, session, tree, make_unit):
    publish(session)
    make_unit("CO1", tree["TA"], kind="company")
    response = admin.post("/admin/assignments/new", form(
        create="1", kinds=["company"], first="2024q3", last="2025Q1", consolidating_code="CY",
        include_root="y"), token_from="/admin/assignments/new")
    assert response.status_code == 302
    created = assignment_service.get_assignment(session, "hazards-ta")
    assert created.kinds == ["company"] and created.include_root
    assert (created.first_period, created.last_period) == ("2024Q3", "2025Q1")
    assert created.consolidating_unit.code == "CY"
    units = session.scalars(owing.owing_today(created)).all()
    assert [u.code for u in units] == ["CO1"]


def test_preview_shows_the_periods_and_saves_nothing(admin, session, tree):
    publish(session)
    response = admin.post("/admin/assignments/new", form(preview="1", first="2025Q1"),
                          token_from="/admin/assignments/new", headers=EN)
    page = response.get_data(as_text=True).split('id="preview-title"')[1]  # the preview
    assert response.status_code == 200
    assert "Periods and due dates" in page
    assert "2025 Q1" in page and "Apr 5, 2025" in page and "2024 Q4" not in page
    assert count(session) == 0


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"template": "hazards:2"}, "template", "A retired template version cannot be assigned."),
    ({"root_code": "NOPE"}, "root_code", "There is no unit “NOPE”: type its code, name or the "
     "pinyin initials of its name."),
    ({"consolidating_code": "TB"}, "consolidating_code",
     "The consolidating unit must be the root unit or a unit above it."),
    ({"first": "2025Q2", "last": "2024Q3"}, "last", "The last period comes before the first."),
    ({"first": "2024-05"}, "first",
     "This template is reported per period like 2024Q2; “2024-05” is another kind of period."),
    ({"last": "2027Q1"}, "last",
     "2027Q1 is outside the template's window (2024Q2 to 2025Q2)."),
    ({"first": "soon"}, "first", "“soon” is not a period such as 2024Q2."),
    ({"key": "Bad key!"}, "key",
     "Use lower-case letters, digits, - and _ only, starting with a letter or digit."),
])
def test_errors_are_shown_at_their_fields_and_nothing_is_created(
        admin, session, tree, changes, field, message):
    publish(session)
    retired = publish(session, title="隐患排查情况表（修订）")
    with unit_of_work(session):
        template_service.set_retired(session, retired, True)
    response = admin.post("/admin/assignments/new", form(create="1", **changes),
                          token_from="/admin/assignments/new", headers=EN)
    assert response.status_code == 400
    assert (field, message) in field_errors(response)
    assert count(session) == 0


def test_duplicate_key_is_refused(admin, session, tree, make_assignment):
    template = publish(session)
    make_assignment("hazards-ta", template, tree["TA"])
    response = admin.post("/admin/assignments/new", form(create="1", root_code="TB"),
                          token_from="/admin/assignments/new", headers=EN)
    assert response.status_code == 400
    assert ("key", "An assignment with the key hazards-ta already exists.") in \
        field_errors(response)
    assert count(session) == 1


@pytest.mark.parametrize(("key", "consolidating", "field", "message"), [
    ("Hazards TA", None, "key",
     "Use lower-case letters, digits, - and _ only, starting with a letter or digit."),
    ("-hazards", None, "key",
     "Use lower-case letters, digits, - and _ only, starting with a letter or digit."),
    ("hazards-ta", "VA1", "consolidating_unit",
     "The consolidating unit must be the root unit or a unit above it."),
    ("hazards-ta", "TB", "consolidating_unit",
     "The consolidating unit must be the root unit or a unit above it."),
])
def test_the_service_refuses_what_the_form_refuses(session, tree, make_assignment, key,
                                                   consolidating, field, message):
    """The rules live in the service: a script or the CLI gets the same refusals as the page."""
    template = publish(session)
    with pytest.raises(InvalidInput) as refused, unit_of_work(session):
        assignment_service.create_assignment(
            session, key=key, template=template, root=tree["TA"],
            consolidating_unit=tree[consolidating] if consolidating else None)
    assert (refused.value.field, str(refused.value)) == (field, message)
    assert count(session) == 0
    created = make_assignment("hazards-ta", template, tree["TA"], consolidating_unit=tree["CY"])
    assert created.consolidating_unit.code == "CY"  # a unit above the root is fine


@pytest.mark.parametrize(("first", "last", "field", "message"), [
    ("2024Q1", None, "first_period", "2024Q1 is outside the template's window (2024Q2 to 2025Q2)."),
    (None, "2027Q1", "last_period", "2027Q1 is outside the template's window (2024Q2 to 2025Q2)."),
    ("2024-05", None, "first_period",
     "This template is reported per period like 2024Q2; “2024-05” is another kind of period."),
])
def test_the_service_refuses_a_window_the_form_refuses(session, tree, first, last, field,
                                                       message):
    template = publish(session)
    with pytest.raises(InvalidInput) as refused:
        assignment_service.create_assignment(session, key="hazards-ta", template=template,
                                             root=tree["TA"], first=first, last=last)
    assert (refused.value.field, str(refused.value)) == (field, message)
    session.rollback()
    assert count(session) == 0


def test_retired_versions_are_not_offered(admin, session, tree):
    publish(session)
    retired = publish(session, title="隐患排查情况表（修订）")
    with unit_of_work(session):
        template_service.set_retired(session, retired, True)
    page = admin.get("/admin/assignments/new").get_data(as_text=True)
    assert 'value="hazards:1"' in page and 'value="hazards:2"' not in page


def test_replace_version_from_a_period_keeps_earlier_reports(admin, session, tree, make_user,
                                                            make_assignment):
    first = publish(session)
    assignment = make_assignment("hazards-ta", first, tree["TA"])
    clerk = make_user("clerk", Role.SUBMITTER, tree["VA1"])
    # A draft of 2025Q1 exists before the new version arrives: it keeps version 1.
    view = reporting.load(session, clerk, "hazards-ta", "VA1", "2025Q1")
    with unit_of_work(session):
        reporting.save(session, clerk, view, {"found": 3})
    second = publish(session, title="隐患排查情况表（第二版）")

    response = admin.post("/admin/assignments/hazards-ta/versions",
                          {"template": str(second.version), "from_period": "2025Q1"},
                          token_from="/admin/assignments/hazards-ta", headers=EN)
    assert response.status_code == 302
    page = admin.get("/admin/assignments/hazards-ta", headers=EN).get_data(as_text=True)
    assert "keep the version they were made with" in page

    session.expire_all()
    assignment = assignment_service.get_assignment(session, "hazards-ta")
    assert assignment_service.version_for(assignment, "2024Q4").version == 1
    assert assignment_service.version_for(assignment, "2025Q2").version == 2
    assert reporting.load(session, clerk, "hazards-ta", "VA1", "2025Q1").template.version == 1
    other = make_user("clerk2", Role.SUBMITTER, tree["VA2"])
    assert reporting.load(session, other, "hazards-ta", "VA2", "2025Q1").template.version == 2


def test_replace_version_refuses_a_period_outside_the_window(admin, session, tree,
                                                             make_assignment):
    first = publish(session)
    make_assignment("hazards-ta", first, tree["TA"])
    second = publish(session, title="隐患排查情况表（第二版）")
    response = admin.post("/admin/assignments/hazards-ta/versions",
                          {"template": str(second.version), "from_period": "2030Q1"},
                          token_from="/admin/assignments/hazards-ta", headers=EN)
    assert response.status_code == 400
    assert ("from_period", "2030Q1 is not a period of this assignment.") in field_errors(response)
    session.expire_all()
    assert len(assignment_service.get_assignment(session, "hazards-ta").versions) == 1


def test_only_administrators_manage_assignments(browser, make_user, tree):
    make_user("town", Role.CONSOLIDATOR, tree["TA"])
    browser.login_ok("town")
    assert browser.get("/admin/assignments").status_code == 403
    assert browser.get("/admin/assignments/new").status_code == 403


def test_empty_list_tells_what_to_do(admin):
    page = admin.get("/admin/assignments", headers=EN).get_data(as_text=True)
    assert "No assignments yet" in page and 'href="/admin/assignments/new"' in page


def test_a_window_already_past_due_is_created_only_once_confirmed(
        admin, session, tree, monkeypatch):
    monkeypatch.setattr(owing, "today", lambda: date(2025, 1, 10))
    publish(session)
    unconfirmed = form(create="1", confirm_overdue="", root_code="ta", first="2024年第三季度")
    response = admin.post("/admin/assignments/new", unconfirmed,
                          token_from="/admin/assignments/new", headers=EN)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and count(session) == 0
    assert ("Nothing is saved yet: 2 periods are already past their due dates (the first, "
            "2024 Q3, was due on Oct 5, 2024).") in page
    assert 'name="confirm_overdue"' in page
    confirmed = admin.post("/admin/assignments/new", {**unconfirmed, "confirm_overdue": "y"},
                           token_from="/admin/assignments/new")
    assert confirmed.status_code == 302
    created = assignment_service.get_assignment(session, "hazards-ta")
    assert (created.first_period, created.root_unit.code) == ("2024Q3", "TA")


def test_periods_are_offered_and_read_as_labels(admin, session, tree):
    publish(session)
    page = admin.get("/admin/assignments/new").get_data(as_text=True)
    assert '<option value="2024年第二季度"></option>' in page
    assert 'list="period-options"' in page
    english = admin.get("/admin/assignments/new", headers=EN).get_data(as_text=True)
    assert '<option value="2025 Q2"></option>' in english
    response = admin.post("/admin/assignments/new", form(create="1", first="2024 Q4",
                                                         last="2025年第一季度"),
                          token_from="/admin/assignments/new")
    assert response.status_code == 302
    created = assignment_service.get_assignment(session, "hazards-ta")
    assert (created.first_period, created.last_period) == ("2024Q4", "2025Q1")


def test_a_window_in_the_future_needs_no_confirmation(admin, session, tree, monkeypatch):
    monkeypatch.setattr(owing, "today", lambda: date(2024, 4, 1))
    publish(session)
    response = admin.post("/admin/assignments/new", form(create="1", confirm_overdue=""),
                          token_from="/admin/assignments/new")
    assert response.status_code == 302 and count(session) == 1
