"""Publishes outbox rows to JetStream, deduplicated by `Nats-Msg-Id`; retries while NATS is down.

With several replicas of a service on one PostgreSQL database, one relay publishes: the one
holding the outbox's advisory lock (`lgsp_kit.leader`; a replica that dies hands over at
once). The others wait and try again every `idle_poll`. On SQLite there is one process per
database file, so its relay always publishes. Should a leader lose its lock mid-batch (its
connection cut) and another take over, `Nats-Msg-Id` still makes JetStream drop what both sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Table, delete, func, select

from lgsp_kit.bus import Bus
from lgsp_kit.db import Database
from lgsp_kit.leader import Leadership

log = logging.getLogger("lgsp.relay")
# Seconds a batch's acks may take.
PUBLISH_TIMEOUT = 5.0
# The header of an answer that is a status (no JetStream there: 503), not an ack.
STATUS = "Status"


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
        self.leadership = Leadership(
            db, f"lgsp.outbox-relay.{outbox.name}", what=f"the relay of {outbox.name}"
        )
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ack_inbox: _Acks | None = None

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
        await asyncio.to_thread(self.leadership.resign)

    @property
    def leader(self) -> bool:
        return self.leadership.leader

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
        """Publish a batch without awaiting each ack in turn: the seqs whose ack came within
        `PUBLISH_TIMEOUT`, and the names of the errors of the others. No publish of the loop
        yields to the event loop, so the client writes the whole batch to its socket at once."""
        acks = await self._acks()
        errors: list[str] = []
        for item in batch:
            try:
                await acks.publish(item)
            except Exception as exc:  # the connection lost: the rest waits
                errors.append(type(exc).__name__)
                break
        done, failed = await acks.gathered()
        return done, errors + failed

    async def _acks(self) -> _Acks:
        """The ack inbox of the bus's current connection."""
        nc = self.bus.nc
        if self._ack_inbox is None or self._ack_inbox.nc is not nc:
            self._ack_inbox = _Acks(nc)
            await self._ack_inbox.start()
        return self._ack_inbox

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
            if not await asyncio.to_thread(self.leadership.lead):
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


class _Acks:
    """JetStream's acks of the relay's publishes, on an inbox of the relay's own: each publish
    has the reply subject `<inbox>.<n>`, and the subscription's callback marks `n` done (or
    failed, when the answer is an error or a status such as 503, no JetStream there).

    nats-py's async publish did the same with a token from the OS's random source, a
    semaphore and a future per event, and a JSON parse into a `PubAck` dataclass per ack:
    two fifths of the relay's CPU in the replay once the batch went in one send."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self._inbox = nc.new_inbox()
        self._next = 0
        self._waiting: dict[int, int] = {}  # n -> outbox seq, until its ack comes
        self._done: list[int] = []
        self._failed: list[str] = []
        self._all_in = asyncio.Event()

    async def start(self) -> None:
        await self.nc.subscribe(f"{self._inbox}.*", cb=self._on_ack)

    async def publish(self, item: _Pending) -> None:
        self._next += 1
        self._waiting[self._next] = item.seq
        self._all_in.clear()
        await self.nc.publish(
            item.subject,
            item.payload,
            reply=f"{self._inbox}.{self._next}",
            headers={"Nats-Msg-Id": item.event_id},
        )

    async def gathered(self) -> tuple[list[int], list[str]]:
        """The seqs acknowledged and the errors of the others, once every ack came or after
        `PUBLISH_TIMEOUT` seconds (those still out count as `TimeoutError`; an ack that comes later
        is dropped, the next batch sending the event again)."""
        if self._waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_in.wait(), PUBLISH_TIMEOUT)
        failed = self._failed + ["TimeoutError"] * len(self._waiting)
        done = self._done
        self._waiting, self._done, self._failed = {}, [], []
        return done, failed

    async def _on_ack(self, msg: Msg) -> None:
        seq = self._waiting.pop(int(msg.subject.rpartition(".")[2]), None)
        if seq is None:
            return  # a late ack of a batch already given up on
        status = msg.headers.get(STATUS) if msg.headers else None
        if status is not None:
            self._failed.append(f"status {status}")
        elif "error" in orjson.loads(msg.data):
            self._failed.append("APIError")
        else:
            self._done.append(seq)
        if not self._waiting:
            self._all_in.set()


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
