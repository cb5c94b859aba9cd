"""Reading organisation units and user accounts from .xlsx, .xls, .ods or .csv files.

Administrators keep unit and account lists in whatever their office uses: Excel,
WPS (which saves CSV in GBK on Chinese Windows), LibreOffice. The reader finds
the header row, maps English keys or Chinese headers to columns, cleans the
cells (spaces, full-width characters, numbers that spreadsheets turned into
floats) and reports every problem row by row, never stopping at the first and
never raising on a bad file. The caller imports nothing unless ``ok``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from exports import sandbox
from exports.limits import DEFAULT_LIMITS, check_size, inspect_upload
from exports.messages import CellIssue
from exports.workbook_reader import failure_issue
from forms.i18n import N_
from forms.tags import TagError, parse_tags

MAX_ROWS = 200_000
# A table of 200,000 units takes seconds to parse, far more than a filled form.
IMPORT_BUDGET = sandbox.Budget(memory_bytes=2048 * 1024 * 1024, cpu_seconds=60,
                               wall_seconds=90)
MAX_CODE_LENGTH = 64
MAX_NAME_LENGTH = 100
MAX_CONTACT_LENGTH = 50
HEADER_SEARCH_ROWS = 10  # a title line or two often sits above the header

UNIT_KINDS = (
    "city",
    "county",
    "town",
    "zone",
    "village",
    "community",
    "company",
    "department",
    "bureau",
    "office",
    "other",
)
ROLES = ("submitter", "consolidator", "admin")

_KIND_WORDS = {
    "city": ("市", "地级市", "市级", "city"),
    "county": ("县", "区", "县级市", "市辖区", "旗", "自治县", "县级", "county", "district"),
    "town": ("镇", "乡", "乡镇", "街道", "街道办", "镇街", "town", "township"),
    "zone": ("开发区", "园区", "工业园区", "工业区", "经济开发区", "高新区", "zone", "park"),
    "village": ("村", "行政村", "村委会", "village"),
    "community": ("社区", "居委会", "community"),
    "company": ("企业", "公司", "工厂", "厂", "company", "enterprise", "firm"),
    "department": ("部门", "科室", "股", "站", "所", "department"),
    "bureau": ("局", "委", "bureau"),
    "office": ("办", "办公室", "中心", "office", "centre", "center"),
    "other": ("其他", "其它", "other"),
}
_KINDS = {word: kind for kind, words in _KIND_WORDS.items() for word in words}

_ROLE_WORDS = {
    "submitter": ("submitter", "填报人", "报送人", "填报员", "报送员", "填报", "报送"),
    "consolidator": ("consolidator", "汇总人", "审核人", "汇总员", "审核员", "汇总", "审核"),
    "admin": ("admin", "administrator", "管理员", "系统管理员"),
}
_ROLES = {word: role for role, words in _ROLE_WORDS.items() for word in words}

_TRUE = {"1", "是", "true", "yes", "y", "启用", "有效", "正常", "在用", "active", "enabled", "√"}
_FALSE = {
    "0",
    "否",
    "false",
    "no",
    "n",
    "停用",
    "无效",
    "禁用",
    "注销",
    "inactive",
    "disabled",
    "×",
}

_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?"
)
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# Area code (3-4 digits starting with 0) and 7-8 digit number, optional extension;
# a local number without area code; service numbers 400/800-xxx-xxxx.
_LANDLINE = re.compile(
    r"0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|[2-9]\d{6,7}(?:-\d{1,6})?|[48]00-?\d{3}-?\d{4}"
)


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` as the user sees it in the sheet (header = row 1 when it is
    the first line), ``column`` the canonical column key, ``message`` an English msgid
    whose ``%(name)s`` parameters are in ``params``."""

    row: int | None
    column: str | None
    code: str
    message: str
    params: dict = field(default_factory=dict)


@dataclass
class ImportResult:
    """The rows read and every problem found; ``columns`` lists the canonical keys of the
    columns the file has, so an update can leave alone what the file does not mention."""

    rows: list
    errors: list[RowError]
    columns: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class UnitRow:
    """One unit of the tree, as read from a file or written in code (demo data, tests)."""

    code: str
    name: str
    kind: str
    parent_code: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    active: bool = True
    row: int = 0  # spreadsheet row it came from (0: not from a file)
    tags: tuple[str, ...] = ()  # 危化、有限空间 ... (forms.tags)
    # Owes the periods that begin on or after reports_from and before stops_on
    # (None: not given; the importer's default for a new unit is today).
    reports_from: dt.date | None = None
    stops_on: dt.date | None = None


@dataclass(frozen=True)
class UserRow:
    username: str
    role: str
    unit_code: str | None
    password: str | None
    active: bool
    row: int = 0  # spreadsheet row it came from


@dataclass(frozen=True)
class _Column:
    key: str
    headers: tuple[str, ...]  # accepted header names, the first one shown in messages
    required: bool = False


UNIT_COLUMNS = (
    _Column("code", ("code", "单位代码", "代码", "单位编码", "编码"), required=True),
    _Column("name", ("name", "单位名称", "名称", "单位"), required=True),
    _Column("kind", ("kind", "类型", "单位类型", "type"), required=True),
    _Column("parent_code", ("parent", "parent_code", "上级单位代码", "上级代码", "上级单位编码")),
    _Column("contact_name", ("contact", "contact_name", "联系人")),
    _Column("contact_phone", ("phone", "contact_phone", "联系电话", "电话", "手机", "手机号")),
    _Column("active", ("active", "启用", "状态", "是否启用")),
    _Column("tags", ("tags", "标签", "单位标签")),
    _Column("reports_from", ("reports_from", "开始报送日期", "开始报送", "启用日期")),
    _Column("stops_on", ("stops_on", "停止报送日期", "停止报送", "撤销日期")),
)
USER_COLUMNS = (
    _Column("username", ("username", "用户名", "账号", "帐号", "登录名"), required=True),
    _Column("role", ("role", "角色"), required=True),
    _Column(
        "unit_code", ("unit", "unit_code", "单位代码", "所属单位代码", "单位编码"), required=True
    ),
    _Column("password", ("password", "密码", "初始密码")),
    _Column("active", ("active", "启用", "状态", "是否启用")),
)


class _FileProblem(Exception):
    """A problem with the file as a whole; becomes the only error of the result."""

    def __init__(self, code: str, message: str, /, **params: Any) -> None:
        super().__init__(code)
        self.error = RowError(None, None, code, message, params)


# -- public API -------------------------------------------------------------------


def read_units(data: bytes, filename: str, existing: Mapping[str, str | None]) -> ImportResult:
    """Read a unit table. *existing* maps the units already in the system to their parent
    codes; a row with an existing code updates that unit.

    ``rows`` come parent before child. Where the file has no parent column, existing
    units keep their parent; an empty parent cell makes the unit a root.
    """
    try:
        table = _Table.load(data, filename, UNIT_COLUMNS)
    except _FileProblem as problem:
        return ImportResult([], [problem.error])
    errors = list(table.errors)
    parsed: list[tuple[_RowCheck, UnitRow]] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.records:
        check = _RowCheck(number, cells, table, errors)
        code = check.code("code", required=True)
        name = check.text("name", required=True, limit=MAX_NAME_LENGTH)
        kind = check.choice("kind", _KINDS, _kind_problem)
        if "parent_code" in table.columns:
            parent = check.code("parent_code") or None
        else:
            parent = existing.get(code) if code else None
        contact = check.text("contact_name", limit=MAX_CONTACT_LENGTH) or None
        phone = check.phone("contact_phone")
        active = check.flag("active")
        tags = check.tags("tags")
        reports_from = check.date("reports_from")
        stops_on = check.date("stops_on")
        if reports_from and stops_on and stops_on <= reports_from:
            check.fail(
                "stops_on",
                "stops_before_start",
                N_("The unit stops reporting on %(stops)s, not after it starts (%(starts)s)."),
                stops=stops_on.isoformat(),
                starts=reports_from.isoformat(),
            )
        if code in first_row_of:
            check.fail(
                "code",
                "duplicate_code",
                N_("The unit code “%(code)s” appears twice: in rows %(first_row)s and %(row)s."),
                code=code,
                first_row=first_row_of[code],
            )
            continue
        if code:
            first_row_of[code] = number
            parsed.append(
                (check, UnitRow(code, name, kind, parent, contact, phone, active, number, tags,
                                reports_from, stops_on))
            )
    for check, row in parsed:
        if (
            row.parent_code
            and row.parent_code not in existing
            and row.parent_code not in first_row_of
        ):
            check.fail(
                "parent_code",
                "unknown_parent",
                N_(
                    "The parent unit “%(parent)s” is neither in the file "
                    "nor among the existing units."
                ),
                parent=row.parent_code,
            )
    errors += _cycles([row for _, row in parsed], existing)
    errors.sort(key=lambda error: error.row or 0)
    faulty = {error.row for error in errors}
    rows = _parents_first([row for check, row in parsed if check.ok and row.row not in faulty])
    return ImportResult(rows, errors, frozenset(table.columns))


def _cycles(rows: list[UnitRow], existing: Mapping[str, str | None]) -> list[RowError]:
    """Cycles in the tree the import would make, existing units included: re-parenting
    an existing unit under one of its own descendants closes a loop too."""
    parent_of: dict[str, str | None] = dict(existing)
    parent_of.update((row.code, row.parent_code) for row in rows)
    row_of = {row.code: row.row for row in rows}
    state: dict[str, int] = {}  # 1: on the current walk, 2: known to reach a root
    errors = []
    for row in rows:
        walk: list[str] = []
        node: str | None = row.code
        while node is not None and node in parent_of and node not in state:
            state[node] = 1
            walk.append(node)
            node = parent_of[node]
        if node is not None and state.get(node) == 1:
            cycle = walk[walk.index(node) :]
            # Start at the unit that comes first in the file, so the message reads naturally.
            in_file = [code for code in cycle if code in row_of]
            first = min(in_file, key=row_of.__getitem__) if in_file else cycle[0]
            turn = cycle.index(first)
            ordered = cycle[turn:] + cycle[:turn] + [first]
            if len(cycle) == 1:
                message = N_("The unit “%(code)s” cannot be its own parent.")
            else:
                message = N_(
                    "The units %(cycle)s form a loop: each would be the parent of the one "
                    "before it. Change one of their parents."
                )
            number = row_of.get(first, row.row)
            errors.append(
                RowError(
                    number,
                    "parent_code",
                    "cycle",
                    message,
                    {
                        "row": number,
                        "code": first,
                        "cycle": " → ".join(ordered),
                        "codes": cycle,
                    },
                )
            )
        for code in walk:
            state[code] = 2
    return errors


def _parents_first(rows: list[UnitRow]) -> list[UnitRow]:
    """Order rows so that a unit whose parent is in the file comes after that parent;
    otherwise the file's order is kept. Rows caught in a cycle go last."""
    children: dict[str | None, list[UnitRow]] = {}
    codes = {row.code for row in rows}
    roots = []
    for row in rows:
        if row.parent_code in codes and row.parent_code != row.code:
            children.setdefault(row.parent_code, []).append(row)
        else:
            roots.append(row)
    ordered: list[UnitRow] = []
    queue = list(reversed(roots))
    while queue:  # depth-first without recursion: trees may be thousands deep
        row = queue.pop()
        ordered.append(row)
        queue.extend(reversed(children.get(row.code, [])))
    if len(ordered) < len(rows):
        placed = {row.code for row in ordered}
        ordered += [row for row in rows if row.code not in placed]
    return ordered


def read_users(
    data: bytes,
    filename: str,
    unit_codes: Collection[str],
    existing_usernames: Collection[str] = (),
) -> ImportResult:
    """Read an account table. Units must be among *unit_codes*; usernames are compared
    case-insensitively, within the file and with *existing_usernames* (which are refused
    as taken: pass nothing when existing accounts are to be updated)."""
    try:
        table = _Table.load(data, filename, USER_COLUMNS)
    except _FileProblem as problem:
        return ImportResult([], [problem.error])
    known_units = set(unit_codes)
    taken = {name.strip().lower() for name in existing_usernames}
    errors = list(table.errors)
    rows: list[UserRow] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.records:
        check = _RowCheck(number, cells, table, errors)
        username = check.text("username", required=True, limit=64)
        role = check.choice("role", _ROLES, _role_problem)
        unit = check.code("unit_code")
        password = check.raw("password") or None
        active = check.flag("active")
        folded = username.lower()
        if folded and folded in first_row_of:
            check.fail(
                "username",
                "duplicate_username",
                N_("The username “%(username)s” appears twice: in rows %(first_row)s and %(row)s."),
                username=username,
                first_row=first_row_of[folded],
            )
        elif folded:
            first_row_of[folded] = number
            if folded in taken:
                check.fail(
                    "username",
                    "username_taken",
                    N_("The username “%(username)s” is already taken."),
                    username=username,
                )
        if unit and unit not in known_units:
            check.fail(
                "unit_code",
                "unknown_unit",
                N_("The unit code “%(code)s” does not exist."),
                code=unit,
            )
        elif not unit and role and role != "admin":
            check.fail(
                "unit_code",
                "unit_required",
                N_("Submitters and consolidators must belong to a unit."),
            )
        if check.ok:
            rows.append(UserRow(username, role, unit or None, password, active, number))
    return ImportResult(rows, errors, frozenset(table.columns))


# -- cleaning cells -------------------------------------------------------------------


def clean_text(value: Any) -> str:
    """A cell as text: trimmed (full-width spaces too), integral floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip().strip("\u200b\ufeff").strip()


def clean_code(value: Any) -> str:
    """A code as text, full-width letters and digits folded to ASCII (NFKC)."""
    return unicodedata.normalize("NFKC", clean_text(value)).strip()


def is_phone(text: str) -> bool:
    """Mobile ``13800000001`` or landline ``0595-12345678`` (spaces, hyphens, brackets
    and a +86 prefix allowed)."""
    compact = re.sub(r"[\s()]", "", unicodedata.normalize("NFKC", text))
    compact = re.sub(r"^(?:\+?86-?)(?=1[3-9]\d{9}$)", "", compact)
    return bool(_MOBILE.fullmatch(compact.replace("-", "")) or _LANDLINE.fullmatch(compact))


def _accepted(keys: tuple[str, ...], words: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """``city/市, county/县, ...``: each key with its first Chinese word, for messages
    that must help in either language."""
    chinese = {key: next(w for w in words[key] if not w.isascii()) for key in keys}
    return {"accepted": ", ".join(f"{key}/{chinese[key]}" for key in keys)}


def _kind_problem() -> dict[str, str]:
    return _accepted(UNIT_KINDS, _KIND_WORDS)


def _role_problem() -> dict[str, str]:
    return _accepted(ROLES, _ROLE_WORDS)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


# -- the table ------------------------------------------------------------------------


@dataclass
class _Table:
    columns: dict[str, int]  # canonical key -> index in the row
    headers: dict[str, str]  # canonical key -> header as written in the file
    records: list[tuple[int, list[Any]]]  # (row number, cells) of the data rows
    errors: list[RowError]

    @classmethod
    def load(cls, data: bytes, filename: str, spec: tuple[_Column, ...]) -> _Table:
        sheets = _read_sheets(data, filename)
        # The first sheet whose header has every required column; else the first one.
        candidates = [(rows, *_find_header(rows, spec)) for rows in sheets]
        rows, header_index, columns, headers, problems = next(
            (c for c in candidates if not any(p.code == "missing_column" for p in c[4])),
            candidates[0],
        )
        records = []
        for index in range(header_index + 1, len(rows)):
            cells = rows[index]
            if any(clean_text(cell) for cell in cells):
                records.append((index + 1, cells))
        if len(records) > MAX_ROWS:
            raise _FileProblem(
                "too_many_rows",
                N_("The file has %(count)s rows; at most %(limit)s can be imported at once."),
                count=len(records),
                limit=MAX_ROWS,
            )
        if not records and not problems:
            raise _FileProblem(
                "no_rows", N_("The file has a header row but no rows below it to import.")
            )
        return cls(columns, headers, records, problems)

    def cell(self, cells: list[Any], key: str) -> Any:
        index = self.columns.get(key)
        return cells[index] if index is not None and index < len(cells) else None


def _find_header(
    rows: list[list[Any]], spec: tuple[_Column, ...]
) -> tuple[int, dict[str, int], dict[str, str], list[RowError]]:
    """Pick the header row among the first rows: the first with every required column,
    else the one that names most columns. Report missing and repeated columns."""
    by_header = {_header_key(name): column for column in spec for name in column.headers}
    best: tuple[int, int, dict[str, int], dict[str, str], list[RowError]] | None = None
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        headers: dict[str, str] = {}
        repeated: list[RowError] = []
        for position, cell in enumerate(cells):
            column = by_header.get(_header_key(clean_text(cell)))
            if column is None:
                continue
            if column.key in columns:
                repeated.append(
                    RowError(
                        index + 1,
                        column.key,
                        "repeated_column",
                        N_("The columns “%(first)s” and “%(second)s” both give the %(column)s."),
                        {
                            "first": headers[column.key],
                            "second": clean_text(cell),
                            "column": column.headers[0],
                            "row": index + 1,
                        },
                    )
                )
                continue
            columns[column.key] = position
            headers[column.key] = clean_text(cell)
        complete = all(c.key in columns for c in spec if c.required)
        if best is None or len(columns) > best[1] or complete:
            best = (index, len(columns), columns, headers, repeated)
        if complete:
            break
    index, _, columns, headers, problems = best or (0, 0, {}, {}, [])
    for column in spec:
        if column.required and column.key not in columns:
            problems.append(
                RowError(
                    None,
                    column.key,
                    "missing_column",
                    N_("The column “%(column)s” is missing; its header may be %(accepted)s."),
                    {"column": column.headers[0], "accepted": " / ".join(column.headers)},
                )
            )
    return index, columns, headers, problems


def _header_key(text: str) -> str:
    """Headers match whatever their case, spacing, required-marks or notes in brackets:
    ``单位代码（必填）*`` is ``单位代码``."""
    text = _fold(text)
    text = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", text)
    return re.sub(r"[\s*:_]", "", text)


# -- reading files ----------------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _not_a_table(filename: str) -> _FileProblem:
    return _FileProblem(
        "not_a_table",
        N_(
            "The file “%(filename)s” could not be read as a table. "
            "Please upload an .xlsx, .xls, .ods or .csv file."
        ),
        filename=filename,
    )


def _read_sheets(data: bytes, filename: str) -> list[list[list[Any]]]:
    """Every visible sheet as rows of cells (from A1, so positions match the file)."""
    if not data or not data.strip():
        raise _FileProblem("empty_file", N_("The file “%(filename)s” is empty."), filename=filename)
    too_large = check_size(data, filename, DEFAULT_LIMITS)
    if too_large is not None:
        raise _FileProblem(too_large.code, too_large.message, **too_large.params)
    if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC):
        sheets = _read_workbook(data, filename)
    else:
        sheets = [_read_csv(data, filename)]
    sheets = [rows for rows in sheets if any(any(clean_text(c) for c in row) for row in rows)]
    if not sheets:
        raise _FileProblem("empty_file", N_("The file “%(filename)s” is empty."), filename=filename)
    return sheets


def _read_workbook(data: bytes, filename: str) -> list[list[list[Any]]]:
    """The visible sheets, checked and parsed in the sandbox like every upload."""
    found = sandbox.run(load_visible_sheets, data, filename, MAX_ROWS, budget=IMPORT_BUDGET)
    if isinstance(found, sandbox.Failure):
        issue = failure_issue(found, filename)
        raise _FileProblem(issue.code, issue.message, **issue.params)
    if isinstance(found, CellIssue):
        raise _FileProblem(found.code, found.message, **found.params)
    if isinstance(found, tuple):  # too many rows
        raise _FileProblem(
            "too_many_rows",
            N_("The file has %(count)s rows; at most %(limit)s can be imported at once."),
            count=found[0], limit=MAX_ROWS,
        )
    if found is None:
        raise _not_a_table(filename)
    return found


def load_visible_sheets(data: bytes, filename: str, max_rows: int):
    """Runs in the sandbox child: every visible sheet as plain rows, or why not.

    Answers the rows, a refusal of the upload inspection, ``(rows,)`` when a
    sheet is too long to import, or None when the file is not a table.
    """
    _, problem = inspect_upload(data, filename, DEFAULT_LIMITS)
    if problem is not None:
        # A damaged or foreign file gets this import's own message, which names .csv too.
        return None if problem.code in ("corrupt_file", "not_a_spreadsheet") else problem
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for index, meta in enumerate(book.sheets_metadata):
            if meta.typ != SheetTypeEnum.WorkSheet or meta.visible != SheetVisibleEnum.Visible:
                continue
            sheet = book.get_sheet_by_index(index)
            if sheet.total_height > max_rows + HEADER_SEARCH_ROWS:
                return (sheet.total_height - 1,)
            sheets.append(sheet.to_python(skip_empty_area=False))
    except Exception:  # calamine raises several error types for damaged or foreign files
        return None
    return sheets


def _decode(data: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030,
    which WPS and Excel use for CSV on Chinese Windows."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        decoders: tuple[str, ...] = ("utf-16",)
    else:
        decoders = ("utf-8-sig", "gb18030")
    for encoding in decoders:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise _not_a_table(filename)


def _read_csv(data: bytes, filename: str) -> list[list[Any]]:
    text = _decode(data, filename)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", "\t", ";"), key=first_line.count)
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise _not_a_table(filename) from None


# -- row checks -------------------------------------------------------------------------


class _RowCheck:
    """Reads the cells of one row, recording problems instead of raising."""

    def __init__(
        self, number: int, cells: list[Any], table: _Table, errors: list[RowError]
    ) -> None:
        self.number = number
        self.cells = cells
        self.table = table
        self.errors = errors
        self.ok = True

    def fail(self, key: str, error: str, message: str, /, **params: Any) -> None:
        """Record problem *error* in column *key*; *params* may include a ``code``."""
        self.ok = False
        header = self.table.headers.get(key, key)
        params = {"row": self.number, "column": header, **params}
        self.errors.append(RowError(self.number, key, error, message, params))

    def raw(self, key: str) -> str:
        return clean_text(self.table.cell(self.cells, key))

    def empty(self, key: str) -> None:
        """A required cell is empty; a missing column was already reported once."""
        if key in self.table.columns:
            self.fail(key, "required", N_("“%(column)s” is empty."))
        else:
            self.ok = False

    def text(self, key: str, *, required: bool = False, limit: int | None = None) -> str:
        value = self.raw(key)
        if required and not value:
            self.empty(key)
        elif limit is not None and len(value) > limit:
            self.fail(
                key,
                "too_long",
                N_("“%(column)s” is too long (%(length)s characters, at most %(limit)s)."),
                length=len(value),
                limit=limit,
            )
        return value

    def code(self, key: str, *, required: bool = False) -> str:
        value = clean_code(self.table.cell(self.cells, key))
        if required and not value:
            self.empty(key)
        elif value and (len(value) > MAX_CODE_LENGTH or not _CODE.fullmatch(value)):
            self.fail(
                key,
                "invalid_code",
                N_(
                    "“%(value)s” is not a valid code: use letters, digits, "
                    "“-”, “_” and “.”, at most %(limit)s characters."
                ),
                value=value,
                limit=MAX_CODE_LENGTH,
            )
        return value

    def choice(
        self, key: str, words: Mapping[str, str], accepted: Callable[[], dict[str, str]]
    ) -> str:
        value = self.raw(key)
        if not value:
            self.empty(key)
            return ""
        found = words.get(_fold(value))
        if found is None:
            self.fail(
                key,
                f"invalid_{key}",
                N_("“%(value)s” is not a known %(column)s; use one of %(accepted)s."),
                value=value,
                **accepted(),
            )
            return ""
        return found

    def phone(self, key: str) -> str | None:
        value = clean_code(self.table.cell(self.cells, key))
        if value and not is_phone(value):
            self.fail(
                key,
                "invalid_phone",
                N_(
                    "“%(value)s” is not a phone number; use a mobile number "
                    "(13800000000) or a landline with its area code (0595-12345678)."
                ),
                value=value,
            )
        return value or None

    def tags(self, key: str) -> tuple[str, ...]:
        try:
            return parse_tags(self.raw(key))
        except TagError as problem:
            self.fail(key, problem.code, problem.message, **problem.params)
            return ()

    def date(self, key: str) -> dt.date | None:
        """A date cell: an Excel date, or text such as 2025-01-01, 2025/1/1 or 2025年1月1日."""
        value = self.table.cell(self.cells, key)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = unicodedata.normalize("NFKC", clean_text(value))
        if not text:
            return None
        match = _DATE.fullmatch(text)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                pass
        self.fail(
            key,
            "invalid_date",
            N_("“%(value)s” is not a date such as 2025-01-01."),
            value=text,
        )
        return None

    def flag(self, key: str) -> bool:
        value = _fold(self.raw(key))
        if not value or value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.fail(
            key,
            "invalid_active",
            N_("“%(value)s” is not a yes/no value; use 是/否, 启用/停用 or 1/0."),
            value=self.raw(key),
        )
        return True
