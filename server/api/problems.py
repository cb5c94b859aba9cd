"""Errors of the API as RFC 9457 problem details (``application/problem+json``).

Every error the API answers has the same shape::

    {"type": "https://tianbao.example/problems/<code>", "title": "...", "status": 404,
     "code": "not_found", "detail": "...", ...extras}

``title`` and ``detail`` are in the request's language (Accept-Language, zh_CN by
default). The services' refusals are answered in this shape by
``server.api.refusals``. Views raise :class:`ApiError` for problems of the request
itself (a malformed body, a missing If-Match); ``abort(404)`` and the other HTTP
errors of Flask and Werkzeug are answered the same way, and so are unknown paths
under ``/api/v1`` (see :func:`problem_for_http`, called by the application's error
pages).

A server error says nothing was saved only when the request's work was rolled
back before any commit; when the failure came while or after committing, it says
the outcome is unknown, so a client reads the report again before repeating.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from server.api.blueprint import bp
from server.api.schemas import Problem, answer
from server.db import commit_attempted

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://tianbao.example/problems/"
# RFC 6750: a client without (valid) credentials is told which scheme to use.
WWW_AUTHENTICATE = 'Bearer realm="tianbao"'

# code -> (title, default detail)
PROBLEMS: dict[str, tuple[Any, Any]] = {
    "bad_request": (_l("Bad request"),
                    _l("The request could not be understood: check its parameters and body.")),
    "unauthorized": (_l("Authentication required"),
                     _l("Send a valid personal API token: Authorization: Bearer <token>.")),
    "forbidden": (_l("Access denied"),
                  _l("Your account's role does not allow this action.")),
    "not_found": (_l("Not found"),
                  _l("The resource does not exist, or it is outside your account's scope.")),
    "method_not_allowed": (_l("Method not allowed"),
                           _l("This resource does not accept this HTTP method.")),
    "stale_revision": (_l("Stale revision"),
                       _l("The report has changed since you read it. Read it again and "
                          "repeat your change.")),
    "locked": (_l("Report locked"),
               _l("The report is approved and can no longer be changed.")),
    "period_closed": (_l("Period closed"),
                      _l("The period is closed above this report and can no longer be "
                         "changed until it is reopened.")),
    "invalid_state": (_l("Invalid state"),
                      _l("The report is not in a state that allows this action.")),
    "conflict": (_l("Conflict"), _l("The request conflicts with the current state.")),
    "too_large": (_l("Too large"),
                  _l("The request is larger than the server accepts.")),
    "unsupported_media_type": (_l("Unsupported media type"),
                               _l("The request body has a media type this resource does "
                                  "not accept.")),
    "invalid": (_l("Invalid content"),
                _l("The content has errors; see the issues.")),
    "too_soon": (_l("Too soon"),
                 _l("The same request was made too recently; try again later.")),
    "precondition_required": (_l("Precondition required"),
                              _l("Send the revision you read in the If-Match header.")),
    "server_error": (_l("Server error"),
                     _l("The server could not complete the request. Nothing was saved by "
                        "it. Please try again later.")),
}
# A server error while (or after) the request's work was committed: it may have been saved.
OUTCOME_UNKNOWN = _l("The server failed while saving, so it cannot tell whether the change was "
                     "saved. Read the report again before you repeat the request.")

# The machine code of each HTTP status the API answers.
STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large",
    415: "unsupported_media_type", 422: "invalid", 423: "period_closed",
    428: "precondition_required", 429: "too_soon",
    500: "server_error",
}


class ApiError(Exception):
    """An error answered as a problem: ``raise ApiError(404, "not_found")``.

    *detail* defaults to the code's standard text; *extras* become members of the
    body (``current_revision=3``, ``issues=[...]``). *headers* are added to the response.
    """

    def __init__(self, status: int, code: str, detail: Any = None, *,
                 headers: dict[str, str] | None = None, **extras: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extras = extras

    def response(self) -> Response:
        return problem_response(self.status, self.code, self.detail, headers=self.headers,
                                **self.extras)


def problem_response(status: int, code: str, detail: Any = None, *,
                     headers: dict[str, str] | None = None, **extras: Any) -> Response:
    """The problem+json response for *status* and *code*, in the request's language."""
    title, default = PROBLEMS.get(code, (None, None))
    body = Problem(
        type=TYPE_BASE + code if code in PROBLEMS else "about:blank",
        title=str(title) if title is not None else _http_title(status),
        status=status,
        code=code,
        detail=str(detail if detail is not None else default or ""),
        **extras,
    )
    response = answer(body)
    response.status_code, response.mimetype = status, MEDIA_TYPE
    if status == 401:
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_title(status: int) -> str:
    from werkzeug.http import HTTP_STATUS_CODES

    return HTTP_STATUS_CODES.get(status, "Error")


def problem_for_http(error: HTTPException) -> Response:
    """A Werkzeug HTTP error (``abort(404)``, an unknown path, a wrong method) as a problem."""
    status = error.code or 500
    code = STATUS_CODES.get(status, "server_error" if status >= 500 else "bad_request")
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    detail = OUTCOME_UNKNOWN if status >= 500 and commit_attempted() else None
    return problem_response(status, code, detail, headers=headers)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return error.response()


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return problem_for_http(error)
