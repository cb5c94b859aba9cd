"""Property: for random trees and reports in the database, every total of every merged
workbook (and of its CSV) equals a recomputation done here in plain Python.

Trees have two to five levels; some units below the root are transparent (an
office of a kind that does not report), so a unit's children are the nearest
reporting units below it. Leaves report random figures; every reporting unit
with children files the report the consolidation service prefills from its
approved children, sometimes with numbers overridden. Statuses are random
(not started, draft, submitted, approved); some units have an approved report of
the period before, or only of the one before that. Then every unit that consolidates
is exported, with or without the submitted reports, like for like or in the strict
view, and its workbook read back with python-calamine; its CSV, its API answer and
its figures page are read too.

Like for like: a child whose report does not count gives its latest approved
cumulative figures within each field's span, carried forward; 本期新增 compares the
same units in both periods; coverage counts who is in each figure.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from api_helpers import api_get, token_for
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from merged_form import form_values
from python_calamine import CalamineWorkbook
from test_merged_export import (
    AFTER_DEADLINES,
    CONTACT,
    CUMULATIVE,
    REPORTING_KINDS,
    TEXTS,
    cell,
    publish_versions,
    put_report,
)

from exports.flat_data import BOM, FLAT_HEADERS
from server.db import unit_of_work
from server.models import Role, Status, User
from server.services import accounts, consolidation, merged
from server.services import assignments as assignment_service
from server.services import units as unit_service

NAMES = ("村", "=SUM(A1:A9)", "a/b:c*[d]?", "很长很长很长的单位名称" * 3, "Summary", "summary",
         "+86 公司", "'引号'", "@home", "Data")
STATUSES = (None, Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.APPROVED)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
examples = itertools.count()


@dataclass
class Node:
    name: str
    reports: bool  # of a reporting kind (else a transparent office)
    version: int = 2
    status: str | None = None  # this period's report; None: not started
    own: dict[str, Any] = field(default_factory=dict)  # random figures (leaves)
    overrides: dict[str, Any] = field(default_factory=dict)  # an office's edits
    previous: dict[str, Any] | None = None  # approved report of the period before
    earlier: dict[str, Any] | None = None  # approved report of the period before that
    children: list[Node] = field(default_factory=list)
    # Filled while building:
    code: str = ""
    parent: Node | None = None
    values: dict[str, Any] = field(default_factory=dict)  # as stored
    unit: Any = None

    def walk(self):
        for child in self.children:
            yield child
            yield from child.walk()

    def report_children(self) -> list[Node]:
        """The nearest reporting units below (transparent offices looked through), in tree
        order: by materialised path once the units exist."""
        out = []
        for child in self.children:
            out.extend([child] if child.reports else child.report_children())
        return sorted(out, key=lambda n: n.unit.path) if all(n.code for n in out) else out

    @property
    def sent(self) -> bool:
        return self.status in (Status.SUBMITTED, Status.APPROVED)


# -- random worlds ------------------------------------------------------------------------------


@st.composite
def worlds(draw) -> Node:
    levels = draw(st.integers(2, 5))  # the root and 1–4 levels below

    def node(depth: int, first: bool = False) -> Node:
        # The root's first child reports, so the root always has something to consolidate.
        reports = depth > 0 and (first or draw(st.integers(0, 4)) > 0)
        me = Node(draw(st.sampled_from(NAMES)), reports=reports)
        if depth + 1 < levels:
            width = draw(st.integers(int(depth == 0), 3))
            me.children = [node(depth + 1, first=depth == 0 and i == 0) for i in range(width)]
        if me.reports:
            me.version = draw(st.sampled_from((1, 2)))
            me.status = draw(st.sampled_from(STATUSES))
            me.own = draw(form_values(me.version))
            if draw(st.booleans()):
                me.overrides = {"found": draw(st.integers(0, 900))}
            if draw(st.booleans()):
                me.previous = draw(form_values(1))
            elif draw(st.booleans()):
                me.earlier = draw(form_values(1))
        return me

    return node(0)


# -- building the world in the database ----------------------------------------------------------


def build(session, root: Node, period: str, previous_period: str, admin: User,
          earlier_period: str) -> str:
    """Units, the assignment and the reports; returns the assignment key."""
    n = next(examples)
    counter = itertools.count()
    versions = publish_versions(session)

    def create(node: Node, parent_unit) -> None:
        node.code = f"X{n}N{next(counter)}"
        kind = "city" if parent_unit is None else ("village" if node.reports else "office")
        unit = unit_service.create_unit(session, node.code, node.name, kind, parent_unit)
        node.unit = unit
        for child in node.children:
            child.parent = node
            create(child, unit)

    with unit_of_work(session):
        create(root, None)
        key = f"merge-{n}"
        assignment = assignment_service.create_assignment(
            session, key=key, template=versions[1], root=root.unit, kinds=REPORTING_KINDS,
            first="2024Q2", last="2025Q4")
        assignment_service.replace_version(session, assignment, versions[2], "2024Q4")

    def file(node: Node) -> None:
        """Bottom-up: an office files its report once its children have filed theirs."""
        for child in node.children:
            file(child)
        if not node.reports:
            return
        if node.previous is not None:
            put_report(session, assignment, node.unit, previous_period,
                       {**CONTACT, **node.previous}, Status.APPROVED, template=versions[1])
        if node.earlier is not None:
            put_report(session, assignment, node.unit, earlier_period,
                       {**CONTACT, **node.earlier}, Status.APPROVED, template=versions[1])
        if node.status is None:
            return
        below = node.report_children()
        if below:
            figures = consolidation.figures(session, admin, key, node.code, period)
            prefilled = consolidation.prefill_values(figures)
            for key_ in NUMERIC_KEYS:
                assert prefilled.get(key_) == expected(node, key_, include_submitted=False,
                                                       period=period), key_
            values = {**{k: v for k, v in prefilled.items() if v is not None}, **node.overrides}
        else:
            values = dict(node.own)
        node.values = values
        put_report(session, assignment, node.unit, period, {**CONTACT, **values}, node.status,
                   template=versions[2 if below else node.version])
        if below:
            node.version = 2

    file(root)
    return key


NUMERIC_KEYS = ("found", "rectified", "funding", "peak", "rate", "visits", "posts")


# -- the independent recomputation ----------------------------------------------------------------

PERIODS = {False: ("2024Q4", "2024Q3", "2024Q2"), True: ("2025Q1", "2024Q4", "2024Q3")}


def counted(node: Node, include_submitted: bool) -> bool:
    return node.status == Status.APPROVED or (include_submitted and node.status == Status.SUBMITTED)


def prior(node: Node, period: str) -> tuple[str, dict[str, Any]] | None:
    """The node's latest approved report before *period*: (its period, its values)."""
    _, previous_period, earlier_period = next(p for p in PERIODS.values() if p[0] == period)
    if node.previous is not None:
        return previous_period, node.previous
    if node.earlier is not None:
        return earlier_period, node.earlier
    return None


def in_span(key: str, period: str, other: str) -> bool:
    """"visits" counts per calendar year; the other cumulative figures over the plan."""
    return key != "visits" or period[:4] == other[:4]


def carried(node: Node, key: str, period: str, carry: bool) -> tuple[str, Any] | None:
    """(period, value) of the figure carried forward for a node whose report does not count."""
    found = prior(node, period) if carry and key in CUMULATIVE else None
    if found is None or not in_span(key, period, found[0]) or found[1].get(key) is None:
        return None
    return found[0], found[1][key]


def parts(node: Node, key: str, period: str, include_submitted: bool,
          carry: bool) -> list[tuple[Node, Any, str | None]]:
    """(child, value, carried from) of every part of *node*'s figure."""
    out = []
    for c in node.report_children():
        if counted(c, include_submitted):
            if c.values.get(key) is not None:
                out.append((c, c.values[key], None))
        elif (found := carried(c, key, period, carry)) is not None:
            out.append((c, found[1], found[0]))
    return out


def combine(key: str, numbers: list[Any]) -> Any:
    if not numbers:
        return None
    if key == "peak":
        return max(numbers)
    if key == "rate":
        return (Decimal(sum(numbers)) / len(numbers)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return sum(numbers)


def expected(node: Node, key: str, *, include_submitted: bool, period: str,
             carry: bool = True) -> Any:
    """The consolidated figure of *node*: its children's reports as stored, by the field's
    rule, with the cumulative figures of the children not counted carried forward."""
    return combine(key, [v for _, v, _ in parts(node, key, period, include_submitted, carry)])


def expected_increment(node: Node, key: str, *, include_submitted: bool, period: str,
                       carry: bool) -> Any:
    """本期新增 like for like: the figure less the same units' figures before."""
    value = expected(node, key, include_submitted=include_submitted, period=period, carry=carry)
    if value is None:
        return None
    previous_period = next(p for p in PERIODS.values() if p[0] == period)[1]
    if not in_span(key, period, previous_period):
        return value
    before = []
    for c, _, _ in parts(node, key, period, include_submitted, carry):
        found = prior(c, period)
        if found is not None and in_span(key, period, found[0]) and found[1].get(key) is not None:
            before.append(found[1][key])
    return value - sum(before) if before else value


def expected_coverage(node: Node, key: str, *, include_submitted: bool, period: str,
                      carry: bool) -> dict[str, int]:
    children = node.report_children()
    counted_ = [c for c in children if counted(c, include_submitted)]
    reported = sum(1 for c in counted_ if c.values.get(key) is not None)
    carried_ = sum(1 for c in children if not counted(c, include_submitted)
                   and carried(c, key, period, carry) is not None)
    blank = len(counted_) - reported
    return {"applies": len(children), "reported": reported, "carried": carried_,
            "blank": blank, "never": len(children) - reported - carried_ - blank}


def expected_text(node: Node, key: str, *, include_submitted: bool) -> str:
    return "\n".join(f"{c.name}：{c.values[key]}" for c in node.report_children()
                     if counted(c, include_submitted) and c.values.get(key))


def growth(node: Node, key: str, period: str) -> Any:
    """本期新增 of one unit's cumulative figure, from its latest earlier report; a per-year
    count starts again in January."""
    value = node.values[key]
    found = prior(node, period)
    before = found[1].get(key) if found else None
    if before is None or not in_span(key, period, found[0]):
        return value
    return value - before


def flat_expectation(top: Node, period: str, include_submitted: bool,
                     carry: bool) -> dict[tuple[str, str], tuple]:
    """(unit code, field) -> (parent code, level, version, value, increment, carried from),
    for the reports that count in the totals and the figures carried forward into them."""
    out = {}

    def visit(node: Node, parent: Node, level: int) -> None:
        for child in node.children:
            if not child.reports:
                visit(child, parent, level)
                continue
            if counted(child, include_submitted):
                for key, value in child.values.items():
                    if value is None or key in CONTACT:
                        continue
                    grown = growth(child, key, period) if key in CUMULATIVE else None
                    out[(child.code, key)] = (parent.code, level, child.version, value, grown,
                                              "")
            elif level == 1:
                for key in CUMULATIVE:
                    if (found := carried(child, key, period, carry)) is not None:
                        # Earlier reports were made under version 1.
                        out[(child.code, key)] = (parent.code, level, 1, found[1], 0, found[0])
            visit(child, child, level + 1)

    visit(top, top, 1)
    return out


def same(got: Any, want: Any, key: str) -> bool:
    if want is None:
        return got in ("", None)
    if isinstance(want, str):
        return got == want
    return got == pytest.approx(float(want))


# -- the property ---------------------------------------------------------------------------


@pytest.fixture
def admin(session) -> User:
    with unit_of_work(session):
        return accounts.create_user(session, "admin", "correct-horse-7", Role.ADMIN, None)


@pytest.mark.slow
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(root=worlds(), late_year=st.booleans(), include_submitted=st.booleans(),
       carry=st.booleans())
def test_every_total_of_every_merged_workbook_matches_a_recomputation(
        session, admin, client, browser, tmp_path_factory, root, late_year, include_submitted,
        carry):
    period, previous_period, earlier_period = PERIODS[late_year]
    key = build(session, root, period, previous_period, admin, earlier_period)
    folder = tmp_path_factory.mktemp("merged")
    consolidating = [n for n in (root, *root.walk()) if n.report_children()]
    assert root in consolidating
    token = token_for(session, admin)
    if not getattr(browser, "signed_in", False):  # fixtures outlive one example
        browser.login_ok(admin, "correct-horse-7")
        browser.signed_in = True
    for top in consolidating:
        figures = consolidation.figures(session, admin, key, top.code, period,
                                        include_submitted=include_submitted,
                                        carry_forward=carry)
        want = Want(top, period, include_submitted, carry)
        path = folder / f"{top.code}.xlsx"
        result = merged.write_merged(session, figures, str(path), locale="en",
                                     now=AFTER_DEADLINES)
        book = CalamineWorkbook.from_path(str(path))
        check_summary(book, result, want)
        check_children(book, result, top, include_submitted)
        rows = check_data(book, result, top, period, include_submitted, carry)
        check_completeness(book, result, top, want)
        check_flagged(book, result, want)
        check_csv(session, figures, want, rows)
        check_api(client, token, key, want)
        check_page(browser, key, want)


@dataclass
class Want:
    """One consolidation's expected figures, recomputed here."""

    top: Node
    period: str
    include_submitted: bool
    carry: bool

    def value(self, key: str) -> Any:
        return expected(self.top, key, include_submitted=self.include_submitted,
                        period=self.period, carry=self.carry)

    def increment(self, key: str) -> Any:
        return expected_increment(self.top, key, include_submitted=self.include_submitted,
                                  period=self.period, carry=self.carry)

    def coverage(self, key: str) -> dict[str, int]:
        return expected_coverage(self.top, key, include_submitted=self.include_submitted,
                                 period=self.period, carry=self.carry)

    def parts(self, key: str) -> list[tuple[Node, Any, str | None]]:
        return parts(self.top, key, self.period, self.include_submitted, self.carry)


def check_summary(book, result, want: Want) -> None:
    for key in NUMERIC_KEYS:
        got = cell(book, result.summary_sheet, result.summary_cells[key])
        value = want.value(key)
        if key == "rate" and value is not None:
            value = value / 100  # a percent cell holds the fraction
        assert same(got, value, key), (want.top.code, key, got, value)
    for key in TEXTS:
        got = cell(book, result.summary_sheet, result.summary_cells[key])
        assert got == expected_text(want.top, key, include_submitted=want.include_submitted)


def check_children(book, result, top: Node, include_submitted: bool) -> None:
    """One sheet per direct child with a report, showing the figures that count."""
    direct = [c for c in top.report_children() if c.status is not None]
    assert set(result.child_sheets) == {c.code for c in direct}
    for child in direct:
        sheet, cells = result.child_sheets[child.code], result.child_cells[child.code]
        assert ("posts" in cells) == (child.version == 2)
        for key in NUMERIC_KEYS:
            if key not in cells:
                continue
            want = child.values.get(key) if counted(child, include_submitted) else None
            if key == "rate" and want is not None:
                want = want / 100
            assert same(cell(book, sheet, cells[key]), want, key), (child.code, key)


def check_data(book, result, top: Node, period: str, include_submitted: bool,
               carry: bool) -> dict:
    want = flat_expectation(top, period, include_submitted, carry)
    rows = []
    for name in result.data_sheets:
        sheet = book.get_sheet_by_name(name).to_python()
        assert sheet[0] == list(FLAT_HEADERS)
        rows.extend(sheet[1:])
    got = {}
    for row in rows:
        code, _name, parent, level, got_period, version, _item, key, _label, value, grown, _u, \
            _note, carried_from = row[:14]
        assert (code, key) not in got
        got[(code, key)] = (parent, int(level), int(version), value, grown, carried_from)
        assert got_period == period
    assert set(got) == set(want)
    for where, (parent, level, version, value, grown, carried_from) in want.items():
        g_parent, g_level, g_version, g_value, g_grown, g_carried = got[where]
        assert (g_parent, g_level, g_version) == (parent, level, version), where
        assert g_carried == carried_from, where
        assert same(g_value, value, where[1]), (where, g_value, value)
        assert same(g_grown, grown, where[1]), (where, g_grown, grown)
    assert result.data_rows == len(want)
    # A pivot of the first level gives the summary: carried-forward rows included.
    for key in CUMULATIVE:
        first = [w[3] for (code, k), w in want.items() if k == key and w[1] == 1]
        assert combine(key, first) == expected(top, key, include_submitted=include_submitted,
                                               period=period, carry=carry)
    return want


def check_completeness(book, result, top: Node, want: Want) -> None:
    listed = {r[0]: r for r in book.get_sheet_by_name(result.completeness_sheet).to_python()[1:]}
    below = [n for n in top.walk() if n.reports]
    # Every reporting unit once, in tree order (by materialised path).
    assert list(listed) == [n.code for n in sorted(below, key=lambda n: n.unit.path)]
    labels = {None: "Not reported", Status.DRAFT: "Draft", Status.SUBMITTED: "Submitted",
              Status.APPROVED: "Approved"}
    carried_from = {c.code: p for key in CUMULATIVE for c, _, p in want.parts(key) if p}
    for node in below:
        status, in_totals, late = listed[node.code][4], listed[node.code][5], listed[node.code][7]
        assert status == labels[node.status]
        if node.code in carried_from:
            assert in_totals == f"Carried forward from {carried_from[node.code]}"
        else:
            assert in_totals == ("Yes" if counted(node, want.include_submitted) else "No")
        # Every deadline has passed: what is not handed in is late.
        assert late == ("No" if node.sent else "Yes")


def check_flagged(book, result, want: Want) -> None:
    """Every counted office below whose figure differs from what its children add up to
    (like for like when figures carry forward)."""
    flagged = set()
    for node in want.top.walk():
        if not (node.reports and node.report_children()
                and counted(node, want.include_submitted)):
            continue
        for key in NUMERIC_KEYS:
            value = node.values.get(key)
            total = expected(node, key, include_submitted=want.include_submitted,
                             period=want.period, carry=want.carry)
            if value is None or total is None:
                continue
            if (abs(value - total) >= Decimal("0.01")) if key == "rate" else value != total:
                flagged.add((node.code, key))
    issues = book.get_sheet_by_name(result.issues_sheet).to_python()[1:]
    got = {(row[0], row[3]) for row in issues if "the units below add up to" in row[6]}
    assert got == flagged


def check_csv(session, figures, want: Want, rows_wanted: dict) -> None:
    out = io.BytesIO()
    count = merged.write_flat_csv(session, figures, out, locale="en")
    data = out.getvalue()
    assert data.startswith(BOM.encode("utf-8"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8")[1:], newline="")))
    assert rows[0] == [*FLAT_HEADERS, *merged.CLOSED_HEADERS]
    assert count == len(rows) - 1
    totals = {row[7]: row for row in rows[1:] if row[3] == "0"}
    units = [row for row in rows[1:] if row[3] != "0"]
    assert len(units) == len(rows_wanted)
    for row in units:
        code, key = row[0], row[7]
        parent, level, version, value, grown, carried_from = rows_wanted[(code, key)]
        assert (row[2], row[3], row[4], row[5]) == (parent, str(level), want.period,
                                                   str(version))
        if isinstance(value, str):
            inert = "'" + value if value.startswith(FORMULA_START) else value
            assert row[9] == inert
        else:
            assert Decimal(row[9]) == Decimal(str(value))
        assert (row[10] == "") if grown is None else Decimal(row[10]) == Decimal(str(grown))
        assert row[13] == carried_from
    # The consolidating unit's own figures, each with who is in it.
    for key in NUMERIC_KEYS:
        if key == "rate":
            continue  # calculated-free mean: no coverage row needed beyond its value
        row = totals[key]
        value, cov = want.value(key), want.coverage(key)
        assert (row[9] == "") if value is None else Decimal(row[9]) == Decimal(str(value))
        if key in CUMULATIVE:
            grown = want.increment(key)
            assert (row[10] == "") if grown is None else Decimal(row[10]) == Decimal(str(grown))
        assert [int(n) for n in row[14:18]] == [cov["applies"], cov["reported"],
                                                cov["carried"], cov["never"]], key


def check_api(client, token: str, key: str, want: Want) -> None:
    path = f"/consolidations/{key}/{want.top.code}/{want.period}"
    query = {"include_submitted": str(want.include_submitted).lower(),
             "carry_forward": str(want.carry).lower()}
    body = api_get(client, path, token, query_string=query).get_json()
    for name in NUMERIC_KEYS:
        value = want.value(name)
        assert same(body["values"].get(name), value, name), (name, body["values"])
        coverage = {k: body["coverage"][name][k] for k in
                    ("applies", "reported", "carried", "blank", "never")}
        assert coverage == want.coverage(name), name
        assert [(p["unit"], p["carried_from"]) for p in body["provenance"][name]] == [
            (c.code, carried_from) for c, _, carried_from in want.parts(name)]
    for name in CUMULATIVE:
        assert same(body["increments"].get(name), want.increment(name), name), name


def check_page(browser, key: str, want: Want) -> None:
    args = "&".join([*(["submitted=1"] if want.include_submitted else []),
                     *([] if want.carry else ["strict=1"])])
    page = browser.get(f"/consolidation/{key}/{want.top.code}/{want.period}?{args}",
                       headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    children = want.top.report_children()
    if not any(counted(c, want.include_submitted) for c in children) and not any(
            carried(c, k, want.period, want.carry) for c in children for k in CUMULATIVE):
        return  # nothing counted or carried forward: the page says so instead of figures
    for name in ("found", "rectified", "funding", "visits", "posts", "peak"):
        cov = want.coverage(name)
        marker = (f'data-coverage="{cov["applies"]}/{cov["reported"]}/{cov["carried"]}/'
                  f'{cov["never"]}"')
        assert marker in html, (name, marker)
    for name in CUMULATIVE:
        for _child, _, carried_from in want.parts(name):
            if carried_from:
                assert f'data-carried="{carried_from}"' in html


def _depth(node: Node) -> int:
    return 1 + max((_depth(c) for c in node.children), default=0)


def test_the_generator_makes_five_levels_with_offices_between():
    """Worlds reach five levels with a transparent office above a reporting unit."""
    def deep_with_office(root: Node) -> bool:
        return _depth(root) == 5 and any(not n.reports and n.report_children()
                                         for n in root.walk())

    root = find(worlds(), deep_with_office,
                settings=settings(max_examples=5000, database=None, phases=[Phase.generate]))
    assert _depth(root) == 5
