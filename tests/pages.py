"""Reading the pages the test client gets back, in a language the test chooses."""

from __future__ import annotations

from html import unescape

# Pin the language of a page with these request headers rather than accepting either.
EN = {"Accept-Language": "en"}


def text(response) -> str:
    """The page as a person reads it: entities (``&#39;``, ``&amp;``) turned back into text."""
    return unescape(response.get_data(as_text=True))
