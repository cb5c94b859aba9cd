"""A small quarterly hazard-checks template shared by the assignment and review tests."""

from __future__ import annotations

FOUND = {"key": "found", "kind": "integer", "label": "排查隐患", "unit": "处", "min": 0,
         "cumulative": True}


def hazards_definition(*, last: str = "2026Q4", fields: tuple[dict, ...] = (FOUND,)) -> dict:
    """The definition document, quarterly from 2024Q2 to *last*, one item with *fields*."""
    return {
        "key": "hazards",
        "title": "隐患排查情况表",
        "title_en": "Hazard checks",
        "source": {"issuer": "测试镇人民政府", "title": "《测试方案》"},
        "schedule": {"frequency": "quarterly",
                     "due": {"rule": "after_end", "months": 1, "day": 5},
                     "first": "2024Q2", "last": last},
        "sections": [{"key": "s1", "number": "一", "title": "隐患排查", "items": [
            {"key": "i01", "number": "1", "title": "排查整治隐患", "fields": list(fields)}]}],
    }
