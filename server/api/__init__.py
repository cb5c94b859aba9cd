"""The JSON API, version 1: the same services as the web pages, for scripts and platforms.

Requests authenticate with a personal token (``Authorization: Bearer …``); there is
no session cookie, so CSRF protection does not apply to this blueprint.
"""

# Importing the modules registers their hooks (authentication, problem and refusal
# responses) and routes.
from server.api import (  # noqa: F401
    account,
    auth,
    consolidations,
    events,
    jobs,
    notifications,
    openapi,
    problems,
    refusals,
    reminders,
    reports,
    tasks,
)
from server.api.blueprint import bp

__all__ = ["bp"]
