"""Run a query one page at a time, for the ``pagination`` macro (see server.navigation.Page)."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.navigation import Page

PER_PAGE = 50


def paginate(session: Session, query: Select, per_page: int = PER_PAGE) -> tuple[list, Page]:
    """The rows of the requested page (``?page=N``, clamped) and the page description."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = Page.from_request(total or 0, per_page)
    rows = session.scalars(query.offset(page.offset).limit(per_page)).all()
    return list(rows), page
