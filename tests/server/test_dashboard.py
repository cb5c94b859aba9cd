"""The dashboard and the 晾晒通报 against a plain recomputation from the reports.

Random trees (seeded) with random report states in four quarters, one of them not yet
due: every number of the dashboard (per period, per child, never reported), the list
of units behind each number, and the briefing's rows and wording are recomputed here
from the report rows with nothing but Python, and compared.
"""

from __future__ import annotations

import io
import random
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime

import openpyxl
import pytest
from hazards import hazards_definition
from sqlalchemy import select

from forms.definition import Definition
from forms.periods import Period
from server.db import unit_of_work
from server.models import Report, Role, Status
from server.models.reporting import ReportEvent
from server.services import assignments as assignment_service
from server.services import briefing as briefing_service
from server.services import dashboard as dashboard_service
from server.services import templates as template_service
from server.services import units as unit_service

NOW = datetime(2025, 1, 3, 2, tzinfo=UTC)  # 2024Q2–Q3 are past due, 2024Q4 and 2025Q1 not
PERIODS = ["2024Q2", "2024Q3", "2024Q4", "2025Q1"]
NOT_YET_DUE = {"2024Q4", "2025Q1"}
OUTCOMES = ("none", "draft", "on_time", "late", "approved", "approved_late", "returned")


def expected_state(outcome: str, period: str) -> str:
    if outcome in ("on_time", "approved"):
        return "on_time"
    if outcome in ("late", "approved_late"):
        return "late"
    return "pending" if period in NOT_YET_DUE else "missing"


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(dashboard_service, "utcnow", lambda: NOW)


def build_world(session, make_unit, seed: int):
    """A county with random towns, villages, companies and a transparent group level;
    the assignment asks every unit below the county. Reports are written as rows."""
    rng = random.Random(seed)
    root = make_unit(f"R{seed}", kind="county", name=f"县{seed}")
    units = []
    for t in range(rng.randint(2, 4)):
        town = make_unit(f"R{seed}T{t}", root, kind="town", name=f"镇{t}")
        units.append(town)
        for v in range(rng.randint(0, 4)):
            kind = rng.choice(("village", "village", "company"))
            units.append(make_unit(f"R{seed}T{t}V{v}", town, kind=kind, name=f"村{t}-{v}"))
        if rng.random() < 0.5:
            group = make_unit(f"R{seed}T{t}G", town, kind="group", name=f"组{t}")
            units.append(group)
            units.append(make_unit(f"R{seed}T{t}GV", group, kind="village", name=f"组村{t}"))
    with unit_of_work(session):
        template_service.publish(session, Definition.model_validate(hazards_definition()),
                                 origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment = assignment_service.create_assignment(
            session, key=f"hz{seed}", template=template, root=root, first="2024Q2",
            last="2025Q1")
    outcomes = {}
    with unit_of_work(session):
        for unit in units:
            for period in PERIODS:
                outcome = rng.choice(OUTCOMES)
                outcomes[(unit.id, period)] = outcome
                if outcome == "none":
                    continue
                status = {"draft": Status.DRAFT, "returned": Status.RETURNED,
                          "approved": Status.APPROVED,
                          "approved_late": Status.APPROVED}.get(outcome, Status.SUBMITTED)
                report = Report(assignment_id=assignment.id, unit_id=unit.id, period=period,
                                template_version_id=template.id, status=status,
                                late=outcome in ("late", "approved_late"), values={})
                session.add(report)
                session.flush()
                # Some handed-in reports were returned once before (the returns column).
                if outcome == "returned" or (status != Status.DRAFT and rng.random() < 0.2):
                    session.add(ReportEvent(report_id=report.id, action="returned",
                                            revision=0, comment="补充"))
                    outcomes[(unit.id, period, "returned")] = True
    # Dated changes inside the range: a unit starts reporting, one stops, a village moves
    # to another town; the periods before the day keep the old tree and dates.
    towns = [u for u in units if u.kind == "town"]
    leaves = [u for u in units if u.kind in ("village", "company") and u.parent.kind == "town"]
    rng.shuffle(leaves)
    changes = {}
    with unit_of_work(session):
        if len(leaves) >= 1:
            unit_service.set_reporting_dates(session, leaves[0], CHANGE_DAY, None)
        if len(leaves) >= 2:
            unit_service.set_reporting_dates(session, leaves[1], None, CHANGE_DAY)
        if len(leaves) >= 3:
            mover = leaves[2]
            target = next(t for t in towns if t.id != mover.parent_id)
            changes[mover.id] = mover.parent_id
            unit_service.move_unit(session, mover, target, CHANGE_DAY)
    for unit in units:
        session.refresh(unit)
    return root, units, assignment, outcomes, changes


CHANGE_DAY = date(2024, 10, 1)  # the first day of 2024Q4


def owes(unit, period) -> bool:
    start = Period.parse(period).start
    return ((unit.reports_from is None or unit.reports_from <= start)
            and (unit.stops_on is None or unit.stops_on > start))


def child_of(root, unit, units, period=None, changes=None):
    """The child of *root* above *unit* (plain path reading), in *period*'s tree."""
    if period is not None and changes and unit.id in changes and (
            Period.parse(period).start < CHANGE_DAY):
        return next(u for u in units if u.id == changes[unit.id])
    first = unit.path[len(root.path):].split("/")[0]
    return next(u for u in units if u.id == int(first))


def recompute(root, units, outcomes, periods, kind="", changes=None):
    by_period = {p: Counter() for p in periods}
    by_child = defaultdict(Counter)
    for unit in units:
        if kind and unit.kind != kind:
            continue
        for p in periods:
            if not owes(unit, p):
                continue
            child = child_of(root, unit, units, p, changes)
            state = expected_state(outcomes[(unit.id, p)], p)
            approved = outcomes[(unit.id, p)].startswith("approved")
            returned = outcomes.get((unit.id, p, "returned"), False)
            for counter in (by_period[p], by_child[child.code]):
                counter["owed"] += 1
                counter[state] += 1
                counter["approved"] += approved
                counter["returned"] += returned
    never = {u.code for u in units if (not kind or u.kind == kind)
             and any(owes(u, p) for p in periods) and all(
                 outcomes[(u.id, p)] in ("none", "draft", "returned") for p in PERIODS)}
    return by_period, by_child, never


def tally_dict(tally) -> Counter:
    return Counter({"owed": tally.owed, **{k: v for k, v in tally.counts.items() if v}})


@pytest.mark.parametrize("seed", range(6))
def test_every_figure_matches_a_recomputation_from_the_reports(session, make_unit, clock,
                                                               seed):
    root, units, assignment, outcomes, changes = build_world(session, make_unit, seed)
    kind = "village" if seed % 2 else ""
    board = dashboard_service.build(session, assignment, root, PERIODS, kind=kind, now=NOW)
    by_period, by_child, never = recompute(root, units, outcomes, PERIODS, kind, changes)
    for p in PERIODS:
        assert tally_dict(board.by_period[p]) == +by_period[p], p
    assert {row.unit.code: tally_dict(row.total) for row in board.children} == {
        code: +counter for code, counter in by_child.items()}
    # Each child's figures of each period (the table under the ranking).
    codes = {u.id: u.code for u in units}
    for (p, child_id), tally in board.cells.items():
        _, one, _ = recompute(root, units, outcomes, [p], kind, changes)
        assert tally_dict(tally) == +one[codes[child_id]], (p, codes[child_id])
    assert {p for p, _ in board.cells} <= set(PERIODS)
    assert sum(t.owed for t in board.cells.values()) == sum(c["owed"] for c in by_period.values())
    assert board.never_reported == len(never)
    listed = session.scalars(dashboard_service.never_reported_query(
        assignment, root, dashboard_service.segments(session, assignment, PERIODS),
        kind)).all()
    assert {u.code for u in listed} == never
    # The ranking: completion, then timeliness, descending; returns ascending.
    keys = [(-(r.total.completion or 0), -(r.total.timeliness or 0), r.total["returned"])
            for r in board.children]
    assert keys == sorted(keys)
    assert [r.rank for r in board.children][:1] in ([], [1])
    # The units behind each number are the units counted in it.
    for p in PERIODS:
        for measure in ("on_time", "late", "missing", "pending", "approved", "returned",
                        "owed"):
            for child in [None, *(r.unit for r in board.children[:2])]:
                behind = session.scalars(dashboard_service.units_behind(
                    assignment, root, p, measure, child=child, kind=kind, now=NOW)).all()
                expected = [u for u in units if (not kind or u.kind == kind) and owes(u, p)
                            and (child is None
                                 or child_of(root, u, units, p, changes).id == child.id)
                            and matches(outcomes, u, p, measure)]
                assert {u.code for u in behind} == {u.code for u in expected}, (p, measure)


def matches(outcomes, unit, period, measure) -> bool:
    outcome = outcomes[(unit.id, period)]
    if measure == "owed":
        return True
    if measure == "approved":
        return outcome.startswith("approved")
    if measure == "returned":
        return outcomes.get((unit.id, period, "returned"), False)
    return expected_state(outcome, period) == measure


def test_the_briefing_ranks_and_names_as_the_reports_say(app, session, make_unit, clock):
    root, units, assignment, outcomes, changes = build_world(session, make_unit, 11)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        brief = briefing_service.build(session, assignment, root, "2024Q3", now=NOW)
        data = briefing_service.workbook(brief)
    _, by_child, _ = recompute(root, units, outcomes, ["2024Q3"], changes=changes)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = {}
    for line in sheet.iter_rows(values_only=True):
        if isinstance(line[0], int) and isinstance(line[1], str):
            rows[line[1]] = line[2:7]
    expected = {}
    for code, counter in by_child.items():
        name = next(u.name for u in units if u.code == code)
        expected[name] = (counter["owed"], counter["on_time"], counter["late"],
                          counter["missing"], counter["pending"])
    assert rows == expected
    text = "\n".join(str(c) for line in sheet.iter_rows(values_only=True) for c in line if c)
    missing = {name for name, row in expected.items() if row[3]}
    if missing:
        assert re.search(r"units? named for missing reports", text)
        for name in missing:
            assert f"{name} ({expected[name][3]} missing)" in text
    else:
        assert "named for missing" not in text
    owed = sum(row[0] for row in expected.values())
    assert f"{owed} units owed the report" in text or (owed == 1 and "1 unit owed" in text)
    assert root.name in text and "(seal)" in text


def test_the_briefing_without_laggards_names_nobody(app, session, make_unit, clock):
    root, units, assignment, outcomes, changes = build_world(session, make_unit, 3)
    version = assignment.versions[0].template_version_id
    with unit_of_work(session):
        stored = {r.unit_id: r for r in session.scalars(select(Report).where(
            Report.assignment_id == assignment.id, Report.period == "2024Q3"))}
        for unit in units:
            report = stored.get(unit.id) or Report(
                assignment_id=assignment.id, unit_id=unit.id, period="2024Q3",
                template_version_id=version, values={})
            report.status, report.late = Status.APPROVED, False
            session.add(report)
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        brief = briefing_service.build(session, assignment, root, "2024Q3", now=NOW)
        sheet = brief.sheet
    assert sheet.call_out_heading == "" and sheet.call_out == []
    assert "点名" not in "".join(sheet.headline) + sheet.ranking_text
    assert any("按时" in s for s in sheet.headline)


# -- pages and scope -----------------------------------------------------------------------


@pytest.fixture
def pages_world(session, make_unit, make_user, clock):
    root, units, assignment, outcomes, changes = build_world(session, make_unit, 5)
    other = make_unit("ELSE", kind="county", name="别县")
    town = next(u for u in units if u.kind == "town")
    users = {"town": make_user("town-hz", Role.CONSOLIDATOR, town),
             "county": make_user("county-hz", Role.CONSOLIDATOR, root),
             "else": make_user("else-hz", Role.CONSOLIDATOR, other),
             "boss": make_user("boss", Role.ADMIN)}
    return root, units, assignment, outcomes, changes, town, users


def test_the_page_shows_the_numbers_and_links_to_the_units(browser, pages_world):
    root, units, assignment, outcomes, changes, town, users = pages_world
    browser.login_ok(users["county"])
    page = browser.get(f"/review/dashboard?assignment={assignment.key}").get_data(as_text=True)
    by_period, _, _ = recompute(root, units, outcomes, PERIODS, changes=changes)
    for p in PERIODS:
        row = re.search(rf'<tr data-period="{p}">(.*?)</tr>', page, re.S).group(1)
        for measure in ("owed", "on_time", "late", "missing"):
            shown = re.search(rf'data-measure="{measure}"><a href="([^"]+)">(\d+)</a>', row)
            assert int(shown.group(2)) == by_period[p][measure], (p, measure)
        link = re.search(r'data-measure="missing"><a href="([^"]+)"', row).group(1)
        listed = browser.get(link.replace("&amp;", "&")).get_data(as_text=True)
        codes = set(re.findall(r'<tr data-unit="([^"]+)"', listed))
        assert codes == {u.code for u in units
                         if owes(u, p) and matches(outcomes, u, p, "missing")}
    assert "<svg" in page and "<title" in page


def test_scope_a_consolidator_sees_only_their_subtree(browser, other_browser, pages_world):
    root, units, assignment, outcomes, changes, town, users = pages_world
    browser.login_ok(users["town"])
    page = browser.get(f"/review/dashboard?assignment={assignment.key}").get_data(as_text=True)
    assert town.name in page
    # Another town's figures, or a unit of another county, are not for this account.
    other_town = next((u for u in units if u.kind == "town" and u.id != town.id), None)
    if other_town is not None:
        response = browser.get(f"/review/dashboard?assignment={assignment.key}"
                               f"&unit={other_town.code}")
        assert response.status_code == 404
        response = browser.get(f"/review/dashboard/units?assignment={assignment.key}"
                               f"&unit={town.code}&child={other_town.code}&period=2024Q3"
                               "&measure=missing")
        assert response.status_code == 404
    assert browser.get(f"/review/dashboard?assignment={assignment.key}&unit={root.code}"
                       ).status_code == 404
    other_browser.login_ok(users["else"])
    assert other_browser.get(f"/review/dashboard?assignment={assignment.key}"
                             ).status_code == 404
    assert other_browser.get(f"/review/dashboard/briefing.xlsx?assignment={assignment.key}"
                             f"&unit={root.code}").status_code == 404
    assert other_browser.get("/review/overview").status_code == 403


def test_the_overview_lists_assignments_laggards_first(browser, pages_world):
    root, units, assignment, outcomes, changes, town, users = pages_world
    browser.login_ok(users["boss"])
    page = browser.get("/review/overview").get_data(as_text=True)
    by_period, _, _ = recompute(root, units, outcomes, ["2024Q3"], changes=changes)
    row = re.search(rf'<tr data-assignment="{assignment.key}">(.*?)</tr>', page, re.S).group(1)
    assert re.search(rf'data-measure="missing"><a href="[^"]+">{by_period["2024Q3"]["missing"]}<',
                     row)
    xlsx = browser.get(f"/review/dashboard/briefing.xlsx?assignment={assignment.key}"
                       f"&unit={root.code}&period=2024Q3")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def listed_rows(browser, link: str) -> list[tuple[str, str]]:
    """The (unit code, period) rows of the list a link opens (one page is enough here)."""
    page = browser.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert 'class="pagination' not in page
    return re.findall(r'<tr data-unit="([^"]+)"(?: data-period="(\w+)")?>', page)


def test_every_number_of_the_ranking_opens_that_many_units(browser, pages_world):
    root, units, assignment, outcomes, changes, town, users = pages_world
    browser.login_ok(users["county"])
    page = browser.get(f"/review/dashboard?assignment={assignment.key}").get_data(as_text=True)
    ranking = re.search(r'data-table="ranking">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r'<tr data-child="([^"]+)">(.*?)</tr>', ranking, re.S)
    assert rows
    by_code = {u.code: u for u in units}
    for code, row in rows:
        cells = re.findall(r'data-measure="(\w+)"><a href="([^"]+)">(\d+)</a>', row)
        assert {m for m, _, _ in cells} == {"owed", "on_time", "late", "missing", "pending",
                                            "returned"}
        for measure, link, number in cells:
            listed = listed_rows(browser, link)
            assert len(listed) == int(number), (code, measure)
            expected = {(u.code, p) for u in units for p in PERIODS if owes(u, p)
                        and child_of(root, u, units, p, changes).code == code
                        and matches(outcomes, u, p, measure)}
            assert set(listed) == expected, (code, measure)
            assert by_code[code].name in browser.get(link.replace("&amp;", "&")).get_data(
                as_text=True)


def test_every_number_of_the_overview_opens_that_many_units(browser, pages_world):
    root, units, assignment, outcomes, changes, town, users = pages_world
    browser.login_ok(users["boss"])
    page = browser.get("/review/overview").get_data(as_text=True)
    row = re.search(rf'<tr data-assignment="{assignment.key}">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'data-measure="(\w+)"><a href="([^"]+)">(\d+)</a>', row)
    assert {m for m, _, _ in cells} == {"owed", "on_time", "late", "missing"}
    for measure, link, number in cells:
        listed = listed_rows(browser, link)
        assert len(listed) == int(number), measure
        assert {c for c, _ in listed} == {u.code for u in units if owes(u, "2024Q3")
                                          and matches(outcomes, u, "2024Q3", measure)}
    # The children lagging most open their own missing units.
    lagging = re.findall(r'<a data-child="([^"]+)" href="([^"]+)">[^<]*\((\d+)\)</a>', row)
    assert lagging or by_missing(units, outcomes) == 0
    for code, link, number in lagging:
        listed = listed_rows(browser, link)
        assert len(listed) == int(number), code
        assert {c for c, _ in listed} == {
            u.code for u in units if owes(u, "2024Q3") and matches(
                outcomes, u, "2024Q3", "missing")
            and child_of(root, u, units, "2024Q3", changes).code == code}


def by_missing(units, outcomes) -> int:
    return sum(1 for u in units if owes(u, "2024Q3") and matches(outcomes, u, "2024Q3",
                                                                  "missing"))
