"""Demo data: the organisation trees of the five plans and one account per role and unit.

Accounts: a submitter for every unit (username = unit code in lower case), a
consolidator for every unit that has units below it (the same name + ``-hz``,
for 汇总) and ``admin``. They all share one password: ``TIANBAO_DEMO_PASSWORD``
or :data:`DEFAULT_PASSWORD`. Loading again adds what is missing and changes nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.unit_table import UnitRow
from forms.tags import parse_tags
from server.db import unit_of_work
from server.demo.workflow import WorkflowSummary, load_workflow
from server.labels import role_label
from server.models import Role, Unit, User
from server.models.accounts import utcnow
from server.services import passwords
from server.services.units import apply_unit_rows

DEMO_FILE = Path(__file__).with_name("org_units.yaml")
DEFAULT_PASSWORD = "tianbao2024"
ADMIN_USERNAME = "admin"
CONSOLIDATOR_SUFFIX = "-hz"
EXAMPLES_PER_ROLE = 3


def demo_password() -> str:
    return os.environ.get("TIANBAO_DEMO_PASSWORD") or DEFAULT_PASSWORD


@dataclass
class DemoAccount:
    username: str
    role: str
    unit_code: str | None


@dataclass
class DemoSummary:
    units_created: int = 0
    users_created: int = 0
    accounts: list[DemoAccount] = field(default_factory=list)
    password: str = ""
    reports: WorkflowSummary = field(default_factory=WorkflowSummary)

    def accounts_overview(self) -> str:
        """A few accounts per role and how to list them all, for the terminal.

        ``accounts`` come roots first, so the examples span several jurisdictions.
        """
        lines = [_("Demo accounts (password: %(password)s):", password=self.password)]
        for role in (Role.ADMIN, Role.CONSOLIDATOR, Role.SUBMITTER):
            examples = [a for a in self.accounts if a.role == role][:EXAMPLES_PER_ROLE]
            if examples:
                names = ", ".join(
                    f"{a.username} ({a.unit_code})" if a.unit_code else a.username
                    for a in examples
                )
                lines.append(f"  {role_label(role)}: {names}")
        lines.append(_("All accounts: tianbao users list"))
        return "\n".join(lines)


def read_tree(source: Path = DEMO_FILE) -> list[UnitRow]:
    """The demo units from the YAML file, parents before children."""
    with source.open(encoding="utf-8") as handle:
        roots = yaml.safe_load(handle) or []
    return list(_flatten(roots, None))


def _flatten(nodes: list[dict], parent_code: str | None) -> Iterator[UnitRow]:
    for node in nodes:
        code = str(node["code"])
        yield UnitRow(
            code=code, name=str(node["name"]), kind=str(node.get("kind") or "unit"),
            parent_code=parent_code, contact_name=node.get("contact"),
            contact_phone=str(node["phone"]) if node.get("phone") else None,
            tags=parse_tags(node.get("tags")),
        )
        yield from _flatten(node.get("children") or [], code)


def demo_accounts(tree: list[UnitRow]) -> list[DemoAccount]:
    """admin, then consolidators and submitters, each shallowest unit first."""
    has_children = {unit.parent_code for unit in tree if unit.parent_code}
    depth: dict[str, int] = {}
    root: dict[str, str] = {}
    for unit in tree:
        depth[unit.code] = depth[unit.parent_code] + 1 if unit.parent_code else 0
        root[unit.code] = root[unit.parent_code] if unit.parent_code else unit.code
    by_depth = sorted(tree, key=lambda unit: depth[unit.code])  # stable: file order within
    found = [DemoAccount(ADMIN_USERNAME, Role.ADMIN, None)]
    found.extend(
        DemoAccount(unit.code.lower() + CONSOLIDATOR_SUFFIX, Role.CONSOLIDATOR, unit.code)
        for unit in by_depth if unit.code in has_children
    )
    # Leaves (villages, companies) first, taking one from each jurisdiction in turn.
    rank: dict[str, int] = {}
    seen_in_root: dict[str, int] = {}
    for unit in tree:
        if unit.code not in has_children:
            rank[unit.code] = seen_in_root.get(root[unit.code], 0)
            seen_in_root[root[unit.code]] = rank[unit.code] + 1
    submitters = sorted(tree, key=lambda unit: (unit.code in has_children,
                                                rank.get(unit.code, 0)))
    found.extend(DemoAccount(unit.code.lower(), Role.SUBMITTER, unit.code)
                 for unit in submitters)
    return found


def load_demo(session: Session, password: str, source: Path = DEMO_FILE) -> DemoSummary:
    """Add the demo units and accounts that do not exist yet, then the demo reports.

    Each part is one unit of work, committed when it is complete.
    """
    with unit_of_work(session):
        summary = _load_people(session, password, source)
    summary.reports = load_workflow(session)
    return summary


def _load_people(session: Session, password: str, source: Path) -> DemoSummary:
    tree = read_tree(source)
    existing_codes = set(session.scalars(select(Unit.code)))
    missing = [unit for unit in tree if unit.code not in existing_codes]
    summary = DemoSummary(password=password)
    if missing:
        summary.units_created = len(apply_unit_rows(session, missing).created)

    unit_ids = dict(session.execute(select(Unit.code, Unit.id)).all())
    existing_users = set(session.scalars(select(User.username)))
    # One hash for all: hashing is deliberately slow and every demo account has this password.
    password_hash = passwords.hash_password(password)
    summary.accounts = demo_accounts(tree)
    for account in summary.accounts:
        if account.username in existing_users:
            continue
        session.add(User(
            username=account.username, password_hash=password_hash, role=account.role,
            unit_id=unit_ids.get(account.unit_code) if account.unit_code else None,
            active=True, password_changed_at=utcnow(),
        ))
        summary.users_created += 1
    return summary
