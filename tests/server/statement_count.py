"""Counting the SQL statements a piece of work runs (imported by the tests that bound them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session


@contextmanager
def recorded(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements *engine* runs within the block, as a list filled as they run."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def rendered_again(engine: Engine) -> Iterator[list[str]]:
    """The statements *engine* runs within the block whose text SQLAlchemy renders again
    at every execution (an expanding ``IN`` list, a literal-execute parameter): each such
    statement costs its whole text's rendering every time instead of once per process."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, context, _many):
        compiled = context.compiled
        if compiled is not None and (compiled.post_compile_params
                                     or compiled.literal_execute_params):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count_statements(session: Session, call) -> int:
    """How many SQL statements ``call(fresh)`` runs in a fresh session (nothing cached)."""
    fresh = Session(session.get_bind(), expire_on_commit=False)
    try:
        with recorded(fresh.get_bind()) as seen:
            call(fresh)
    finally:
        fresh.close()
    return len(seen)
