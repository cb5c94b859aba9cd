"""SQLite's writers of one process take turns in a queue instead of polling the file lock.

SQLite lets one connection write at a time. A connection that finds the write lock
taken calls its busy handler, which sleeps and tries again, sleeping longer each time
(1, 2, 5, 10, 15, 20, 25, … 100 ms): the lock may be free for most of that sleep while
threads that came later take it first. With the saves of several threads of a worker
competing, the unlucky ones waited hundreds of milliseconds for a lock held a few
milliseconds at a time. Here the threads of a process wait for one another on a lock
of the engine, which hands over as soon as it is released; only the writers of other
processes (other workers, the job runner) still meet through SQLite's busy handler.

A connection joins the queue at its first write statement (the driver begins the
transaction there) and leaves it when the transaction ends: commit, rollback, its
return to the pool or the connection's end, whichever comes first.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

# The statements that take SQLite's write lock; a transaction's first statement is one of
# them (the driver begins it there), reads before it run outside any transaction.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


_QUEUES: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


class WriterQueue:
    """The write turn of an engine's connections within this process."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._holder: object | None = None  # the DBAPI connection whose turn it is

    def enter(self, dbapi_connection: object) -> None:
        """Wait for *dbapi_connection*'s turn; as SQLite would, give up after the timeout."""
        if self._holder is dbapi_connection:
            return
        if not self._lock.acquire(timeout=self.timeout):
            raise OperationalError("(writer queue)", None,
                                   Exception("database is locked"))  # what SQLite says
        self._holder = dbapi_connection

    def leave(self, dbapi_connection: object) -> None:
        """End *dbapi_connection*'s turn, if it has it."""
        if dbapi_connection is not None and self._holder is dbapi_connection:
            self._holder = None
            self._lock.release()

    @property
    def taken(self) -> bool:
        """Whether a connection has the turn (a write transaction is open)."""
        return self._lock.locked()


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The queue of *engine*'s writers, if it has one."""
    return _QUEUES.get(engine)


def queue_writers(engine: Engine, timeout: float) -> WriterQueue:
    """Make *engine*'s writers of this process wait in a queue; *timeout* as the busy
    timeout its connections have."""
    queue = _QUEUES[engine] = WriterQueue(timeout)
    dialect = engine.dialect

    def then_leave(end: Callable[[Any], None]) -> Callable[[Any], None]:
        def ended_by(dbapi_connection) -> None:
            try:
                end(dbapi_connection)
            finally:
                queue.leave(_raw(dbapi_connection))
        return ended_by

    def before_execute(connection, _cursor, statement, *_args) -> None:
        if statement.lstrip()[:7].upper().startswith(_WRITES):
            queue.enter(connection.connection.dbapi_connection)

    def ended(dbapi_connection, *_args) -> None:
        queue.leave(dbapi_connection)

    # The pool rolls back a connection it takes back through the dialect too.
    dialect.do_commit = then_leave(dialect.do_commit)
    dialect.do_rollback = then_leave(dialect.do_rollback)
    event.listen(engine, "before_cursor_execute", before_execute)
    for name in ("checkin", "close", "close_detached", "invalidate", "soft_invalidate",
                 "detach"):
        event.listen(engine.pool, name, ended)
    return queue


def _raw(connection) -> object:
    """The DBAPI connection behind what the dialect was given (the pool passes its own
    wrapper when it rolls back a connection it takes back)."""
    return getattr(connection, "dbapi_connection", connection)
