"""What changes for the fields of a template between two versions of its definition.

Pure data in, data out. Publishing a draft shows this list, and warns where
continuity breaks: a field removed, or a field whose kind changes, while reports
exist under the template (their stored values would no longer be read alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from forms.definition import Definition, FieldDef

FieldChangeKind = Literal["added", "removed", "kind", "changed"]

# Attributes compared for "changed"; the key is the identity, so it is not among them.
_IGNORED = frozenset({"key"})


@dataclass(frozen=True)
class FieldChange:
    key: str
    kind: FieldChangeKind
    before: FieldDef | None
    after: FieldDef | None
    attributes: tuple[str, ...] = ()  # the attribute names that differ ("changed", "kind")

    @property
    def breaks_continuity(self) -> bool:
        """Stored values of this field would be lost or read as another kind."""
        return self.kind in ("removed", "kind")

    @property
    def field(self) -> FieldDef:
        return self.after or self.before  # type: ignore[return-value]


def field_changes(before: Definition | None, after: Definition) -> list[FieldChange]:
    """Every field added, removed, retyped or otherwise changed, in the new form's order
    (removed fields last, in the old order)."""
    old = {f.key: f for f in before.fields()} if before else {}
    new = {f.key: f for f in after.fields()}
    changes: list[FieldChange] = []
    for key, fld in new.items():
        previous = old.get(key)
        if previous is None:
            changes.append(FieldChange(key, "added", None, fld))
            continue
        differing = _differing(previous, fld)
        if previous.kind != fld.kind:
            changes.append(FieldChange(key, "kind", previous, fld, differing))
        elif differing:
            changes.append(FieldChange(key, "changed", previous, fld, differing))
    changes.extend(FieldChange(key, "removed", fld, None)
                   for key, fld in old.items() if key not in new)
    return changes


def _differing(before: FieldDef, after: FieldDef) -> tuple[str, ...]:
    a = before.model_dump(exclude_none=True)
    b = after.model_dump(exclude_none=True)
    return tuple(name for name in sorted(set(a) | set(b))
                 if name not in _IGNORED and a.get(name) != b.get(name))
