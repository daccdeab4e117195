"""Database engines, units of work and per-service Alembic migrations."""

from __future__ import annotations

import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Executable,
    MetaData,
    Row,
    Table,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from lgsp_kit import files

# Constraint names Alembic can diff on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def rows(session: Session, statement: Executable) -> Sequence[Row[Any]]:
    """The rows of a Core statement (a table's columns, not a model) on the session's connection:
    no ORM compile step, identity map or instances, for the pages of a list (they were a third
    of a one-row list's SQLAlchemy time). A row reads by attribute as the model does."""
    return session.connection().execute(statement).all()


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Any]) -> None:
    """Rows into a PostgreSQL table in one `COPY … FROM STDIN`, each a sequence of values in
    the order of `columns`, as the driver takes them: no bind processing and no statement a
    row (psycopg runs an executemany as one INSERT a row). New rows only: a conflict fails
    the whole COPY."""
    raw = conn.connection.driver_connection
    assert raw is not None
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def table_of(model: type[Any]) -> Table:
    """A table model's Core table, typed (SQLModel does not declare `__table__`)."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for `postgresql://` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _ensure_sqlite_dir(url: str) -> None:
    """The database file's dir (0700 when made here) and the file itself, owner-only (0600)
    before SQLite opens it: SQLite gives its -wal and -shm files the database file's mode."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(mode=files.DIR_MODE, parents=True, exist_ok=True)
            files.private_file(Path(path))
            for suffix in ("-wal", "-shm"):
                if Path(path + suffix).exists():
                    files.private_file(Path(path + suffix))


def sqlite_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY) or "database table is locked"
    (SQLITE_LOCKED), told by the error's code (its extended code's low byte)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _enable_wal(cur: Any, wait_seconds: float = 30.0) -> None:
    """Switch a database file to WAL. The switch needs the file to itself and does not wait on
    the busy timeout: connections opening a new database at once got "database is locked"."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if not sqlite_locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def make_engine(url: str, *, pool_size: int = 10, immediate: bool = True) -> Engine:
    url = normalise_url(url)
    _ensure_sqlite_dir(url)
    if url.startswith("sqlite"):
        # A pool of connections: opening one (and its PRAGMAs) per unit of work costs more
        # than the work itself.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=60,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                _enable_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            # A checkpoint every 40 MB of WAL rather than every 4 MB: each one ends with an fsync,
            # which under a bulk sync cost a tenth of the wall time (measured: 100,000 synced
            # records 5,063 → 5,639 records/s).
            cur.execute("PRAGMA wal_autocheckpoint=10000")
            cur.close()

        # Writers take the write lock up front (two writers never deadlock on lock upgrade);
        # readers begin a plain transaction: a consistent snapshot that waits for no writer.
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # On the driver's connection: through SQLAlchemy's execution path this statement
            # cost a third of a one-row read.
            driver = conn.connection.driver_connection
            # A reader's snapshot may have begun already, under a prepared read of the same
            # unit (`lgsp_kit.reads`): the session's statements join it.
            if immediate or not driver.in_transaction:
                driver.execute(begin)

        # Let SQLAlchemy's "begin" event issue BEGIN itself instead of pysqlite.
        @event.listens_for(engine, "connect", insert=True)
        def _sqlite_no_autobegin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    # Every connection kept (no overflow): an overflow connection is closed as it comes back
    # whenever the pool holds its `pool_size` already, and under 32 desks the dossier service
    # opened a new PostgreSQL session every 6 dossiers (a server process forked, authenticated
    # and warmed each time). The most at once is the same as before, twice `pool_size`.
    engine = create_engine(url, pool_size=2 * pool_size, max_overflow=0, pool_recycle=1800)
    _ping_when_idle(engine)
    return engine


# A pooled connection idle longer than this is pinged before use. SQLAlchemy's `pool_pre_ping`
# pings on every checkout: a round trip of every unit of work (a ninth of a submit's). A
# connection in steady use needs none; one that a server restart or a network cut killed while
# in use fails its unit with 503 (`lgsp_kit.errors`), which the unit of work retries once when
# its commit was not yet sent (`lgsp_kit.sessions`), and SQLAlchemy then replaces every
# connection of the pool that was opened before the failure.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool discards the connection and checks out another (a new one if need be).
            raise DisconnectionError(f"a pooled connection is dead: {exc}") from exc


class Database:
    """One engine and its units of work: a session commits once, at the end."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        # Reads that need no write lock (the relay's scan, metrics, readiness): on SQLite a
        # second engine whose statements do not queue behind the writers (WAL lets them run).
        self.reader = (
            make_engine(self.url, pool_size=8, immediate=False)
            if self.engine.dialect.name == "sqlite"
            else self.engine
        )
        # Called after every commit (the outbox relay wakes up on it).
        self.commit_hooks: list[Callable[[], None]] = []
        # SQLite has one writer at a time. Writers of this process queue on a lock instead of
        # on SQLite's busy handler, which polls with sleeps of up to 100 ms: under load that
        # poll, not the work, set both the throughput and the tail latency. A plain lock, not
        # an RLock: a request's unit of work (lgsp_kit.sessions) takes it in one thread and
        # commits, then releases it, in another.
        self.write_lock: threading.Lock | None = threading.Lock() if self.is_sqlite else None
        self._write_lock: AbstractContextManager[Any] = self.write_lock or nullcontext()
        # The reader connection of the event loop's thread (`lgsp_kit.sessions.LoopReader`).
        self.loop_reader: Any = None

    def writing(self) -> AbstractContextManager[Any]:
        """Held around a write transaction: a lock on SQLite, nothing on PostgreSQL."""
        return self._write_lock

    def committed(self) -> None:
        """Run the commit hooks (the outbox relay wakes up on them)."""
        for hook in self.commit_hooks:
            hook()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._write_lock, Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
        self.committed()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only (a GET): a snapshot on the reader engine, never the write
        lock. On SQLite a read in `session()` began with BEGIN IMMEDIATE and queued behind
        every writer (and they behind it): the documents service's organ list spent a tenth of
        its time waiting there. Nothing is committed: a write here is rolled back."""
        with Session(self.reader) as session:  # closing it rolls back
            yield session

    def ping(self) -> None:
        with self.reader.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self.loop_reader is not None:
            self.loop_reader.close()
            self.loop_reader = None
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()


# What a database that is unreachable, restarting or busy raises.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, DisconnectionError)


def unavailable(exc: BaseException) -> bool:
    """The database is out of reach for the moment (retrying later may succeed), as opposed to
    a bug. SQLite's operational errors are bugs (a missing table, a bad statement) except
    "database is locked"."""
    if not isinstance(exc, UNAVAILABLE_ERRORS):
        return False
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.Error):
        return sqlite_locked(orig)
    return True


def alembic_config(migrations_dir: Path, url: str) -> Config:
    _ensure_sqlite_dir(normalise_url(url))
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(migrations_dir: Path, url: str) -> None:
    """Apply every migration. On PostgreSQL under a lock of the database: the worker processes
    of one service (`workers`), or its replicas, start at once and each upgrades on start;
    unserialised, the second created the tables the first had just created, and died."""
    if not normalise_url(url).startswith("postgresql"):
        command.upgrade(alembic_config(migrations_dir, url), "head")
        return
    key = zlib.crc32(b"lgsp.migrations")
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                command.upgrade(alembic_config(migrations_dir, url), "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()


def check(migrations_dir: Path, url: str) -> None:
    """Fail when the models and the migrations differ (`alembic check`)."""
    command.check(alembic_config(migrations_dir, url))


def dialect_insert(session: Any) -> Any:
    """The dialect's INSERT, whose `on_conflict_do_update` both SQLite and PostgreSQL know."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
