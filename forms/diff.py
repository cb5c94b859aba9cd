"""What changed between two sets of values of one form (e.g. two revisions).

Pure data in, data out: the history page shows the changes with labels and
formatted values, and anything else (an API, a CLI) can do the same. Values
are compared as typed values, so ``12``, ``"12"`` and ``Decimal("12.0")`` are
the same figure; repeating tables are compared row by row, matching rows by
their content so that removing one row in the middle shows as one removed row,
not as every following row changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

from forms.definition import Definition, FieldDef, FieldKind
from forms.values import coerce

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class RowChange:
    """One row of a repeating table that differs (indexes are 0-based)."""

    kind: ChangeKind
    before_index: int | None
    after_index: int | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    columns: tuple[str, ...]  # the keys of the cells that differ


@dataclass(frozen=True)
class Change:
    """One field whose value differs."""

    field: FieldDef
    before: Any
    after: Any
    rows: tuple[RowChange, ...] = ()  # tables only

    @property
    def kind(self) -> ChangeKind:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


def diff_values(definition: Definition, before: Mapping[str, Any] | None,
                after: Mapping[str, Any] | None) -> list[Change]:
    """The fields of *definition* whose value differs, in the form's order.

    Keys the definition does not know are ignored; an empty value (blank text,
    no rows) counts as no value.
    """
    before, after = before or {}, after or {}
    changes: list[Change] = []
    for fld in definition.fields():
        old, new = _typed(fld, before.get(fld.key)), _typed(fld, after.get(fld.key))
        if fld.kind is FieldKind.TABLE:
            rows = diff_rows(fld, old or [], new or [])
            if rows:
                changes.append(Change(fld, old, new, tuple(rows)))
        elif not _same(fld, old, new):
            changes.append(Change(fld, old, new))
    return changes


def diff_rows(fld: FieldDef, before: Sequence[Mapping[str, Any]],
              after: Sequence[Mapping[str, Any]]) -> list[RowChange]:
    """Rows added, removed and changed between two versions of a table."""
    keys = [c.key for c in fld.columns]
    old_keys = [_row_key(row, keys) for row in before]
    new_keys = [_row_key(row, keys) for row in after]
    matcher = SequenceMatcher(a=old_keys, b=new_keys, autojunk=False)
    changes: list[RowChange] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # A replaced block pairs its rows up as edits; what is left over was added or removed.
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(paired):
            i, j = i1 + offset, j1 + offset
            differing = tuple(k for k, a, b in zip(keys, old_keys[i], new_keys[j], strict=True)
                              if a != b)
            changes.append(RowChange("changed", i, j, before[i], after[j], differing))
        for index in range(i1 + paired, i2):
            changes.append(RowChange("removed", index, None, before[index], None, ()))
        for index in range(j1 + paired, j2):
            changes.append(RowChange("added", None, index, None, after[index], ()))
    return changes


def _typed(fld: FieldDef, value: Any) -> Any:
    """The typed value, or the raw one when it cannot be read (still worth showing)."""
    if value is None:
        return None
    typed, _ = coerce(fld, value)
    return typed if typed is not None or _blank(value) else value


def _blank(value: Any) -> bool:
    return (isinstance(value, str) and not value.strip()) or value in ([], {}, ())


def _same(fld: FieldDef, old: Any, new: Any) -> bool:
    if fld.kind is FieldKind.ATTACHMENT and isinstance(old, Mapping) and isinstance(new, Mapping):
        return old.get("id") == new.get("id")
    return old == new


def _row_key(row: Mapping[str, Any], keys: Sequence[str]) -> tuple:
    return tuple(_hashable(row.get(k)) for k in keys)


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value
