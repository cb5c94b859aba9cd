"""The main navigation, fitted to the signed-in account's role.

Every planned page is listed here once, by endpoint name. An entry is shown only
when its endpoint is registered, so a page added later by its blueprint appears
in the navigation without touching the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import current_app, request
from flask_babel import lazy_gettext as _l

SUBMITTER = "submitter"
CONSOLIDATOR = "consolidator"
ADMINISTRATOR = "admin"


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object  # a lazy string, translated when rendered
    roles: frozenset[str]

    def is_active(self) -> bool:
        """True on the entry's own page and on the pages of the same area."""
        current = request.endpoint or ""
        if current == self.endpoint:
            return True
        # Sub-pages (e.g. "admin.units_edit" under "admin.units") keep their entry lit.
        return current.startswith(self.endpoint + "_")


# Consolidators also owe their office's own (consolidated) report, so they see "My reports".
NAVIGATION: tuple[NavEntry, ...] = (
    NavEntry("reporting.my_reports", _l("My reports"), frozenset({SUBMITTER, CONSOLIDATOR})),
    NavEntry("review.matrix", _l("Review"), frozenset({CONSOLIDATOR, ADMINISTRATOR})),
    NavEntry("review.dashboard", _l("Dashboard"), frozenset({CONSOLIDATOR, ADMINISTRATOR})),
    NavEntry("review.overview", _l("Overview"), frozenset({ADMINISTRATOR})),
    NavEntry("review.events", _l("Events"), frozenset({CONSOLIDATOR, ADMINISTRATOR})),
    NavEntry("consolidation.index", _l("Consolidation"), frozenset({CONSOLIDATOR, ADMINISTRATOR})),
    NavEntry("admin.templates", _l("Templates"), frozenset({ADMINISTRATOR})),
    NavEntry("admin.designer", _l("Designer"), frozenset({ADMINISTRATOR})),
    NavEntry("admin.assignments", _l("Assignments"), frozenset({ADMINISTRATOR})),
    # Consolidators may look up the units of their subtree (contacts for chasing reports).
    NavEntry("admin.units", _l("Units"), frozenset({CONSOLIDATOR, ADMINISTRATOR})),
    NavEntry("admin.users", _l("Accounts"), frozenset({ADMINISTRATOR})),
    # Consolidators see the events of their subtree (server.services.audit).
    NavEntry("admin.audit", _l("Audit log"), frozenset({CONSOLIDATOR, ADMINISTRATOR})),
)

ACCOUNT_ENDPOINT = "auth.account"
LOGIN_ENDPOINT = "auth.login"
LOGOUT_ENDPOINT = "auth.logout"


def role_of(user) -> str | None:
    """The role name of *user*, whether the model stores a string or an Enum."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    role = getattr(user, "role", None)
    return getattr(role, "value", role)


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def entries_for(user) -> list[NavEntry]:
    """The navigation entries *user* may use, in display order."""
    role = role_of(user)
    if role is None:
        return []
    return [e for e in NAVIGATION if role in e.roles and has_endpoint(e.endpoint)]


# --- pagination ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a long list, for the ``pagination`` macro.

    ``number`` is 1-based; out-of-range numbers from the query string are clamped
    by :meth:`from_request`, so a hand-edited URL never errors.
    """

    number: int
    per_page: int
    total: int

    @classmethod
    def from_request(cls, total: int, per_page: int = 50, arg: str = "page") -> Page:
        requested = request.args.get(arg, default=1, type=int) or 1
        pages = max(1, -(-total // per_page))
        return cls(number=min(max(requested, 1), pages), per_page=per_page, total=total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and those near the current one.

        ``None`` marks a gap, shown as an ellipsis.
        """
        wanted = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.pages)
        result: list[int | None] = []
        for n in numbers:
            if result and n - result[-1] > 1:
                result.append(None)
            result.append(n)
        return result


def page_url(number: int, arg: str = "page") -> str:
    """The current page's URL with only its page number changed."""
    args = request.args.to_dict(flat=False)
    args[arg] = [str(number)]
    return request.path + "?" + urlencode(args, doseq=True)
