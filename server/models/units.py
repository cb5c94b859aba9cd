"""The organisation tree."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base

# Paths compare byte by byte: PostgreSQL's default collations may ignore the "/"
# separators when ordering, which would break the prefix range used for subtrees.
PathString = String(1000).with_variant(String(1000, collation="C"), "postgresql")

PATH_SEPARATOR = "/"


class Unit(Base):
    """A unit of the organisation tree (city, county, town, village, company, ...).

    ``path`` is a materialised path of ids from the root, each written with
    :data:`ID_DIGITS` digits (``/0000000001/0000000007/0000000042/``), so a
    whole subtree is one indexed range query (see :func:`subtree_bounds`) however
    deep or large the tree. ``depth`` is 0 for a root.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The pinyin initials of the name (赤甸村: cdc), lower case, for the unit picker;
    # computed whenever the name is written (server.services.units.name_initials).
    initials: Mapped[str] = mapped_column(String(200), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(PathString, index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The unit owes the periods that begin on or after ``reports_from`` and before
    # ``stops_on`` (None: no bound), so a new unit owes nothing of the past and a
    # closed one nothing after it closed (see server.services.owing).
    reports_from: Mapped[date | None] = mapped_column(Date)
    stops_on: Mapped[date | None] = mapped_column(Date)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.code")
    # Loaded with the units in one extra query, since every report of a unit needs them.
    tag_rows: Mapped[list[UnitTag]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="UnitTag.position",
        passive_deletes=True,
    )

    __table_args__ = (Index("ix_units_name", "name"),)

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(row.tag for row in self.tag_rows)

    @property
    def tag_list(self) -> list[str]:
        """The tags in the order the administrator gave them."""
        return [row.tag for row in self.tag_rows]

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.path}>"


class UnitTag(Base):
    """One tag of a unit (危化, 粉尘涉爆, ...): what duties of a plan apply to it.

    A row per tag rather than a list in a column, so "the units tagged X" is an
    indexed equality on SQLite and PostgreSQL alike.
    """

    __tablename__ = "unit_tags"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_unit_tags_tag", "tag"),)


class UnitPlacement(Base):
    """Where a unit stood in the tree from ``valid_from`` until before ``valid_to``.

    The history of ``Unit.parent_id``/``path``: a move closes the unit's current
    placement (and those of its subtree, whose paths change too) and opens a new
    one, so a past period is still read with the tree as it stood then. The open
    placement (``valid_to`` None) always has the unit's current path. None for
    ``valid_from`` means since the beginning. The subtree of a unit as of a day is
    one range query over ``path`` like the current one.
    """

    __tablename__ = "unit_placements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    path: Mapped[str] = mapped_column(PathString, index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


# Each id in a path is written with this many digits (zero-padded), so that paths sort as
# the ids do: siblings list in the order they were created (``/…/0000000099/`` before
# ``/…/0000000100/``), where plain digits would put 100 before 99. Ten digits hold every
# 32-bit id; a longer id still keeps the prefix ranges right, only its order among
# siblings would be off.
ID_DIGITS = 10


def child_path(parent_path: str | None, unit_id: int) -> str:
    """The path of unit *unit_id* placed under a unit with *parent_path* (None: a root)."""
    return f"{parent_path or PATH_SEPARATOR}{unit_id:0{ID_DIGITS}d}{PATH_SEPARATOR}"


def subtree_bounds(path: str) -> tuple[str, str]:
    """``(low, high)`` such that a unit is in the subtree at *path* iff low <= its path < high.

    Every path in the subtree starts with *path*, which ends with "/"; replacing
    that last "/" by the next character ("0") gives the first string past them.
    This is the range an index serves for ``LIKE 'path%'``, written so that both
    SQLite and PostgreSQL use a plain B-tree index.
    """
    return path, path[:-1] + chr(ord(PATH_SEPARATOR) + 1)
