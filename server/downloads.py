"""Files sent to the browser or an API client, shared by the pages and the API."""

from __future__ import annotations

import tempfile
import unicodedata
from collections.abc import Callable
from typing import IO
from urllib.parse import quote

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
    response.headers["Content-Disposition"] = content_disposition(name)
    return response


def content_disposition(name: str) -> str:
    """``attachment`` with *name*, and an ASCII fallback for clients without RFC 6266.

    Werkzeug's fallback drops the Chinese part of a name such as
    ``合并-chidian-progress-CHIDIAN-2026Q2.xlsx`` and leaves a leading dash; this
    one trims what is left at the edges of the stem.
    """
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        stem, dot, extension = name.rpartition(".")
        if not dot:
            stem, extension = name, ""
        plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
        fallback = (plain.strip(" -_.") or "download") + (f".{extension}" if dot else "")
        quoted = quote(name, safe="!#$&+-.^_`|~")
        return f"attachment; filename=\"{_escaped(fallback)}\"; filename*=UTF-8''{quoted}"
    return f'attachment; filename="{_escaped(name)}"'


def _escaped(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')
