"""The import readers piece by piece: heading numbers, duties and targets, the
table logic (both printed shapes, merged headers), workbooks through openpyxl and
calamine, Word tables, refusals and messages."""

from __future__ import annotations

import ast
import io
import struct
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from hostile_files import biff, compound_file
from openpyxl import Workbook
from openpyxl.worksheet.cell_range import CellRange

from forms.importers import MAX_BYTES, MESSAGES, ImportRefused, import_document
from forms.importers.duties import duty_in, guess_frequency, plan_window, targets_in
from forms.importers.numbering import first_sentence, numbered
from forms.periods import Frequency


@pytest.mark.parametrize(("text", "level", "number", "rest"), [
    ("一、工作目标", 1, "一", "工作目标"),
    ("十一、其他", 1, "十一", "其他"),
    ("（三）实施重大事故隐患排查整治工程", 2, "（三）", "实施重大事故隐患排查整治工程"),
    ("(二) 半角括号", 2, "（二）", "半角括号"),
    ("12.提升企业。内容", 3, "12", "提升企业。内容"),
    ("3．全角点", 3, "3", "全角点"),
    ("（2）小项", 4, "（2）", "小项"),
    ("**1. 强化理念。**集中开展", 3, "1", "强化理念。集中开展"),
])
def test_heading_numbers(text, level, number, rest):
    head = numbered(text)
    assert (head.level, head.number, head.rest) == (level, number, rest)


@pytest.mark.parametrize("text", ["2024年底前完成", "1.5倍", "6·16安全生产咨询日", "注：本表"])
def test_not_headings(text):
    assert numbered(text) is None


def test_first_sentence():
    assert first_sentence("淘汰落后工艺设备。督促企业执行。") == (
        "淘汰落后工艺设备", "督促企业执行。")
    assert first_sentence("加大宣贯力度") == ("加大宣贯力度", "")


@pytest.mark.parametrize(("sentence", "frequency", "due"), [
    ("本表分别于 1 月 5 日，4 月 5 日，7 月 5 日和 10 月 5 日报送上一季度的推进情况",
     "quarterly", {"rule": "after_end", "months": 1, "day": 5}),
    ("每半年进行一次全面总结，并于每年6月10日、12月10日前报送",
     "halfyearly", {"rule": "in_period", "month": 6, "day": 10}),
    ("每季度结束后5日内报送推进情况", "quarterly", {"rule": "after_end", "months": 1, "day": 5}),
    ("每月次月10日前报送上月情况", "monthly", {"rule": "after_end", "months": 1, "day": 10}),
    ("于4月10日前报县应急管理局", "once", {"rule": "fixed", "date": date(2024, 4, 10)}),
    ("每年1月15日前报送上一年度工作总结", "yearly",
     {"rule": "after_end", "months": 1, "day": 15}),
])
def test_reporting_duties(sentence, frequency, due):
    duty = duty_in(sentence, 2024)
    assert duty.frequency == Frequency(frequency)
    assert duty.due == due
    assert duty.stated


def test_duty_without_deadline_takes_a_default_and_says_so():
    duty = duty_in("各单位每季度报送上一季度工作开展情况", 2024)
    assert duty.frequency is Frequency.QUARTERLY and not duty.stated


@pytest.mark.parametrize("sentence", [
    "主要负责人要每季度带队检查1次",  # a rhythm of work, not a report
    "加强安全生产执法典型案例报送工作",  # a report named, but no when
])
def test_not_duties(sentence):
    assert duty_in(sentence, 2024) is None


def test_plan_window_and_guessed_frequency():
    assert plan_window("行动方案（2024—2026年）") == (2024, 2026)
    assert plan_window("实施方案（2024-2026年）") == (2024, 2026)
    assert plan_window("2024年5月") is None
    assert guess_frequency("每月学习，每月排查，每季度检查") is Frequency.MONTHLY
    assert guess_frequency("每月一次，每季度一次") is Frequency.QUARTERLY
    assert guess_frequency("每年一次") is None


def test_targets():
    (two,) = targets_in("新增评审定级企业不少于2家", (2024, 2026))
    assert (two.value, two.unit, two.percent, two.by) == (Decimal(2), "家", False, None)
    (full,) = targets_in("三年内完成企业主要负责人专题安全教育培训全覆盖", (2024, 2026))
    assert (full.value, full.percent, full.by) == (Decimal(100), True, date(2026, 12, 31))
    (dated,) = targets_in("2024年底前全县2户接入监测预警系统", (2024, 2026))
    assert (dated.value, dated.unit, dated.by) == (Decimal(2), "户", date(2024, 12, 31))
    assert targets_in("每年至少开展1次疏散逃生演练", (2024, 2026)) == []


# -- workbooks ---------------------------------------------------------------


def _xlsx(rows, merges=(), title="Sheet") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for merge in merges:
        sheet.merge_cells(merge)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ROWS = [
    ["某镇2025年安全生产工作季度推进情况表"],
    ["序号", "工作任务", "责任单位", "推进情况", None],
    [None, None, None, "本季度", "累计"],
    ["一、隐患排查"],
    [1, "开展隐患排查", "镇安办", None, None],
    [2, "建立隐患台账", "各村", None, None],
    ["二、宣传教育"],
    [3, "开展安全宣传", "宣传办", None, None],
    ["注：每季度结束后5日内报送。"],
]


def _xls(rows, merges=(), sheet="表1") -> bytes:
    """A minimal BIFF8 workbook: LABEL and NUMBER cells, MERGEDCELLS blocks given as
    0-based (row1, col1, row2, col2)."""

    def text(value: str, size: str) -> bytes:  # (Short)XLUnicodeString in UTF-16
        return struct.pack(f"<{size}B", len(value), 1) + value.encode("utf-16-le")

    cells = b""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, int | float):
                cells += biff(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))
            elif value:
                cells += biff(0x0204, struct.pack("<HHH", r, c, 0) + text(value, "H"))
    dimensions = biff(0x0200, struct.pack("<IIHHH", 0, len(rows), 0,
                                          max(len(r) for r in rows), 0))
    merged = biff(0x00E5, struct.pack("<H", len(merges)) + b"".join(
        struct.pack("<HHHH", r1, r2, c1, c2) for r1, c1, r2, c2 in merges)) if merges else b""
    worksheet = (biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 0, 0, 0))
                 + dimensions + cells + merged + biff(0x000A, b""))
    bof = biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))
    eof = biff(0x000A, b"")

    def boundsheet(offset: int) -> bytes:
        return biff(0x0085, struct.pack("<IBB", offset, 0, 0) + text(sheet, "B"))

    start = len(bof) + len(boundsheet(0)) + len(eof)
    return compound_file([("Workbook", bof + boundsheet(start) + eof + worksheet)])


MERGES = ["A1:E1", "A2:A3", "B2:B3", "C2:C3", "D2:E2", "A4:E4", "A7:E7", "A9:E9"]


def _blocks(ranges):
    return [(b.min_row - 1, b.min_col - 1, b.max_row - 1, b.max_col - 1)
            for b in map(CellRange, ranges)]


@pytest.mark.parametrize("suffix", ["xlsx", "xls"])
def test_one_row_per_item_with_section_rows_and_a_merged_two_row_header(suffix):
    """The same printed table read through openpyxl (.xlsx) and calamine (.xls)."""
    data = _xlsx(ROWS, MERGES) if suffix == "xlsx" else _xls(ROWS, _blocks(MERGES))
    data = import_document(data, f"q.{suffix}").data
    assert [(c["label"], c["source"], c.get("input_kind")) for c in data["columns"]] == [
        ("序号", "number", None), ("工作任务", "title", None), ("责任单位", "text", None),
        ("推进情况（本季度）", "input", "longtext"), ("推进情况（累计）", "input", "longtext")]
    assert [(s["number"], s["title"], [i["title"] for i in s["items"]])
            for s in data["sections"]] == [
        ("一", "隐患排查", ["开展隐患排查", "建立隐患台账"]), ("二", "宣传教育", ["开展安全宣传"])]
    unit = data["columns"][2]["key"]
    assert data["sections"][0]["items"][1]["texts"] == {unit: "各村"}
    assert data["title"] == "某镇2025年安全生产工作季度推进情况表"
    assert data["schedule"]["due"] == {"rule": "after_end", "months": 1, "day": 5}


def test_unnumbered_heading_rows_are_sections():
    rows = [["序号", "工作任务", "推进情况"], ["隐患排查"], [1, "开展排查", None],
            ["宣传教育"], [2, "开展宣传", None],
            [None, "这一格是一段很长的说明文字，不是标题，也不属于任何事项。", None]]
    result = import_document(_xlsx(rows, ["A2:C2", "A4:C4"]), "t.xlsx")
    assert [(s["title"], len(s["items"])) for s in result.data["sections"]] == [
        ("隐患排查", 1), ("宣传教育", 1)]
    (stray,) = [u for u in result.unplaced if u.code == "cell_not_placed"]
    assert (stray.source.row, stray.source.column) == (6, "B")


def test_schedule_guessed_from_the_title():
    rows = [r for r in ROWS if not str(r[0] or "").startswith("注")]
    result = import_document(_xlsx(rows), "q.xlsx")
    assert result.data["schedule"] == {"frequency": "quarterly",
                                       "due": {"rule": "after_end", "months": 1, "day": 5}}
    assert {u.code for u in result.unplaced} >= {"schedule_guessed", "no_window"}


def _ods(rows: list[list[str]], spans: dict[tuple[int, int], tuple[int, int]]) -> bytes:
    """A minimal OpenDocument spreadsheet; *spans* maps a cell to (rows, columns) merged."""
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    body = []
    covered = {(r + dr, c + dc) for (r, c), (nr, nc) in spans.items()
               for dr in range(nr) for dc in range(nc)} - set(spans)
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            if (r, c) in covered:
                cells.append("<table:covered-table-cell/>")
                continue
            span = spans.get((r, c))
            extra = (f' table:number-rows-spanned="{span[0]}" '
                     f'table:number-columns-spanned="{span[1]}"') if span else ""
            text = f"<text:p>{value}</text:p>" if value else ""
            cells.append(f'<table:table-cell office:value-type="string"{extra}>{text}'
                         "</table:table-cell>")
        body.append(f"<table:table-row>{''.join(cells)}</table:table-row>")
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
               'office:version="1.2"><office:body><office:spreadsheet>'
               f'<table:table table:name="表1">{"".join(body)}</table:table>'
               "</office:spreadsheet></office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", manifest)
    return out.getvalue()


def test_ods_is_read_through_calamine_with_grouped_rows():
    rows = [["半年工作推进情况表", "", "", ""],
            ["序号", "项目名称", "具体内容", "完成情况"],
            ["1", "源头治理", "1.落实标准规范。", ""],
            ["", "", "2.淘汰落后设备", ""],
            ["2", "隐患整治", "3.开展动态清零", ""]]
    data = import_document(_ods(rows, {(0, 0): (1, 4), (2, 0): (2, 1), (2, 1): (2, 1)}),
                           "h.ods").data
    assert [(s["number"], s["title"], [(i["number"], i["title"]) for i in s["items"]])
            for s in data["sections"]] == [
        ("1", "源头治理", [("1", "落实标准规范"), ("2", "淘汰落后设备")]),
        ("2", "隐患整治", [("3", "开展动态清零")])]
    assert data["schedule"]["frequency"] == "halfyearly"


def test_second_sheet_and_stray_cells_are_listed():
    book = Workbook()
    book.active.append(["序号", "工作任务", "备注"])
    book.active.append([1, "排查", None])
    book.create_sheet("说明").append(["填表说明文字"])
    out = io.BytesIO()
    book.save(out)
    result = import_document(out.getvalue(), "t.xlsx")
    (sheet,) = [u for u in result.unplaced if u.code == "sheet_not_placed"]
    assert sheet.params == {"sheet": "说明"} and sheet.source.sheet == "说明"


# -- Word documents ------------------------------------------------------------


def test_word_table_alone_gives_items_and_merged_header():
    document = docx.Document()
    document.add_paragraph("附件")
    document.add_paragraph("安全生产月度工作推进情况表")
    table = document.add_table(rows=4, cols=3)
    for c, label in enumerate(["序号", "工作任务", "完成情况"]):
        table.cell(0, c).text = label
        table.cell(0, c).merge(table.cell(1, c))
    table.cell(2, 0).text, table.cell(2, 1).text = "1", "开展隐患排查"
    table.cell(3, 0).text, table.cell(3, 1).text = "2", "组织应急演练"
    out = io.BytesIO()
    document.save(out)
    result = import_document(out.getvalue(), "月报.docx")
    data = result.data
    assert data["title"] == "安全生产月度工作推进情况表"
    assert [i["title"] for s in data["sections"] for i in s["items"]] == ["开展隐患排查",
                                                                          "组织应急演练"]
    assert [c["source"] for c in data["columns"]] == ["number", "title", "input"]
    item = next(p for p in result.proposals if p.what == "item")
    assert item.source.paragraph == 3 and item.source.row == 3


def test_body_text_above_a_table_is_not_its_title():
    document = docx.Document()
    document.add_paragraph("关于开展隐患排查的实施方案")
    document.add_paragraph("各单位要按下表每月报送推进情况，请认真填写。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "序号", "工作任务"
    table.cell(1, 0).text, table.cell(1, 1).text = "1", "排查隐患"
    out = io.BytesIO()
    document.save(out)
    assert import_document(out.getvalue(), "p.docx").data["title"] == (
        "关于开展隐患排查的实施方案推进情况表")


def test_numbers_restarting_in_each_section_carry_the_section_number():
    text = ("二、主要任务\n（一）学习\n1. 月度学习。每月一次。\n"
            "（二）排查\n1. 隐患排查。内容\n2. 整改。\n")
    data = import_document(text.encode(), "p.txt").data
    assert [[i["number"] for i in s["items"]] for s in data["sections"]] == [
        ["（一）1"], ["（二）1", "（二）2"]]


def test_a_flat_list_of_tasks_is_one_section():
    text = ("关于做好隐患排查工作的通知\n一、开展隐患排查。每月一次。\n"
            "二、建立隐患台账。内容\n三、组织应急演练。每半年至少1次。\n")
    result = import_document(text.encode(), "p.txt")
    (section,) = result.data["sections"]
    assert [(i["number"], i["title"]) for i in section["items"]] == [
        ("一", "开展隐患排查"), ("二", "建立隐患台账"), ("三", "组织应急演练")]
    assert not [u for u in result.unplaced if u.code == "not_a_task"]


# -- refusals and messages -----------------------------------------------------


def test_refusals():
    with pytest.raises(ImportRefused) as empty:
        import_document(b"  \n", "p.txt")
    assert empty.value.code == "empty"
    with pytest.raises(ImportRefused) as damaged:
        import_document(b"PK\x03\x04 broken", "t.xlsx")
    assert damaged.value.code == "unreadable"
    with pytest.raises(ImportRefused) as damaged_ods:
        import_document(b"not a spreadsheet", "t.ods")
    assert damaged_ods.value.code == "unreadable"
    with pytest.raises(ImportRefused) as large:
        import_document(b"x" * (MAX_BYTES + 1), "p.txt")
    assert large.value.code == "too_large" and large.value.params == {"max_mb": 20}
    with pytest.raises(ImportRefused) as unknown:
        import_document(b"x", "p.pdf")
    assert unknown.value.code == "unknown_kind" and unknown.value.params == {"name": "p.pdf"}


def test_every_code_the_readers_use_has_a_message():
    package = Path(__file__).resolve().parents[2] / "forms" / "importers"
    codes = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = {"Unplaced": 1, "ImportRefused": 0, "unplaced": 1}.get(name)
            if position is not None and len(node.args) > position:
                code = node.args[position]
                if isinstance(code, ast.Constant):  # else a helper passing its caller's code on
                    codes.add(code.value)
    assert codes >= {"empty", "unreadable", "not_a_task", "other_duty", "cell_not_placed",
                     "xlsform_relevant", "xlsform_no_survey"}
    assert codes <= set(MESSAGES)
