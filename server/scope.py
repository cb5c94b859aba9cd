"""The one place that decides which units an account may see.

Every query for unit-owned data filters with :func:`unit_scope` (joined to
``Unit``) or fetches through :func:`get_unit_or_404`:

* a submitter sees their own unit,
* a consolidator sees their unit and everything below it,
* an administrator sees everything,
* anybody else (signed out, disabled, no unit) sees nothing.

What belongs to one period (a report, its history and files, a consolidation of
the period) is read with the tree as it stood for that period
(:func:`unit_scope_on`, the placement rule of ``server.services.owing``): a
village moved to another town stays readable by its old town's consolidator for
the periods it reported there, and its new town sees it from the move on. Who may
*change* anything (review, file on behalf) follows today's tree (:func:`can_see`).

Anything outside the scope is answered with 404, exactly as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask import abort
from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from server.models import Role, Unit, UnitPlacement, User
from server.models.units import subtree_bounds
from server.services.owing import in_force, path_then, within


def _decided(user: User | None) -> ColumnElement[bool] | None:
    """The scope of an account that needs no tree: nobody signed in or active, an
    administrator, an account without a unit; None when the unit's place decides."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return false()
    if user.role == Role.ADMIN:
        return true()
    if user.unit_id is None:
        return false()
    return None


def unit_scope(user: User | None, unit=Unit) -> ColumnElement[bool]:
    """A SQL condition on *unit* (the ``Unit`` entity or an alias) true for visible units."""
    decided = _decided(user)
    if decided is not None:
        return decided
    own = user.unit
    if user.role == Role.CONSOLIDATOR:
        low, high = subtree_bounds(own.path)
        return (unit.path >= low) & (unit.path < high)
    if user.role == Role.SUBMITTER:
        return unit.id == own.id
    return false()


def unit_scope_on(user: User | None, day: date, placement=UnitPlacement) -> ColumnElement[bool]:
    """:func:`unit_scope` with the tree as it stood on *day*.

    *placement* (``UnitPlacement`` or an alias) is the unit's placement in force on
    *day*, joined by the caller (``owing_on`` does). A consolidator sees the units
    whose place then lay in its own unit's subtree as that stood then.
    """
    kind, unit_id = scope_on_parameters(user)
    return scope_on(kind, unit_id, day, placement)


def scope_on_parameters(user: User | None) -> tuple[str, int | None]:
    """What :func:`unit_scope_on` of *user* depends on: which rule (``all``, ``none``,
    ``below`` their unit, their ``own`` unit) and their unit's id."""
    decided = _decided(user)
    if decided is not None:
        return ("all" if decided is true() else "none"), None
    if user.role == Role.CONSOLIDATOR:
        return "below", user.unit_id
    if user.role == Role.SUBMITTER:
        return "own", user.unit_id
    return "none", None


def scope_on(kind: str, unit_id, day, placement=UnitPlacement) -> ColumnElement[bool]:
    """The condition of :func:`unit_scope_on` for a *kind* of :func:`scope_on_parameters`;
    *unit_id* and *day* may be bound parameters (a statement built once)."""
    if kind == "all":
        return true()
    if kind == "below":
        return within(placement.path, path_then(unit_id, day))
    if kind == "own":
        return placement.unit_id == unit_id
    return false()


def placed_on(day: date, placement=UnitPlacement):
    """A select of ``Unit`` joined to its *placement* in force on *day* (none: no row)."""
    return select(Unit).join(placement, (placement.unit_id == Unit.id) & in_force(placement, day))


def can_see_on(session: Session, user: User | None, unit: Unit, day: date) -> bool:
    """The rule of :func:`unit_scope_on` for a unit already loaded."""
    query = placed_on(day).where(Unit.id == unit.id, unit_scope_on(user, day))
    return session.scalar(query.with_only_columns(Unit.id)) is not None


def can_see(user: User | None, unit: Unit) -> bool:
    """The same rule as :func:`unit_scope` for a unit already loaded."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if user.role == Role.ADMIN:
        return True
    own = user.unit
    if own is None:
        return False
    if user.role == Role.CONSOLIDATOR:
        low, high = subtree_bounds(own.path)
        return low <= unit.path < high
    return user.role == Role.SUBMITTER and unit.id == own.id


def visible_units(session: Session, user: User | None) -> Sequence[Unit]:
    """All units *user* may see, in tree order."""
    return session.scalars(select(Unit).where(unit_scope(user)).order_by(Unit.path)).all()


def get_unit_or_404(session: Session, user: User | None, code: str) -> Unit:
    """The unit with *code* if *user* may see it; otherwise abort with 404."""
    if "\x00" in code:  # no code holds one, and PostgreSQL refuses it in a query
        abort(404)
    unit = session.scalar(select(Unit).where(Unit.code == code, unit_scope(user)))
    if unit is None:
        abort(404)
    return unit


def scope_roots(session: Session, user: User | None) -> Sequence[Unit]:
    """The topmost visible units: the tree's roots for administrators, else the own unit."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return []
    if user.role == Role.ADMIN:
        return session.scalars(
            select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code)
        ).all()
    return [user.unit] if user.unit is not None else []
