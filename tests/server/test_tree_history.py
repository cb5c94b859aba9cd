"""A tree with history: reporting dates, dated moves, and closing a period (see rollup_tree).

Past periods are read with the tree as it stood then: a unit added today owes
nothing of the past and changes no past completeness or total; a village moved
between towns keeps counting under its old town for the periods before the move.
A closed period refuses every change below on the web, the API and Excel upload
until it is reopened with a reason, which is recorded.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from api_helpers import api_request, make_token  # noqa: F401  (fixture)
from rollup_tree import KEY, build, roll_up, send
from sqlalchemy import select
from statement_count import recorded

from server.db import unit_of_work
from server.models import PeriodClosure
from server.services import closing, consolidation, reporting, review, workbooks
from server.services import units as unit_service
from server.services.errors import InvalidInput, InvalidState, NotVisible, PeriodClosed

AFTER_Q3_DEADLINE = datetime(2024, 11, 1, 2, tzinfo=UTC)
IN_2025Q2 = datetime(2025, 5, 10, 2, tzinfo=UTC)


@pytest.fixture
def rolled(session, make_unit, make_user):
    world = build(session, make_unit, make_user)
    roll_up(session, world)
    return world


def figures_of(session, world, who: str, unit: str, period: str = "2024Q3"):
    return consolidation.figures(session, world["users"][who], KEY, unit, period,
                                 now=AFTER_Q3_DEADLINE)


def counted(figures) -> dict[str, object]:
    """What a consolidator reads first: who the children are, and the total found."""
    return {"children": sorted(c.unit.code for c in figures.children),
            "approved": sorted(c.unit.code for c in figures.included),
            "found": figures.values.get("found")}


def column(matrix, period: str) -> tuple[int, dict[str, int]]:
    counts = matrix.counts[period]
    return counts.total, dict(counts.by_status)


def matrix_of(session, world, who: str, unit: str, now=AFTER_Q3_DEADLINE):
    user = world["users"][who]
    return review.completeness(session, user, world["assignment"], world["units"][unit],
                               review.MatrixFilters(all_periods=True), now=now)


# -- a unit added today --------------------------------------------------------------------


def test_a_unit_added_today_owes_no_past_period_and_changes_no_past_figures(
        rolled, session, make_user):
    before_figures = counted(figures_of(session, rolled, "t1-hz", "T1"))
    before_matrix = column(matrix_of(session, rolled, "t1-hz", "T1"), "2024Q3")
    table = ("code,name,kind,parent,\n"
             "V9,新村,village,T1\n").encode()
    with unit_of_work(session):
        report = unit_service.import_units(session, table, "units.csv")
    assert report.ok and report.created == ["V9"]
    new = unit_service.get_unit(session, "V9")
    assert new.reports_from == datetime.now(UTC).astimezone(closing.SHANGHAI).date()
    user = make_user("v9", unit=new)

    # Its to-do list has none of the assignment's periods (all of them began before today).
    assert reporting.tasks_for_unit(session, new) == []
    with pytest.raises(NotVisible):
        reporting.load(session, user, KEY, "V9", "2024Q3")
    # The town's past is untouched: the same children, total and completeness.
    assert counted(figures_of(session, rolled, "t1-hz", "T1")) == before_figures
    matrix = matrix_of(session, rolled, "t1-hz", "T1")
    assert column(matrix, "2024Q3") == before_matrix
    assert "V9" not in [u.code for u in matrix.rows]


def test_a_unit_owes_the_periods_that_begin_within_its_reporting_dates(
        rolled, session, make_unit, make_user):
    town = rolled["units"]["T1"]
    new = make_unit("V8", town, reports_from=date(2024, 7, 1), stops_on=date(2025, 1, 1))
    make_user("v8", unit=new)
    tasks = reporting.tasks_for_unit(session, new, now=IN_2025Q2)
    assert sorted(t.period for t in tasks) == ["2024Q3", "2024Q4"]
    overdue = [t for t in tasks if t.overdue]
    assert len(overdue) == 2  # it did owe those two, and has not reported them
    q2 = counted(figures_of(session, rolled, "t1-hz", "T1", "2024Q2"))
    assert "V8" not in q2["children"]
    q3 = counted(figures_of(session, rolled, "t1-hz", "T1", "2024Q3"))
    assert "V8" in q3["children"] and "V8" not in q3["approved"]
    q1_2025 = counted(figures_of(session, rolled, "t1-hz", "T1", "2025Q1"))
    assert "V8" not in q1_2025["children"]
    matrix = matrix_of(session, rolled, "t1-hz", "T1", now=IN_2025Q2)
    assert matrix.cell(new, "2024Q3").owed and not matrix.cell(new, "2024Q2").owed
    assert not matrix.cell(new, "2025Q1").owed


def test_a_unit_cannot_stop_before_it_starts(rolled, session):
    with pytest.raises(InvalidInput) as refused:
        unit_service.set_reporting_dates(session, rolled["units"]["V1"], date(2025, 1, 1),
                                         date(2024, 1, 1))
    assert refused.value.field == "stops_on"


# -- a dated move --------------------------------------------------------------------------


def test_a_village_moved_between_towns_keeps_both_towns_past_totals(rolled, session):
    units = rolled["units"]
    before = {town: counted(figures_of(session, rolled, "co1-hz", town)) for town in ("T1", "T2")}
    # V3 is not approved: its approved figure of 2024Q2 is carried forward.
    assert before["T1"]["found"] == 8 and before["T2"]["found"] == 1
    with unit_of_work(session):
        unit_service.move_unit(session, units["V1"], units["T2"], date(2024, 10, 1))
    session.expire_all()
    assert units["V1"].parent_id == units["T2"].id  # today's tree has it under T2
    after = {town: counted(figures_of(session, rolled, "co1-hz", town)) for town in ("T1", "T2")}
    assert after == before
    # From the move on, it counts under its new town.
    q4 = {town: counted(figures_of(session, rolled, "co1-hz", town, "2024Q4"))
          for town in ("T1", "T2")}
    assert q4["T1"]["children"] == ["V2"]
    assert q4["T2"]["children"] == ["V1", "V3"]
    with unit_of_work(session):
        reporting.save(session, rolled["users"]["v1"],
                       reporting.load(session, rolled["users"]["v1"], KEY, "V1", "2024Q4"),
                       {"reporter": "王五", "phone": "13800000000", "found": 7})
    assert "V1" in counted(figures_of(session, rolled, "co1-hz", "T2", "2024Q4"))["children"]


def test_an_office_reads_its_children_only_while_units_are_placed_below_it(
        rolled, session, make_unit, make_user):
    """Whether anything lies below an office is read with the period's tree: a town whose
    only village moved away reads its children's reports for the periods before the move
    (carried forward, as before) and none after, without a statement; a town whose village
    owes nothing yet still reads, and finds nothing to compare with."""
    units, users = rolled["units"], rolled["users"]
    with unit_of_work(session):
        unit_service.move_unit(session, units["V3"], units["T1"], date(2024, 10, 1))

    def children(user, unit: str, period: str):
        view = reporting.load(session, user, KEY, unit, period)
        with recorded(session.get_bind()) as seen:
            found = reporting.children_of_view(session, view)
        return view.placed_below, found, len(seen)

    placed, found, statements = children(users["t2"], "T2", "2024Q3")
    assert placed and statements == 1
    assert [(c.unit_code, c.carried_from) for c in found] == [("V3", "2024Q2")]
    assert children(users["t2"], "T2", "2024Q4") == (False, None, 0)
    town = make_unit("T4", units["CO2"], kind="town")
    make_unit("V5", town, reports_from=date(2025, 1, 1))
    assert children(make_user("t4", unit=town), "T4", "2024Q4") == (True, None, 1)


def test_a_move_today_leaves_every_past_period_alone(rolled, session):
    units = rolled["units"]
    periods = ("2024Q2", "2024Q3", "2024Q4", "2025Q4")
    before = {(town, p): counted(figures_of(session, rolled, "co1-hz", town, p))
              for town in ("T1", "T2") for p in periods}
    with unit_of_work(session):
        unit_service.move_unit(session, units["V1"], units["T2"])  # today: after the plan
    after = {(town, p): counted(figures_of(session, rolled, "co1-hz", town, p))
             for town in ("T1", "T2") for p in periods}
    assert after == before


def test_a_move_before_the_current_placement_began_is_refused(rolled, session):
    units = rolled["units"]
    with unit_of_work(session):
        unit_service.move_unit(session, units["V1"], units["T2"], date(2025, 1, 1))
    with pytest.raises(InvalidInput) as refused:
        unit_service.move_unit(session, units["V1"], units["T1"], date(2024, 12, 1))
    assert refused.value.field == "day"


# -- closing a period ----------------------------------------------------------------------


def _upload(app, session, world, who: str, unit: str, period: str):
    user = world["users"][who]
    with app.test_request_context():
        view = reporting.load(session, user, KEY, unit, period)
        blank = workbooks.template_for(session, user, view, locale="zh_CN")
        with unit_of_work(session):
            return workbooks.import_upload(session, user, view, blank.data, blank.filename)


def test_a_period_closes_only_once_every_report_owed_is_approved(rolled, session):
    users = rolled["users"]
    t2 = rolled["units"]["T2"]
    with pytest.raises(InvalidState) as refused:
        closing.close(session, users["t2-hz"], rolled["assignment"], t2, "2024Q3")
    assert "1" in str(refused.value) and "2" in str(refused.value)  # 1 of 2 approved
    with pytest.raises(closing.NotAllowed):
        closing.close(session, users["t2-hz"], rolled["assignment"], rolled["units"]["T1"],
                      "2024Q3")


def test_a_closed_period_refuses_changes_everywhere_until_reopened(
        rolled, session, app, client, browser, make_token):  # noqa: F811
    users, units = rolled["users"], rolled["units"]
    with unit_of_work(session):
        closing.close(session, users["t1-hz"], rolled["assignment"], units["T1"], "2024Q3")

    # The service: the consolidator above cannot withdraw an approval below.
    view = reporting.load(session, users["co1-hz"], KEY, "T1", "2024Q3")
    with pytest.raises(PeriodClosed):
        reporting.unapprove(session, users["co1-hz"], view, "数字有误")
    # Excel upload: refused with the closing named, nothing saved.
    outcome = _upload(app, session, rolled, "v1", "V1", "2024Q3")
    assert isinstance(outcome.refusal, PeriodClosed)
    assert "t1-hz" in str(outcome.refusal)
    # The API: 423 with a problem document.
    token = make_token(users["co1-hz"])
    answer = api_request(client, "POST", f"/reports/{KEY}/T1/2024Q3/unapprove", token,
                         json={"reason": "数字有误"})
    assert answer.status_code == 423
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.get_json()["code"] == "period_closed"
    # The web: the review page says why, in Chinese by default.
    browser.login_ok("co1-hz")
    page = browser.post(f"/review/{KEY}/T1/2024Q3/unapprove", {"comment": "数字有误"},
                        token_from=f"/review/{KEY}/T1/2024Q3")
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "由 t1-hz 关闭：重新开放之前，其下该期报表不能修改" in text
    # The consolidation page, the API and the exports say it is closed, and when.
    figures = figures_of(session, rolled, "co1-hz", "T1")
    assert figures.closure is not None and figures.closure.closed_by.username == "t1-hz"
    state = api_request(client, "GET", f"/consolidations/{KEY}/T1/2024Q3", token).get_json()
    assert state["closed"]["closed_by"] == "t1-hz" and state["closed"]["unit"]["code"] == "T1"
    csv = api_request(client, "GET", f"/consolidations/{KEY}/T1/2024Q3/flat.csv", token)
    first, second = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()[:2]
    assert first.endswith("期间已关闭,关闭时间")
    assert ",已关闭," in second + "," and closing.local_time(figures.closure.closed_at) in second

    # Reopening needs a reason; it is recorded with who and when.
    with pytest.raises(InvalidInput):
        closing.reopen(session, users["t1-hz"], rolled["assignment"], units["T1"], "2024Q3",
                       "  ")
    with unit_of_work(session):
        closing.reopen(session, users["t1-hz"], rolled["assignment"], units["T1"], "2024Q3",
                       "村里更正了隐患数")
    row = session.scalar(select(PeriodClosure))
    assert (row.reopened_by.username, row.reopen_reason) == ("t1-hz", "村里更正了隐患数")
    assert row.reopened_at is not None
    history = closing.history(session, rolled["assignment"], units["T1"], "2024Q3")
    assert [h.open for h in history] == [False]
    # Changes are allowed again, on the API too.
    answer = api_request(client, "POST", f"/reports/{KEY}/T1/2024Q3/unapprove", token,
                         json={"reason": "数字有误"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "submitted"


def test_closing_and_reopening_on_the_consolidation_page(rolled, session, browser):
    browser.login_ok("t1-hz")
    address = f"/consolidation/{KEY}/T1/2024Q3"
    page = browser.get(address).get_data(as_text=True)
    assert 'data-closed="no"' in page
    done = browser.post(address + "/close", {}, token_from=address)
    assert done.status_code == 302
    page = browser.get(address).get_data(as_text=True)
    assert 'data-closed="yes"' in page and "t1-hz" in page
    refused = browser.post(address + "/reopen", {"reason": ""}, token_from=address)
    assert refused.status_code == 400
    assert session.scalar(select(PeriodClosure)).reopened_at is None
    done = browser.post(address + "/reopen", {"reason": "更正"}, token_from=address)
    assert done.status_code == 302
    page = browser.get(address).get_data(as_text=True)
    assert 'data-closed="no"' in page and "更正" in page


def test_unit_import_reads_reporting_dates(rolled, session):
    table = ("单位代码,单位名称,类型,上级单位代码,开始报送日期,停止报送日期\n"
             "V7,七村,village,T2,2024/7/1,2025年1月1日\n"
             "V1,Unit V1,village,T1,,\n").encode()
    with unit_of_work(session):
        report = unit_service.import_units(session, table, "units.csv")
    assert report.ok, report.problems
    seven = unit_service.get_unit(session, "V7")
    assert (seven.reports_from, seven.stops_on) == (date(2024, 7, 1), date(2025, 1, 1))
    bad = "code,name,kind,parent,reports_from\nV6,六村,village,T2,明年\n".encode()
    refused = unit_service.import_units(session, bad, "units.csv")
    assert [p.code for p in refused.problems] == ["invalid_date"]


# -- who may read a moved unit's reports ----------------------------------------------------


def test_a_moved_village_stays_readable_by_its_old_town_for_the_periods_it_was_theirs(
        rolled, session, client, browser, make_token):  # noqa: F811
    users, units = rolled["users"], rolled["units"]
    with unit_of_work(session):
        unit_service.move_unit(session, units["V1"], units["T2"], date(2024, 10, 1))
    session.expire_all()
    old, new = users["t1-hz"], users["t2-hz"]

    # The service: the old town reads 2024Q3 (before the move), the new town from 2024Q4.
    view = reporting.load(session, old, KEY, "V1", "2024Q3")
    assert view.values["found"] == 5
    with pytest.raises(NotVisible):
        reporting.load(session, old, KEY, "V1", "2024Q4")
    with pytest.raises(NotVisible):
        reporting.load(session, new, KEY, "V1", "2024Q3")
    assert reporting.load(session, new, KEY, "V1", "2024Q4").unit.code == "V1"
    # Reading is not changing: the old town cannot withdraw the approval it gave.
    assert not reporting.can_review(old, view)
    with pytest.raises(closing.NotAllowed):
        review.decide(session, old, view, "unapprove", "数字有误")
    # Its consolidation of 2024Q3 still shows the village among its parts.
    parts = figures_of(session, rolled, "t1-hz", "T1")
    assert "V1" in [c.unit.code for c in parts.children]

    # The web: report page, history, print view, workbook download and the review page.
    pages = (f"/reports/{KEY}/V1/2024Q3", f"/reports/{KEY}/V1/2024Q3/history",
             f"/reports/{KEY}/V1/2024Q3/print", f"/reports/{KEY}/V1/2024Q3/workbook.xlsx",
             f"/review/{KEY}/V1/2024Q3", f"/consolidation/{KEY}/T1/2024Q3")
    browser.login_ok("t1-hz")
    assert {p: browser.get(p).status_code for p in pages} == dict.fromkeys(pages, 200)
    assert browser.get(f"/reports/{KEY}/V1/2024Q4").status_code == 404
    refused = browser.post(f"/review/{KEY}/V1/2024Q3/unapprove", {"comment": "数字有误"},
                           token_from=f"/review/{KEY}/V1/2024Q3")
    assert refused.status_code == 403
    page = browser.get(f"/review/{KEY}/V1/2024Q3").get_data(as_text=True)
    assert "data-read-only" in page and "/unapprove" not in page
    browser.post("/auth/logout", token_from="/")
    browser.login_ok("t2-hz")
    assert browser.get(f"/reports/{KEY}/V1/2024Q3").status_code == 404
    assert browser.get(f"/reports/{KEY}/V1/2024Q4").status_code == 200

    # The API: the report, its history and its workbook; a decision is refused.
    token = make_token(old)
    for tail in ("", "/history", "/workbook.xlsx"):
        answer = api_request(client, "GET", f"/reports/{KEY}/V1/2024Q3{tail}", token)
        assert answer.status_code == 200, (tail, answer.get_data(as_text=True)[:200])
    assert api_request(client, "GET", f"/reports/{KEY}/V1/2024Q4", token).status_code == 404
    answer = api_request(client, "POST", f"/reports/{KEY}/V1/2024Q3/unapprove", token,
                         json={"reason": "数字有误"})
    assert answer.status_code == 403
    assert api_request(client, "GET", f"/reports/{KEY}/V1/2024Q3",
                       make_token(new)).status_code == 404


# -- the completeness matrix: periods a unit did not owe -------------------------------------


def test_the_matrix_shows_periods_not_owed_as_such_and_never_as_not_started_or_late(
        rolled, session, make_unit, make_user, browser, monkeypatch):
    town = rolled["units"]["T1"]
    new = make_unit("V8", town, reports_from=date(2024, 10, 1))
    rolled["users"]["v8"] = make_user("v8", unit=new)
    # It owes 2024Q4 only, and has handed that in; 2024Q2 and 2024Q3 were not its.
    send(session, rolled, "v8", "V8", "2024Q4", {"found": 1}, at=AFTER_Q3_DEADLINE)
    user, assignment = rolled["users"]["t1-hz"], rolled["assignment"]

    def rows(**filters) -> list[str]:
        matrix = review.completeness(session, user, assignment, town,
                                     review.MatrixFilters(all_periods=True, **filters),
                                     now=AFTER_Q3_DEADLINE)
        return [u.code for u in matrix.rows]

    matrix = matrix_of(session, rolled, "t1-hz", "T1")
    assert matrix.periods[:3] == ["2024Q4", "2024Q3", "2024Q2"]
    assert [matrix.cell(new, p).owed for p in ("2024Q4", "2024Q3", "2024Q2")] == [
        True, False, False]
    assert matrix.cell(new, "2024Q4").status == "submitted"
    # Not started: nothing of V8 (V1 and V2 have all their reports in).
    assert "V8" not in rows(status="not_started")
    assert "V8" not in rows(late_only=True)
    assert "V8" in rows(status="submitted")
    # Counts: 2024Q3's columns count V1 and V2 only.
    assert column(matrix, "2024Q3")[0] == 2 and column(matrix, "2024Q4")[0] == 3

    browser.login_ok("t1-hz")
    monkeypatch.setattr(review, "utcnow", lambda: AFTER_Q3_DEADLINE)
    page = browser.get(f"/review/?assignment={KEY}&unit=T1&all_periods=y")
    text = page.get_data(as_text=True)
    cell = re.search(r'<td[^>]*data-unit="V8" data-period="2024Q3"[^>]*>(.*?)</td>', text, re.S)
    assert cell is not None and 'data-status="not_owed"' in cell.group(0)
    assert "无需报送" in cell.group(1)


# -- a move or new dates that would alter a closed period -------------------------------------


def test_a_move_or_date_change_that_would_alter_a_closed_period_is_refused_until_reopened(
        rolled, session, browser, make_user):
    users, units = rolled["users"], rolled["units"]
    with unit_of_work(session):
        closing.close(session, users["t1-hz"], rolled["assignment"], units["T1"], "2024Q3")

    # The service: a move read by 2024Q3 (dated on or before its first day) is refused,
    # naming the period, the closed unit and who closed it; a later one is not.
    with pytest.raises(PeriodClosed) as refused:
        unit_service.move_unit(session, units["V1"], units["T2"], date(2024, 7, 1))
    text = str(refused.value)
    assert "2024年第三季度" in text and "t1-hz" in text and units["T1"].name in text
    assert refused.value.field == "day"
    # Moving a village *into* the closed town is refused as well.
    with pytest.raises(PeriodClosed):
        unit_service.move_unit(session, units["V3"], units["T1"], date(2024, 6, 1))
    # Dates: stopping V2 on 2024-07-01 would take 2024Q3 from it; stopping later would not.
    with pytest.raises(PeriodClosed) as refused:
        unit_service.set_reporting_dates(session, units["V2"], None, date(2024, 7, 1))
    assert refused.value.field == "reports_from"
    with unit_of_work(session):
        unit_service.set_reporting_dates(session, units["V2"], None, date(2024, 10, 1))
    # Nothing of the refused changes happened.
    session.expire_all()
    assert units["V1"].parent_id == units["T1"].id and units["V3"].parent_id == units["T2"].id

    # The import refuses the row, with nothing saved.
    table = "code,name,kind,parent,停止报送日期\nV2,{},village,T1,2024-07-01\n".format(
        units["V2"].name).encode()
    with unit_of_work(session):
        report = unit_service.import_units(session, table, "units.csv")
    assert not report.ok and [p.code for p in report.problems] == ["period_closed"]
    assert report.problems[0].row == 2 and report.problems[0].params["closed_by"] == "t1-hz"
    session.expire_all()
    assert units["V2"].stops_on == date(2024, 10, 1)
    # Switching a unit off takes the closed period from it too: refused, nothing saved.
    table = "code,name,kind,parent,启用\nV1,{},village,T1,否\n".format(
        units["V1"].name).encode()
    with unit_of_work(session):
        report = unit_service.import_units(session, table, "units.csv")
    assert [(p.code, p.column) for p in report.problems] == [("period_closed", "active")]
    session.expire_all()
    assert units["V1"].active

    # The web form: a 400 page with the message, in Chinese.
    make_user("root-admin", role="admin")
    browser.login_ok("root-admin")
    address = f"/admin/units/{units['V1'].code}"
    page = browser.post(address + "/move", {"parent": "T2", "day": "2024-07-01"},
                        token_from=address)
    assert page.status_code == 400
    assert "由 t1-hz 关闭" in page.get_data(as_text=True)

    # Reopened, the same move is allowed.
    with unit_of_work(session):
        closing.reopen(session, users["t1-hz"], rolled["assignment"], units["T1"], "2024Q3",
                       "村划归他镇")
    with unit_of_work(session):
        unit_service.move_unit(session, units["V1"], units["T2"], date(2024, 7, 1))
    session.expire_all()
    assert units["V1"].parent_id == units["T2"].id


# -- the leader's summary: who prepared and who reviewed -----------------------------------


def _signature_line(session, world, period: str) -> str:
    import io

    from openpyxl import load_workbook

    from server.services import merged

    figures = figures_of(session, world, "t1-hz", "T1", period)
    data = io.BytesIO()
    merged.write_merged(session, figures, data, locale="zh_CN", now=AFTER_Q3_DEADLINE)
    sheet = load_workbook(io.BytesIO(data.getvalue())).worksheets[0]
    found = [c.value for row in sheet.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("填表人")]
    assert len(found) == 1, found
    return found[0]


def test_the_leaders_summary_names_who_prepared_and_who_reviewed(rolled, session, app):
    users, units = rolled["users"], rolled["units"]
    today = datetime.now(UTC).astimezone(closing.SHANGHAI).date().isoformat()
    with app.test_request_context():
        # T1's own report of 2024Q3 was submitted by t1 and approved by co1-hz.
        line = _signature_line(session, rolled, "2024Q3")
        assert line.startswith("填表人：t1 ")
        assert f"审核人：co1-hz（{today} 审核通过）" in line
        # Closed, the reviewer is who closed it, and when.
        with unit_of_work(session):
            closing.close(session, users["t1-hz"], rolled["assignment"], units["T1"], "2024Q3")
        line = _signature_line(session, rolled, "2024Q3")
        assert f"审核人：t1-hz（{today} 关闭本期）" in line
        # Nobody approved nor closed 2024Q4: a line to sign by hand.
        line = _signature_line(session, rolled, "2024Q4")
        assert "审核人：______________" in line and "（盖章）" in line
