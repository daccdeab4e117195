"""A durable JetStream pull consumer that applies each event exactly once.

A fetched batch is applied in one database transaction together with the ids of the events it
applied; messages are acknowledged only after that commit. A crash before the commit loses
nothing (JetStream redelivers), a crash after it counts nothing twice (the ids are known).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from contracts.events import Envelope, UnknownEventType, parse_event
from lgsp_kit.bus import Bus
from lgsp_kit.db import Database, dialect_insert

log = logging.getLogger("lgsp.consumer")

Handler = Callable[[Session, list[Envelope]], None]
# The statuses a pull request's answer may carry (the `Status` header of a message with no data).
STATUS, DESCRIPTION = "Status", "Description"
HEARTBEAT, NO_MESSAGES, EXPIRED = "100", "404", "408"
# A batch's transaction is tried this many times when the database breaks it off (a deadlock
# between replicas, a lock held too long) before the batch goes back to JetStream.
_ATTEMPTS = 3


def producer_of(subject: str) -> str:
    """`lgsp.dossier` for `lgsp.dossier.dossier.submitted`: the service that owns a subject."""
    return ".".join(subject.split(".")[:2])


class EventConsumer:
    def __init__(
        self,
        db: Database,
        processed: Table,
        bus: Bus,
        handler: Handler,
        *,
        durable: str,
        filter_subject: str = "lgsp.>",
        batch_size: int = 500,
        ack_wait: float = 10.0,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        self.processed = processed
        self.bus = bus
        self.handler = handler
        self.durable = durable
        self.filter_subject = filter_subject
        self.batch_size = batch_size
        self.ack_wait = ack_wait
        # Producer (`lgsp.dossier`) → the CloudEvents `source` its events must carry. When
        # set, an event from anyone else is refused: acknowledged (never redelivered), not
        # applied, counted in `refused` and logged.
        self.sources = dict(sources) if sources is not None else None
        self.refused: Counter[str] = Counter()
        self.applied = 0
        self.last_batch_at: datetime | None = None
        # How long the oldest event of the last batch waited in JetStream; 0 when idle.
        self.lag_seconds = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.durable}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def pending(self) -> int | None:
        """Messages in the stream not yet delivered to this consumer (its lag), if known."""
        if not self.bus.connected:
            return None
        try:
            info = await self.bus.js.consumer_info(self.bus.stream, self.durable)
        except Exception:
            return None
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    def _config(self) -> ConsumerConfig:
        return ConsumerConfig(
            # Named as well: created by name (`CONSUMER.CREATE.<stream>.<name>`), the subject
            # the apps' NATS users may publish on.
            name=self.durable,
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_ack_pending=self.batch_size * 20,
            filter_subject=self.filter_subject,
        )

    async def _run(self) -> None:
        while not self._stopping:
            batches: Batches | None = None
            try:
                await self.bus.wait_ready()
                await self._ensure_durable()
                batches = Batches(self.bus.nc, self.bus.stream, self.durable)
                await batches.start()
                await self._pull(batches)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s interrupted (%s); resubscribing", self.durable, exc)
                await asyncio.sleep(1.0)
            finally:
                if batches is not None:
                    await asyncio.shield(batches.stop())

    async def _ensure_durable(self) -> None:
        """Create the durable consumer unless it is there (one replica's, a previous run's)."""
        js = self.bus.js
        try:
            await js.consumer_info(self.bus.stream, self.durable)
        except NotFoundError:
            await js.add_consumer(self.bus.stream, config=self._config())

    async def _pull(self, batches: Batches) -> None:
        while not self._stopping:
            msgs = await batches.fetch(self.batch_size, wait=1.0)
            if not msgs:
                self.lag_seconds = 0.0
                continue
            try:
                await asyncio.to_thread(
                    self.apply, [m.data for m in msgs], [m.subject for m in msgs]
                )
            except asyncio.CancelledError:
                # Stopping with a batch in hand: give it back now rather than after ack_wait,
                # so the next process (or replica) gets it at once. Whether or not the
                # transaction committed, the processed-event ids make the redelivery harmless.
                await asyncio.shield(_give_back(msgs))
                raise
            self.lag_seconds = _oldest_wait(msgs)
            await _ack(msgs)

    def apply(self, payloads: list[bytes], subjects: list[str] | None = None) -> int:
        """Apply a batch of raw events in one transaction; returns how many were new.

        `subjects` are the NATS subjects the events came on (when they came from NATS)."""
        events: dict[str, Envelope] = {}
        for i, raw in enumerate(payloads):
            try:
                event = parse_event(raw)
            except UnknownEventType as exc:
                log.info("skipping event of unknown type %s", exc)
                continue
            except ValidationError as exc:
                log.error("dropping malformed event: %s", exc)
                continue
            reason = self._refusal(event, subjects[i] if subjects is not None else None)
            if reason is not None:
                self.refused[reason] += 1
                log.warning(
                    "refusing event %r of type %r from source %r on subject %r: %s",
                    event.id,
                    event.type,
                    event.source,
                    subjects[i] if subjects is not None else None,
                    reason,
                )
                continue
            events.setdefault(event.id, event)
        if not events:
            return 0
        now = datetime.now(UTC)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                fresh = self._apply_once(events, now)
                break
            except OperationalError as exc:
                # Two replicas on one durable: their transactions may wait on each other
                # (a deadlock PostgreSQL breaks, SQLite's lock); the batch is tried again at
                # once rather than after ack_wait.
                if attempt == _ATTEMPTS:
                    raise
                log.info("batch of %d events rolled back (%s); again", len(events), exc.orig)
                time.sleep(0.05 * attempt)
        self.applied += fresh
        self.last_batch_at = now
        return fresh

    def _apply_once(self, events: dict[str, Envelope], now: datetime) -> int:
        with self.db.session() as session:
            # Recording the ids first claims the events: a replica applying the same event in
            # the same moment waits on the row, then skips it (ON CONFLICT DO NOTHING), so it
            # is applied once without a failed batch. Sorted ids: two replicas claim in the
            # same order and cannot deadlock on this table.
            rows = [
                {"event_id": eid, "type": events[eid].type, "processed_at": now}
                for eid in sorted(events)
            ]
            claim = (
                dialect_insert(session)(self.processed)
                .on_conflict_do_nothing(index_elements=[self.processed.c.event_id])
                .returning(self.processed.c.event_id)
            )
            claimed = set(session.execute(claim, rows).scalars())
            fresh = [e for eid, e in events.items() if eid in claimed]
            if fresh:
                self.handler(session, fresh)
        return len(fresh)

    def _refusal(self, event: Envelope, subject: str | None) -> str | None:
        """Why an event is not to be trusted, or None."""
        if self.sources is None:
            return None
        if subject is not None and subject != event.type:
            return "type_mismatch"  # published under one producer's subject, claims another's
        expected = self.sources.get(producer_of(event.type))
        if expected is None or event.source != expected:
            return "source_mismatch"
        return None


class RefusedCollector(Collector):
    """`lgsp_events_refused_total{app, reason}`: events not applied because their producer
    could not be trusted (a `source` not the subject's producer, a type not its subject);
    `lgsp_consumer_events_applied_total{app}`: events this process applied (new ones only), its
    share of the work when replicas pull from one durable consumer."""

    def __init__(self, consumer: EventConsumer, app_name: str) -> None:
        self.consumer = consumer
        self.app_name = app_name

    def collect(self) -> Iterator[Metric]:
        counter = CounterMetricFamily(
            "lgsp_events_refused",
            "Events refused because their source is not the producer of their subject",
            labels=["app", "reason"],
        )
        for reason in ("source_mismatch", "type_mismatch"):
            counter.add_metric([self.app_name, reason], self.consumer.refused[reason])
        yield counter
        applied = CounterMetricFamily(
            "lgsp_consumer_events_applied",
            "Events this process applied (a replica's share of a shared durable consumer)",
            labels=["app"],
        )
        applied.add_metric([self.app_name], self.consumer.applied)
        yield applied


class Batches:
    """The batches of a durable pull consumer, asked for and gathered on an inbox of its own.

    nats-py's `fetch` waits for each message of a batch with `next_msg`, which makes two tasks
    and a uuid4 for every message: a fifth of reporting's CPU. Here the subscription's callback
    appends each message as the client reads it, and one wait per request ends when the
    request is over: its `batch` messages came, or a status said there are no more (404), the
    wait expired (408), or the server refused it (409, another status: raised, so the consumer
    is looked up again). Messages of an earlier request that still come (it waited for one
    message, the server went on filling it) are kept for the next batch; only the statuses of
    the request at hand end it, each request having a reply subject of its own."""

    def __init__(self, nc: Client, stream: str, durable: str) -> None:
        self._nc = nc
        self._subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._got: list[Msg] = []
        self._request = 0
        self._wanted = 0
        self._ended = asyncio.Event()
        self._refused: str | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_msg)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def fetch(self, batch: int, wait: float) -> list[Msg]:
        """Up to `batch` messages: those there are now, else the first to come within `wait`
        seconds; none when none came."""
        if not self._got:
            await self._ask({"batch": batch, "no_wait": True}, batch, wait)
        if not self._got:
            await self._ask({"batch": batch, "expires": int(wait * 1e9)}, 1, wait + 1)
        got, self._got = self._got[:batch], self._got[batch:]
        return got

    async def _ask(self, request: dict[str, Any], wanted: int, wait: float) -> None:
        """Send a pull request; return when it is over, or after `wait` seconds (its answer
        lost with the connection: the next one is asked on the new connection)."""
        self._request += 1
        self._wanted = len(self._got) + wanted
        self._ended.clear()
        reply = f"{self._inbox}.{self._request}"
        await self._nc.publish(self._subject, json.dumps(request).encode(), reply=reply)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ended.wait(), wait)
        if self._refused is not None:
            refused, self._refused = self._refused, None
            raise ConnectionError(f"the pull request was refused: {refused}")

    async def _on_msg(self, msg: Msg) -> None:
        headers = msg.headers or {}
        status = headers.get(STATUS)
        if status is None:
            self._got.append(msg)
            if len(self._got) >= self._wanted:
                self._ended.set()
        elif status == HEARTBEAT or msg.subject != f"{self._inbox}.{self._request}":
            return  # a heartbeat, or the end of a request already over
        else:
            if status not in (NO_MESSAGES, EXPIRED):
                self._refused = f"{status} {headers.get(DESCRIPTION, '')}".strip()
            self._ended.set()


async def _ack(msgs: list[Any]) -> None:
    """Acknowledge a batch after its commit; a lost ack means a harmless redelivery. One after
    the other in this task: none of them waits, so the client writes them all at once (a task
    each, as `gather` made them, cost more than the acks)."""
    for m in msgs:
        try:
            await m.ack()
        except Exception:  # the connection lost: the rest come back after ack_wait
            continue


async def _give_back(msgs: list[Any]) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(
            asyncio.gather(*(m.nak() for m in msgs), return_exceptions=True), 2.0
        )


def _oldest_wait(msgs: list[Any]) -> float:
    """How long the batch's first message waited in the stream: JetStream hands a consumer its
    redeliveries first and then the stream in order, so the first waited longest. One
    message's metadata, not all of them: parsing every reply subject cost 4 % of the
    consumer's CPU."""
    try:
        oldest = msgs[0].metadata.timestamp
    except Exception:  # a message without JetStream metadata
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())
