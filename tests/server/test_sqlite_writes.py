"""SQLite's writers of one process wait in a queue: a write transaction has the turn
until it ends, however it ends, and every concurrent write is kept."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from server.db import make_engine
from server.sqlite_writes import queue_writers, writer_queue


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'writes.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    yield engine
    engine.dispose()


def test_the_application_engine_queues_its_writers_and_a_read_takes_no_turn(engine):
    queue = writer_queue(engine)
    assert queue is not None and not queue.taken
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM t")).scalar_one()
        assert not queue.taken
        connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert queue.taken
        connection.execute(text("UPDATE t SET v = 'b'"))  # the same transaction: no wait
        connection.commit()
        assert not queue.taken


@pytest.mark.parametrize("end", ["commit", "rollback", "returned", "invalidated"])
def test_the_turn_ends_with_the_transaction_however_it_ends(engine, end):
    queue = writer_queue(engine)
    connection = engine.connect()
    connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
    assert queue.taken
    if end == "commit":
        connection.commit()
    elif end == "rollback":
        connection.rollback()
    elif end == "returned":
        connection.close()
    else:
        connection.invalidate()
    assert not queue.taken
    connection.close()
    with engine.begin() as other:  # another connection writes at once
        other.execute(text("INSERT INTO t (v) VALUES ('c')"))
    expected = 0 if end in ("rollback", "returned", "invalidated") else 1
    with engine.connect() as reader:
        assert reader.execute(text("SELECT count(*) FROM t WHERE v = 'a'")).scalar_one() \
            == expected


def test_a_writer_waits_for_the_turn_and_writes_once_it_is_free(engine):
    holder = engine.connect()
    holder.execute(text("INSERT INTO t (v) VALUES ('first')"))
    written = threading.Event()

    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t (v) VALUES ('second')"))
        written.set()

    waiter = threading.Thread(target=write)
    waiter.start()
    assert not written.wait(0.3)  # its turn has not come
    holder.commit()
    holder.close()
    assert written.wait(10)
    waiter.join()
    with engine.connect() as reader:
        assert reader.execute(text("SELECT v FROM t ORDER BY id")).scalars().all() \
            == ["first", "second"]


def test_a_writer_that_waits_longer_than_the_timeout_is_told_the_database_is_locked(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'short.db'}", connect_args={"timeout": 0.2})
    queue_writers(engine, 0.2)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (v TEXT)"))
    holder = engine.connect()
    holder.execute(text("INSERT INTO t VALUES ('held')"))
    failures = []

    def write() -> None:
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES ('late')"))
        except OperationalError as error:
            failures.append(str(error))

    waiter = threading.Thread(target=write)
    waiter.start()
    waiter.join(10)
    holder.commit()
    holder.close()
    assert len(failures) == 1 and "database is locked" in failures[0]
    with engine.connect() as reader:
        assert reader.execute(text("SELECT v FROM t")).scalars().all() == ["held"]
    engine.dispose()


def test_concurrent_writers_keep_every_write(engine):
    def write(number: int) -> None:
        for item in range(25):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t (v) VALUES (:v)"),
                                   {"v": f"{number}-{item}"})
                time.sleep(0.001)  # the transaction holds the turn a while, as a save does

    threads = [threading.Thread(target=write, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with engine.connect() as reader:
        assert reader.execute(text("SELECT count(DISTINCT v) FROM t")).scalar_one() == 200
    assert not writer_queue(engine).taken
