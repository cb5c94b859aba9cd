"""Counting the SQL statements a piece of work runs (imported by the tests that bound them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session


def recorded(engine: Engine) -> AbstractContextManager[list[str]]:
    """The SQL statements *engine* runs within the block, as a list filled as they run."""
    return _listening(engine, lambda _context: True)


def rendered_again(engine: Engine) -> AbstractContextManager[list[str]]:
    """The statements *engine* runs within the block whose text SQLAlchemy renders again
    at every execution (an expanding ``IN`` list, a literal-execute parameter): each such
    statement costs its whole text's rendering every time instead of once per process."""
    return _listening(engine, lambda context: context.compiled is not None and bool(
        context.compiled.post_compile_params or context.compiled.literal_execute_params))


@contextmanager
def _listening(engine: Engine, keep: Callable[[Any], bool]) -> Iterator[list[str]]:
    """The statements *engine* runs within the block whose execution context *keep*
    accepts, as a list filled as they run."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, context, _many):
        if keep(context):
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
