"""Units of work on SQLite: writers of one process wait their turn on a lock, not on SQLite's
busy handler (which polls with sleeps of up to 100 ms)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import text

from lgsp_kit.db import Database


def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.session() as s:
        s.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
    return db


def test_a_second_writer_waits_for_the_first_and_starts_as_soon_as_it_commits(
    tmp_path: Path,
) -> None:
    db = _db(tmp_path)
    holding = threading.Event()
    committed_at: list[float] = []
    started_at: list[float] = []

    def first() -> None:
        with db.session() as s:
            s.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            time.sleep(0.3)
        committed_at.append(time.monotonic())

    def second() -> None:
        holding.wait()
        with db.session() as s:
            started_at.append(time.monotonic())
            s.execute(text("INSERT INTO t VALUES (2)"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    # The second unit of work began after the first committed, promptly: woken by the lock
    # rather than by a busy-handler sleep.
    assert started_at[0] >= committed_at[0] - 0.01
    assert started_at[0] - committed_at[0] < 0.05
    with db.reader.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY rowid")).scalars().all() == [1, 2]


def test_many_threads_writing_at_once_all_commit(tmp_path: Path) -> None:
    db = _db(tmp_path)

    def writer(k: int) -> None:
        for i in range(25):
            with db.session() as s:
                s.execute(text("INSERT INTO t VALUES (:n)"), {"n": k * 100 + i})

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with db.reader.connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT n) FROM t")).scalar_one() == 16 * 25


def test_a_failed_unit_of_work_releases_the_lock(tmp_path: Path) -> None:
    db = _db(tmp_path)
    try:
        with db.session() as s:
            s.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    done = threading.Event()

    def writer() -> None:
        with db.session() as s:
            s.execute(text("INSERT INTO t VALUES (2)"))
        done.set()

    threading.Thread(target=writer).start()
    assert done.wait(5)
    with db.reader.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalars().all() == [2]


def test_sqlite_connections_checkpoint_every_40_mb_of_wal(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 10000
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"


def test_a_new_database_held_by_another_process_is_waited_for(tmp_path: Path) -> None:
    # A new file (as a migration tool leaves it: not yet WAL) that another process is writing:
    # switching it to WAL does not wait on the busy timeout, and failed at once with "database
    # is locked".
    path = tmp_path / "fresh.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (n INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (0)")  # holds the write lock
    began = time.monotonic()  # the lock is let go 0.3 s from here, not before
    threading.Timer(0.3, other.execute, args=("COMMIT",)).start()
    db = Database(f"sqlite:///{path}")
    with db.session() as session:
        session.connection().execute(text("INSERT INTO t VALUES (1)"))
    assert time.monotonic() - began >= 0.25
    with db.session() as session:
        assert session.connection().execute(text("PRAGMA journal_mode")).scalar() == "wal"
    db.dispose()
    other.close()


def test_a_read_does_not_wait_for_a_writer_and_sees_what_was_committed(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with db.session() as session:
        session.connection().execute(text("INSERT INTO t VALUES (1)"))
    released = threading.Event()
    holding = threading.Event()

    def writer() -> None:
        with db.session() as session:
            session.connection().execute(text("INSERT INTO t VALUES (2)"))
            holding.set()
            released.wait(5)

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(5)
    began = time.monotonic()
    with db.reading() as session:  # the write lock is held: a write session would wait
        seen = session.connection().execute(text("SELECT n FROM t ORDER BY n")).scalars().all()
    assert time.monotonic() - began < 0.5
    assert seen == [1]  # the open transaction is not seen
    released.set()
    thread.join()
    with db.reading() as session:
        assert session.connection().execute(text("SELECT count(*) FROM t")).scalar() == 2
        session.connection().execute(text("INSERT INTO t VALUES (3)"))
    with db.reading() as session:  # a read session commits nothing
        assert session.connection().execute(text("SELECT count(*) FROM t")).scalar() == 2
    db.dispose()
