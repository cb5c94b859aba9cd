import io
import zipfile
from xml.sax.saxutils import escape

import openpyxl
import pytest
import xlsxwriter

from exports import unit_table
from exports.unit_table import (
    ImportResult,
    RowError,
    UnitRow,
    UserRow,
    is_phone,
    read_units,
    read_users,
)

HEADER = ["code", "name", "kind", "parent", "contact", "phone", "active"]


def xlsx(rows, *, above=()):
    """An .xlsx written by xlsxwriter, with optional lines (e.g. a title) above the rows."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("单位")
    for number, row in enumerate([*above, *rows]):
        sheet.write_row(number, 0, row)  # None leaves the cell empty
    book.close()
    return buffer.getvalue()


def csv_bytes(rows, *, encoding="utf-8", delimiter=","):
    text = "\r\n".join(delimiter.join("" if v is None else str(v) for v in row) for row in rows)
    return text.encode(encoding)


def ods(rows):
    """A minimal OpenDocument spreadsheet, as LibreOffice would save it."""
    xml_rows = []
    for row in rows:
        cells = []
        for value in row:
            if value is None:
                cells.append("<table:table-cell/>")
            elif isinstance(value, int | float):
                cells.append(
                    f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{value}</text:p></table:table-cell>"
                )
            else:
                cells.append(
                    '<table:table-cell office:value-type="string">'
                    f"<text:p>{escape(value)}</text:p></table:table-cell>"
                )
        xml_rows.append(f"<table:table-row>{''.join(cells)}</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Sheet1">'
        f"{''.join(xml_rows)}</table:table></office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def units(*rows, header=HEADER, existing=None, **kwargs):
    return read_units(xlsx([header, *rows], **kwargs), "units.xlsx", existing or {})


def codes(result: ImportResult) -> list[str]:
    return [row.code for row in result.rows]


def only_error(result: ImportResult) -> RowError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def text_of(error: RowError) -> str:
    """What a user reads (in English): the msgid filled with its parameters."""
    return error.message % error.params


# -- reading formats ---------------------------------------------------------------------


def test_xlsx_with_english_headers():
    result = units(
        ["CHIDIAN", "池店镇", "town", None, "张三", "0595-12345678", "是"],
        ["CHIDIAN-V01", "示例村", "village", "CHIDIAN", "李四", 13800000001, None],
    )
    assert result.ok
    assert result.rows == [
        UnitRow("CHIDIAN", "池店镇", "town", None, "张三", "0595-12345678", True, row=2),
        UnitRow("CHIDIAN-V01", "示例村", "village", "CHIDIAN", "李四", "13800000001", True, row=3),
    ]


def test_chinese_headers_with_marks_and_notes():
    header = [
        "单位代码*",
        "单位名称（必填）",
        "单位类型",
        "上级单位代码",
        "联系人",
        "联系电话",
        "状态",
    ]
    result = units(["C1", "示例社区", "社区", None, "王五", "13800000002", "停用"], header=header)
    assert result.ok, result.errors
    row = result.rows[0]
    assert (row.code, row.kind, row.contact_name, row.active) == ("C1", "community", "王五", False)


def test_title_rows_above_the_header_keep_sheet_row_numbers():
    result = units(
        ["A", "甲", "镇", None, None, "12", None],
        above=[["池店镇单位名单"], []],
    )
    error = only_error(result)
    assert error.row == 4  # title on row 1, blank row 2, header row 3
    assert error.code == "invalid_phone"


def test_numbers_stored_as_floats_become_codes():
    result = units([1001, "甲", "town", None, None, 13800000001.0, 1], [1002.0, "乙", "村", 1001])
    assert result.ok
    assert codes(result) == ["1001", "1002"]
    assert result.rows[1].parent_code == "1001"
    assert result.rows[0].contact_phone == "13800000001"


def test_full_width_characters_and_spaces_are_cleaned():
    result = units(
        ["\u3000ＣＨＩＤＩＡＮ－Ｖ０１ ", " 示例村\u3000", " 村 ", None, "\u3000李四", None]
    )
    assert result.ok
    assert (result.rows[0].code, result.rows[0].name, result.rows[0].contact_name) == (
        "CHIDIAN-V01",
        "示例村",
        "李四",
    )


def test_openpyxl_workbook_with_other_sheets():
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active["A1"] = "请在第二个工作表填写"
    sheet = book.create_sheet("单位")
    sheet.append(["代码", "名称", "类型"])
    sheet.append(["Z1", "雪峰开发区", "开发区"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = read_units(buffer.getvalue(), "units.xlsx", {})
    assert result.ok
    assert result.rows[0].kind == "zone"


def test_ods():
    result = read_units(ods([["代码", "名称", "类型"], [1001, "甲", "镇"]]), "units.ods", {})
    assert result.ok
    assert result.rows[0].code == "1001"


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),
        ("gb18030", ","),
        ("gbk", "\t"),
        ("utf-8", ";"),
        ("utf-16", "\t"),  # Excel's "Unicode text"
    ],
)
def test_csv_encodings_and_delimiters(encoding, delimiter):
    rows = [["单位代码", "单位名称", "类型", "上级单位代码"], ["JICUI", "积翠镇", "镇", ""]]
    rows.append(["JICUI-V01", "示例村", "村", "JICUI"])
    result = read_units(csv_bytes(rows, encoding=encoding, delimiter=delimiter), "u.csv", {})
    assert result.ok, result.errors
    assert [row.name for row in result.rows] == ["积翠镇", "示例村"]


def test_csv_with_quoted_commas():
    data = '代码,名称,类型\n"C1","示例鞋业有限公司, 一分厂",企业\n'.encode()
    result = read_units(data, "u.csv", {})
    assert result.rows[0].name == "示例鞋业有限公司, 一分厂"


def test_blank_rows_are_skipped_but_rows_keep_their_numbers():
    result = read_units(csv_bytes([["代码", "名称", "类型"], [], ["C1", "甲", "村"]]), "u.csv", {})
    assert result.rows[0].row == 3


# -- whole-file problems ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"", "u.xlsx", "empty_file"),
        (b"  \r\n ", "u.csv", "empty_file"),
        (b"\x00\x01\x02garbage\xff\xfe\x00", "u.xlsx", "not_a_table"),
        (b"PK\x03\x04this is not a zip", "u.xlsx", "not_a_table"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "u.xls", "not_a_table"),
    ],
)
def test_unreadable_or_empty_files_give_one_clear_error(data, filename, code):
    for reader in (
        lambda: read_units(data, filename, {}),
        lambda: read_users(data, filename, []),
    ):
        result = reader()
        error = only_error(result)
        assert (error.row, error.code) == (None, code)
        assert result.rows == []
        assert "%(" not in text_of(error)


def test_a_header_without_rows():
    error = only_error(read_units("代码,名称,类型\n".encode(), "u.csv", {}))
    assert (error.row, error.code) == (None, "no_rows")
    error = only_error(read_users("用户名,角色,单位代码\n".encode(), "u.csv", []))
    assert (error.row, error.code) == (None, "no_rows")


def test_a_zip_that_is_no_spreadsheet():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert only_error(read_units(buffer.getvalue(), "u.xlsx", {})).code == "not_a_table"


def test_too_many_rows(monkeypatch):
    monkeypatch.setattr(unit_table, "MAX_ROWS", 3)
    rows = [[f"C{i}", "甲", "村"] for i in range(4)]
    for data in (
        xlsx([["代码", "名称", "类型"], *rows]),
        csv_bytes([["代码", "名称", "类型"], *rows]),
    ):
        error = only_error(read_units(data, "u", {}))
        assert error.code == "too_many_rows"
        assert error.params["limit"] == 3


def test_missing_columns_are_named_with_accepted_headers_once():
    result = read_units(
        csv_bytes([["代码", "联系人"], ["C1", "张三"], ["C2", "李四"]]), "u.csv", {}
    )
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (None, "name", "missing_column"),
        (None, "kind", "missing_column"),
    ]
    assert "单位名称" in text_of(result.errors[0])
    assert "类型" in text_of(result.errors[1])
    assert result.rows == []


def test_a_column_given_twice_is_reported():
    result = units(["C1", "甲", "村", "乙"], header=["代码", "名称", "类型", "单位名称"])
    error = only_error(result)
    assert (error.row, error.code) == (1, "repeated_column")
    assert "名称" in text_of(error) and "单位名称" in text_of(error)


# -- row problems --------------------------------------------------------------------------


def test_every_problem_is_reported_row_by_row():
    result = units(
        ["A", None, "town"],
        [None, "乙", "village", "A"],
        ["C", "丙", None, "A"],
        ["D", "丁", "planet", "A", None, "12345"],
        ["E", "戊" * 101, "village", "A", None, None, "maybe"],
    )
    found = [(e.row, e.column, e.code) for e in result.errors]
    assert found == [
        (2, "name", "required"),
        (3, "code", "required"),
        (4, "kind", "required"),
        (5, "kind", "invalid_kind"),
        (5, "contact_phone", "invalid_phone"),
        (6, "name", "too_long"),
        (6, "active", "invalid_active"),
    ]
    assert result.rows == []
    messages = [text_of(e) for e in result.errors]
    assert messages[0] == "“name” is empty."
    assert "planet" in messages[3] and "village/村" in messages[3]
    assert "101" in messages[5] and "100" in messages[5]


def test_duplicate_codes_name_both_rows():
    result = units(["A", "甲", "镇"], ["B", "乙", "村", "A"], ["A", "丙", "村"])
    error = only_error(result)
    assert (error.row, error.code) == (4, "duplicate_code")
    assert error.params["first_row"] == 2
    assert "rows 2 and 4" in text_of(error)


def test_invalid_code():
    error = only_error(units(["A B", "甲", "镇"]))
    assert (error.code, error.params["value"]) == ("invalid_code", "A B")


def test_unknown_parent():
    result = units(
        ["A", "甲", "村", "NOWHERE"], ["B", "乙", "村", "EXISTING"], existing={"EXISTING": None}
    )
    error = only_error(result)
    assert (error.row, error.column, error.code) == (2, "parent_code", "unknown_parent")
    assert "NOWHERE" in text_of(error)


def test_rows_come_parent_before_child_whatever_the_file_order():
    result = units(
        ["V1-C1", "示例公司", "企业", "V1"],
        ["V1", "示例村", "村", "TOWN"],
        ["V2", "另一村", "村", "TOWN"],
        ["TOWN", "示例镇", "镇"],
        ["OLD-C", "老企业", "企业", "OLD"],
        existing={"OLD": None},
    )
    assert result.ok
    order = codes(result)
    assert sorted(order) == ["OLD-C", "TOWN", "V1", "V1-C1", "V2"]
    for row in result.rows:
        if row.parent_code in order:
            assert order.index(row.parent_code) < order.index(row.code)


def test_cycle_within_the_file_names_its_codes():
    result = units(["X1", "甲", "村", "X3"], ["X2", "乙", "村", "X1"], ["X3", "丙", "村", "X2"])
    error = only_error(result)
    assert (error.row, error.code) == (2, "cycle")
    assert set(error.params["codes"]) == {"X1", "X2", "X3"}
    assert "X1 → X3 → X2 → X1" in text_of(error)


def test_a_unit_cannot_be_its_own_parent():
    error = only_error(units(["A", "甲", "村", "A"]))
    assert error.code == "cycle"
    assert text_of(error) == "The unit “A” cannot be its own parent."


def test_cycle_made_with_existing_units_by_reparenting():
    # TOWN is a root with V1 below it; the file moves TOWN under V1.
    existing = {"TOWN": None, "V1": "TOWN", "V2": "TOWN"}
    result = units(["TOWN", "示例镇", "镇", "V1"], existing=existing)
    error = only_error(result)
    assert error.code == "cycle"
    assert set(error.params["codes"]) == {"TOWN", "V1"}
    assert "TOWN → V1 → TOWN" in text_of(error)


def test_reparenting_without_a_cycle_is_an_update():
    existing = {"TOWN": None, "V1": "TOWN", "OTHER": None}
    result = units(["V1", "示例村", "村", "OTHER"], existing=existing)
    assert result.ok
    assert result.rows[0].parent_code == "OTHER"


def test_without_a_parent_column_existing_units_keep_their_parent():
    existing = {"TOWN": None, "V1": "TOWN"}
    result = units(
        ["V1", "新名字", "村"],
        ["NEW", "新单位", "村"],
        header=["代码", "名称", "类型"],
        existing=existing,
    )
    assert result.ok
    assert [(row.code, row.parent_code) for row in result.rows] == [("V1", "TOWN"), ("NEW", None)]
    assert "parent_code" not in result.columns
    assert {"code", "name", "kind"} <= result.columns


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("市", "city"),
        ("县", "county"),
        ("区", "county"),
        ("镇", "town"),
        ("乡", "town"),
        ("街道", "town"),
        ("开发区", "zone"),
        ("园区", "zone"),
        ("村", "village"),
        ("社区", "community"),
        ("企业", "company"),
        ("公司", "company"),
        ("部门", "department"),
        ("局", "bureau"),
        ("办", "office"),
        ("其他", "other"),
        ("Village", "village"),
        ("COMPANY", "company"),
    ],
)
def test_kinds_in_chinese_and_english(word, kind):
    result = units(["A", "甲", word])
    assert result.ok
    assert result.rows[0].kind == kind


@pytest.mark.parametrize(
    ("word", "active"),
    [("是", True), ("否", False), (1, True), (0, False), ("TRUE", True), ("false", False)]
    + [("启用", True), ("停用", False), (None, True), (True, True), (False, False)],
)
def test_active_flags(word, active):
    result = units(["A", "甲", "村", None, None, None, word])
    assert result.ok
    assert result.rows[0].active is active


@pytest.mark.parametrize(
    "phone",
    [
        "13800000001",
        "138 0000 0001",
        "138-0000-0001",
        "+86 13800000001",
        "0595-12345678",
        "0595 12345678",
        "(0595)12345678",
        "010-12345678",
        "0595-1234567",
        "0595-12345678-801",
        "22345678",
        "400-123-4567",
        "１３８０００００００１",
    ],
)
def test_valid_phones(phone):
    assert is_phone(phone)


@pytest.mark.parametrize(
    "phone",
    ["12", "12800000001", "1380000000", "138000000012", "abc", "0595-123", "12345678", "无"],
)
def test_invalid_phones(phone):
    assert not is_phone(phone)


def test_empty_phone_and_contact_are_allowed():
    result = units(["A", "甲", "村", None, None, None])
    assert result.ok
    assert (result.rows[0].contact_name, result.rows[0].contact_phone) == (None, None)


def test_every_message_fills_its_parameters():
    result = units(
        ["A", None, "x", "Q", "y" * 51, "1", "?"],
        ["A", "乙", "村", "A"],
        ["B B", "丙", "村"],
    )
    assert len(result.errors) >= 6
    for error in result.errors:
        text = text_of(error)
        assert "%(" not in text and text.strip()


@pytest.mark.slow
def test_a_hundred_thousand_units():
    rows = [["U000000", "示例镇", "镇", None]]
    rows += [[f"U{i:06d}", f"单位{i}", "村", f"U{(i - 1) // 10:06d}"] for i in range(1, 100_000)]
    result = read_units(
        xlsx([["单位代码", "单位名称", "类型", "上级单位代码"], *rows]), "big.xlsx", {}
    )
    assert result.ok
    assert len(result.rows) == 100_000
    assert result.rows[0].code == "U000000"
    position = {row.code: index for index, row in enumerate(result.rows)}
    assert all(position[r.parent_code] < position[r.code] for r in result.rows[1:])


# -- users --------------------------------------------------------------------------------

USER_HEADER = ["用户名", "角色", "单位代码", "密码", "启用"]


def users(*rows, header=USER_HEADER, unit_codes=("CHIDIAN", "1001"), existing=()):
    return read_users(xlsx([header, *rows]), "users.xlsx", unit_codes, existing)


def test_users_with_chinese_roles():
    result = users(
        ["admin", "管理员", None, "secret-pass", None],
        ["zhang", "填报人", "CHIDIAN", 123456, "是"],
        ["li", "汇总人", 1001, None, "否"],
        ["wang", "报送人", "CHIDIAN"],
        ["zhao", "审核人", "CHIDIAN"],
    )
    assert result.ok, result.errors
    assert result.rows[:3] == [
        UserRow("admin", "admin", None, "secret-pass", True, row=2),
        UserRow("zhang", "submitter", "CHIDIAN", "123456", True, row=3),
        UserRow("li", "consolidator", "1001", None, False, row=4),
    ]
    assert [row.role for row in result.rows[3:]] == ["submitter", "consolidator"]


def test_users_with_english_headers_and_roles():
    result = users(["zhang", "Submitter", "CHIDIAN"], header=["username", "role", "unit"])
    assert result.ok
    assert result.rows[0].role == "submitter"
    assert "password" not in result.columns


def test_user_problems_row_by_row():
    result = users(
        ["zhang", "boss", "CHIDIAN"],
        ["li", "填报人", "NOWHERE"],
        ["wang", "汇总人", None],
        [None, "填报人", "CHIDIAN"],
        ["ZHANG", "填报人", "CHIDIAN"],
        ["taken", "填报人", "CHIDIAN"],
        existing=["Taken"],
    )
    found = [(e.row, e.column, e.code) for e in result.errors]
    assert found == [
        (2, "role", "invalid_role"),
        (3, "unit_code", "unknown_unit"),
        (4, "unit_code", "unit_required"),
        (5, "username", "required"),
        (6, "username", "duplicate_username"),
        (7, "username", "username_taken"),
    ]
    assert "submitter/填报人" in text_of(result.errors[0])
    assert "rows 2 and 6" in text_of(result.errors[4])
    assert result.rows == []


def test_user_file_missing_columns():
    result = read_users(csv_bytes([["用户名"], ["zhang"]]), "u.csv", ["CHIDIAN"])
    assert [(e.column, e.code) for e in result.errors] == [
        ("role", "missing_column"),
        ("unit_code", "missing_column"),
    ]
