"""The signed-cookie session of the web pages, and none for the API.

API clients authenticate every request with a bearer token (``server.api.auth``) and
choose their language with ``Accept-Language``: nothing of theirs lives in a cookie
session, so reading, verifying and re-signing one would be work for nothing on the
most frequent requests (an API save). An API request gets Flask's null session, which
is never saved and refuses writes, so nothing can come to depend on it by accident.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSessionInterface

from server.i18n import API_PREFIX


class PageSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, for every request but the API's."""

    def open_session(self, app: Flask, request: Request):
        if request.path.startswith(API_PREFIX):
            return None  # Flask then makes a null session, which it never saves
        return super().open_session(app, request)


def init_sessions(app: Flask) -> None:
    app.session_interface = PageSessions()
