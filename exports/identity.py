"""Which report a workbook belongs to, and where its input cells are.

**Identity.** Every template workbook carries a very hidden sheet
``_tianbao`` with key/value rows: the template key, its version, the unit
code, the period key and an HMAC-SHA256 signature over those four made with
the server's secret. The signature lets the reader refuse a forged or edited
identity, and a workbook made by another server. Unsigned display data (the
unit name, the locale, the form sheet's name) sits beside it.

**Locating input cells.** Input cells are found by *marker cells*, not by
coordinates:

* Column A of the form sheet is hidden and holds one marker per row written
  by the template: ``tb:f reporter=c3 phone=c5`` says that this row holds the
  inputs of fields ``reporter`` and ``phone`` in the columns whose slot ids are
  ``c3`` and ``c5``; ``tb:t roster name=c2 phone=c3`` marks a data row of the
  repeating table ``roster``; ``tb:-`` marks every other row (titles, labels,
  notes).
* A hidden row marked ``tb:cols`` holds the slot id of every column
  (``c1``, ``c2``, …), so even a column inserted after unprotecting the sheet
  does not shift the inputs.
* On the 说明 sheet, ``tb:n found`` marks the row where the unit explains its
  figure of field ``found`` (see ``exports.notes_sheet``); on an event report's
  event sheet, ``tb:e at`` marks the row of the event's time (``exports.event_sheet``).
* A row whose marker is empty was inserted by the user. Right after (or
  inside) a table block it is another data row of that table; elsewhere its
  content is reported as ignored.

Why markers rather than defined names alone: python-calamine, the fast reader,
does not expose defined names, and names do not reliably survive re-saving as
.xls or .ods, while plain cell values survive every re-save (Excel, WPS,
LibreOffice; .xlsx, .xls, .ods) and move with their row when rows are
inserted. The template still defines ``tb_<field>`` names for people who write
formulas or macros against it, and the tests check that names and markers
agree.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

IDENTITY_SHEET = "_tianbao"
LISTS_SHEET = "_lists"
MAGIC = "tianbao-workbook"
FORMAT_VERSION = "1"

MARKER_PREFIX = "tb:"
COLUMNS_MARKER = "tb:cols"
OTHER_MARKER = "tb:-"
_SLOT_RE = re.compile(r"^c[1-9][0-9]{0,3}$")


@dataclass(frozen=True)
class Identity:
    """The report a workbook is for: template version, unit and period.

    ``unit_name`` is shown in messages only; it is neither signed nor compared.
    """

    template: str
    version: int
    unit: str
    period: str
    unit_name: str = field(default="", compare=False)

    def payload(self) -> bytes:
        # Unit separators cannot occur in keys or codes, so fields cannot run together.
        parts = (MAGIC, FORMAT_VERSION, self.template, str(self.version), self.unit, self.period)
        return "\x1f".join(parts).encode("utf-8")

    def sign(self, secret: bytes) -> str:
        if not secret:
            raise ValueError("a non-empty secret is needed to sign workbooks")
        return hmac.new(secret, self.payload(), hashlib.sha256).hexdigest()

    def verify(self, signature: str, secret: bytes) -> bool:
        return hmac.compare_digest(self.sign(secret), signature or "")


def identity_rows(identity: Identity, secret: bytes, *, locale: str, sheet: str) -> list[tuple]:
    """The key/value rows of the identity sheet."""
    return [
        (MAGIC, FORMAT_VERSION),
        ("template", identity.template),
        ("version", str(identity.version)),
        ("unit", identity.unit),
        ("period", identity.period),
        ("signature", identity.sign(secret)),
        ("unit_name", identity.unit_name),
        ("locale", locale),
        ("sheet", sheet),
    ]


def cell_text(value: Any) -> str:
    """A cell value as the text it was written as (re-saves may turn "2" into 2.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def is_identity_sheet(rows: list[list[Any]]) -> bool:
    return bool(rows) and bool(rows[0]) and cell_text(rows[0][0]) == MAGIC


def parse_identity(rows: Iterable[list[Any]]) -> tuple[Identity | None, dict[str, str]]:
    """The signed identity and the raw key/value pairs, or None when malformed."""
    pairs: dict[str, str] = {}
    for row in rows:
        if len(row) >= 2:
            key = cell_text(row[0])
            if key and key not in pairs:
                pairs[key] = cell_text(row[1])
    try:
        version = int(pairs.get("version", ""))
    except ValueError:
        return None, pairs
    parts = [pairs.get(k, "") for k in ("template", "unit", "period")]
    if not all(parts) or version < 1:
        return None, pairs
    template, unit, period = parts
    return Identity(template, version, unit, period, unit_name=pairs.get("unit_name", "")), pairs


# -- row markers -------------------------------------------------------------------


def field_marker(slots: Mapping[str, str]) -> str:
    """``tb:f key=slot …`` for a row holding the inputs of one or more fields."""
    return "tb:f " + " ".join(f"{key}={slot}" for key, slot in slots.items())


def note_marker(key: str) -> str:
    """``tb:n key`` for a row of the 说明 sheet that explains the figure of field *key*."""
    return f"tb:n {key}"


def event_marker(entry: str) -> str:
    """``tb:e entry`` for a row of an event report's event sheet (``at``, ``location``…)."""
    return f"tb:e {entry}"


def table_marker(table: str, slots: Mapping[str, str]) -> str:
    """``tb:t table col=slot …`` for a data row of a repeating table."""
    return f"tb:t {table} " + " ".join(f"{key}={slot}" for key, slot in slots.items())


@dataclass(frozen=True)
class Marker:
    """A parsed row marker."""

    kind: str  # "cols", "f" (fields), "t" (table row), "n" (a note), "e" (an event entry),
    # "other", "" (inserted)
    table: str | None = None
    slots: tuple[tuple[str, str], ...] = ()
    field: str | None = None  # the field a note ("n") row explains, the entry of an "e" row


_INSERTED = Marker("")
_OTHER = Marker("other")
_COLUMNS = Marker("cols")


def parse_marker(value: Any) -> Marker:
    if type(value) is str:  # as a marker cell reads back, text (cell_text is value.strip())
        if value.startswith("tb:") and len(value) <= _CACHED_LENGTH:
            return _cached_cell_marker(value)
        text = value.strip()
    else:
        text = cell_text(value)
    if not text:
        return _INSERTED
    if len(text) <= _CACHED_LENGTH and text.startswith("tb:"):
        return _cached_marker(text)
    return _marker_of(text)


# A template's markers repeat in every upload of it, so their parses are kept (markers
# are immutable); only short texts that look like markers, so hostile cells cannot
# fill the cache with large strings.
_CACHED_LENGTH = 512


@lru_cache(maxsize=4096)
def _cached_marker(text: str) -> Marker:
    return _marker_of(text)


@lru_cache(maxsize=4096)
def _cached_cell_marker(value: str) -> Marker:
    """The marker of a cell's text that starts with ``tb:``, kept by the text as read."""
    return _marker_of(value.strip())


def _marker_of(text: str) -> Marker:
    """The marker of a non-empty cell text."""
    if text == COLUMNS_MARKER:
        return _COLUMNS
    parts = text.split()
    head = parts[0]
    if head == "tb:f":
        return Marker("f", slots=_slots(parts[1:]))
    if head == "tb:t" and len(parts) >= 2:
        return Marker("t", table=parts[1], slots=_slots(parts[2:]))
    if head == "tb:n" and len(parts) == 2:
        return Marker("n", field=parts[1])
    if head == "tb:e" and len(parts) == 2:
        return Marker("e", field=parts[1])
    return _OTHER


def _slots(tokens: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for token in tokens:
        key, sep, slot = token.partition("=")
        if sep and key and _SLOT_RE.match(slot):
            pairs.append((key, slot))
    return tuple(pairs)


def is_slot(value: Any) -> bool:
    return bool(_SLOT_RE.match(cell_text(value)))
