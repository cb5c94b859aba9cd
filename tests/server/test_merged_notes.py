"""The 说明 in the merged exports: figures flagged against the unit's own history or
lowered since last period, with the unit's note and who acknowledged it when, on their
own sheet of the merged workbook and in a column of the data sheet and the CSV."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import test_merged_export as base
from flask_babel import force_locale
from python_calamine import CalamineWorkbook

from exports.flat_data import FLAT_HEADERS
from server.models import Role, Status
from server.services import consolidation, merged

world = base.world  # city SP over towns TA, TB, villages and a company
APPROVED_AT = datetime(2025, 1, 6, 1, 30, tzinfo=UTC)  # 09:30 in Beijing


def history(world, session, code: str, peaks: list[int], founds: list[int]) -> None:
    for period, peak, found in zip(("2024Q2", "2024Q3"), peaks, founds, strict=True):
        base.report(world, session, code, {"found": found, "peak": peak}, period=period,
                    version=1)


def test_history_outliers_and_corrections_are_listed_with_their_notes(
        world, session, make_user, tmp_path):
    checker = make_user("sp-hz", Role.CONSOLIDATOR, unit=world["units"]["SP"])
    # VA2's largest session leaps from 12 to 500 people: an outlier of its own history,
    # explained and approved (so acknowledged) by the city's consolidator.
    history(world, session, "VA2", [10, 12], [1, 2])
    leap = base.report(world, session, "VA2", {"found": 3, "peak": 500})
    leap.explanations = {"peak": "全镇集中培训在本村举办"}
    leap.approved_by_id, leap.approved_at = checker.id, APPROVED_AT
    # VB1 lowered its cumulative count, explained, not yet approved.
    history(world, session, "VB1", [5, 5], [4, 9])
    lowered = base.report(world, session, "VB1", {"found": 7, "peak": 5},
                          status=Status.SUBMITTED)
    lowered.explanations = {"found": "上季度重复统计2处，已核减"}
    # CO leaps too, with no note yet.
    history(world, session, "CO", [2, 3], [1, 1])
    base.report(world, session, "CO", {"found": 1, "peak": 90}, status=Status.SUBMITTED)
    session.commit()

    book, result, figures = base.export(session, world["admin"], tmp_path, "SP",
                                        include_submitted=True)
    assert result.notes_sheet == "Explanations"
    rows = base.rows_of(book, result.notes_sheet)
    assert rows[0] == ["Unit code", "Unit", "Item", "Field key", "Field", "Value",
                       "Why it is flagged", "The unit's explanation", "Acknowledged by",
                       "Acknowledged at"]
    by_unit = {(r[0], r[3]): r for r in rows[1:]}
    assert set(by_unit) == {("VA2", "peak"), ("VB1", "found"), ("CO", "peak")}
    va2 = by_unit["VA2", "peak"]
    assert va2[5] == 500 and "jumped from 12 to 500" in va2[6]
    assert va2[7:9] == ["全镇集中培训在本村举办", "sp-hz"]
    assert va2[9] == datetime(2025, 1, 6, 9, 30)  # Beijing time
    vb1 = by_unit["VB1", "found"]
    assert vb1[6] == "Hazards found is cumulative but went down from 9 in 2024 Q3 to 7."
    assert vb1[7] == "上季度重复统计2处，已核减" and vb1[8:] == ["", ""]
    assert by_unit["CO", "peak"][7] == "(not explained yet)"

    # The issues sheet lists the history outlier too, with the note beside it.
    issues = base.rows_of(book, result.issues_sheet)
    assert any(r[0] == "VA2" and r[3] == "peak" and r[7] == "全镇集中培训在本村举办"
               for r in issues[1:])
    # The data sheet carries the note in its last column.
    data = base.rows_of(book, result.data_sheets[0])
    assert data[0][-1] == "Explanation"
    assert [r[-1] for r in data[1:] if r[0] == "VA2" and r[7] == "peak"] == [
        "全镇集中培训在本村举办"]


def test_the_csv_carries_the_note_beside_the_figure(world, session, app):
    history(world, session, "VA2", [10, 12], [1, 2])
    leap = base.report(world, session, "VA2", {"found": 3, "peak": 500})
    leap.explanations = {"peak": "全镇集中培训在本村举办"}
    session.commit()
    figures = consolidation.figures(session, world["admin"], "merge", "SP", "2024Q4")
    out = io.BytesIO()
    with app.app_context(), force_locale("zh_CN"):
        merged.write_flat_csv(session, figures, out, locale="zh_CN", now=base.AFTER_DEADLINES)
    rows = base.csv_rows(out.getvalue())
    note = len(FLAT_HEADERS) - 1  # the data's last column (the period's status follows)
    assert rows[0][note] == "说明"
    peak = next(r for r in rows[1:] if r[0] == "VA2" and r[7] == "peak")
    assert peak[note] == "全镇集中培训在本村举办"
    found = next(r for r in rows[1:] if r[0] == "VA2" and r[7] == "found")
    assert found[note] == ""


def test_the_chinese_workbook_names_the_sheet_说明(world, session, app, tmp_path):
    figures = consolidation.figures(session, world["admin"], "merge", "SP", "2024Q4")
    path = tmp_path / "m.xlsx"
    with app.app_context(), force_locale("zh_CN"):
        result = merged.write_merged(session, figures, str(path), locale="zh_CN",
                                     now=base.AFTER_DEADLINES)
    assert result.notes_sheet == "说明"
    header = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("说明").to_python()[0]
    assert header[6:] == ["提示原因", "单位说明", "确认人", "确认时间"]


def test_the_consolidation_page_and_the_api_show_each_parts_note(world, session, browser,
                                                                client):
    from api_helpers import api_get, token_for
    from pages import text
    history(world, session, "VA2", [10, 12], [1, 2])
    leap = base.report(world, session, "VA2", {"found": 3, "peak": 500})
    leap.explanations = {"peak": "全镇集中培训在本村举办"}
    base.report(world, session, "VB1", {"found": 3, "peak": 8})
    session.commit()
    base.roll_up(world, session, "TA")
    base.roll_up(world, session, "TB")
    page = browser.login_ok(world["admin"]).get("/consolidation/merge/TA/2024Q4")
    shown = text(page)
    assert "1 条说明" in shown
    notes = [" ".join(re.sub(r"<[^>]+>", " ", n).split())
             for n in re.findall(r'<p class="cons-part-note[^"]*">(.*?)</p>', shown, re.S)]
    assert notes == ["说明 全镇集中培训在本村举办 （审核通过时已确认）"]
    body = api_get(client, "/consolidations/merge/TA/2024Q4",
                   token_for(session, world["admin"])).get_json()
    assert {p["unit"]: p["explanation"] for p in body["provenance"]["peak"]} == {
        "VA2": "全镇集中培训在本村举办"}
