"""Pages of API lists: ``?page=1&per_page=50``, a JSON envelope and an RFC 8288 Link header.

A list answers ``{"items": [...], "page": n, "per_page": n, "total": n}`` (a
``server.api.schemas.Page`` such as ``UnitPage``); the ``Link`` header names the
``first``, ``prev``, ``next`` and ``last`` pages. A page past the end is empty, not an
error; a page or page size that is not a positive integer (or a size above
:data:`MAX_PER_PAGE`) is 400 ``bad_request``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Response, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.api.problems import ApiError
from server.api.schemas import MAX_PER_PAGE, Page, answer

DEFAULT_PER_PAGE = 50
MAX_PAGE = 10**9

BAD_PAGE = _l("page must be a whole number from 1 to %(max)s.")
BAD_PER_PAGE = _l("per_page must be a whole number from 1 to %(max)s.")


@dataclass(frozen=True)
class PageRequest:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_request(default_per_page: int = DEFAULT_PER_PAGE) -> PageRequest:
    """The page asked for by the query string; 400 ``bad_request`` when malformed."""
    page = _positive(request.args.get("page"), 1)
    if page is None:
        raise ApiError(400, "bad_request", str(BAD_PAGE) % {"max": MAX_PAGE})
    per_page = _positive(request.args.get("per_page"), default_per_page)
    if per_page is None or per_page > MAX_PER_PAGE:
        raise ApiError(400, "bad_request", str(BAD_PER_PAGE) % {"max": MAX_PER_PAGE})
    return PageRequest(page, per_page)


def _positive(raw: str | None, default: int) -> int | None:
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    if not raw.isdigit() or not raw.isascii():
        return None
    value = int(raw)
    # The bound keeps the offset within a 64-bit SQL integer (a larger page crashed the query).
    return value if 1 <= value <= MAX_PAGE else None


def page_response(page_type: type[Page], items: Sequence[BaseModel], total: int,
                  page: PageRequest) -> Response:
    """The *page_type* envelope of the *items* with its Link header."""
    envelope = page_type(items=items, page=page.page, per_page=page.per_page, total=total)
    response = answer(envelope)
    links = link_header(page, total)
    if links:
        response.headers["Link"] = links
    return response


def link_header(page: PageRequest, total: int) -> str:
    """RFC 8288 links to the first, previous, next and last pages of this request's list."""
    last = max(1, -(-total // page.per_page))
    targets = {"first": 1}
    if page.page > 1:
        targets["prev"] = min(page.page - 1, last)
    if page.page < last:
        targets["next"] = page.page + 1
    targets["last"] = last
    return ", ".join(f'<{_page_url(number, page.per_page)}>; rel="{rel}"'
                     for rel, number in targets.items())


def _page_url(number: int, per_page: int) -> str:
    args = [(key, value) for key, value in request.args.items(multi=True)
            if key not in ("page", "per_page")]
    args += [("page", str(number)), ("per_page", str(per_page))]
    return f"{request.base_url}?{urlencode(args)}"


def paginated(page_type: type[Page], fetch: Callable[[int, int], tuple[Iterable[Any], int]],
              serialize: Callable[[Any], BaseModel], *,
              default_per_page: int = DEFAULT_PER_PAGE) -> Response:
    """A page of a list: ``fetch(offset, limit)`` returns the page's rows and the total,
    ``serialize`` makes each row an item of *page_type*."""
    page = page_request(default_per_page)
    rows, total = fetch(page.offset, page.per_page)
    return page_response(page_type, [serialize(row) for row in rows], total, page)


def paginate_query(page_type: type[Page], session: Session, query: Select,
                   serialize: Callable[[Any], BaseModel], *,
                   default_per_page: int = DEFAULT_PER_PAGE) -> Response:
    """A page of an ORM query (ordered by the caller), counted in SQL."""

    def fetch(offset: int, limit: int) -> tuple[Sequence[Any], int]:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        return session.scalars(query.offset(offset).limit(limit)).all(), total or 0

    return paginated(page_type, fetch, serialize, default_per_page=default_per_page)
