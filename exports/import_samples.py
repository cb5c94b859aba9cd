"""Sample files for every import: a header row and two example rows, as CSV and .xlsx.

The headers are the Chinese names the importers accept (:mod:`exports.unit_table`),
and the examples import as they are: the units first, then the accounts of them.
"""

from __future__ import annotations

import csv
import io

import xlsxwriter

from exports.flat_data import BOM

SAMPLES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "units": (
        ("单位代码", "单位名称", "类型", "上级单位代码", "联系人", "联系电话", "启用", "标签",
         "开始报送日期", "停止报送日期"),
        (("SAMPLE-TOWN", "示例镇", "镇", "", "王明", "0571-88880000", "是", "", "", ""),
         ("SAMPLE-V01", "示例村", "村", "SAMPLE-TOWN", "李华", "13800000000", "是",
          "有限空间", "", "")),
    ),
    "users": (
        ("用户名", "角色", "单位代码", "初始密码", "启用"),
        (("sample-town-hz", "汇总人", "SAMPLE-TOWN", "Change-me-2026", "是"),
         ("sample-v01", "填报人", "SAMPLE-V01", "Change-me-2026", "是")),
    ),
}


def sample_csv(kind: str) -> bytes:
    """The sample of *kind* as UTF-8 CSV with a byte-order mark (Excel opens it right)."""
    headers, rows = SAMPLES[kind]
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def sample_xlsx(kind: str) -> bytes:
    """The sample of *kind* as a one-sheet workbook, every cell text (codes keep zeros)."""
    headers, rows = SAMPLES[kind]
    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    text = book.add_format({"num_format": "@"})
    sheet = book.add_worksheet(kind)
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header, bold)
        sheet.set_column(col, col, 16, text)
    for number, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value:
                sheet.write_string(number, col, value)
    book.close()
    return output.getvalue()
