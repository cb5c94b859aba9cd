"""What every catalogue template owes its plan and its English-speaking users.

Each check runs over every file of ``forms/catalog``; the checks of one plan's
titles, numbers, sections, deadlines, targets and discrepancies live in
``test_catalog_NNN.py``.
"""

from __future__ import annotations

import re

import pytest
from plan_text import PLANS_DIR, plan_file, plan_number, plan_text, squash

from forms.definition import Definition
from forms.loader import catalog_files, load_catalog, load_definition
from forms.rules import parse
from forms.tags import COMMON_TAGS

FILES = catalog_files()


@pytest.fixture(scope="module", params=FILES, ids=[p.stem for p in FILES])
def template(request):
    """(catalogue file, its definition, its plan text as converted)."""
    path = request.param
    return path, load_definition(path), plan_text(plan_number(path))


def test_every_plan_has_templates_and_every_template_a_plan():
    plans = {path.name.split("_", 1)[0] for path in PLANS_DIR.glob("*.txt")}
    assert plans and {plan_number(p) for p in FILES} == plans


def test_key_follows_the_file_name_and_survives_json(template):
    path, definition, _ = template
    # 000_chidian_progress.yaml holds chidian-progress.
    assert definition.key == path.stem.split("_", 1)[1].replace("_", "-")
    assert Definition.from_json(definition.to_json()) == definition


def test_source_cites_the_plan_it_derives_from(template):
    path, definition, text = template
    src = definition.source
    assert src.seed == plan_file(plan_number(path)).name
    assert squash(src.title.strip("《》")) in squash(text)
    if src.doc_number is not None:
        assert src.doc_number in text
    if src.date is not None:
        assert f"{src.date.year}年{src.date.month}月{src.date.day}日" in text


def test_item_plan_texts_are_quoted_from_the_plan(template):
    _, definition, text = template
    plan = squash(text)
    for _, item in definition.items():
        if item.plan_text is not None:
            assert squash(item.plan_text) in plan, item.key


def test_indicators_have_units_a_floor_of_zero_and_a_basis_from_the_plan(template):
    _, definition, text = template
    plan = squash(text)
    for fld in definition.numeric_fields():
        assert fld.unit and fld.unit_en, fld.key
        assert fld.min == 0, fld.key
    for fld in definition.fields():
        if fld.basis:
            assert squash(fld.basis) in plan, fld.key


def test_rules_only_name_fields_of_the_template(template):
    _, definition, _ = template
    keys = {f.key for f in definition.fields()}
    for rule in definition.rules:
        assert parse(rule.expr).fields <= keys, rule.key
        assert rule.message and rule.message_en, rule.key


def test_every_shown_text_has_english(template):
    _, definition, _ = template
    assert definition.title_en
    assert all(c.label_en for c in definition.columns)
    for section in definition.sections:
        assert section.title_en, section.key
    for _, item in definition.items():
        assert item.title_en, item.key
    for fld in definition.fields():
        assert fld.label_en, fld.key
        assert bool(fld.help) == bool(fld.help_en), fld.key
        assert all(c.label_en for c in fld.choices), fld.key
        for column in fld.columns:
            assert column.label_en, f"{fld.key}.{column.key}"
            assert all(c.label_en for c in column.choices), f"{fld.key}.{column.key}"
    assert len(definition.notes_en) == len(definition.notes) >= 1


def test_calculated_rates_read_their_figures_and_quote_the_plan(template):
    """Every rate the catalogue calculates is a ratio of two typed figures of the same
    item, a percentage rounded to two places, with the plan sentence behind it."""
    _, definition, text = template
    plan = squash(text)
    for fld in definition.calculated_fields():
        assert fld.kind == "percent" and fld.max == 100, fld.key
        assert squash(fld.basis) in plan, fld.key
        numerator, denominator = re.fullmatch(
            r"round\((\w+) / (\w+) \* 100, 2\)", fld.formula).groups()
        item = definition.item_of(fld.key)
        assert {numerator, denominator} <= {f.key for f in item.fields}, fld.key
        assert not definition.field(numerator).is_calculated


def test_the_catalogue_calculates_the_rates_the_plans_report():
    rates = {f.key: f.formula for d in load_catalog() for f in d.calculated_fields()}
    assert rates == {
        "i08_certified_rate": "round(i08_certified / i08_workers * 100, 2)",
        "i09_rectified_rate": "round(i09_hazards_rectified / i09_hazards_found * 100, 2)",
        "i02_3_rectified_rate": "round(i02_3_rectified / i02_3_found * 100, 2)",
        "special_certified_rate": "round(special_certified / special_operators * 100, 2)",
        "i07_rectified_rate": "round(i07_rectified / i07_found * 100, 2)",
    }
    # 各地工信部门也要成立相应工作专班: the city counts the counties that did.
    siping = next(d for d in load_catalog() if d.field("g1_task_force"))
    assert siping.field("g1_task_force").effective_aggregation == "count"


def test_applicability_is_scoped_by_known_tags_and_quoted_from_the_plan(template):
    """Where a plan scopes a duty to kinds of companies (危险化学品, 粉尘涉爆, 有限空间,
    规模以上), the part says so with applies_when and quotes the sentence that scopes it."""
    _, definition, text = template
    plan = squash(text)
    parts = [("section", s) for s in definition.sections]
    parts += [("item", item) for _, item in definition.items()]
    parts += [("field", f) for f in definition.fields()]
    for where, part in parts:
        if part.applies_when is None:
            assert getattr(part, "applies_basis", None) is None, (where, part.key)
            continue
        assert part.applies_basis, (where, part.key)
        assert squash(part.applies_basis) in plan, (where, part.key)
        tags = parse(part.applies_when).tags
        assert tags <= set(COMMON_TAGS), (where, part.key, tags)
        for tag in tags:  # the tag is a word the plan itself uses
            assert tag in part.applies_basis, (where, part.key, tag)


def test_the_cangyuan_templates_scope_dust_and_confined_space_duties():
    by_key = {d.key: d for d in map(load_definition, FILES)}
    progress, plan = by_key["cangyuan-progress"], by_key["cangyuan-plan"]
    scoped = {f.key: f.applies_when for f in progress.fields() if f.applies_when}
    assert scoped == {
        "i01_confined_spaces": "unit_has('有限空间')",
        "i12_powder_connected": "unit_has('粉尘涉爆')",
        "i12_dust5": "unit_has('粉尘涉爆')",
        "i12_dust5_connected": "unit_has('粉尘涉爆')",
        "i13_measures": "unit_has('粉尘涉爆') or unit_has('有限空间')",
        "i09_registered": "unit_has('规模以上')",
        "i16_drills_half": "unit_has('劳动密集型')",
    }
    assert {f.key for f in plan.fields() if f.applies_when} == {
        "confined_spaces", "dust_workers", "dust_sites"}
