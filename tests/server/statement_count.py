"""Counting the SQL statements a piece of work runs (imported by the tests that bound them)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session


def count_statements(session: Session, call) -> int:
    """How many SQL statements ``call(fresh)`` runs in a fresh session (nothing cached)."""
    fresh = Session(session.get_bind(), expire_on_commit=False)
    seen: list[str] = []

    def record(*args):
        seen.append(args[2])

    event.listen(fresh.get_bind(), "before_cursor_execute", record)
    try:
        call(fresh)
    finally:
        event.remove(fresh.get_bind(), "before_cursor_execute", record)
        fresh.close()
    return len(seen)
