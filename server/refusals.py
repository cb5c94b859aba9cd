"""Refusals over HTTP: the status of each refusal code, and how the web pages answer one.

Views call services and let a :class:`~server.services.errors.Refusal` propagate.
By the time it reaches a handler, the request's unit of work has rolled back all
the request did (:func:`server.db.request_work`): a refused request changes
nothing. The API answers problem details (``server.api.refusals``); the web
pages answer here, in one handler:

* :class:`NotVisible` is the 404 page, exactly as for an unknown address;
* any other refusal brings back the page the person was on, with the refusal's
  message beside the input it concerns, or flashed above the page. A view that
  acts says beforehand how its page is shown again, with :func:`on_refusal`:
  the form as the person filled it in, so nothing typed is lost. Without that,
  the error page of the refusal's status says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, flash, g, render_template
from flask_babel import gettext
from werkzeug.exceptions import NotFound

from server.services.errors import NotVisible, Refusal

# The HTTP status of each refusal code, for the API and for the web pages' fallback.
HTTP_STATUS = {
    "forbidden": 403,
    "not_found": 404,
    "locked": 409,
    "period_closed": 423,
    "invalid_state": 409,
    "stale_revision": 409,
    "invalid": 422,
    "too_soon": 429,
}


def http_status(refusal: Refusal) -> int:
    return HTTP_STATUS.get(refusal.code, 400)


@dataclass(frozen=True)
class RefusalPage:
    """How a view's page is shown again after a refusal.

    *render* answers with the page (and its status) for the refusal. A refusal
    whose ``field`` names an input of *form* (through *fields*, service name →
    form field name, when they differ) is shown at that input; any other is flashed.
    """

    render: Callable[[Refusal], Any]
    form: Any = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def input_for(self, refusal: Refusal):
        if self.form is None or not refusal.field:
            return None
        name = self.fields.get(refusal.field, refusal.field)
        return self.form[name] if name in self.form else None  # noqa: SIM401 (no Form.get)


def on_refusal(render: Callable[[Refusal], Any], *, form: Any = None,
               fields: Mapping[str, str] | None = None) -> None:
    """Say how the current view's page is shown again if a service refuses (see RefusalPage)."""
    g.refusal_page = RefusalPage(render, form, dict(fields or {}))


def answer_refusal(refusal: Refusal):
    """The web pages' answer to a refusal (the request's work is already rolled back)."""
    if isinstance(refusal, NotVisible):
        return current_app.handle_http_exception(NotFound())  # the 404 page
    page: RefusalPage | None = g.pop("refusal_page", None)
    if page is None:
        status = http_status(refusal)
        return render_template("errors/error.html", code=status,
                               title=gettext("The request was refused."),
                               text=str(refusal)), status
    entry = page.input_for(refusal)
    if entry is not None:
        entry.errors = [*entry.errors, str(refusal)]
    else:
        flash(str(refusal), "error")
    return page.render(refusal)


def register_refusal_pages(app: Flask) -> None:
    app.register_error_handler(Refusal, answer_refusal)
