"""Consolidation: totals equal the sum of what the units reported, with provenance."""

from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from forms.consolidation import ChildReport, consolidate
from forms.definition import Definition
from forms.loader import load_definition

DEF = load_definition(Path(__file__).with_name("sample.yaml"))


def test_numbers_text_and_provenance():
    children = [
        ChildReport("V1", "东村", {"found": 3, "rate": 80, "i01_progress": "已完成排查",
                                   "level": "red", "investment": "1.5"}, revision=4),
        ChildReport("V2", "西村", {"found": "5", "rate": "90%", "investment": 2.25}, revision=2),
        ChildReport("V3", "南村", {}, revision=1),
    ]
    result = consolidate(DEF, children)
    assert result.values["found"] == 8
    assert result.values["investment"] == Decimal("3.75")
    assert result.values["rate"] == Decimal("85.00")  # percent: mean of those who reported
    assert "level" not in result.values  # choices are not aggregated
    assert result.values["i01_progress"] == "东村：已完成排查"
    assert result.lists["i01_progress"] == [("东村", "已完成排查")]
    assert [(p.unit_code, p.value, p.revision) for p in result.provenance["found"]] == [
        ("V1", 3, 4), ("V2", 5, 2)]
    assert result.missing["found"] == ["V3"]


def test_reports_of_another_version_merge_by_field_key():
    data = DEF.model_dump()
    data["version"] = 2
    data["sections"][0]["items"][0]["fields"] = [
        f for f in data["sections"][0]["items"][0]["fields"] if f["key"] != "posts"]
    data["rules"] = []
    v2 = Definition.model_validate(data)
    old = ChildReport("V1", "东村", {"found": 3, "posts": 2}, version=1)
    new = ChildReport("V2", "西村", {"found": 4}, version=2)
    result = consolidate(v2, [old, new])
    assert result.values["found"] == 7
    assert "posts" not in result.values


def test_tables_concatenate():
    result = consolidate(DEF, [ChildReport("A", "甲", {"roster": [{"name": "张三"}]}),
                               ChildReport("B", "乙", {"roster": [{"name": "李四"}]})])
    assert [r["name"] for r in result.values["roster"]] == ["张三", "李四"]


def test_no_children_gives_empty_values():
    result = consolidate(DEF, [])
    assert result.values["found"] is None
    assert result.values["i01_progress"] is None


@st.composite
def trees(draw, depth=0):
    """A random organisation subtree: leaves carry reports, inner nodes consolidate."""
    if depth >= 3 or draw(st.booleans()):
        found = draw(st.one_of(st.none(), st.integers(0, 10**6)))
        invest = draw(st.one_of(st.none(), st.decimals("0", "100000", places=2)))
        return {"values": {"found": found, "investment": invest}}
    return {"children": draw(st.lists(trees(depth + 1), min_size=1, max_size=4))}


def roll_up(node, code="R"):
    """Consolidate level by level, as the tree does; returns the node's values."""
    if "values" in node:
        return node["values"]
    reports = [ChildReport(f"{code}.{i}", f"unit {i}", roll_up(child, f"{code}.{i}"))
               for i, child in enumerate(node["children"])]
    return consolidate(DEF, reports).values


def leaves(node):
    if "values" in node:
        yield node["values"]
    else:
        for child in node["children"]:
            yield from leaves(child)


@given(trees())
def test_rolled_up_totals_equal_independent_sums_at_every_level(tree):
    values = roll_up(tree)
    for key in ("found", "investment"):
        reported = [v[key] for v in leaves(tree) if v[key] is not None]
        expected = sum(reported, start=0) if reported else None
        assert values[key] == expected
