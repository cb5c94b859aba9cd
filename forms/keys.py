"""Generated keys for what administrators create: stable, unique, never typed.

A key names a section, item, field, column, choice or rule for as long as the
template lives (reports made under old versions are read by key), so a key is
made once, when the thing is created, and never derived again from its label
or position: renaming or moving an item keeps its key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SUFFIX = re.compile(r"^(?P<prefix>[a-z][a-z0-9]*?)_?(?P<n>\d+)$")


class KeyMaker:
    """Hands out ``<prefix>_<n>`` keys not yet taken in one template.

    Seed it with every key the template already has; counters continue after
    the highest number seen for each prefix, so a deleted key is never reused
    (a report saved under it must not be read as the new field).
    """

    def __init__(self, taken: Iterable[str] = ()):
        self._taken: set[str] = set()
        self._next: dict[str, int] = {}
        for key in taken:
            self.reserve(key)

    def __contains__(self, key: object) -> bool:
        return key in self._taken

    def reserve(self, key: str) -> None:
        self._taken.add(key)
        match = _SUFFIX.match(key)
        if match:
            prefix, n = match["prefix"], int(match["n"])
            self._next[prefix] = max(self._next.get(prefix, 1), n + 1)

    def new(self, prefix: str) -> str:
        """A fresh key such as ``item_12``; *prefix* is lower-case ASCII."""
        n = self._next.get(prefix, 1)
        while f"{prefix}_{n}" in self._taken:
            n += 1
        key = f"{prefix}_{n}"
        self.reserve(key)
        return key
