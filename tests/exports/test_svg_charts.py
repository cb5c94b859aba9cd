"""The SVG charts: well-formed, accessible, escaped, and drawn to scale."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from exports.svg_charts import Series, lines, ranking_bars, stacked_columns

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_stacked_columns_are_drawn_to_scale_and_titled():
    svg = stacked_columns(["一月", "二月"], [Series("按时", [6, 2]), Series("未报", [2, 0])],
                          title="报送情况", description="见下表", ident="c1")
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-t c1-d"
    assert root.find("svg:title", NS).text == "报送情况"
    bars = [r for r in root.findall("svg:rect", NS) if r.find("svg:title", NS) is not None]
    heights = {r.find("svg:title", NS).text: float(r.get("height")) for r in bars}
    # The tallest column (8) fills the plot; 6 is three quarters of it, 2 a quarter.
    assert abs(heights["一月 按时: 6"] / heights["一月 未报: 2"] - 3) < 0.05
    assert abs(heights["二月 按时: 2"] - heights["一月 未报: 2"]) < 0.05
    assert "二月 未报" not in " ".join(heights)  # a zero draws nothing
    assert root.get("width") == "100%" and root.get("viewBox").startswith("0 0 ")


def test_text_is_escaped_and_never_markup():
    name = '<script>alert(1)</script>&"村"'
    for svg in (ranking_bars([name], [0.5], title=name, description=name),
                stacked_columns([name], [Series(name, [1])], title=name, description=name),
                lines([name], [Series(name, [0.5])], title=name, description=name,
                      target=1, target_label=name)):
        root = parse(svg)
        assert "<script>" not in svg
        assert not root.findall(".//svg:script", NS)
        assert root.find("svg:title", NS).text == name


def test_lines_leave_gaps_and_draw_the_target():
    svg = lines(["a", "b", "c", "d"], [Series("完成率", [0.5, None, 0.75, 1.0])],
                title="t", description="d", target=1.0, target_label="目标", percent=True)
    root = parse(svg)
    assert len(root.findall("svg:circle", NS)) == 3
    polylines = root.findall("svg:polyline", NS)
    assert len(polylines) == 1 and len(polylines[0].get("points").split()) == 2
    target = root.find("svg:line[@class='target']", NS)
    top = [c for c in root.findall("svg:circle", NS)][-1]
    assert abs(float(target.get("y1")) - float(top.get("cy"))) < 0.05  # 100% on the line


def test_ranking_bars_are_proportional_and_mark_nothing_owed():
    root = parse(ranking_bars(["甲", "乙", "丙"], [1.0, 0.25, None], title="t",
                              description="d"))
    widths = [float(r.get("width")) for r in root.findall("svg:rect", NS)]
    assert len(widths) == 2 and abs(widths[0] / widths[1] - 4) < 0.01
    assert "–" in [t.text for t in root.findall("svg:text", NS)]


def test_crowded_labels_are_slanted_and_sparse_ones_are_not():
    few = parse(stacked_columns(["一月", "二月"], [Series("按时", [1, 2])], title="t",
                                description="d"))
    many = parse(stacked_columns([f"2025年第{i}季度" for i in range(12)],
                                 [Series("按时", [1] * 12)], title="t", description="d"))
    assert not [t for t in few.findall("svg:text", NS) if t.get("transform")]
    slanted = [t for t in many.findall("svg:text", NS) if t.get("transform")]
    assert len(slanted) == 12
