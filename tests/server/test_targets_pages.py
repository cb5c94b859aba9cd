"""Targets and phases where people meet them: the report form, the review page, the
consolidation page, the merged workbook and the API, with the clock set by the test."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from api_helpers import api_get, token_for
from pages import text
from python_calamine import CalamineWorkbook
from sqlalchemy import event, select

from forms.definition import Definition
from forms.values import jsonable
from server.db import unit_of_work
from server.models import Role, Status
from server.models.reporting import Report
from server.services import consolidation, merged
from server.services import targets as target_service
from server.services import templates as template_service

KEY = "goals"
FIELDS = [
    {"key": "posts", "kind": "integer", "label": "示范岗位", "label_en": "Model posts",
     "unit": "个", "unit_en": "posts", "cumulative": True,
     "target": {"value": 4, "by": "2025-12-31"}},
    {"key": "drills", "kind": "integer", "label": "应急演练", "label_en": "Drills",
     "unit": "次", "unit_en": "drills", "cumulative": True,
     "target": {"kind": "recurring", "value": 1, "every": "year", "by": "2026-12-31",
                "scope": "unit"}},
    {"key": "stock", "kind": "integer", "label": "存量隐患", "label_en": "Old hazards",
     "unit": "项", "unit_en": "hazards",
     "target": {"kind": "stock", "by": "2024-12-31", "scope": "unit"}},
    {"key": "operators", "kind": "integer", "label": "特种作业人员",
     "label_en": "special operators", "unit": "人"},
    {"key": "certified", "kind": "integer", "label": "持证人数", "label_en": "Certified",
     "unit": "人", "target": {"kind": "share", "value": 100, "denominator": "operators",
                             "by": "2025-12-31", "scope": "unit"}},
]
PHASES = [
    {"key": "mobilise", "name": "动员部署", "name_en": "Mobilisation",
     "start": "2024-04-01", "end": "2024-05-31"},
    {"key": "govern", "name": "专项治理", "name_en": "Special campaign",
     "start": "2024-06-01", "end": "2026-09-30"},
    {"key": "review", "name": "总结评估", "name_en": "Summary and evaluation",
     "start": "2026-10-01", "end": "2026-12-31"},
]
DEFINITION = {
    "key": KEY, "title": "目标进度", "source": {"issuer": "镇", "title": "方案"},
    "schedule": {"frequency": "quarterly", "due": {"rule": "after_end", "months": 1, "day": 5},
                 "first": "2024Q2", "last": "2026Q4"},
    "phases": PHASES,
    "sections": [{"key": "s", "title": "一", "items": [
        {"key": "i1", "number": "1", "title": "任务", "fields": FIELDS}]}],
}
CONTACT = {"reporter": "联系人", "phone": "13800000000"}
# 2024-12-31 23:59 and 2025-01-01 00:00 in Shanghai.
LAST_MINUTE = datetime(2024, 12, 31, 15, 59, tzinfo=UTC)
NEXT_DAY = datetime(2024, 12, 31, 16, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """Set the time the targets are judged at."""
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(target_service, "utcnow", lambda: moment)

    set_to(LAST_MINUTE)
    return set_to


@pytest.fixture
def world(session, tree, make_user, make_assignment, clock):
    """Town TA consolidates villages VA1 and VA2 (both approved for 2024Q2…Q4)."""
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(DEFINITION),
                                 origin="upload")
    version = template_service.get_version(session, KEY, 1)
    assignment = make_assignment(KEY, version, tree["TA"])
    figures = {
        "VA1": {"2024Q2": dict(posts=1, drills=1, stock=10, operators=10, certified=6),
                "2024Q3": dict(posts=1, drills=1, stock=6, operators=10, certified=8),
                "2024Q4": dict(posts=2, drills=1, stock=4, operators=10, certified=9)},
        "VA2": {"2024Q2": dict(posts=0, drills=0, stock=2, operators=4, certified=4),
                "2024Q3": dict(posts=1, drills=0, stock=0, operators=4, certified=4),
                "2024Q4": dict(posts=1, drills=0, stock=0, operators=4, certified=4)},
    }
    for code, periods in figures.items():
        for period, values in periods.items():
            session.add(Report(
                assignment_id=assignment.id, unit_id=tree[code].id, period=period,
                template_version_id=version.id, status=Status.APPROVED, revision=1,
                values=jsonable({**CONTACT, **values}),
                submitted_at=datetime(2024, 10, 3, tzinfo=UTC)))
    session.commit()
    return {
        "assignment": assignment,
        "va1": make_user("va1", unit=tree["VA1"]),
        "va2": make_user("va2", unit=tree["VA2"]),
        "ta": make_user("ta-hz", role=Role.CONSOLIDATOR, unit=tree["TA"]),
    }


def target_lines(page: str) -> dict[str, str]:
    """Field key → the target sentence the page shows."""
    found = re.findall(r'data-field="(\w+)" data-status="\w+">.*?class="target-text">(.*?)</span>',
                       page, re.S)
    return dict(found)


def test_the_unit_sees_its_own_targets_judged_on_its_reports(browser, world):
    page = text(browser.login_ok(world["va1"]).get(f"/reports/{KEY}/VA1/2024Q4"))
    lines = target_lines(page)
    # Every unit's own targets; the jurisdiction's 4 posts are the town's, not the village's.
    assert set(lines) == {"drills", "stock", "certified"}
    assert lines["stock"] == ("目标：2024年底前降至 0 项（以首次报送数为基数） · 首次报送 10"
                              " · 当前 4 · 有风险")
    # This year's drill is done; the years to come keep the target open.
    assert lines["drills"] == "目标：2026年底前每年至少 1 次 · 2024年度：1 · 进度正常"
    assert lines["certified"] == ("目标：2025年底前 ≥ 100%（占特种作业人员） · 当前 90% (9/10)"
                                  " · 进度正常")
    assert "当前阶段" in page and "专项治理" in page


def test_the_deadline_passes_at_midnight_in_shanghai(browser, other_browser, world, clock):
    session = browser.login_ok(world["va1"])
    assert "有风险" in target_lines(text(session.get(f"/reports/{KEY}/VA1/2024Q4")))["stock"]
    clock(NEXT_DAY)
    assert "未完成" in target_lines(text(session.get(f"/reports/{KEY}/VA1/2024Q4")))["stock"]
    # The other village cleared its stock: met, whatever the day.
    other = text(other_browser.login_ok(world["va2"]).get(f"/reports/{KEY}/VA2/2024Q4"))
    assert target_lines(other)["stock"].endswith("· 当前 0 · 已完成")
    # A year without a drill is missed once the year is over in Shanghai.
    assert target_lines(other)["drills"].endswith("2024年度：0 · 未完成")


def test_the_review_page_shows_the_units_targets(browser, world):
    page = text(browser.login_ok(world["ta"]).get(f"/review/{KEY}/VA1/2024Q4"))
    assert target_lines(page)["stock"].endswith("· 当前 4 · 有风险")
    assert "专项治理" in page


def test_the_office_is_judged_on_its_consolidated_figures(browser, world):
    page = text(browser.login_ok(world["ta"]).get(f"/consolidation/{KEY}/TA/2024Q4"))
    lines = target_lines(page)
    assert lines["posts"] == "目标：2025年底前 ≥ 4 个 · 当前 3 · 进度正常"
    # The town's certified share: 13 of 14 operators.
    assert "(13/14)" in lines["certified"]
    assert "辖区目标" in page


def test_the_english_page_speaks_english(browser, world):
    browser.login_ok(world["ta"])
    page = text(browser.get(f"/consolidation/{KEY}/TA/2024Q4",
                            headers={"Accept-Language": "en"}))
    assert "Target: ≥ 4 posts by end of 2025 · now 3 · on track" in page


def test_the_merged_workbook_has_a_targets_sheet(session, world, tmp_path):
    figures = consolidation.figures(session, world["ta"], KEY, "TA", "2024Q4")
    path = tmp_path / "merged.xlsx"
    result = merged.write_merged(session, figures, str(path), locale="en",
                                 now=LAST_MINUTE)
    assert result.targets_sheet == "Targets"
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Targets").to_python()
    assert rows[0][:8] == ["Item", "Indicator", "Kind of target", "Target", "Deadline",
                           "Current value", "Status", "Progress"]
    by_label = {row[1]: row for row in rows[1:]}
    assert set(by_label) == {"Model posts", "Drills", "Old hazards", "Certified"}
    posts = by_label["Model posts"]
    assert posts[3] == 4 and posts[5] == 3 and posts[6] == "on track"
    assert by_label["Old hazards"][6] == "at risk"  # 4 left of 12 at the first report
    assert by_label["Drills"][6] == "on track"  # 1 drill in 2024, 2025 to come


def test_the_api_answers_targets_and_phase(client, session, world):
    token = token_for(session, world["va1"])
    body = api_get(client, f"/reports/{KEY}/VA1/2024Q4", token,
                   headers={"Accept-Language": "en"}).get_json()
    by_field = {t["field"]: t for t in body["targets"]}
    assert set(by_field) == {"drills", "stock", "certified"}
    stock = by_field["stock"]
    assert (stock["kind"], stock["status"], stock["baseline"], stock["value"]) == (
        "stock", "at_risk", 10, 4)
    assert by_field["certified"]["value"] == 90
    assert by_field["drills"]["windows"] == [
        {"window": "2024", "start": "2024-01-01", "end": "2024-12-31", "count": 1,
         "minimum": 1, "status": "met"}]
    assert body["phase"] == {"key": "govern", "name": "Special campaign",
                             "start": "2024-06-01", "end": "2026-09-30"}

    token = token_for(session, world["ta"])
    body = api_get(client, f"/consolidations/{KEY}/TA/2024Q4", token).get_json()
    posts = next(t for t in body["targets"] if t["field"] == "posts")
    assert (posts["value"], posts["target"], posts["status"]) == (3, 4, "on_track")
    assert posts["text"] == "目标：2025年底前 ≥ 4 个 · 当前 3 · 进度正常"


def test_my_reports_names_the_current_phase(browser, world, clock):
    clock(datetime(2024, 5, 10, 2, tzinfo=UTC))
    page = text(browser.login_ok(world["va1"]).get("/reports/"))
    assert "当前阶段：动员部署" in page
    clock(datetime(2026, 10, 1, 2, tzinfo=UTC))
    assert "当前阶段：总结评估" in text(browser.get("/reports/"))


def test_changing_a_stocks_starting_figure_needs_a_correction_note(session, world, tree):
    """VA1's first report fixed its stock at 10; returned and changed, it needs a note."""
    from server.models.reporting import ReportEvent, Revision
    from server.services import reporting
    from server.services.errors import InvalidReport

    first = session.scalars(select(Report).where(Report.unit_id == tree["VA1"].id,
                                                 Report.period == "2024Q2")).one()
    session.add(Revision(report_id=first.id, number=1, values=first.values, remarks="",
                         template_version_id=first.template_version_id, source="web"))
    session.add(ReportEvent(report_id=first.id, action="submitted", revision=1))
    first.status = Status.RETURNED
    session.commit()

    view = reporting.load(session, world["va1"], KEY, "VA1", "2024Q2")
    same = reporting.issues_for(view)
    assert [i.code for i in same] == []
    changed = {**view.values, "stock": 12}
    [issue] = reporting.issues_for(view, changed)
    assert (issue.code, issue.field, str(issue.severity)) == (
        "stock_baseline_changed", "stock", "warning")
    assert issue.params["original"] == "10" and issue.params["value"] == "12"

    with unit_of_work(session):
        reporting.save(session, world["va1"], view, changed, expected_revision=1)
    view = reporting.load(session, world["va1"], KEY, "VA1", "2024Q2")
    # Saved, the changed figure still differs from the one first handed in.
    assert [i.code for i in reporting.issues_for(view)] == ["stock_baseline_changed"]
    with pytest.raises(InvalidReport), unit_of_work(session):
        reporting.submit(session, world["va1"], view)
    session.rollback()
    view = reporting.load(session, world["va1"], KEY, "VA1", "2024Q2")
    with unit_of_work(session):
        reporting.save(session, world["va1"], view, changed, expected_revision=2,
                       remarks="存量基数更正：复核发现漏报2项。")
    view = reporting.load(session, world["va1"], KEY, "VA1", "2024Q2")
    # The remarks alone do not explain the figure: the note beside it does.
    with pytest.raises(InvalidReport, match="note beside it"), unit_of_work(session):
        reporting.submit(session, world["va1"], view)
    session.rollback()
    view = reporting.load(session, world["va1"], KEY, "VA1", "2024Q2")
    with unit_of_work(session):
        reporting.save(session, world["va1"], view, changed, expected_revision=3,
                       explanations={"stock": "存量基数更正：复核发现漏报2项。"})
        reporting.submit(session, world["va1"], reporting.load(session, world["va1"], KEY,
                                                                "VA1", "2024Q2"))
    # Later progress is measured from the corrected starting figure.
    later = reporting.load(session, world["va1"], KEY, "VA1", "2024Q4")
    stock = next(p for p in target_service.for_report(session, later) if p.field.key == "stock")
    assert stock.baseline == 12


def statements_of(session, call) -> tuple[int, int]:
    """How many SQL statements *call* runs (a request of the app: the same engine), and
    how many of them read ``report_values``, the rows every roll-up adds up."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest):
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(seen), sum(1 for statement in seen if "report_values" in statement)


def test_each_earlier_period_of_the_offices_targets_costs_one_pass_over_its_own_rows(
        browser, world, session):
    """The recurring drills and the stock are judged on every earlier period's totals;
    each such period is rolled up once, its own rows alone (not the period before it, not
    the tree's links, not the closing), so a page one period later runs no more than
    that. A change that rolls up more per period, or more periods, fails here."""
    browser.login_ok(world["ta"])

    def page(period: str) -> None:
        response = browser.get(f"/consolidation/{KEY}/TA/{period}")
        assert response.status_code == 200
        assert "目标" in response.get_data(as_text=True)

    q3_all, q3_rows = statements_of(session, lambda: page("2024Q3"))  # 2024Q2 before it
    q4_all, q4_rows = statements_of(session, lambda: page("2024Q4"))  # 2024Q2 and 2024Q3
    # One more earlier period: its counted rows and the rows carried forward into it.
    assert q4_rows - q3_rows <= 2, (q3_rows, q4_rows)
    # ... and the children, their latest approved periods, their tags around them.
    assert q4_all - q3_all <= 7, (q3_all, q4_all)
    # The page of 2024Q4 as a whole: its roll-up with the period before, the mismatches,
    # and the two earlier periods' totals.
    assert q4_rows <= 12, q4_rows


def test_the_earlier_totals_a_target_is_judged_on_are_that_periods_own_figures(
        session, world):
    """What the targets read of an earlier period is what that period's own page shows,
    field by field, and it follows an unapproval at once (nothing is kept)."""
    from forms.targets import judged_keys

    ta = world["ta"]
    user = session.get(type(ta), ta.id)
    latest = consolidation.figures(session, user, KEY, "TA", "2024Q4")
    keys = judged_keys(latest.definition)
    assert keys == {"posts", "drills", "stock", "certified", "operators"}
    for period in ("2024Q2", "2024Q3"):
        own = consolidation.figures(session, user, KEY, "TA", period).totals
        assert consolidation.totals_at(session, latest, period, keys) == \
            {k: v for k, v in own.items() if k in keys}
    assert consolidation.totals_at(session, latest, "2024Q3", keys)["stock"] == 6
    report = session.scalar(select(Report).where(Report.period == "2024Q3",
                                                 Report.unit_id == world["va1"].unit_id))
    with unit_of_work(session):
        report.status = Status.SUBMITTED  # VA1's 2024Q3 no longer counts
    after = consolidation.totals_at(session, latest, "2024Q3", keys)
    # VA2's figures alone; VA1's cumulative posts (1 in 2024Q2) are carried forward.
    assert (after["stock"], after["certified"], after["posts"]) == (0, 4, 2)
    own = consolidation.figures(session, user, KEY, "TA", "2024Q3").totals
    assert after == {k: v for k, v in own.items() if k in keys}


def test_an_office_whose_units_began_reporting_later_shows_its_targets(
        browser, world, session, make_unit, tree):
    """A new office whose only village owes reports from 2024Q4 on had no children in the
    earlier periods its targets read: those periods have no figures (nothing to judge), and
    its page answers with the targets judged on what it has, not a 404."""
    office = make_unit("TN", tree["TA"], kind="town")
    village = make_unit("VN", office, reports_from=date(2024, 10, 1))
    assignment = world["assignment"]
    session.add(Report(
        assignment_id=assignment.id, unit_id=village.id, period="2024Q4",
        template_version_id=session.scalar(select(Report.template_version_id).limit(1)),
        status=Status.APPROVED,
        revision=1, values=jsonable({**CONTACT, **dict(posts=3, drills=1, stock=5,
                                                         operators=2, certified=2)}),
        submitted_at=datetime(2024, 12, 3, tzinfo=UTC)))
    session.commit()
    browser.login_ok(world["ta"])
    response = browser.get(f"/consolidation/{KEY}/TN/2024Q4")
    assert response.status_code == 200, response.status_code
    lines = target_lines(text(response))
    # The stock's first figure is 2024Q4's own (no earlier period had any), so 5 is both.
    assert "首次报送 5" in lines["stock"] and "当前 5" in lines["stock"], lines["stock"]
    assert "100%" in lines["certified"], lines["certified"]
    # An earlier period of its own has nothing to consolidate yet: that page says so.
    assert browser.get(f"/consolidation/{KEY}/TN/2024Q3").status_code == 404
