"""Run a query one page at a time, for the ``pagination`` macro (see server.navigation.Page)."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.navigation import Page

PER_PAGE = 50


def paginate(session: Session, query: Select, per_page: int = PER_PAGE, *,
             whole_rows: bool = False) -> tuple[list, Page]:
    """The rows of the requested page (``?page=N``, clamped) and the page description
    (the first column of each row, or with *whole_rows* the rows themselves)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = Page.from_request(total or 0, per_page)
    paged = query.offset(page.offset).limit(per_page)
    rows = session.execute(paged).all() if whole_rows else session.scalars(paged).all()
    return list(rows), page
