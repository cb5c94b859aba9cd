"""Helpers for the Excel round trip tests: a definition with every field kind, and
filling a template the way a user would (typing into the cells Excel shows)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from exports.identity import Identity
from exports.template_workbook import build_template
from exports.workbook_reader import ReadResult, read_workbook
from forms.calculated import calculate
from forms.definition import Definition, FieldKind

SECRET = b"test-secret-for-workbooks"

EVERY_KIND = {
    "key": "every-kind",
    "version": 3,
    "title": "全类型测试表",
    "title_en": "Every kind",
    "source": {"issuer": "测试镇人民政府", "title": "《测试方案》"},
    "schedule": {"frequency": "quarterly", "due": {"rule": "after_end", "months": 1, "day": 5},
                 "first": "2024Q2", "last": "2026Q4"},
    "header": [
        {"key": "reporter", "kind": "text", "label": "报送人", "label_en": "Reported by",
         "required": True, "max_length": 50},
        {"key": "phone", "kind": "text", "label": "联系电话", "label_en": "Phone",
         "required": True, "format": "phone", "max_length": 30},
        {"key": "filled_on", "kind": "date", "label": "填报日期", "label_en": "Filled on"},
    ],
    "columns": [
        {"key": "number", "label": "序号", "source": "number"},
        {"key": "title", "label": "项目名称", "source": "title"},
        {"key": "content", "label": "具体内容", "source": "text"},
        {"key": "progress", "label": "推进情况", "label_en": "Progress", "source": "input",
         "input_kind": "longtext"},
        {"key": "remarks", "label": "备注", "label_en": "Remarks", "source": "input",
         "input_kind": "text"},
    ],
    "sections": [
        {"key": "s1", "number": "（一）", "title": "隐患排查", "note": "本组按正文排列。",
         "items": [
             {"key": "i01", "number": "1", "title": "排查整治隐患",
              "texts": {"content": "全面排查"}, "plan_text": "全面排查整治各类隐患。",
              "fields": [
                  {"key": "found", "kind": "integer", "label": "排查隐患",
                   "label_en": "Hazards found", "unit": "处", "unit_en": "hazards", "min": 0,
                   "cumulative": True, "basis": "全面排查隐患"},
                  {"key": "rectified", "kind": "integer", "label": "整改隐患", "unit": "处",
                   "min": 0, "max": 100000, "cumulative": True},
                  {"key": "investment", "kind": "decimal", "label": "投入资金", "unit": "万元",
                   "min": 0, "cumulative": True},
              ]},
             {"key": "i02", "number": "2", "title": "其他指标",
              "fields": [
                  {"key": "rate", "kind": "percent", "label": "持证率", "min": 0, "max": 100},
                  {"key": "start", "kind": "date", "label": "开始日期"},
                  {"key": "level", "kind": "choice", "label": "风险等级",
                   "choices": [{"value": "red", "label": "重大风险", "label_en": "Major"},
                               {"value": "blue", "label": "低风险, 一般", "label_en": "Low"}]},
                  {"key": "sectors", "kind": "multichoice", "label": "行业",
                   "choices": [{"value": "dust", "label": "粉尘涉爆"},
                               {"value": "space", "label": "有限空间"},
                               {"value": "metal", "label": "冶金"}]},
                  {"key": "done", "kind": "yesno", "label": "是否完成", "required": True},
                  {"key": "summary", "kind": "longtext", "label": "工作小结",
                   "help": "写明主要做法。"},
                  {"key": "plan_file", "kind": "attachment", "label": "方案文件"},
              ]},
         ]},
        {"key": "s2", "number": "（二）", "title": "组织保障",
         "items": [
             {"key": "i03", "number": "3", "title": "成员名单",
              "fields": [
                  {"key": "roster", "kind": "table", "label": "成员名单", "label_en": "Members",
                   "max_rows": 30,
                   "columns": [
                       {"key": "role", "kind": "choice", "label": "组内职务",
                        "choices": [{"value": "head", "label": "组长"},
                                    {"value": "member", "label": "成员"}]},
                       {"key": "name", "kind": "text", "label": "姓名", "required": True},
                       {"key": "mobile", "kind": "text", "label": "电话", "format": "phone"},
                       {"key": "since", "kind": "date", "label": "任职日期"},
                       {"key": "share", "kind": "percent", "label": "分工占比"},
                       {"key": "count", "kind": "integer", "label": "次数", "min": 0},
                   ]},
              ]},
         ]},
    ],
    "rules": [{"key": "r_rect", "expr": "rectified <= found",
               "message": "整改隐患数不能大于排查隐患数"}],
    "notes": ["注：相关数据均为累计。", "请于每季度结束后次月5日前报送。"],
    "notes_en": ["Figures are cumulative."],
}


def resolver(*definitions: Definition) -> Callable[[str, int], Definition | None]:
    index = {(d.key, d.version): d for d in definitions}
    return lambda key, version: index.get((key, version))


def sample_values(definition: Definition) -> dict[str, Any]:
    """Plausible typed values for every field a workbook can hold."""
    values: dict[str, Any] = {}
    for n, field in enumerate(definition.fields(), start=1):
        if field.kind is FieldKind.ATTACHMENT:
            continue
        if field.kind is FieldKind.TABLE:
            values[field.key] = [
                {c.key: typed_value(c, n + r) for c in field.columns} for r in range(3)
            ]
        elif not field.is_calculated:
            values[field.key] = typed_value(field, n)
    return calculate(definition, values)  # rates and totals follow from the figures


def typed_value(col: Any, n: int) -> Any:
    kind = col.kind
    low = int(col.min) if col.min is not None else 0
    if kind is FieldKind.INTEGER:
        return low + n * 7 if col.max is None else min(low + n * 7, int(col.max))
    if kind is FieldKind.DECIMAL:
        return Decimal(low) + Decimal(n) + Decimal("0.25")
    if kind is FieldKind.PERCENT:
        return Decimal("87.5") if col.max is None or col.max >= 90 else col.max
    if kind is FieldKind.DATE:
        return date(2024, 1 + n % 12, 1 + n % 28)
    if kind is FieldKind.CHOICE:
        return col.choices[n % len(col.choices)].value
    if kind is FieldKind.MULTICHOICE:
        return [c.value for c in col.choices[:2]]
    if kind is FieldKind.YESNO:
        return n % 2 == 0
    if col.format == "phone":
        return f"1380000{n:04d}"
    if kind is FieldKind.LONGTEXT:
        return f"第{n}项：已完成部署。\n下一步继续推进。"
    text = f"文本{n} =SUM(A1) 值"
    return text[: col.max_length] if col.max_length else text


def user_cell(col: Any, value: Any) -> Any:
    """What a cell holds after a user typed *value* in Excel."""
    kind = col.kind
    if value is None:
        return None
    if kind is FieldKind.PERCENT:
        return float(value) / 100  # typing "87.5%" stores 0.875
    if kind is FieldKind.DECIMAL:
        return float(value)
    if kind is FieldKind.DATE:
        return datetime(value.year, value.month, value.day)
    if kind is FieldKind.CHOICE:
        return next(c.label for c in col.choices if c.value == value)
    if kind is FieldKind.MULTICHOICE:
        return "、".join(c.label for c in col.choices if c.value in value)
    if kind is FieldKind.YESNO:
        return "是" if value else "否"
    return value


def named_cells(book: openpyxl.Workbook) -> dict[str, tuple[str, str]]:
    """``tb_<field>`` defined names → (sheet, range), read with openpyxl."""
    found = {}
    for name, defined in book.defined_names.items():
        if name.startswith("tb_"):
            (sheet, ref), = list(defined.destinations)
            found[name[3:]] = (sheet, ref.replace("$", ""))
    return found


def fill_workbook(data: bytes, definition: Definition, values: Mapping[str, Any]) -> bytes:
    """Type *values* into a template at the cells its defined names point to."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    names = named_cells(book)
    for key, value in values.items():
        field = definition.field(key)
        sheet, ref = names[key]
        ws = book[sheet]
        if field.kind is FieldKind.TABLE:
            first = ref.split(":")[0]
            top = ws[first]
            for r, row in enumerate(value or []):
                for c, column in enumerate(field.columns):
                    cell = ws.cell(top.row + r, top.column + c)
                    _put(cell, user_cell(column, row.get(column.key)))
        else:
            _put(ws[ref], user_cell(field, value))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _put(cell: Any, value: Any) -> None:
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # keep "=…" text as text, as Excel does for text cells


def template(definition: Definition, **kwargs: Any) -> bytes:
    options = {"unit_code": "350582101", "unit_name": "池店镇", "period": "2024Q3",
               "secret": SECRET}
    options.update(kwargs)
    return build_template(definition, **options)


def read(data: bytes, definition: Definition, filename: str = "upload.xlsx",
         **kwargs: Any) -> ReadResult:
    return read_workbook(data, filename, secret=SECRET, resolve=resolver(definition), **kwargs)


def identity_of(definition: Definition, unit: str = "350582101",
                period: str = "2024Q3") -> Identity:
    return Identity(definition.key, definition.version, unit, period)


# -- LibreOffice -----------------------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice (soffice) is not installed; CI installs libreoffice-calc for these tests",
)


def soffice_convert(data: bytes, target: str, workdir: Path, stem: str = "filled") -> bytes:
    """*data* (.xlsx) opened and saved again by LibreOffice Calc as *target* (xlsx/xls/ods)."""
    source_dir = workdir / f"in-{target}"
    out_dir = workdir / f"out-{target}"
    source_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = source_dir / f"{stem}.xlsx"
    source.write_bytes(data)
    profile = (workdir / "lo-profile").as_uri()
    filters = {"xlsx": "xlsx:Calc MS Excel 2007 XML", "xls": "xls:MS Excel 97", "ods": "ods"}
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore",
         "--convert-to", filters[target], "--outdir", str(out_dir), str(source)],
        check=True, capture_output=True, timeout=180,
    )
    return (out_dir / f"{stem}.{target}").read_bytes()


def edit_form(data: bytes, edit: Callable[[Any], None]) -> bytes:
    """The workbook after *edit* (given the form sheet) changed it with openpyxl."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    edit(next(ws for ws in book.worksheets if ws["A1"].value == "tb:cols"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cache_formula_results(data: bytes, results: Mapping[str, Any]) -> bytes:
    """Store cached results for formulas of the form sheet, as Excel does when saving.

    openpyxl writes formulas without results (``<v/>``, or ``<v></v>`` when lxml is
    installed); Excel, WPS and LibreOffice save both.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = content.decode("utf-8")
                for ref, value in results.items():
                    kind = ' t="str"' if isinstance(value, str) else ""
                    text, count = re.subn(
                        rf'<c r="{ref}"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v></v>)',
                        rf'<c r="{ref}"\1{kind}><f>\2</f><v>{value}</v>', text)
                    assert count == 1, ref
                content = text.encode("utf-8")
            target.writestr(info, content)
    return out.getvalue()


def ref_of(data: bytes, key: str) -> str:
    """The cell (or for tables, the range) a ``tb_<key>`` name points to."""
    return named_cells(openpyxl.load_workbook(io.BytesIO(data)))[key][1]


def marked_cells(ws: Any) -> dict[str, str]:
    """Cells an annotated workbook highlighted (red: error, yellow: warning) → comment."""
    marks = {}
    for row in ws.iter_rows():
        for cell in row:
            color = cell.fill.fgColor.rgb if cell.fill and cell.fill.fill_type else None
            if isinstance(color, str) and color[-6:] in ("FFC7CE", "FFEB9C"):
                marks[cell.coordinate] = cell.comment.text if cell.comment else ""
    return marks
