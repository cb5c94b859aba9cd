"""How the API answers a service's refusal: one handler, as problem details.

The code is the refusal's and the status follows from it (``server.refusals``);
a stale revision names the ``current_revision``, a report in the wrong state its
``status_now``, invalid input its ``issues`` (an invalid report's, or one for the
input the refusal names). NotVisible answers exactly like an unknown address.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from server.api import serializers
from server.api.blueprint import bp
from server.api.problems import problem_response
from server.refusals import http_status
from server.services.errors import (
    InvalidInput,
    InvalidReport,
    InvalidState,
    NotVisible,
    Refusal,
    StaleRevision,
)


def problem_for_refusal(refusal: Refusal) -> Response:
    """A service's refusal as a problem: its code, the status of that code, its message."""
    if isinstance(refusal, NotVisible):  # exactly as if it did not exist
        return problem_response(404, "not_found")
    extras: dict[str, Any] = {}
    if isinstance(refusal, StaleRevision):
        extras["current_revision"] = refusal.current
    if isinstance(refusal, InvalidState) and refusal.state is not None:
        extras["status_now"] = refusal.state
    if isinstance(refusal, InvalidReport):
        extras["issues"] = serializers.issues(refusal.issues)
    elif isinstance(refusal, InvalidInput):
        extras["issues"] = [serializers.message_issue(refusal.field, refusal.issue,
                                                      str(refusal))]
    return problem_response(http_status(refusal), refusal.code, str(refusal), **extras)


@bp.errorhandler(Refusal)
def _refusal(refusal: Refusal) -> Response:
    return problem_for_refusal(refusal)
