"""One process of several does a job: the one holding the job's advisory lock on PostgreSQL.

Several replicas (or worker processes) of a service share one PostgreSQL database; a job that
must run once per database (the outbox relay, the DVCQG sync) runs where `Leadership.lead()`
is true. The lock is `pg_try_advisory_lock` on a connection of its own, so the server releases
it when that connection ends and a replica that dies hands over at once; the others try again
each time they ask. On SQLite there is one process per database file: it always leads.
"""

from __future__ import annotations

import contextlib
import logging
import time
import zlib
from typing import Any

from sqlalchemy import text

from lgsp_kit.db import Database

log = logging.getLogger("lgsp.leader")
# How long a held lock is trusted before its connection is checked again, in seconds.
RECHECK_SECONDS = 1.0


def lock_key(name: str) -> int:
    """The advisory lock's key of a job: a stable signed 64-bit number."""
    return zlib.crc32(name.encode())


class Leadership:
    """Whether this process leads the job `name` on its database. Blocking: call `lead` and
    `resign` from a worker thread."""

    def __init__(self, db: Database, name: str, *, what: str) -> None:
        self.db = db
        self.name = name
        self.what = what  # for the log: "the relay of outbox", "the DVCQG sync"
        self.key = lock_key(name)
        self._conn: Any = None  # the connection holding the lock, while it is held
        self._checked = 0.0

    @property
    def leader(self) -> bool:
        """Whether this process led at the last `lead`: always on SQLite."""
        return self.db.is_sqlite or self._conn is not None

    def lead(self) -> bool:
        """Hold the lock, take it if it is free, or learn that the one held is lost."""
        if self.db.is_sqlite:
            return True
        now = time.monotonic()
        if self._conn is not None:
            if now - self._checked < RECHECK_SECONDS:
                return True
            try:
                self._conn.execute(text("SELECT 1"))
                self._checked = now
                return True
            except Exception:
                log.warning("the lock's connection is lost; %s stops here", self.what)
                self.resign()
        try:
            conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:
            log.warning("%s cannot reach its database: %s", self.what, exc)
            return False
        try:
            # A leader cut off from the server (not closed: a network fault) must not hold the
            # lock for the kernel's two hours: the server probes this session after 10 s idle
            # and drops it after 3 unanswered probes 5 s apart.
            for setting, value in (("idle", 10), ("interval", 5), ("count", 3)):
                conn.execute(text(f"SET tcp_keepalives_{setting} = {value}"))
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                ).scalar_one()
            )
        except Exception as exc:
            conn.close()
            log.warning("%s cannot take its lock: %s", self.what, exc)
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        self._checked = now
        log.info("%s runs in this process (it holds the lock)", self.what)
        return True

    def resign(self) -> None:
        """Let the lock go (a process stopping hands over without waiting for its end)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            with contextlib.suppress(Exception):
                conn.close()
