"""Security headers on every response.

The Content-Security-Policy allows scripts, styles and images from this server only: no
inline script, no inline style attribute, no plugin, no framing by any site, forms posted
only back here. Pages and downloads are personal (a report, a merged workbook, a form
carrying a CSRF token), so every response but a static file says ``no-store``: a shared
or back-button cache never hands one account's page to the next person at the same PC.
Static files keep Flask's own caching. HSTS is sent only when cookies are marked Secure,
that is when the server is known to be reached over HTTPS.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def register_security_headers(app: Flask) -> None:
    """Add the headers to every response of *app*."""
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not _is_static_file():
        headers["Cache-Control"] = "no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def _is_static_file() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")
