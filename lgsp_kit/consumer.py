"""A durable JetStream pull consumer that applies each event exactly once.

A fetched batch is applied in one database transaction together with the ids of the events it
applied; messages are acknowledged only after that commit. A crash before the commit loses
nothing (JetStream redelivers), a crash after it counts nothing twice (the ids are known).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
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
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_ack_pending=self.batch_size * 20,
            filter_subject=self.filter_subject,
        )

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.bus.wait_ready()
                sub = await self.bus.js.pull_subscribe(
                    self.filter_subject,
                    durable=self.durable,
                    stream=self.bus.stream,
                    config=self._config(),
                )
                await self._pull(sub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s interrupted (%s); resubscribing", self.durable, exc)
                await asyncio.sleep(1.0)

    async def _pull(self, sub: object) -> None:
        fetch = sub.fetch  # type: ignore[attr-defined]
        while not self._stopping:
            try:
                msgs = await fetch(self.batch_size, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                self.lag_seconds = 0.0
                continue
            if not msgs:
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
    stamps = []
    for m in msgs:
        try:
            stamps.append(m.metadata.timestamp)
        except Exception:  # a message without JetStream metadata
            continue
    if not stamps:
        return 0.0
    oldest = min(stamps)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())
