"""Applicability over the API and in consolidation: absent with applies: false, never zero."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import api_get, api_put, token_for

from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.templates import get_version, load_files
from server.services.units import set_tags

APPLIES = Path(__file__).resolve().parents[1] / "forms" / "applies.yaml"
KEY = "applies"
HEADER = {"reporter": "张三", "phone": "13800000000"}


def report_path(unit: str, period: str = "2024Q2") -> str:
    return f"/reports/{KEY}/{unit}/{period}"


@pytest.fixture
def people(session, tree, make_user):
    """VA1 (危化) and VA2 (no tag) report to TA; both approved for 2024Q2, VA2 having
    typed 0 into the 危化 section that does not apply to it."""
    set_tags(session, tree["VA1"], "危化")
    session.commit()
    with unit_of_work(session):
        load_files(session, [APPLIES])
        assignment_service.create_assignment(
            session, key=KEY, template=get_version(session, "applies-sample", 1), root=tree["TA"])
    users = {"va1": make_user("va1", Role.SUBMITTER, tree["VA1"]),
             "va2": make_user("va2", Role.SUBMITTER, tree["VA2"]),
             "ta-hz": make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])}
    answers = {
        "va1": {"found": 5, "has_committee": True, "committee_members": 4, "chem_sites": 3,
                "chem_rate": 90},
        "va2": {"found": 2, "has_committee": False, "committee_members": 9, "chem_sites": 0,
                "chem_rate": 0},
    }
    with unit_of_work(session):
        for name, values in answers.items():
            user = users[name]
            view = reporting.load(session, user, KEY, user.unit.code, "2024Q2")
            reporting.save(session, user, view, {**HEADER, **values})
            reporting.submit(session, user, view)
            reporting.approve(session, users["ta-hz"],
                              reporting.load(session, users["ta-hz"], KEY, user.unit.code,
                                             "2024Q2"))
    return users


def test_a_report_marks_what_does_not_apply_and_has_no_value_for_it(client, session, people):
    body = api_get(client, report_path("VA2"), token_for(session, people["va2"])).get_json()
    assert body["applies"] == {"committee_members": False, "major_plan": False,
                               "chem_sites": False, "chem_rate": False}
    assert not {"committee_members", "chem_sites", "chem_rate"} & set(body["values"])
    assert body["values"]["found"] == 2
    other = api_get(client, report_path("VA1"), token_for(session, people["va1"])).get_json()
    assert other["applies"]["chem_sites"] is True and other["values"]["chem_sites"] == 3


def test_a_save_names_what_it_left_out(client, session, people):
    token = token_for(session, people["va2"])
    path = report_path("VA2", "2024Q3")
    revision = api_get(client, path, token).get_json()["revision"]
    response = api_put(client, path, token, headers={"If-Match": str(revision)},
                       json={"values": {**HEADER, "found": 3, "has_committee": True,
                                        "committee_members": 5, "chem_sites": "不涉及"}})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["skipped"] == ["chem_sites"]
    assert body["values"]["committee_members"] == 5 and "chem_sites" not in body["values"]
    assert body["applies"]["committee_members"] is True
    assert not [i for i in body["issues"] if i["field"] == "chem_sites"]


def counts(coverage: dict) -> dict:
    """The counts of a figure's coverage that this world decides (nothing carried here)."""
    assert coverage["carried"] == coverage["blank"] == coverage["never"] == 0
    return {key: coverage[key] for key in ("applies", "reported", "not_applicable")}


def test_consolidation_never_counts_what_does_not_apply(client, session, people):
    token = token_for(session, people["ta-hz"])
    body = api_get(client, f"/consolidations/{KEY}/TA/2024Q2", token).get_json()
    assert body["values"]["found"] == 7
    assert body["values"]["chem_sites"] == 3
    assert body["values"]["chem_rate"] == 90  # not (90 + 0) / 2: VA2's 0 is not counted
    assert body["values"]["committee_members"] == 4  # VA2 answered no: its 9 was dropped
    assert counts(body["coverage"]["chem_sites"]) == {"applies": 1, "reported": 1,
                                                      "not_applicable": ["VA2"]}
    assert counts(body["coverage"]["found"]) == {"applies": 2, "reported": 2,
                                                 "not_applicable": []}
    assert body["coverage"]["chem_sites"]["text"].startswith("1 个单位：1 个本期已计入")
    assert [p["unit"] for p in body["provenance"]["chem_rate"]] == ["VA1"]


def test_the_figures_page_says_how_many_units_a_figure_applies_to(browser, session, people):
    browser.login_ok(people["ta-hz"])
    page = browser.get(f"/consolidation/{KEY}/TA/2024Q2", headers={"Accept-Language": "zh-CN"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:500]
    assert "1 个单位：1 个本期已计入" in html
    assert "不适用：Unit VA2" in html


def test_a_workbook_upload_ignores_what_does_not_apply(client, session, people):
    import io

    import openpyxl

    token = token_for(session, people["va2"])
    path = f"/api/v1{report_path('VA2', '2024Q3')}"
    headers = {"Authorization": f"Bearer {token}"}
    data = client.get(path + "/workbook.xlsx", headers=headers).data
    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = next(s for s in book.worksheets if s["A1"].value == "tb:cols")
    off = [c for row in ws.iter_rows() for c in row if c.value == "不适用"]
    assert len(off) == 2 and all(c.protection.locked for c in off)
    names = {name[3:]: list(d.destinations)[0][1].replace("$", "")
             for name, d in book.defined_names.items() if name.startswith("tb_")}
    assert "chem_sites" not in names  # no input to find for it
    for key, value in {**HEADER, "found": 6, "has_committee": "否"}.items():
        ws[names[key]].value = value
    for cell in off:
        cell.value = "不涉及"
    out = io.BytesIO()
    book.save(out)
    response = client.post(path + "/workbook", headers=headers,
                           data={"file": (io.BytesIO(out.getvalue()), "filled.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = api_get(client, report_path("VA2", "2024Q3"), token).get_json()
    assert body["values"]["found"] == 6 and "chem_sites" not in body["values"]


def test_csv_and_merged_workbook_say_not_applicable_apart_from_empty(client, session, people):
    import csv
    import io

    import openpyxl

    token = token_for(session, people["ta-hz"])
    base = f"/consolidations/{KEY}/TA/2024Q2"
    text = api_get(client, base + "/flat.csv", token,
                   headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    value = {(r[0], r[7]): r[9] for r in rows[1:]}
    assert value[("VA1", "chem_sites")] == "3"
    assert value[("VA2", "chem_sites")] == "不适用"
    assert value[("VA2", "committee_members")] == "不适用"  # answered no
    assert ("VA2", "major_plan") in value and ("VA1", "major_plan") in value
    assert ("VA1", "level") not in value  # left empty: no row at all

    data = api_get(client, base + "/merged.xlsx", token,
                   headers={"Accept-Language": "zh-CN"}).data
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert "不适用" in cells
    summary = book["汇总"]  # the official form, after the compact 汇总表
    assert 3 in [c.value for row in summary.iter_rows() for c in row]  # VA1's 3 sites, alone
    notes = [c.comment.text for row in summary.iter_rows() for c in row if c.comment]
    assert any("1 个单位：1 个本期已计入" in note for note in notes)


def test_a_tag_taken_away_takes_the_figure_out_of_the_totals(client, session, people, tree):
    """Tags decide at consolidation time too: values saved while a tag applied no longer
    count once an administrator removes it."""
    set_tags(session, tree["VA1"], "")
    session.commit()
    token = token_for(session, people["ta-hz"])
    body = api_get(client, f"/consolidations/{KEY}/TA/2024Q2", token).get_json()
    assert body["values"]["chem_sites"] is None
    assert counts(body["coverage"]["chem_sites"]) == {"applies": 0, "reported": 0,
                                                      "not_applicable": ["VA1", "VA2"]}
    assert body["values"]["found"] == 7


def test_the_review_page_says_not_applicable(browser, session, people):
    browser.login_ok(people["ta-hz"])
    page = browser.get(f"/review/{KEY}/VA2/2024Q2", headers={"Accept-Language": "zh-CN"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:300]
    row = html[html.index('id="field-chem_sites"'):]
    assert "不适用" in row[:row.index("</tr>")]
    found = html[html.index('id="field-found"'):]
    assert "不适用" not in found[:found.index("</tr>")]
