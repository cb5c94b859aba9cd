"""JSON over HTTP POST with a time-out, for the robot webhooks and the SMS gateway."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from server.channels import IDEMPOTENCY_HEADER, SendError

# Client errors that a later attempt may get past (time-out, rate limit).
RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})


def post_json(url: str, body: Any, *, key: str, timeout: float,
              headers: dict[str, str] | None = None) -> Any:
    """POST *body* as JSON; the decoded answer (``None`` when it is not JSON).

    A 5xx answer, a refused connection or a time-out raises a retryable
    :class:`SendError`; any other 4xx a permanent one.
    """
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        IDEMPOTENCY_HEADER: key,
        **(headers or {}),
    })
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as exc:
        permanent = 400 <= exc.code < 500 and exc.code not in RETRYABLE_CLIENT_ERRORS
        raise SendError(f"HTTP {exc.code}", permanent=permanent) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(f"{type(exc).__name__}: {reason}") from None
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return None
