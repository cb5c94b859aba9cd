"""The application's error pages, in the reader's language.

Every HTTP error a page can end in (400, 403, 404, 405, 413, 429, 500, 503 —
a PDF without its converter — and a
stale or missing CSRF token) is answered with the layout's error page, titled
and explained in the request's language; a failure once the request's work
reached its commit says that the change may have been saved. Requests to the JSON API get the same
errors as problem details (``server.api.problems``) instead.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from server.api.problems import problem_for_http
from server.db import commit_attempted
from server.i18n import API_PREFIX

ERROR_TEXTS = {
    400: (_l("Bad request"),
          _l("The request could not be understood. If you were sending a form, reload the "
             "page and try again.")),
    403: (_l("Access denied"),
          _l("Your account is not allowed to open this page. If you think it should be, "
             "contact your administrator.")),
    404: (_l("Page not found"),
          _l("The page does not exist, or it is not within your unit's reach. Check the "
             "address or go back to the start page.")),
    405: (_l("Not allowed"), _l("This action cannot be performed this way.")),
    413: (_l("File too large"),
          _l("The uploaded file is larger than the server accepts. Reduce its size and "
             "upload it again.")),
    429: (_l("Too many attempts"), _l("Please wait a few minutes before trying again.")),
    503: (_l("Not available on this server"),
          _l("This file cannot be made here now: printing to PDF needs LibreOffice, which "
             "is not installed on the server. Download the workbook instead, or tell your "
             "administrator.")),
    500: (_l("Something went wrong"),
          _l("The server could not complete the request. Nothing was saved by it. Please "
             "try again later; if it keeps happening, tell your administrator.")),
}
# A failure while (or after) the request's work was committed: it may have been saved.
OUTCOME_UNKNOWN_TEXT = _l("The server failed while saving, so it cannot tell whether your "
                          "change was saved. Open the page again and check before you repeat "
                          "it; if this keeps happening, tell your administrator.")
CSRF_TEXT = _l("The form has expired or was sent from elsewhere. Reload the page and try again.")


def register_error_pages(app: Flask) -> None:
    for code in ERROR_TEXTS:
        app.register_error_handler(code, error_page)


def error_page(error: HTTPException):
    """The translated error page of *error* (problem details under ``/api/``)."""
    if not isinstance(error, HTTPException):
        error = InternalServerError(original_exception=error)
    code = error.code or 500
    title, text = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    if isinstance(error, CSRFError):
        text = CSRF_TEXT
    elif code >= 500 and commit_attempted():
        text = OUTCOME_UNKNOWN_TEXT
    if request.path.startswith(API_PREFIX):
        # Machine clients get RFC 9457 problem details, still in their language.
        return problem_for_http(error)
    # A failing request may have a broken database session: the 500 page skips account details.
    page = render_template("errors/error.html", code=code, title=title, text=text,
                           minimal_chrome=code == 500)
    return page, code
