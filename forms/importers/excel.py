"""Reporting tables as plans attach them in workbooks: .xlsx (openpyxl, merged
cells kept) and .xls/.ods (python-calamine). The table logic is
:mod:`forms.importers.table`; this module reads sheets into grids and makes the
draft: the first sheet that holds a table, its title, columns and items, and a
schedule from its notes (or a guess from a title that says 季度/半年/月).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import PurePath

from forms.importers import ImportRefused, ImportResult, Proposal, SourceRef, Unplaced
from forms.importers.draft import choose_schedule, template_key
from forms.importers.duties import duty_in, frequency_in, plan_window, sentences
from forms.importers.table import Grid, read_table
from forms.keys import KeyMaker


def read(data: bytes, filename: str) -> ImportResult:
    grids = _grids(data, PurePath(filename).suffix.lower())
    if not any(any(any(c for c in row) for row in g.rows) for g in grids):
        raise ImportRefused("empty")
    result = ImportResult(data={})
    keys = KeyMaker()
    table = None
    for grid in grids:
        if table is None:
            found = read_table(grid, keys)
            if found is not None and found.sections:
                table = found
                continue
        if any(any(c for c in row) for row in grid.rows):
            result.unplaced.append(Unplaced(SourceRef(sheet=grid.sheet), "sheet_not_placed",
                                            {"sheet": grid.sheet or ""}))
    if table is None:
        result.unplaced.append(Unplaced(SourceRef(sheet=grids[0].sheet), "no_items"))
        result.data = {"key": template_key(filename), "title": PurePath(filename).stem,
                       "source": {"issuer": "", "title": ""}, "columns": [], "sections": []}
        return result

    title = table.title or PurePath(filename).stem
    texts = [(title, table.title_ref or SourceRef()), *table.notes, *table.labels]
    window = plan_window(" ".join(t for t, _ in texts))
    year = window[0] if window else None
    duties = [(duty, ref) for text, ref in texts for s in sentences(text)
              if (duty := duty_in(s, year))]
    schedule = choose_schedule(duties, "", None, window, result, fallback=frequency_in(title))
    for path, ref in table.refs.items():
        what = "column" if path.startswith("columns") else (
            "item" if "items" in path else "section")
        result.proposals.append(Proposal(path, what, ref))
    result.unplaced.extend(table.unplaced)
    data: dict = {"key": template_key(filename), "title": title,
                  "source": {"issuer": "", "title": title}}
    if schedule:
        data["schedule"] = schedule
    data["columns"] = table.columns
    data["sections"] = table.sections
    result.data = data
    return result


def _grids(data: bytes, suffix: str) -> list[Grid]:
    if suffix in (".xlsx", ".xlsm"):
        return _openpyxl_grids(data)
    return _calamine_grids(data, suffix)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value).strip()


def _openpyxl_grids(data: bytes) -> list[Grid]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportRefused("unreadable", kind="Excel") from exc
    grids = []
    for sheet in workbook.worksheets:
        rows = [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        merged = [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1)
                  for m in sheet.merged_cells.ranges]
        grids.append(Grid(rows, merged, sheet=sheet.title))
    return grids


def _calamine_grids(data: bytes, suffix: str) -> list[Grid]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        grids = []
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            rows = [[_text(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
            merged = []
            for block in getattr(sheet, "merged_cell_ranges", None) or []:
                (r1, c1), (r2, c2) = block
                merged.append((r1, c1, r2, c2))
            grids.append(Grid(rows, merged, sheet=name))
    except ImportRefused:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise ImportRefused("unreadable", kind=suffix.lstrip(".") or "Excel") from exc
    return grids
