"""Files sent to the browser or an API client, shared by the pages and the API."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO

from flask import Response, send_file

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def send_written(write: Callable[[IO[bytes]], object], mimetype: str, name: str) -> Response:
    """Write with *write* into an anonymous temporary file, then stream that file.

    A merged workbook of thousands of units never sits in memory as one
    response body. ``send_file`` adds the RFC 5987 ``filename*`` when *name* is
    not ASCII.
    """
    output = tempfile.TemporaryFile()  # noqa: SIM115  (closed by the response once sent)
    try:
        write(output)
        size = output.tell()
        output.seek(0)
    except BaseException:
        output.close()
        raise
    response = send_file(output, mimetype=mimetype, as_attachment=True, download_name=name,
                         max_age=0)
    response.content_length = size
    return response
