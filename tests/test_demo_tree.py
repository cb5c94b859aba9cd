"""The demo organisation (server/demo/org_units.yaml) is well formed and as large as promised."""

import csv
import io
import re
from pathlib import Path

import pytest
import yaml

from exports.unit_table import UNIT_KINDS, is_phone, read_units
from forms.tags import COMMON_TAGS, parse_tags

DEMO_FILE = Path(__file__).resolve().parents[1] / "server" / "demo" / "org_units.yaml"
ALLOWED_KEYS = {"code", "name", "kind", "contact", "phone", "children", "tags"}
FICTITIOUS_CONTACTS = {"张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十"}


def load():
    return yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))


def walk(nodes, parent=None):
    for node in nodes:
        yield node, parent
        yield from walk(node.get("children") or [], node)


ROOTS = {root["code"]: root for root in load()}
UNITS = list(walk(load()))


def below(code, kinds):
    return [child for child in ROOTS[code].get("children", []) if child["kind"] in kinds]


def test_five_roots_named_after_the_plans():
    assert [(root["code"], root["name"]) for root in load()] == [
        ("CHIDIAN", "池店镇"),
        ("XUEFENG", "雪峰开发区"),
        ("JICUI", "积翠镇"),
        ("CANGYUAN", "沧源佤族自治县应急管理局"),
        ("SIPING", "四平市工信局"),
    ]


def test_every_unit_is_well_formed():
    for node, _parent in UNITS:
        assert set(node) <= ALLOWED_KEYS, node
        assert {"code", "name", "kind"} <= set(node), node
        assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)*", node["code"]), node["code"]
        assert len(node["code"]) <= 32
        assert node["kind"] in UNIT_KINDS, node
        assert isinstance(node["name"], str) and node["name"].strip() == node["name"]


def test_codes_and_names_are_unique():
    codes = [node["code"] for node, _ in UNITS]
    names = [node["name"] for node, _ in UNITS]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))


def test_child_codes_extend_their_parent_code():
    for node, parent in UNITS:
        if parent is not None:
            assert node["code"].startswith(parent["code"] + "-"), node["code"]


def test_contacts_and_phones_are_fictitious_and_valid():
    phones = []
    for node, _ in UNITS:
        if "phone" in node:
            assert isinstance(node["phone"], str), node  # a YAML number would lose formatting
            assert is_phone(node["phone"])
            assert node["phone"].startswith("1380000")
            phones.append(node["phone"])
        if "contact" in node:
            assert node["contact"] in FICTITIOUS_CONTACTS
    assert len(phones) == len(set(phones))


def test_companies_are_invented_example_firms():
    companies = [node for node, _ in UNITS if node["kind"] == "company"]
    assert companies
    for company in companies:
        assert "示例" in company["name"], company["name"]
        assert "children" not in company


def test_chidian_villages_departments_and_company_chains():
    villages = below("CHIDIAN", {"village", "community"})
    assert len(villages) >= 10
    departments = below("CHIDIAN", {"department", "office"})
    assert len(departments) >= 3
    assert any("安办" in d["name"] for d in departments)
    with_companies = [v for v in villages if v.get("children")]
    assert len(with_companies) >= 3
    for village in with_companies:
        assert 2 <= len(village["children"]) <= 3
        assert all(c["kind"] == "company" for c in village["children"])


def test_xuefeng_offices_and_enterprises():
    assert len(below("XUEFENG", {"office"})) >= 3
    assert len(below("XUEFENG", {"company"})) >= 10


def test_jicui_villages_and_enterprises():
    assert len(below("JICUI", {"village"})) >= 3
    companies = [n for n, _ in walk([ROOTS["JICUI"]]) if n["kind"] == "company"]
    assert len(companies) >= 3


def test_cangyuan_industrial_enterprises():
    enterprises = below("CANGYUAN", {"company"})
    assert len(enterprises) >= 10
    names = "".join(e["name"] for e in enterprises)
    for industry in ("糖", "建材", "茶", "矿"):
        assert industry in names


def test_siping_county_level_bureaus():
    bureaus = below("SIPING", {"bureau"})
    assert len(bureaus) >= 5
    names = {b["name"] for b in bureaus}
    for county in ("双辽市", "梨树县", "伊通满族自治县", "铁西区", "铁东区"):
        assert any(name.startswith(county) for name in names), county
    assert any(b.get("children") for b in bureaus)


@pytest.mark.parametrize("existing", [{}, {"CHIDIAN": None}])
def test_the_tree_passes_the_unit_importer(existing):
    """Exported as a unit table, the demo tree is a valid import, parents first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["code", "name", "kind", "parent", "contact", "phone"])
    for node, parent in UNITS:
        writer.writerow(
            [
                node["code"],
                node["name"],
                node["kind"],
                parent["code"] if parent else "",
                node.get("contact", ""),
                node.get("phone", ""),
            ]
        )
    result = read_units(buffer.getvalue().encode(), "demo.csv", existing)
    assert result.ok, result.errors
    assert len(result.rows) == len(UNITS)


def test_companies_carry_tags_the_catalogue_scopes_duties_by():
    """Tags say which duties apply (危化, 粉尘涉爆, 有限空间, 规模以上); the demo companies of
    Cangyuan, whose plan scopes duties that way, carry them, and only companies do."""
    tagged = {node["code"]: parse_tags(node["tags"]) for node, _ in UNITS if "tags" in node}
    assert tagged and all(set(tags) <= set(COMMON_TAGS) for tags in tagged.values())
    assert all(node["kind"] == "company" for node, _ in UNITS if "tags" in node)
    cangyuan = {code: tags for code, tags in tagged.items() if code.startswith("CANGYUAN-E")}
    assert any("粉尘涉爆" in tags for tags in cangyuan.values())
    assert any("有限空间" in tags for tags in cangyuan.values())
    assert any("粉尘涉爆" not in tags for tags in cangyuan.values())
