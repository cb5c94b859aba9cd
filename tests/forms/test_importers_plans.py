"""Acceptance of issue #13: each built-in plan, typed into a Word document, imports
into a draft that matches the catalogue template made from it by hand.

The .docx is built at test time from ``forms/catalog/plans/*.txt``: each line a
paragraph, Markdown tables as real Word tables. The comparison is by printed
section/item number and title (whitespace and punctuation normalised, a section
number printed in front of an item number ignored) and by the due date of every
period both schedules produce over the plan window.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from plan_documents import build_chidian_xlsx, build_docx

from forms.definition import Definition
from forms.importers import import_document
from forms.loader import CATALOG_DIR, load_catalog
from forms.periods import Schedule

PLANS = CATALOG_DIR / "plans"
_PUNCT = re.compile(r"[\s\W_]+")


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return _PUNCT.sub("", text).lower()


def item_keys(sections, get) -> set[tuple[str, str]]:
    """(number, title) of every item, normalised; a section number printed in
    front of the item's own ("（二）1") is dropped."""
    keys = set()
    for section in sections:
        section_number = norm(get(section, "number"))
        for item in get(section, "items"):
            number = norm(get(item, "number"))
            if section_number and number != section_number and number.startswith(section_number):
                number = number[len(section_number):]
            keys.add((number, norm(get(item, "title"))))
    return keys


def _attr(obj, name):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def main_template(seed: str) -> Definition:
    """The plan's periodic template with the most items (the others are one-off forms)."""
    candidates = [d for d in load_catalog() if d.source.seed == seed]
    return max(candidates, key=lambda d: (d.schedule.frequency != "once",
                                          sum(len(s.items) for s in d.sections)))


def due_dates(schedule: Schedule) -> dict[str, str]:
    return {p.key: schedule.due_date(p).isoformat() for p in schedule.periods()}


@pytest.mark.parametrize("plan", sorted(PLANS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_plan_document_imports_like_its_catalogue_template(plan: Path, capsys):
    result = import_document(build_docx(plan.read_text(encoding="utf-8")), plan.stem + ".docx")
    draft = result.data
    template = main_template(plan.name)

    expected = item_keys(template.sections, _attr)
    found = item_keys(draft["sections"], _attr)
    matched = expected & found
    rate = len(matched) / len(expected)
    with capsys.disabled():
        print(f"\n{plan.name} → {template.key}: {len(matched)}/{len(expected)} items "
              f"match ({rate:.0%}); draft has {len(found)} items")
    assert rate >= 0.9, sorted(expected - found)

    schedule = Schedule.model_validate(draft["schedule"])
    assert schedule.frequency == template.schedule.frequency
    assert due_dates(schedule) == due_dates(template.schedule)

    # Every proposal points at its paragraph, and every item has one.
    item_paths = {p.path for p in result.proposals if p.what == "item"}
    assert len(item_paths) == len(found)
    assert all(p.source.paragraph for p in result.proposals if p.what == "item")


def test_section_titles_of_the_task_groups_match():
    plan = next(PLANS.glob("000_*.txt"))
    draft = import_document(build_docx(plan.read_text(encoding="utf-8")), "plan.docx").data
    template = main_template(plan.name)
    titles = {(norm(s["number"]), norm(s["title"])) for s in draft["sections"]}
    assert {(norm(s.number), norm(s.title)) for s in template.sections} <= titles


def test_source_of_the_notice_is_read():
    plan = next(PLANS.glob("000_*.txt"))
    source = import_document(build_docx(plan.read_text(encoding="utf-8")), "p.docx").data["source"]
    assert source["issuer"] == "晋江市池店镇人民政府"
    assert source["doc_number"] == "晋池政〔2024〕53号"
    assert source["date"] == "2024-05-22"
    assert source["title"] == "《池店镇工贸行业安全生产治本攻坚三年行动方案（2024—2026年）》"


def test_one_off_duty_is_listed_with_its_date():
    """The county plan asks enterprises for their own plan by 4月10日 (the one-off
    template cangyuan-plan); the draft keeps the periodic report and lists that duty."""
    plan = next(PLANS.glob("003_*.txt"))
    result = import_document(build_docx(plan.read_text(encoding="utf-8")), "p.docx")
    others = [u for u in result.unplaced if u.code == "other_duty"]
    assert any("4月 10日前报" in u.params["text"] for u in others)
    one_off = next(d for d in load_catalog() if d.key == "cangyuan-plan")
    assert one_off.schedule.due.date.isoformat() == "2024-04-10"
    assert any(u.source.paragraph for u in others)


def test_targets_become_indicator_fields_with_basis():
    plan = next(PLANS.glob("001_*.txt"))
    draft = import_document(build_docx(plan.read_text(encoding="utf-8")), "p.docx").data
    fields = [f for s in draft["sections"] for i in s["items"] for f in i.get("fields", ())]
    two = next(f for f in fields if "不少于2" in f["basis"])
    assert two["kind"] == "integer" and two["unit"] == "家"
    assert two["target"] == {"value": 2, "by": "2026-12-31"}


def test_attachment_table_xlsx_imports_its_21_items():
    result = import_document(build_chidian_xlsx(), "推进情况表.xlsx")
    draft = result.data
    items = [i for s in draft["sections"] for i in s["items"]]
    assert [i["number"] for i in items] == [str(n) for n in range(1, 22)]
    assert items[3]["title"] == "强化企业负责人安全教育培训"
    assert [s["title"] for s in draft["sections"]][0] == "实施安全生产源头治理工程"
    assert len(draft["sections"]) == 6
    assert [(c["label"], c["source"]) for c in draft["columns"]] == [
        ("序号", "number"), ("具体内容", "title"), ("实施措施", "input"),
        ("推进情况", "input"), ("备注", "input")]
    assert draft["title"] == "池店镇工贸行业安全生产治本攻坚三年行动 21 项重点工作推进情况表"
    assert draft["schedule"]["frequency"] == "quarterly"
    assert draft["schedule"]["due"] == {"rule": "after_end", "months": 1, "day": 5}
    item_ref = next(p.source for p in result.proposals if p.path == "sections[1].items[0]")
    assert (item_ref.sheet, item_ref.row, item_ref.column) == ("推进情况表", 8, "C")


def test_differences_between_attachment_table_and_text_are_listed():
    """Where plan 000's table and text disagree (the catalogue notes all three), the
    draft follows the text and lists each difference at its table row."""
    plan = next(PLANS.glob("000_*.txt"))
    result = import_document(build_docx(plan.read_text(encoding="utf-8")), "p.docx")
    differences = {(u.code, u.params["number"], u.source.row) for u in result.unplaced
                   if u.code.startswith("table_")}
    assert differences == {("table_title_differs", "2", 3), ("table_group_differs", "15", 16),
                           ("table_group_differs", "19", 20)}
    items = {i["number"]: i["title"] for s in result.data["sections"] for i in s["items"]}
    assert items["2"] == "严格安全设施“三同时”管理"
