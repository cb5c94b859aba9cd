"""Unit tags: short words on units (危化, 粉尘涉爆, 有限空间, 规模以上) that say which
duties of a plan apply to them (``unit_has('危化')`` in ``applies_when``).

Pure: the unit import, the administrators' form and the API read tags with
:func:`parse_tags`, so they are one rule everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from forms.i18n import N_

MAX_TAG_LENGTH = 20
MAX_TAGS = 20
# People separate tags as they write lists: 、 , ， ; ； or spaces.
SEPARATORS = re.compile(r"[、,，;；\s\u3000]+")
_FORBIDDEN = re.compile(r"[\"'‘’“”()（）]")

# The tags the built-in catalogue scopes duties by, offered as suggestions.
COMMON_TAGS = ("危化", "粉尘涉爆", "有限空间", "规模以上", "高危", "劳动密集型", "涉氨制冷",
               "民爆", "特种设备")


class TagError(ValueError):
    """A tag list that cannot be read: ``message`` is an English msgid with ``params``."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        self.code = code
        self.message = message
        self.params = params
        super().__init__(message % params)


def parse_tags(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """The tags in *text* (or a list of them), in order, without repeats."""
    if text is None:
        return ()
    parts = SEPARATORS.split(text) if isinstance(text, str) else [
        piece for item in text for piece in SEPARATORS.split(str(item))]
    tags: list[str] = []
    for part in parts:
        tag = part.strip()
        if not tag or tag in tags:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise TagError("tag_too_long", N_("The tag “%(tag)s” is longer than %(limit)s "
                                              "characters."), tag=tag, limit=MAX_TAG_LENGTH)
        if _FORBIDDEN.search(tag):
            raise TagError("tag_characters", N_("The tag “%(tag)s” may not contain quotes or "
                                                "brackets."), tag=tag)
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise TagError("too_many_tags", N_("A unit has at most %(limit)s tags."), limit=MAX_TAGS)
    return tuple(tags)


def format_tags(tags: Iterable[str]) -> str:
    """Tags as people write them: 危化、有限空间."""
    return "、".join(tags)
