"""Heading numbers as Chinese official documents print them.

The hierarchy is fixed by convention (GB/T 9704): ``一、`` then ``（一）`` then
``1.`` then ``（1）``. A reader only needs to know the level of a paragraph's
number and the words after it; the number is kept as printed (without its
trailing mark) because that is how people refer to the item.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

CN_DIGITS = "零一二三四五六七八九十百"

_PATTERNS = (
    (1, re.compile(rf"^([{CN_DIGITS}]{{1,4}})\s*[、.．]\s*(.*)$", re.S)),
    (2, re.compile(rf"^[（(]\s*([{CN_DIGITS}]{{1,4}})\s*[)）]\s*[、.．]?\s*(.*)$", re.S)),
    (3, re.compile(r"^(\d{1,3})\s*[.．、](?!\d)\s*(.*)$", re.S)),
    (4, re.compile(r"^[（(]\s*(\d{1,3})\s*[)）]\s*(.*)$", re.S)),
)

# Markup a plain-text copy of a document may carry: Markdown headings and bold.
_MARKUP = re.compile(r"\*\*|__|^#+\s*")
_SENTENCE_END = re.compile(r"[。！？!?]")
_TRAILING = " \t\u3000。；;，,：:、"


@dataclass(frozen=True)
class Numbered:
    level: int  # 1 一、  2 （一）  3 1.  4 （1）
    number: str  # as printed, without the trailing mark: "一", "（一）", "1", "（1）"
    rest: str  # the words after the number


def clean(text: str) -> str:
    """The text without Markdown markup, with runs of spaces collapsed."""
    text = _MARKUP.sub("", text.strip())
    return re.sub(r"[ \t\u3000]+", " ", text).strip()


def numbered(text: str) -> Numbered | None:
    """The heading number at the start of *text*, or None."""
    text = clean(text)
    for level, pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            number = match.group(1)
            if level == 2 or level == 4:
                number = f"（{number}）"
            return Numbered(level, number, match.group(2).strip())
    return None


def first_sentence(text: str) -> tuple[str, str]:
    """Split *text* after its first sentence: (sentence without its stop, the rest)."""
    text = clean(text)
    match = _SENTENCE_END.search(text)
    if not match:
        return text.rstrip(_TRAILING), ""
    return text[: match.start()].rstrip(_TRAILING), text[match.end():].strip()


def strip_title(text: str) -> str:
    """A heading's words without the trailing full stop or colon."""
    return clean(text).rstrip(_TRAILING)


def comparable(text: str) -> str:
    """*text* reduced to its words, to tell whether two printings say the same."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", clean(text))).lower()
