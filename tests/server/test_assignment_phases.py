"""Phases on assignments: an assignment dates the template's phases otherwise for its part
of the tree, or adds its own; tasks, pages and the API show them, with the clock set by the
test in Asia/Shanghai, and a one-off report can fall due at the end of one."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import pytest
import test_targets_pages as goals
from api_helpers import api_get, token_for
from pages import EN, text

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import templates as template_service
from server.services.errors import InvalidInput

DEFINITION, KEY, NEXT_DAY = goals.DEFINITION, goals.KEY, goals.NEXT_DAY
# The targets' town TA with its villages and reports, and the clock the pages judge by.
world, clock = goals.world, goals.clock

# The town keeps 专项治理 to the end of 2024 and then consolidates for its own 巩固提升.
OWN_PHASES = ("govern | 专项治理 | 2024-06-01 | 2024-12-31\n"
              "consolidate | 巩固提升 | 2025-01-01 | 2026-09-30 | Consolidation")


@pytest.fixture
def admin(browser, make_user):
    make_user("boss", Role.ADMIN)
    return browser.login_ok("boss")


def field_errors(response) -> list[tuple[str, str]]:
    found = re.findall(r'<ul class="field-errors" id="([\w-]+)-error">\s*<li>([^<]*)</li>',
                       response.get_data(as_text=True))
    return [(field, html.unescape(t)) for field, t in found]


def save_phases(admin, phases: str, due_phase: str = ""):
    path = f"/admin/assignments/{KEY}"
    return admin.post(f"{path}/phases", {"phases": phases, "due_phase": due_phase},
                      token_from=path, headers=EN)


def test_an_administrator_redates_and_adds_phases_on_the_assignment(
        admin, other_browser, session, world, clock):
    assert save_phases(admin, OWN_PHASES).status_code == 302
    session.expire_all()
    assignment = assignment_service.get_assignment(session, KEY)
    assert [(p.key, p.name, p.start, p.end) for p in assignment_service.phases_of(assignment)] == [
        ("mobilise", "动员部署", date(2024, 4, 1), date(2024, 5, 31)),
        ("govern", "专项治理", date(2024, 6, 1), date(2024, 12, 31)),
        ("consolidate", "巩固提升", date(2025, 1, 1), date(2026, 9, 30)),
        ("review", "总结评估", date(2026, 10, 1), date(2026, 12, 31))]
    detail = html.unescape(admin.get(f"/admin/assignments/{KEY}").get_data(as_text=True))
    assert "巩固提升（2025年1月1日 – 2026年9月30日）" in detail
    assert "consolidate | 巩固提升 | 2025-01-01 | 2026-09-30" in detail  # the box to edit

    # 23:59 on 31 December in Shanghai: still the town's 专项治理; a minute later 巩固提升.
    village = other_browser.login_ok(world["va1"])
    assert "当前阶段：专项治理" in text(village.get("/reports/"))
    form = text(village.get(f"/reports/{KEY}/VA1/2024Q4"))
    assert "专项治理（2024年6月1日 – 2024年12月31日）" in form
    clock(NEXT_DAY)
    assert "当前阶段：巩固提升" in text(village.get("/reports/"))
    form = text(village.get(f"/reports/{KEY}/VA1/2024Q4"))
    assert "巩固提升（2025年1月1日 – 2026年9月30日）" in form


def test_the_review_and_consolidation_pages_and_the_api_show_the_assignments_phases(
        admin, other_browser, client, session, world, clock):
    save_phases(admin, OWN_PHASES)
    clock(datetime(2025, 3, 1, 2, tzinfo=UTC))
    office = other_browser.login_ok(world["ta"])
    for path in (f"/review/{KEY}/VA1/2024Q4", f"/consolidation/{KEY}/TA/2024Q4"):
        page = text(office.get(path))
        assert "巩固提升（2025年1月1日 – 2026年9月30日）" in page, path
        assert "全部阶段" in page  # and the whole list of them

    token = token_for(session, world["va1"])
    body = api_get(client, f"/reports/{KEY}/VA1/2024Q4", token,
                   headers={"Accept-Language": "en"}).get_json()
    assert body["phase"] == {"key": "consolidate", "name": "Consolidation",
                             "start": "2025-01-01", "end": "2026-09-30"}
    assert [p["key"] for p in body["phases"]] == ["mobilise", "govern", "consolidate", "review"]
    token = token_for(session, world["ta"])
    body = api_get(client, f"/consolidations/{KEY}/TA/2024Q4", token).get_json()
    assert body["phase"]["name"] == "巩固提升"


def test_the_api_answers_the_phases_as_the_assignment_now_dates_them(
        admin, client, session, world, clock):
    """The phases a report's answer carries follow the assignment's own phases as they
    change and the reader's language (an answer's phases are reused only while both
    hold)."""
    clock(datetime(2025, 3, 1, 2, tzinfo=UTC))
    token = token_for(session, world["va1"])
    path = f"/reports/{KEY}/VA1/2024Q4"

    def read(language: str) -> dict:
        return api_get(client, path, token, headers={"Accept-Language": language}).get_json()

    before = read("en")
    assert before["phase"]["name"] == "Special campaign"
    assert [p["key"] for p in before["phases"]] == ["mobilise", "govern", "review"]
    save_phases(admin, OWN_PHASES)
    after, chinese = read("en"), read("zh-CN")
    assert after["phase"] == {"key": "consolidate", "name": "Consolidation",
                              "start": "2025-01-01", "end": "2026-09-30"}
    assert [p["key"] for p in after["phases"]] == ["mobilise", "govern", "consolidate", "review"]
    assert chinese["phase"]["name"] == "巩固提升"
    assert [p["name"] for p in chinese["phases"]][:2] == ["动员部署", "专项治理"]


def test_the_api_tasks_carry_the_phase_of_their_assignment(client, session, world, monkeypatch):
    from server.api import tasks as api_tasks
    save_phases_directly(session)
    monkeypatch.setattr(api_tasks, "utcnow", lambda: datetime(2025, 3, 1, 2, tzinfo=UTC))
    token = token_for(session, world["va1"])
    body = api_get(client, "/tasks", token).get_json()
    assert body["items"] and {t["phase"]["key"] for t in body["items"]} == {"consolidate"}


def save_phases_directly(session):
    assignment = assignment_service.get_assignment(session, KEY)
    with unit_of_work(session):
        assignment_service.set_phases(assignment, assignment_service.parse_phases(OWN_PHASES),
                                      None)


def test_overlapping_or_malformed_phases_are_refused_beside_the_box(admin, session, world):
    response = save_phases(admin, "govern | 专项治理 | 2024-06-01 | 2026-10-15")
    assert response.status_code == 400
    assert field_errors(response) == [
        ("phases", "The phase “总结评估” starts before the phase “专项治理” ends.")]
    response = save_phases(admin, "govern | 专项治理 | 2024-06-01")
    assert field_errors(response)[0][1].startswith("Line 1: write a phase as key | name |")
    response = save_phases(admin, "x | 某阶段 | 2025-01-01 | 2024-01-01")
    assert field_errors(response) == [("phases", "Line 1: The phase ends before it starts.")]
    # a quarterly report cannot be due at the end of a phase
    response = save_phases(admin, "", due_phase="review")
    assert field_errors(response) == [
        ("due_phase", "Only a one-off report can be due at the end of a phase.")]
    session.expire_all()
    assignment = assignment_service.get_assignment(session, KEY)
    assert assignment.phases == [] and assignment.due_phase is None


def test_a_one_off_summary_falls_due_at_the_end_of_the_assignments_phase(
        session, tree, make_assignment):
    item = {"key": "i1", "number": "1", "title": "总结",
            "fields": [{"key": "summary", "kind": "text", "label": "工作总结"}]}
    summary = {**DEFINITION, "key": "summary", "title": "总结评估报告",
               "sections": [{"key": "s", "title": "一", "items": [item]}],
               "schedule": {"frequency": "once", "due": {"rule": "fixed", "date": "2026-12-31"},
                            "first": "once", "last": "once"}}
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(summary), origin="upload")
    version = template_service.get_version(session, "summary", 1)
    plain = make_assignment("summary-ta", version, tree["TA"])
    assert assignment_service.due_date(plain, "once") == date(2026, 12, 31)
    tied = make_assignment("summary-tb", version, tree["TB"],
                           phases=assignment_service.parse_phases(
                               "review | 总结评估 | 2026-10-01 | 2026-11-30"),
                           due_phase="review")
    assert assignment_service.due_date(tied, "once") == date(2026, 11, 30)
    with pytest.raises(InvalidInput) as refused:
        make_assignment("summary-cy", version, tree["CY"], due_phase="nowhere")
    assert refused.value.field == "due_phase"


def test_a_one_off_assignment_lists_its_version_without_a_starting_period(
        session, tree, make_assignment, admin):
    item = {"key": "i1", "number": "1", "title": "总结",
            "fields": [{"key": "summary", "kind": "text", "label": "工作总结"}]}
    summary = {**DEFINITION, "key": "summary", "title": "总结评估报告",
               "sections": [{"key": "s", "title": "一", "items": [item]}],
               "schedule": {"frequency": "once", "due": {"rule": "fixed", "date": "2026-12-31"},
                            "first": "once", "last": "once"}}
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(summary), origin="upload")
    make_assignment("summary-ta", template_service.get_version(session, "summary", 1),
                    tree["TA"])
    page = admin.get("/admin/assignments", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    row = page[page.index("summary-ta"):]
    row = row[:row.index("</tr>")]
    assert "第 1 版" in row and "（自 一次性 起）" not in row and "一次性 起" not in row
