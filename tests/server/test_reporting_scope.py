"""No request reads or changes a report outside the account's reach; refusals change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.db import unit_of_work
from server.models import Role
from server.models.reporting import Report, Revision
from server.services import assignments as assignment_service
from server.services.templates import get_version, load_files

SAMPLE = Path(__file__).resolve().parents[1] / "forms" / "sample.yaml"
FORM = "/reports/sample/VA1/2024Q2"
PAGES = (FORM, FORM + "/history", FORM + "/print")


@pytest.fixture
def assigned(session, tree):
    with unit_of_work(session):
        load_files(session, [SAMPLE])
        assignment_service.create_assignment(session, key="sample",
                                             template=get_version(session, "sample", 1),
                                             root=tree["TA"])


@pytest.fixture
def person(app, browser, make_user, tree, assigned):
    """A signed-in browser for a new account of *role* in unit *code*."""
    def sign_in(name, role=Role.SUBMITTER, code=None):
        client = type(browser)(app.test_client())
        return client.login_ok(make_user(name, role, tree[code] if code else None))

    return sign_in


def test_another_villages_report_does_not_exist_for_a_submitter(person, session):
    neighbour = person("va2", code="VA2")
    for path in PAGES:
        assert neighbour.get(path).status_code == 404
    response = neighbour.post(FORM, {"revision": "0", "f_found": "1", "action": "save"},
                              token_from="/reports/")
    assert response.status_code == 404
    assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_a_consolidator_of_another_town_gets_404(person):
    other_town = person("tb", Role.CONSOLIDATOR, "TB")
    for path in PAGES:
        assert other_town.get(path).status_code == 404


def test_the_town_above_reads_but_does_not_fill_in(person, session):
    town = person("ta", Role.CONSOLIDATOR, "TA")
    for path in PAGES:
        assert town.get(path).status_code == 200
    page = town.get(FORM).get_data(as_text=True)
    assert 'class="report-form"' not in page and "readonly-banner" in page
    response = town.post(FORM, {"revision": "0", "f_found": "1", "action": "save"},
                         token_from="/reports/")
    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(Revision)) == 0


@pytest.mark.parametrize("path", [
    "/reports/nothing/VA1/2024Q2",  # no such assignment
    "/reports/sample/NOPE/2024Q2",  # no such unit
    "/reports/sample/TA/2024Q2",  # the town itself does not owe this report
    "/reports/sample/VA1/2023Q4",  # before the assignment's window
    "/reports/sample/VA1/2024-05",  # a period of another frequency
    "/reports/sample/VA1/garbage",
])
def test_unknown_reports_are_404(person, path):
    assert person("va1", code="VA1").get(path).status_code == 404


def test_signed_out_visitors_are_sent_to_log_in(client, assigned):
    for path in ("/reports/", *PAGES):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.location


def test_a_post_without_csrf_token_changes_nothing(person, session):
    village = person("va1", code="VA1")
    response = village.client.post(FORM, data={"revision": "0", "f_found": "1",
                                               "action": "save"})
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_the_town_above_is_offered_the_review_page_of_a_saved_report(person, session, tree):
    village = person("va1", code="VA1")
    assert village.post(FORM, {"revision": "0", "f_found": "1", "action": "save"}).status_code \
        == 302
    page = village.get(FORM).get_data(as_text=True)
    assert "/review/sample/VA1/2024Q2" not in page  # the village fills it in, not reviews it
    town = person("ta", Role.CONSOLIDATOR, "TA")
    assert 'href="/review/sample/VA1/2024Q2"' in town.get(FORM).get_data(as_text=True)
