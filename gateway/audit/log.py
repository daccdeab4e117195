"""The audit log's write side: records buffered in memory, written in batches off the hot path.

Recording a call is appending a tuple to a list; a background task writes the buffer in one
INSERT per batch (in a worker thread), hashing each record onto the audit chain there
(`gateway.audit.chain`): the proxy's per-call work does not change. Stopping the log writes
whatever is left, so a clean shutdown loses nothing. A buffer over its limit drops the oldest
records and counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.audit import chain
from gateway.audit.chain import clean_text
from lgsp_kit.db import Database

log = logging.getLogger("lgsp.gateway.audit")


@dataclass(slots=True)
class CallRecord:
    """What the proxy learns about one call while it serves it."""

    api: str
    method: str
    path: str
    request_id: str
    at: datetime
    client_id: str | None = None
    organ_code: str | None = None
    tier: str | None = None
    route: str | None = None
    status: int = 500
    request_bytes: int = 0
    response_bytes: int = 0
    upstream_ms: float | None = None
    total_ms: float = 0.0

    def fields(self) -> tuple[Any, ...]:
        """The record's values in `chain.FIELDS` order, as every backend stores them."""
        return (
            self.at,
            clean_text(self.request_id, 128),
            None if self.client_id is None else clean_text(self.client_id, 64),
            None if self.organ_code is None else clean_text(self.organ_code, 32),
            None if self.tier is None else clean_text(self.tier, 16),
            clean_text(self.api, 64),
            clean_text(self.method, 16),
            clean_text(self.route or self.path, 500),
            int(self.status),
            int(self.request_bytes),
            int(self.response_bytes),
            None if self.upstream_ms is None else float(self.upstream_ms),
            float(self.total_ms),
        )


class AuditMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.written = Counter(
            "lgsp_gateway_audit_records_written",
            "Audit records written to the database",
            registry=registry,
        )
        self.dropped = Counter(
            "lgsp_gateway_audit_records_dropped",
            "Audit records dropped because the buffer was full",
            registry=registry,
        )
        self.buffered = Gauge(
            "lgsp_gateway_audit_records_buffered",
            "Audit records waiting in memory to be written",
            registry=registry,
        )
        self.write_errors = Counter(
            "lgsp_gateway_audit_write_errors",
            "Failed batch writes of the audit log (the batch is retried)",
            registry=registry,
        )


class AuditLog:
    def __init__(
        self,
        db: Database,
        metrics: AuditMetrics,
        *,
        batch_size: int,
        flush_seconds: float,
        buffer_limit: int,
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.buffer_limit = buffer_limit
        self._buffer: list[CallRecord] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def record(self, call: CallRecord) -> None:
        """Keep one record; never blocks and never touches the database."""
        buffer = self._buffer
        buffer.append(call)
        if len(buffer) >= self.batch_size:
            self._wake.set()
            if len(buffer) > self.buffer_limit:
                excess = len(buffer) - self.buffer_limit
                del buffer[:excess]
                self.metrics.dropped.inc(excess)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        """Write everything still buffered, then end the writer."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("audit records not written at shutdown: %d", len(self._buffer))

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("audit batch write failed; retrying later")
                await asyncio.sleep(self.flush_seconds)

    async def flush(self) -> int:
        """Write the buffer in batches; returns how many records were written."""
        written = 0
        while self._buffer:
            batch = self._buffer[: self.batch_size]
            del self._buffer[: len(batch)]
            try:
                await asyncio.to_thread(self._write, batch)
            except BaseException:
                # Back in front of the queue: a database outage delays records, never loses them.
                self._buffer[:0] = batch
                self.metrics.write_errors.inc()
                self.metrics.buffered.set(len(self._buffer))
                raise
            written += len(batch)
            self.metrics.written.inc(len(batch))
        self.metrics.buffered.set(0)
        return written

    def _write(self, batch: list[CallRecord]) -> None:
        """One transaction: the chain head locked, the batch hashed onto it, one bulk insert."""
        with self.db.session() as session:
            chain.append(session.connection(), [c.fields() for c in batch])


def now_utc() -> datetime:
    return datetime.now(UTC)
