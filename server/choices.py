"""Options of the pages' select fields, as WTForms takes them.

WTForms 3.3 deprecates ``(value, label)`` pairs and 3.4 drops them, so every
select built from pairs goes through :func:`options`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """``SelectChoice`` options from ``(value, label)`` pairs, in their order."""
    return [SelectChoice(value, label) for value, label in pairs]
