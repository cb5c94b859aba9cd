"""The column grid of the official form sheet.

The printed table has the definition's ``columns`` in order (序号, 项目名称,
具体内容, …). Indicator fields of an item are laid out as sub-rows of the item
that reuse those columns: the label spans the columns after the number up to
the *value* column (the first input column), followed by the *unit* and the
*previous period* columns. When the official table has no room for them (no
input column, or too few columns after it) the grid gets extra columns at the
right. Repeating tables start at the label column and may widen the grid too.

Sheet column A is reserved for the hidden row markers (see
``exports.identity``); grid column *i* is sheet column *i + 1*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from forms.definition import Definition, FieldKind, TableColumn
from forms.i18n import N_

FIRST_GRID_COLUMN = 1  # sheet column B

_EXTRA_LABELS = {
    "number": N_("No."),
    "title": N_("Item"),
    "value": N_("Figure"),
    "unit": N_("Unit"),
    "previous": N_("Previous period"),
    "extra": "",
}
_WIDTHS = {
    "number": 6,
    "title": 24,
    "text": 32,
    "value": 14,
    "unit": 8,
    "previous": 14,
    "extra": 16,
}


@dataclass(frozen=True)
class GridColumn:
    slot: str  # stable id written in the hidden column-map row: c1, c2, …
    role: str  # number, title, text, input, value, unit, previous, extra
    source: TableColumn | None
    width: float

    def label(self, locale: str, translate: Callable[[str], str]) -> str:
        if self.source is not None:
            return self.source.text("label", locale)
        text = _EXTRA_LABELS[self.role]
        return translate(text) if text else ""


@dataclass(frozen=True)
class Grid:
    columns: tuple[GridColumn, ...]
    number: int | None  # index of the printed-number column
    label_start: int  # first column of sub-row labels and repeating tables
    value: int  # where indicator inputs go
    unit: int
    previous: int | None  # None when no field is cumulative

    @property
    def width(self) -> int:
        return len(self.columns)

    def sheet_col(self, index: int) -> int:
        return FIRST_GRID_COLUMN + index

    @property
    def last_sheet_col(self) -> int:
        return self.sheet_col(self.width - 1)

    def input_columns(self) -> list[tuple[int, TableColumn]]:
        return [(i, c.source) for i, c in enumerate(self.columns)
                if c.role == "input" and c.source is not None]


def build_grid(definition: Definition) -> Grid:
    cols: list[tuple[str, TableColumn | None]] = [(_role(c), c) for c in definition.columns]
    if not cols:
        cols = [("number", None), ("title", None)]
    if all(role == "number" for role, _ in cols):
        cols.append(("title", None))
    roles = [r for r, _ in cols]
    number = roles.index("number") if "number" in roles else None
    label_start = next(i for i, r in enumerate(roles) if r != "number")

    progress = definition.progress_column()
    value = next((i for i, (r, c) in enumerate(cols)
                  if r == "input" and i > label_start and c is progress), None)
    if value is None:
        value = next((i for i, r in enumerate(roles) if r == "input" and i > label_start), None)
    if value is None:
        value = len(cols)
        cols.append(("value", None))
    unit = value + 1
    if unit >= len(cols):
        cols.append(("unit", None))
    # The previous period's figures get a column of their own: under an official
    # column's heading they would read as something else.
    previous = None
    if any(f.cumulative for f in definition.fields()):
        previous = len(cols)
        cols.append(("previous", None))

    widest_table = max(
        (len(f.columns) for f in definition.fields() if f.kind is FieldKind.TABLE), default=0
    )
    while label_start + widest_table > len(cols):
        cols.append(("extra", None))

    columns = tuple(
        GridColumn(f"c{i + 1}", role, source, _width(role, source))
        for i, (role, source) in enumerate(cols)
    )
    return Grid(columns, number, label_start, value, unit, previous)


def _role(column: TableColumn) -> str:
    return column.source  # number, title, text or input


def _width(role: str, source: TableColumn | None) -> float:
    if source is not None and source.width:
        return float(min(max(source.width, 5), 100))
    if role == "input":
        return 40 if source is not None and source.input_kind is FieldKind.LONGTEXT else 20
    return _WIDTHS[role]
