"""Building a small valid draft through the designer service, as the pages do."""

from __future__ import annotations

from server.db import unit_of_work
from server.services import designer


def build_monthly_draft(session, admin, *, numbers: int = 2, title: str = "月度安全检查情况"):
    """A committed draft: one section, one item with *numbers* integer fields and a long text."""
    with unit_of_work(session):
        draft = designer.create_blank(session, admin)

        def step(operation):
            return designer.change(session, admin, draft, draft.revision, operation)

        step(designer.set_attributes(None, {
            "title": title, "source.issuer": "某镇人民政府",
            "source.title": "某镇治本攻坚三年行动方案",
            "source.doc_number": "某政〔2024〕1号"}))
        section = step(designer.add(None, "sections"))
        step(designer.set_attributes(section, {"title": "检查情况", "number": "一"}))
        item = step(designer.add(section, "items"))
        step(designer.set_attributes(item, {"title": "隐患排查整治"}))
        for n in range(numbers):
            path = step(designer.add(item, "fields", "integer"))
            step(designer.set_attributes(path, {"label": f"指标{n + 1}", "unit": "项", "min": "0"}))
        text = step(designer.add(item, "fields", "longtext"))
        step(designer.set_attributes(text, {"label": "工作情况"}))
    return draft
