"""Publishes outbox rows to JetStream, deduplicated by `Nats-Msg-Id`; retries while NATS is down.

With several replicas of a service on one PostgreSQL database, one relay publishes: the one
holding the outbox's advisory lock (`pg_try_advisory_lock`, on a connection of its own; the
server releases it when that connection ends, so a replica that dies hands over at once). The
others wait and try again every `idle_poll`. On SQLite there is one process per database file,
so its relay always publishes. Should a leader lose its lock mid-batch (its connection cut) and
another take over, `Nats-Msg-Id` still makes JetStream drop what both sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Table, delete, func, select, text

from lgsp_kit.bus import Bus
from lgsp_kit.db import Database

log = logging.getLogger("lgsp.relay")
# Seconds a batch's acks may take, and a publish may wait for a place among the pending ones.
PUBLISH_TIMEOUT = 5.0


@dataclass(frozen=True)
class _Pending:
    seq: int
    event_id: str
    subject: str
    payload: bytes


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        outbox: Table,
        bus: Bus,
        *,
        batch_size: int = 500,
        idle_poll: float = 1.0,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.bus = bus
        self.batch_size = batch_size
        self.idle_poll = idle_poll
        self.published = 0
        # Whether this relay publishes: always on SQLite; on PostgreSQL while it holds the lock.
        self.leader = db.is_sqlite
        self._lock_key = lock_key(outbox.name)
        self._lock_conn: Any = None
        self._lock_checked = 0.0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def notify(self) -> None:
        """Wake the relay; safe to call from any thread (commits happen in worker threads)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.db.commit_hooks.append(self.notify)
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Publish what is pending if NATS is reachable, then stop; rows left wait for restart."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, drain_timeout)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        if self.notify in self.db.commit_hooks:
            self.db.commit_hooks.remove(self.notify)
        await asyncio.to_thread(self._resign)

    def _lead(self) -> bool:
        """Hold the outbox's advisory lock (PostgreSQL), or learn that the one held is lost."""
        if self.db.is_sqlite:
            return True
        now = time.monotonic()
        if self._lock_conn is not None:
            if now - self._lock_checked < 1.0:
                return True
            try:
                self._lock_conn.execute(text("SELECT 1"))
                self._lock_checked = now
                return True
            except Exception:
                log.warning("the relay lock's connection is lost; this relay stops publishing")
                self._resign()
        try:
            conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:
            log.warning("the relay cannot reach its database: %s", exc)
            return False
        try:
            # A leader cut off from the server (not closed: a network fault) must not hold the
            # lock for the kernel's two hours: the server probes this session after 10 s idle
            # and drops it after 3 unanswered probes 5 s apart.
            for name, value in (("idle", 10), ("interval", 5), ("count", 3)):
                conn.execute(text(f"SET tcp_keepalives_{name} = {value}"))
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._lock_key}
                ).scalar_one()
            )
        except Exception as exc:
            conn.close()
            log.warning("the relay cannot take its lock: %s", exc)
            return False
        if not got:
            conn.close()
            return False
        self._lock_conn = conn
        self._lock_checked = now
        log.info("this relay publishes %s (it holds the lock)", self.outbox.name)
        return True

    def _resign(self) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._lock_key})
            with contextlib.suppress(Exception):
                conn.close()
        self.leader = self.db.is_sqlite

    def backlog(self) -> int:
        with self.db.reader.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.outbox)).scalar_one())

    def _fetch(self) -> list[_Pending]:
        t = self.outbox.c
        with self.db.reader.connect() as conn:
            rows = conn.execute(
                select(t.seq, t.event_id, t.subject, t.payload)
                .order_by(t.seq)
                .limit(self.batch_size)
            ).all()
        return [_Pending(r.seq, r.event_id, r.subject, bytes(r.payload)) for r in rows]

    def _forget(self, seqs: list[int]) -> None:
        with self.db.writing(), self.db.engine.begin() as conn:
            conn.execute(delete(self.outbox).where(self.outbox.c.seq.in_(seqs)))

    async def _publish_all(self, batch: list[_Pending]) -> tuple[list[int], list[str]]:
        """Publish a batch without awaiting each ack in turn (JetStream's async publish: the
        acks come back on one reply subscription, no request and timer per event): the seqs
        whose ack came within `PUBLISH_TIMEOUT`, and the names of the errors of the others."""
        js = self.bus.js
        sent: list[tuple[int, asyncio.Future[Any]]] = []
        errors: list[str] = []
        for item in batch:
            try:
                future = await js.publish_async(
                    item.subject,
                    item.payload,
                    headers={"Nats-Msg-Id": item.event_id},
                    wait_stall=PUBLISH_TIMEOUT,
                )
            except Exception as exc:  # the connection lost or stalled: the rest waits
                errors.append(type(exc).__name__)
                break
            sent.append((item.seq, future))
        if sent:
            _, late = await asyncio.wait([f for _, f in sent], timeout=PUBLISH_TIMEOUT)
            for future in late:
                future.cancel()  # frees its place among the pending publishes
        done = []
        for seq, future in sent:
            if future.cancelled():
                errors.append("TimeoutError")
            elif (failure := future.exception()) is not None:
                errors.append(type(failure).__name__)
            else:
                done.append(seq)
        return done, errors

    async def _run(self) -> None:
        delay = 0.2
        while True:
            self._wake.clear()
            if not self.bus.connected:
                if self._stopping:
                    return
                await self._sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.leader = await asyncio.to_thread(self._lead)
            if not self.leader:
                # Another replica publishes: wait for its lock to come free.
                if self._stopping:
                    return
                await self._sleep(self.idle_poll)
                continue
            try:
                batch = await asyncio.to_thread(self._fetch)
            except Exception:
                log.exception("reading the outbox failed")
                await self._sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if not batch:
                if self._stopping:
                    return
                await self._sleep(self.idle_poll)
                continue
            done, errors = await self._publish_all(batch)
            if done:
                await asyncio.to_thread(self._forget, done)
                self.published += len(done)
            if len(done) < len(batch):
                log.warning(
                    "%d events not published (%s); retrying",
                    len(batch) - len(done),
                    ", ".join(sorted(set(errors))) or "not sent",
                )
                if self._stopping:
                    return
                await self._sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                delay = 0.2

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


def lock_key(table: str) -> int:
    """The advisory lock's key of an outbox table: a stable signed 64-bit number."""
    return zlib.crc32(f"lgsp.outbox-relay.{table}".encode())


class BacklogCollector(Collector):
    """`lgsp_outbox_backlog{app}`: events written but not yet acknowledged by JetStream;
    `lgsp_outbox_relay_leader{app}`: 1 when this replica's relay is the one publishing."""

    def __init__(self, relay: OutboxRelay, app_name: str) -> None:
        self.relay = relay
        self.app_name = app_name

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "lgsp_outbox_backlog",
            "Events in the outbox waiting to be published to JetStream",
            labels=["app"],
        )
        gauge.add_metric([self.app_name], self.relay.backlog())
        yield gauge
        leader = GaugeMetricFamily(
            "lgsp_outbox_relay_leader",
            "1 when this replica's relay publishes the outbox (it holds the database lock)",
            labels=["app"],
        )
        leader.add_metric([self.app_name], 1 if self.relay.leader else 0)
        yield leader
