"""The small quarterly form of the merged-export tests, shared by the pure and the
database tests: sums, a max, a mean percent, a year-span count and texts, and a field
that version 2 adds. Also the hypothesis strategy for one unit's values of it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st


def merged_form(version: int, *, key: str = "merge-test", last: str = "2026Q4") -> dict:
    """The definition document of *version*, quarterly from 2024Q2 to *last*."""
    second = [
        {"key": "funding", "kind": "decimal", "label": "安全投入", "label_en": "Funding",
         "unit": "万元", "unit_en": "10k yuan", "min": 0, "cumulative": True},
        {"key": "peak", "kind": "integer", "label": "单次最多参训", "label_en": "Largest session",
         "unit": "人", "aggregation": "max"},
        {"key": "rate", "kind": "percent", "label": "培训覆盖率", "label_en": "Coverage"},
        {"key": "visits", "kind": "integer", "label": "本年度检查", "label_en": "Visits this year",
         "unit": "次", "cumulative": True, "cumulative_span": "year"},
    ]
    if version >= 2:
        second.append({"key": "posts", "kind": "integer", "label": "示范岗位",
                       "label_en": "Model posts", "unit": "个", "cumulative": True})
    return {
        "key": key, "version": version, "title": "合并测试表", "title_en": "Merge test",
        "source": {"issuer": "测试镇人民政府", "title": "《测试方案》"},
        "schedule": {"frequency": "quarterly",
                     "due": {"rule": "after_end", "months": 1, "day": 5},
                     "first": "2024Q2", "last": last},
        "columns": [
            {"key": "number", "label": "序号", "label_en": "No.", "source": "number"},
            {"key": "title", "label": "项目名称", "label_en": "Task", "source": "title"},
            {"key": "progress", "label": "推进情况", "label_en": "Progress", "source": "input",
             "input_kind": "longtext"},
        ],
        "sections": [{"key": "s1", "number": "（一）", "title": "隐患治理", "items": [
            {"key": "i01", "number": "1", "title": "排查整治隐患", "fields": [
                {"key": "found", "kind": "integer", "label": "排查隐患",
                 "label_en": "Hazards found", "unit": "处", "min": 0, "cumulative": True},
                {"key": "rectified", "kind": "integer", "label": "整改隐患",
                 "label_en": "Hazards rectified", "unit": "处", "min": 0, "cumulative": True},
            ]},
            {"key": "i02", "number": "2", "title": "培训与投入", "fields": second},
        ]}],
    }


# Short texts that a spreadsheet would take for formulas unless they are neutralised.
texts = st.text(alphabet="=+-@ 整改完成ab1", min_size=1, max_size=8).map(str.strip).filter(bool)


@st.composite
def form_values(draw, version: int) -> dict[str, Any]:
    """One unit's values: "found" always, each other field of *version* or not."""
    strategies = {
        "found": st.integers(0, 500),
        "rectified": st.integers(0, 500),
        "funding": st.integers(0, 10**6).map(lambda n: Decimal(n) / 100),
        "peak": st.integers(0, 300),
        "rate": st.integers(0, 1000).map(lambda n: Decimal(n) / 10),
        "visits": st.integers(0, 40),
        "i01_progress": texts,
        "i02_progress": texts,
    }
    if version >= 2:
        strategies["posts"] = st.integers(0, 20)
    return {key: draw(s) for key, s in strategies.items() if key == "found" or draw(st.booleans())}
