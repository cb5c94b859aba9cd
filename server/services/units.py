"""The organisation tree: creating, importing and listing units.

Paths and their history (``unit_placements``) are maintained here and only
here: every unit has one open placement with its current path, and a move,
dated, closes the placements of the moved subtree and opens new ones, so past
periods keep reading the tree as it stood (:mod:`server.services.owing`). Bulk
changes are done with set-based statements (one INSERT per tree level, a few
statements per moved subtree), so an import of 100,000 units does not load them
as ORM objects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from pypinyin import Style, lazy_pinyin
from sqlalchemy import Date, Select, String, delete, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from exports.unit_table import RowError, UnitRow
from forms.tags import TagError, parse_tags
from server.models import Unit, UnitPlacement, UnitTag, User
from server.models.units import child_path, subtree_bounds
from server.scope import unit_scope
from server.services import audit, closing, report_values
from server.services.errors import InvalidInput
from server.services.owing import today


@dataclass
class UnitImportReport:
    problems: list = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def get_unit(session: Session, code: str) -> Unit | None:
    return session.scalar(select(Unit).where(Unit.code == code))


@lru_cache(maxsize=4096)
def name_initials(name: str) -> str:
    """The pinyin initials of *name*, lower case: 赤甸村 → ``cdc``; Latin letters and
    digits are kept (ABC化工厂 → ``abchgc``), other characters dropped."""
    letters = lazy_pinyin(name or "", style=Style.FIRST_LETTER,
                          errors=lambda text: list(text))
    return "".join(part[:1] for part in letters if part[:1].isalnum()).lower()[:200]


def create_unit(
    session: Session,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None = None,
    *,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    reports_from: date | None = None,
    stops_on: date | None = None,
) -> Unit:
    """Create one unit under *parent* (None: a root).

    Without *reports_from* it owes every period (the callers that take input from
    people, such as the import, default it to today).
    """
    code = (code or "").strip()
    if not code or not (name or "").strip():
        raise InvalidInput(_l("A unit needs a code and a name."))
    if get_unit(session, code) is not None:
        raise InvalidInput(_l("The unit code “%(code)s” is already used."), code=code)
    unit = Unit(
        code=code, name=name.strip(), initials=name_initials(name.strip()), kind=kind,
        parent=parent, path="",
        depth=(parent.depth + 1) if parent else 0,
        contact_name=contact_name, contact_phone=contact_phone, active=True,
        reports_from=reports_from, stops_on=stops_on,
    )
    check_dates(reports_from, stops_on)
    session.add(unit)
    session.flush()  # the path is made of ids
    unit.path = child_path(parent.path if parent else None, unit.id)
    session.add(UnitPlacement(unit_id=unit.id, parent_id=parent.id if parent else None,
                              path=unit.path, depth=unit.depth))
    session.flush()
    audit.record(session, audit.Kind.UNIT_CREATED, unit=unit, target=f"{unit.code} {unit.name}",
                 details={"parent": parent.code if parent else None, "kind": kind,
                          "reports_from": _day(reports_from), "stops_on": _day(stops_on)})
    return unit


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


EDITABLE = ("name", "kind", "contact_name", "contact_phone")


def update_unit(session: Session, unit: Unit, **values: str | None) -> dict[str, list]:
    """Change the name, kind and contacts of *unit*; returns (and audits) what changed."""
    changes = {}
    for key, value in values.items():
        if key not in EDITABLE:
            raise TypeError(f"not an editable unit attribute: {key}")
        value = (value or "").strip() or None
        if key in ("name", "kind") and not value:
            raise InvalidInput(_l("A unit needs a code and a name."), field=key)
        if getattr(unit, key) != value:
            changes[key] = [getattr(unit, key), value]
            setattr(unit, key, value)
    if "name" in changes:
        unit.initials = name_initials(unit.name)
    session.flush()
    if changes:
        audit.record(session, audit.Kind.UNIT_CHANGED, unit=unit,
                     target=f"{unit.code} {unit.name}", details=changes)
    return changes


def check_dates(reports_from: date | None, stops_on: date | None) -> None:
    """Refuse (InvalidInput on ``stops_on``) a unit that would stop before it starts."""
    if reports_from and stops_on and stops_on <= reports_from:
        raise InvalidInput(_l("The unit stops reporting on %(stops)s, not after it starts "
                              "(%(starts)s)."), field="stops_on",
                           stops=stops_on.isoformat(), starts=reports_from.isoformat())


def set_reporting_dates(session: Session, unit: Unit, reports_from: date | None,
                        stops_on: date | None) -> None:
    """Set the days *unit* starts and stops reporting (None: no bound)."""
    check_dates(reports_from, stops_on)
    closure = closing.closure_altered_by_dates(session, unit, reports_from, stops_on)
    if closure is not None:
        raise closing.tree_change_refusal(closure, unit, "reports_from")
    before = (unit.reports_from, unit.stops_on)
    unit.reports_from, unit.stops_on = reports_from, stops_on
    session.flush()
    if before == (reports_from, stops_on):
        return
    closed = stops_on is not None and stops_on != before[1]
    audit.record(session, audit.Kind.UNIT_CLOSED if closed else audit.Kind.UNIT_CHANGED,
                 unit=unit, target=f"{unit.code} {unit.name}",
                 details={"reports_from": [_day(before[0]), _day(reports_from)],
                          "stops_on": [_day(before[1]), _day(stops_on)]})


def move_unit(session: Session, unit: Unit, new_parent: Unit | None,
              day: date | None = None) -> None:
    """Place *unit* (and its subtree) under *new_parent* from *day* on (default: today).

    Periods that begin before *day* keep counting it under its old parent. Refused
    (InvalidInput on ``parent``) when it would make a loop, and (on ``day``) when
    *day* comes before the unit's current placement began.
    """
    day = day or today()
    if new_parent is not None and new_parent.path.startswith(unit.path):
        raise InvalidInput(_l("A unit cannot be placed under itself or a unit below it."),
                           field="parent")
    if (new_parent.id if new_parent else None) == unit.parent_id:
        return
    since = session.scalar(select(UnitPlacement.valid_from).where(
        UnitPlacement.unit_id == unit.id, UnitPlacement.valid_to.is_(None)))
    if since is not None and day < since:
        raise InvalidInput(_l("The unit was placed where it is on %(since)s; a move must be "
                              "dated on or after that day."), field="day",
                           since=since.isoformat())
    closure = closing.closure_altered_by_move(session, unit, new_parent, day)
    if closure is not None:
        raise closing.tree_change_refusal(closure, unit, "day")
    session.flush()
    old_parent = unit.parent.code if unit.parent else None
    _move(session, unit.code, new_parent.code if new_parent else None, day)
    session.expire_all()
    audit.record(session, audit.Kind.UNIT_MOVED, unit=unit, target=f"{unit.code} {unit.name}",
                 details={"from": old_parent, "to": new_parent.code if new_parent else None,
                          "day": day.isoformat()})


def parent_codes(session: Session) -> dict[str, str | None]:
    """Every unit code mapped to its parent's code (None for roots)."""
    parent = select(Unit.id, Unit.code).subquery()
    rows = session.execute(
        select(Unit.code, parent.c.code).outerjoin(parent, Unit.parent_id == parent.c.id)
    )
    return dict(rows.all())


def import_units(session: Session, data: bytes, filename: str,
                 progress: Callable[[int, int], None] | None = None,
                 actor: User | None | object = audit.CURRENT) -> UnitImportReport:
    """Read a unit table and apply it in one transaction, or change nothing if it has errors.

    A new unit without a start date starts today, so it owes periods from the next
    one to open; a move takes effect today likewise. *progress* hears (rows applied,
    rows in all) as the work goes.
    """
    from dataclasses import replace

    from exports.unit_table import read_units

    existing = parent_codes(session)
    result = read_units(data, filename, existing)
    if result.errors:
        return UnitImportReport(problems=list(result.errors))
    day = today()
    rows = [replace(row, reports_from=day) if row.code not in existing
            and row.reports_from is None else row for row in result.rows]
    problems = _closed_period_problems(session, rows, existing, result.columns, day)
    if problems:
        return UnitImportReport(problems=problems)
    report = apply_unit_rows(session, rows, columns=result.columns, move_day=day,
                             progress=progress)
    audit.record(session, audit.Kind.UNITS_IMPORTED, target=filename, actor=actor,
                 details=audit.import_details(created=report.created, updated=report.updated,
                                              moved=report.moved))
    return report


def rows_to_import(session: Session, data: bytes, filename: str) -> int | None:
    """How many rows a correct unit table would apply; None when it has problems."""
    from exports.unit_table import read_units

    result = read_units(data, filename, parent_codes(session))
    return None if result.errors else len(result.rows)


def _closed_period_problems(session: Session, rows: Sequence[UnitRow],
                            existing: Mapping[str, str | None],
                            columns: Collection[str] | None, day: date) -> list[RowError]:
    """One problem per row that would move a unit, change its reporting dates or switch it
    off or on in a way that alters a closed period (as :func:`move_unit` and
    :func:`set_reporting_dates`)."""
    if not closing.any_open(session):  # the usual case: nothing to check, no query per row
        return []
    problems = []
    dated = columns is None or bool({"reports_from", "stops_on", "active"} & set(columns))
    for row in rows:
        if row.code not in existing:
            continue
        unit = get_unit(session, row.code)
        closure, column = None, None
        if row.parent_code != existing[row.code]:
            parent = get_unit(session, row.parent_code) if row.parent_code else None
            closure, column = closing.closure_altered_by_move(session, unit, parent, day), "parent"
        if closure is None and dated:
            starts = row.reports_from if columns is None or "reports_from" in columns \
                else unit.reports_from
            stops = row.stops_on if columns is None or "stops_on" in columns else unit.stops_on
            active = row.active if columns is None or "active" in columns else unit.active
            if (starts, stops, active) != (unit.reports_from, unit.stops_on, unit.active):
                closure = closing.closure_altered_by_dates(session, unit, starts, stops, active)
                column = ("active" if active != unit.active else
                          "reports_from" if starts != unit.reports_from else "stops_on")
        if closure is not None:
            problems.append(RowError(row.row or None, column, "period_closed",
                                     closing.TREE_CHANGE_REFUSED,
                                     closing.tree_change_params(closure, unit)))
    return problems


INSERT_CHUNK = 1000  # new units of one level inserted (and reported as progress) at a time
OPTIONAL_COLUMNS = ("contact_name", "contact_phone", "active", "reports_from", "stops_on")


def apply_unit_rows(
    session: Session, rows: Sequence[UnitRow], *, columns: Collection[str] | None = None,
    move_day: date | None = None, progress: Callable[[int, int], None] | None = None,
) -> UnitImportReport:
    """Create the new units of *rows* and update the existing ones (matched by code).

    *rows* are valid and in parent-before-child order (the reader guarantees both:
    no cycles, known parents). For existing units, only the *columns* the file has
    are changed (None: all), so a list without phones does not erase the phones.
    Moves take effect on *move_day* (default: today).
    """
    session.flush()
    report = UnitImportReport()
    current = {
        code: (unit_id, parent_id, path, depth)
        for unit_id, code, parent_id, path, depth in session.execute(
            select(Unit.id, Unit.code, Unit.parent_id, Unit.path, Unit.depth)
        )
    }
    code_of_id = {values[0]: code for code, values in current.items()}
    new_rows = [row for row in rows if row.code not in current]
    old_rows = [row for row in rows if row.code in current]

    if old_rows:
        given = [key for key in OPTIONAL_COLUMNS if columns is None or key in columns]
        session.execute(update(Unit), [
            {"id": current[row.code][0], "name": row.name,
             "initials": name_initials(row.name), "kind": row.kind,
             **{key: getattr(row, key) for key in given}}
            for row in old_rows
        ])
        report.updated = [row.code for row in old_rows]

    def applied() -> None:
        if progress is not None:
            progress(len(report.updated) + len(report.created), len(rows))

    applied()
    placed = {code: (values[0], values[2], values[3]) for code, values in current.items()}
    for level_rows in _levels(new_rows, placed):
        # In chunks, so that the progress of a large level advances as it is written.
        for start in range(0, len(level_rows), INSERT_CHUNK):
            chunk = level_rows[start:start + INSERT_CHUNK]
            _insert_level(session, chunk, placed)
            report.created.extend(row.code for row in chunk)
            applied()
    # Tags: new units get theirs; existing ones only when the file has the column.
    tagged = new_rows if columns is not None and "tags" not in columns else rows
    _replace_tags(session, {placed[row.code][0]: row.tags for row in tagged})

    moves = [
        row for row in old_rows
        if row.parent_code != code_of_id.get(current[row.code][1])
    ]
    final_parent = {code: code_of_id.get(values[1]) for code, values in current.items()}
    final_parent.update({row.code: row.parent_code for row in rows})
    for row in sorted(moves, key=lambda r: _depth_in(final_parent, r.code)):
        _move(session, row.code, row.parent_code, move_day or today())
        report.moved.append(row.code)
    session.expire_all()
    return report


def _replace_tags(session: Session, tags_by_unit: dict[int, tuple[str, ...]]) -> None:
    """Set the tags of many units with one DELETE and one INSERT per chunk."""
    ids = list(tags_by_unit)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        session.execute(delete(UnitTag).where(UnitTag.unit_id.in_(chunk)))
    rows = [{"unit_id": unit_id, "tag": tag, "position": position}
            for unit_id, tags in tags_by_unit.items() for position, tag in enumerate(tags)]
    if rows:
        session.execute(insert(UnitTag), rows)
    report_values.retag(session, ids)  # what applies to their reports follows their tags


def set_tags(session: Session, unit: Unit, text: str | list[str]) -> tuple[str, ...]:
    """Replace the tags of *unit* with those in *text* (危化、有限空间); refuses bad ones."""
    try:
        tags = parse_tags(text)
    except TagError as problem:
        raise InvalidInput(_l(problem.message), field="tags", **problem.params) from None
    before = unit.tag_list
    unit.tag_rows = [UnitTag(tag=tag, position=index) for index, tag in enumerate(tags)]
    session.flush()
    if list(tags) != before:
        audit.record(session, audit.Kind.UNIT_CHANGED, unit=unit,
                     target=f"{unit.code} {unit.name}", details={"tags": [before, list(tags)]})
    report_values.retag(session, [unit.id])  # what applies to its reports follows its tags
    return tags


def tags_in_use(session: Session) -> list[str]:
    """Every tag some unit carries, most used first (for pickers)."""
    rows = session.execute(select(UnitTag.tag, func.count()).group_by(UnitTag.tag)
                           .order_by(func.count().desc(), UnitTag.tag)).all()
    return [tag for tag, _count in rows]


def units_with_tag(tag: str) -> Select:
    """The units carrying *tag*: an indexed equality on ``unit_tags``."""
    return select(Unit).join(UnitTag, UnitTag.unit_id == Unit.id).where(UnitTag.tag == tag)


def _levels(new_rows: Sequence[UnitRow], placed: dict) -> list[list[UnitRow]]:
    """Group new units so each group's parents already exist or are in an earlier group."""
    level: dict[str, int] = {}
    groups: dict[int, list[UnitRow]] = defaultdict(list)
    for row in new_rows:
        parent = row.parent_code
        level[row.code] = level[parent] + 1 if parent in level else 0
        groups[level[row.code]].append(row)
    return [groups[number] for number in sorted(groups)]


def _insert_level(session: Session, rows: list[UnitRow], placed: dict) -> None:
    """Insert one level with a multi-row INSERT ... RETURNING, then set the paths."""
    values = []
    for row in rows:
        parent = placed.get(row.parent_code) if row.parent_code else None
        values.append({
            "code": row.code, "name": row.name, "initials": name_initials(row.name),
            "kind": row.kind, "parent_id": parent[0] if parent else None,
            "path": "", "depth": parent[2] + 1 if parent else 0,
            "contact_name": row.contact_name, "contact_phone": row.contact_phone,
            "active": row.active, "reports_from": row.reports_from, "stops_on": row.stops_on,
        })
    returned = session.execute(
        insert(Unit).returning(Unit.id, Unit.code, sort_by_parameter_order=True), values
    ).all()
    parent_of = {row.code: row.parent_code for row in rows}
    paths = []
    for (unit_id, code), row_values in zip(returned, values, strict=True):
        parent = placed.get(parent_of[code])
        path = child_path(parent[1] if parent else None, unit_id)
        placed[code] = (unit_id, path, row_values["depth"])
        paths.append({"id": unit_id, "path": path})
    session.execute(update(Unit), paths)
    session.execute(insert(UnitPlacement), [
        {"unit_id": item["id"], "parent_id": row_values["parent_id"], "path": item["path"],
         "depth": row_values["depth"]}
        for item, row_values in zip(paths, values, strict=True)])


def _depth_in(parents: dict[str, str | None], code: str) -> int:
    depth = 0
    seen = set()
    while parents.get(code) is not None and code not in seen:
        seen.add(code)
        code = parents[code]
        depth += 1
    return depth


def _move(session: Session, code: str, new_parent_code: str | None, day: date) -> None:
    """Re-parent the unit *code* from *day* on and rewrite its subtree's paths with one
    UPDATE; the subtree's placements are closed on *day* and new ones opened.

    Moves are applied in order of final depth, so the new parent's own position
    is already final and no intermediate state has a cycle.
    """
    unit_id, old_path, old_depth = session.execute(
        select(Unit.id, Unit.path, Unit.depth).where(Unit.code == code)
    ).one()
    if new_parent_code is None:
        parent_id, parent_path, parent_depth = None, None, -1
    else:
        parent_id, parent_path, parent_depth = session.execute(
            select(Unit.id, Unit.path, Unit.depth).where(Unit.code == new_parent_code)
        ).one()
    new_path = child_path(parent_path, unit_id)
    low, high = subtree_bounds(old_path)
    placements = (UnitPlacement.path >= low, UnitPlacement.path < high,
                  UnitPlacement.valid_to.is_(None))
    # A placement opened on *day* itself never held: it is replaced, not closed.
    session.execute(delete(UnitPlacement).where(*placements, UnitPlacement.valid_from >= day)
                    .execution_options(synchronize_session=False))
    session.execute(update(UnitPlacement).where(*placements).values(valid_to=day)
                    .execution_options(synchronize_session=False))
    session.execute(
        update(Unit)
        .where(Unit.path >= low, Unit.path < high)
        .values(
            path=literal(new_path, String) + func.substr(Unit.path, len(old_path) + 1,
                                                         type_=String),
            depth=Unit.depth + (parent_depth + 1 - old_depth),
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Unit).where(Unit.id == unit_id).values(parent_id=parent_id)
        .execution_options(synchronize_session=False)
    )
    new_low, new_high = subtree_bounds(new_path)
    session.execute(insert(UnitPlacement).from_select(
        ["unit_id", "parent_id", "path", "depth", "valid_from"],
        select(Unit.id, Unit.parent_id, Unit.path, Unit.depth, literal(day, Date))
        .where(Unit.path >= new_low, Unit.path < new_high)))


# --- reading ---------------------------------------------------------------------------


def subtree(session: Session, unit: Unit) -> Sequence[Unit]:
    """*unit* and all units below it, in tree order (parents before their children)."""
    low, high = subtree_bounds(unit.path)
    return session.scalars(
        select(Unit).where(Unit.path >= low, Unit.path < high).order_by(Unit.path)
    ).all()


def units_query(user: User, *, under: Unit | None = None, search: str | None = None,
                tag: str | None = None) -> Select:
    """Units visible to *user* by code, optionally below *under*, matching a
    code/name search and carrying *tag*."""
    query = select(Unit).where(unit_scope(user)).order_by(Unit.code)
    if tag:
        query = query.where(Unit.id.in_(
            select(UnitTag.unit_id).where(UnitTag.tag == tag.strip())))
    if under is not None:
        low, high = subtree_bounds(under.path)
        query = query.where(Unit.path >= low, Unit.path < high)
    text = (search or "").strip()
    if text:
        pattern = contains_pattern(text)
        query = query.where(or_(
            Unit.code.ilike(pattern, escape="\\"), Unit.name.ilike(pattern, escape="\\"),
        ))
    return query


def children_query(user: User, unit: Unit) -> Select:
    """The visible direct children of *unit*, by code."""
    return (select(Unit).where(unit_scope(user), Unit.parent_id == unit.id)
            .order_by(Unit.code))


def count_descendants(session: Session, units: Iterable[Unit]) -> dict[int, int]:
    """For each unit, how many units are below it (one query per unit, index range)."""
    counts = {}
    for unit in units:
        low, high = subtree_bounds(unit.path)
        counts[unit.id] = (session.scalar(
            select(func.count()).select_from(Unit).where(Unit.path >= low, Unit.path < high)
        ) or 1) - 1
    return counts


def ancestors(session: Session, unit: Unit) -> Sequence[Unit]:
    """The units above *unit*, root first (read from its path)."""
    ids = [int(part) for part in unit.path.strip("/").split("/")[:-1]]
    if not ids:
        return []
    found = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching *text* anywhere, with ``\\`` escaping its wildcards."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- the unit picker -------------------------------------------------------------------

PICK_LIMIT = 10
SUGGESTIONS = 5


def pick_query(user: User, text: str) -> Select:
    """Visible units whose code, name or pinyin initials contain *text*, any case;
    exact code matches first, then by code."""
    text = (text or "").strip()
    query = select(Unit).where(unit_scope(user))
    if text:
        pattern = contains_pattern(text.lower())
        query = query.where(or_(
            func.lower(Unit.code).like(pattern, escape="\\"),
            func.lower(Unit.name).like(pattern, escape="\\"),
            Unit.initials.like(pattern, escape="\\"),
        ))
    exact = func.lower(Unit.code) == text.lower()
    return query.order_by(exact.desc(), Unit.code)


def pick(session: Session, user: User, text: str, limit: int = PICK_LIMIT) -> Sequence[Unit]:
    """The first *limit* units of :func:`pick_query`."""
    return session.scalars(pick_query(user, text).limit(limit)).all()


def resolve_unit(session: Session, user: User, text: str | None, *,
                 field: str = "unit") -> Unit | None:
    """The one visible unit meant by *text*: its code in any case, else its exact name or
    pinyin initials, else the only unit whose code, name or initials contain *text*.

    None for an empty *text*. Refused (InvalidInput on *field*) when nothing or several
    units fit, naming up to five of them ("did you mean …").
    """
    text = (text or "").strip()
    if not text:
        return None
    if "\x00" in text:
        raise InvalidInput(_l("There is no unit “%(text)s”."), field=field, text="")
    lowered = text.lower()
    visible = select(Unit).where(unit_scope(user))
    for condition in (func.lower(Unit.code) == lowered, func.lower(Unit.name) == lowered,
                      Unit.initials == lowered):
        found = session.scalars(visible.where(condition).order_by(Unit.code)
                                .limit(SUGGESTIONS + 1)).all()
        if len(found) == 1:
            return found[0]
        if found:
            raise _ambiguous(text, found, field)
    found = pick(session, user, text, SUGGESTIONS + 1)
    if len(found) == 1:
        return found[0]
    if found:
        raise _ambiguous(text, found, field)
    raise InvalidInput(_l("There is no unit “%(text)s”: type its code, name or the pinyin "
                          "initials of its name."), field=field, text=text)


def _ambiguous(text: str, found: Sequence[Unit], field: str) -> InvalidInput:
    # Translated here: the name and code in brackets, and the list separator, follow the language.
    names = gettext("; ").join(gettext("%(name)s (%(code)s)", name=unit.name, code=unit.code)
                               for unit in found[:SUGGESTIONS])
    return InvalidInput(_l("“%(text)s” fits several units. Did you mean %(choices)s? Type the "
                           "code to choose one."), field=field, text=text, choices=names)
