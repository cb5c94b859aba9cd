"""Photos and documents attached to event reports: JPEG, PNG and PDF, checked by content.

The name and the browser's content type are not trusted: the bytes must be one
of the three formats, look whole (a PNG's header chunk, a JPEG's frame header
with its dimensions and its end marker, a PDF's header and ``%%EOF``), and the
file name's extension must say the same format, so a PNG renamed ``.pdf`` is
refused rather than served under the wrong type.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
EXTENSIONS = {JPEG: (".jpg", ".jpeg"), PNG: (".png",), PDF: (".pdf",)}
ACCEPT = ",".join(ext for exts in EXTENSIONS.values() for ext in exts)
MAX_PIXELS_SIDE = 30_000  # larger than any camera; beyond it the header is forged

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Checked:
    """A file found to be a JPEG, PNG or PDF (``content_type``), or why not (``problem``)."""

    content_type: str | None = None
    problem: str | None = None  # "type", "damaged" or "extension"


def check(data: bytes, filename: str) -> Checked:
    """What *data* is, judged on its content, and whether *filename* agrees."""
    if data.startswith(_PNG_SIGNATURE):
        content_type, whole = PNG, _png_whole(data)
    elif data.startswith(b"\xff\xd8\xff"):
        content_type, whole = JPEG, _jpeg_whole(data)
    elif data.startswith(b"%PDF-"):
        content_type, whole = PDF, _pdf_whole(data)
    else:
        return Checked(problem="type")
    if not whole:
        return Checked(problem="damaged")
    if not filename.lower().endswith(EXTENSIONS[content_type]):
        return Checked(problem="extension")
    return Checked(content_type=content_type)


def _sane(width: int, height: int) -> bool:
    return 0 < width <= MAX_PIXELS_SIDE and 0 < height <= MAX_PIXELS_SIDE


def _png_whole(data: bytes) -> bool:
    """The IHDR chunk comes first with a valid CRC and dimensions, and IEND closes the file."""
    if len(data) < 8 + 25 + 12:
        return False
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        return False
    body, (crc,) = data[16:29], struct.unpack(">I", data[29:33])
    if zlib.crc32(kind + body) != crc:
        return False
    width, height = struct.unpack(">II", body[:8])
    return _sane(width, height) and b"IEND" in data[-12:]


# Start-of-frame markers carry the image's dimensions (C4, C8 and CC are not frames).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_whole(data: bytes) -> bool:
    """The segments up to the first frame header are well formed, the frame has sane
    dimensions, and the end-of-image marker is there."""
    if b"\xff\xd9" not in data[-64:]:
        return False
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            return False
        if marker in _SOF:
            if length < 8:
                return False
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return _sane(width, height)
        if marker == 0xDA:  # image data before any frame header
            return False
        pos += 2 + length
    return False


def _pdf_whole(data: bytes) -> bool:
    """A version in the header, and ``%%EOF`` near the end (after any trailing blank lines)."""
    version = data[5:8]
    return (len(version) == 3 and version[:1] in b"12" and version[1:2] == b"."
            and version[2:3].isdigit() and b"%%EOF" in data[-1024:])
