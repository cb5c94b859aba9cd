"""The reporting units of a subtree under an assignment, and how they nest.

Under an assignment, the *children* of a unit U are the nearest reporting units
strictly below it: units that do not report (a town office of a kind that is not
assigned) are transparent. The reporting workflow checks an office's report
against its children's, and consolidation adds the children up; both read the
tree from here. Each function is one range query over the materialised paths,
whatever the subtree's depth or size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_
from sqlalchemy.orm import Session, joinedload

from server.models import Unit, UnitPlacement
from server.models.reporting import Assignment, Report, Status
from server.services.owing import owing_today, owing_units


def path_ids(path: str) -> list[int]:
    """The unit ids of a materialised path, from the root down: ``/…01/…07/…42/`` → [1, 7, 42]."""
    return [int(part) for part in path.strip("/").split("/") if part]


@dataclass
class Tree:
    """The reporting units below *top* with the nearest reporting unit above each."""

    top: Unit
    below: list[Unit]  # tree order, *top* excluded
    children: dict[int, list[Unit]] = field(default_factory=dict)
    depth: dict[int, int] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)  # unit id -> its parent's id
    paths: dict[int, str] = field(default_factory=dict)  # unit id -> its path then

    def children_of(self, unit: Unit) -> list[Unit]:
        return self.children.get(unit.id, [])


def link(top: Unit, placed: Iterable[tuple[Unit, str]]) -> Tree:
    """Link reporting units (``(unit, path)`` pairs in tree order, all within *top*'s
    subtree, each with its path in the period read) to their parents."""
    placed = [(u, path) for u, path in placed if u.id != top.id]
    tree = Tree(top, [u for u, _path in placed])
    tree.paths = {u.id: path for u, path in placed}
    reporting_ids = {u.id for u in tree.below}
    tree.depth[top.id] = 0
    for unit in tree.below:
        parent = top.id
        for ancestor in reversed(path_ids(tree.paths[unit.id])[:-1]):
            if ancestor == top.id:
                break
            if ancestor in reporting_ids:
                parent = ancestor
                break
        tree.children.setdefault(parent, []).append(unit)
        tree.parent[unit.id] = parent
        # Tree order puts every unit after its ancestors, so the parent's depth is known.
        tree.depth[unit.id] = tree.depth[parent] + 1
    return tree


def reporting_tree(session: Session, assignment: Assignment, unit: Unit,
                   period: str | None = None) -> Tree:
    """The tree of the reporting units below *unit* that owe *period* (one query; no
    period: today's tree)."""
    owing = (owing_units(assignment, period, unit) if period is not None
             else owing_today(assignment, unit))
    query = owing.add_columns(UnitPlacement.path)
    return link(unit, session.execute(query).all())


def child_units(session: Session, assignment: Assignment, unit: Unit,
                period: str | None = None) -> list[Unit]:
    """The nearest reporting units strictly below *unit* that owe *period*, in tree order."""
    return reporting_tree(session, assignment, unit, period).children_of(unit)


def approved_child_reports(session: Session, assignment: Assignment, unit: Unit,
                           period: str) -> list[Report] | None:
    """The approved reports of *unit*'s children for *period*, in tree order (one query).

    None when no unit below reports under the assignment (the unit consolidates
    nothing); an empty list when it has children but none of their reports is approved.
    """
    query = (
        owing_units(assignment, period, unit)
        .where(Unit.id != unit.id)
        .outerjoin(Report, and_(Report.unit_id == Unit.id,
                                Report.assignment_id == assignment.id,
                                Report.period == period,
                                Report.status == Status.APPROVED))
        .add_columns(UnitPlacement.path, Report)
        # The units' tags in the same statement (a child's part depends on them): selectin
        # loading would add a statement per 500 units of the subtree.
        .options(joinedload(Unit.tag_rows))
    )
    rows = session.execute(query).unique().all()
    if not rows:
        return None
    tree = link(unit, [(below, path) for below, path, _report in rows])
    approved = {below.id: report for below, _path, report in rows if report is not None}
    return [approved[c.id] for c in tree.children_of(unit) if c.id in approved]
