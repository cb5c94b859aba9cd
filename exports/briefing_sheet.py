"""The 晾晒通报 as one printable worksheet: title, headline, ranking, 点名, chart, seal.

Plain data in, .xlsx bytes out. Every text is written as a string (never a formula),
the page is A4 portrait fitted to one page wide and at most two tall, and the chart
is a native Excel chart over the ranking table so LibreOffice prints it too.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import xlsxwriter


@dataclass(frozen=True)
class RankingRow:
    rank: int
    name: str
    owed: int
    on_time: int
    late: int
    missing: int
    pending: int
    completion: float | None
    targets: str = ""  # how the unit's targets stand, in words ("" when not judged)


@dataclass(frozen=True)
class BriefingSheet:
    title: str
    office: str
    date: str  # already formatted for the locale
    headline: Sequence[str]  # sentences
    ranking_heading: str
    ranking_text: str
    headers: Sequence[str]  # rank, unit, owed, on time, late, missing, not yet due, completion
    # (and targets, when some row has them)
    rows: Sequence[RankingRow]
    call_out_heading: str  # "" when nobody lags: no 点名 section at all
    call_out: Sequence[str]
    chart_title: str
    seal: str  # e.g. "（盖章）"
    sheet_name: str = "通报"


def write_briefing(sheet: BriefingSheet) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    ws = book.add_worksheet(sheet.sheet_name[:31])
    title = book.add_format({"bold": True, "font_size": 16, "align": "center",
                             "valign": "vcenter", "text_wrap": True})
    heading = book.add_format({"bold": True, "font_size": 12})
    para = book.add_format({"text_wrap": True, "valign": "top", "font_size": 11})
    head = book.add_format({"bold": True, "border": 1, "bg_color": "#EEEEEE", "align": "center",
                            "valign": "vcenter", "text_wrap": True})
    cell = book.add_format({"border": 1, "align": "center"})
    name = book.add_format({"border": 1, "text_wrap": True})
    share = book.add_format({"border": 1, "align": "center", "num_format": "0.0%"})
    right = book.add_format({"align": "right"})
    with_targets = any(item.targets for item in sheet.rows)
    widths = (6, 22, 8, 8, 8, 8, 8, 10) + ((18,) if with_targets else ())
    for column, width in enumerate(widths):
        ws.set_column(column, column, width)
    last_col = len(widths) - 1

    ws.merge_range(0, 0, 0, last_col, sheet.title, title)
    ws.set_row(0, 42)
    ws.merge_range(1, 0, 1, last_col, f"{sheet.office}　{sheet.date}", right)
    row = 3
    for sentence in sheet.headline:
        ws.merge_range(row, 0, row, last_col, sentence, para)
        ws.set_row(row, 15 * (1 + len(sentence) // 60))
        row += 1
    row += 1
    ws.write_string(row, 0, sheet.ranking_heading, heading)
    row += 1
    if sheet.ranking_text:
        ws.merge_range(row, 0, row, last_col, sheet.ranking_text, para)
        row += 1
    for column, text in enumerate(sheet.headers[:len(widths)]):
        ws.write_string(row, column, text, head)
    ws.set_row(row, 30)
    first_data = row + 1
    for item in sheet.rows:
        row += 1
        ws.write_number(row, 0, item.rank, cell)
        ws.write_string(row, 1, item.name, name)
        for column, value in enumerate((item.owed, item.on_time, item.late, item.missing,
                                        item.pending), start=2):
            ws.write_number(row, column, value, cell)
        if item.completion is None:
            ws.write_string(row, 7, "–", cell)
        else:
            ws.write_number(row, 7, item.completion, share)
        if with_targets:
            ws.write_string(row, 8, item.targets or "–", name)
    last_data = row
    row += 2
    if sheet.call_out_heading:
        ws.write_string(row, 0, sheet.call_out_heading, heading)
        row += 1
        for sentence in sheet.call_out:
            ws.merge_range(row, 0, row, last_col, sentence, para)
            ws.set_row(row, 15 * (1 + len(sentence) // 60))
            row += 1
        row += 1
    if sheet.rows:
        chart = book.add_chart({"type": "bar", "subtype": "stacked"})
        for column, colour in ((3, "#2E7D32"), (4, "#F9A825"), (5, "#C62828"), (6, "#9E9E9E")):
            chart.add_series({
                "name": [ws.name, first_data - 1, column],
                "categories": [ws.name, first_data, 1, last_data, 1],
                "values": [ws.name, first_data, column, last_data, column],
                "fill": {"color": colour}, "gap": 60,
            })
        chart.set_title({"name": sheet.chart_title, "name_font": {"size": 11}})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"position": "bottom"})
        height = min(max(180, 22 * len(sheet.rows) + 90), 420)
        chart.set_size({"width": 560, "height": height})
        ws.insert_chart(row, 0, chart, {"x_offset": 4, "y_offset": 4})
        row += height // 20 + 2
    ws.merge_range(row, 4, row, last_col, sheet.office, right)
    ws.merge_range(row + 1, 4, row + 1, last_col, sheet.date, right)
    ws.merge_range(row + 2, 4, row + 2, last_col, sheet.seal, right)
    ws.set_paper(9)  # A4
    ws.set_portrait()
    ws.set_margins(left=0.6, right=0.6, top=0.7, bottom=0.7)
    ws.fit_to_pages(1, 2)
    ws.print_area(0, 0, row + 2, last_col)
    ws.center_horizontally()
    book.close()
    return out.getvalue()
