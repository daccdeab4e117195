"""The audit log's write side: records buffered in memory, written in batches off the hot path.

Recording a call is appending a tuple to a list; a background task writes the buffer in one
INSERT per batch (in a worker thread), hashing each record onto the audit chain there
(`gateway.audit.chain`): the proxy's per-call work does not change. Stopping the log writes
whatever is left, so a clean shutdown loses nothing. A buffer over its limit drops the oldest
records and counts them.

A chain head that is missing or not the last record halts the writer: nothing is written
(`chain.ChainBroken`), the records stay buffered, `lgsp_gateway_audit_chain_broken` reads 1 and
an error is logged once. The writer tries again every flush interval and goes on by itself once
an operator has put a correct head back (docs/gateway.md). After a write, and at shutdown, a
signed checkpoint of the head is appended to a file outside the database
(`gateway.audit.checkpoint`) when one is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.audit import chain, checkpoint
from gateway.audit.chain import ChainBroken, clean_text
from lgsp_kit.db import Database
from lgsp_kit.files import private_file

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
    # The gateway's own events only: what an /admin change acted on, and the outcome's code.
    target: str | None = None
    reason: str | None = None

    def chained(self) -> tuple[Any, ...]:
        """`fields()` then the EXTRA_FIELDS values: what the writer hashes and stores."""
        extra = (
            None if self.target is None else clean_text(self.target, 200),
            None if self.reason is None else clean_text(self.reason, 64),
        )
        return self.fields() + extra

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
        self.chain_broken = Gauge(
            "lgsp_gateway_audit_chain_broken",
            "1 while the audit writer is halted: the chain head is missing or is not the last "
            "record (nothing is written; records stay buffered)",
            registry=registry,
        )
        self.checkpoints = Counter(
            "lgsp_gateway_audit_checkpoints_written",
            "Signed audit checkpoints appended to the checkpoint file",
            registry=registry,
        )


@dataclass
class Checkpoints:
    """Where and how often the writer signs the chain head (`gateway.audit.checkpoint`)."""

    path: Path
    key: bytes
    every_seconds: float
    last: tuple[int, str] | None = None
    last_at: float = float("-inf")

    def __post_init__(self) -> None:
        if self.path.exists():
            private_file(self.path)  # as an older version may have left it

    def due(self, head: tuple[int, str], *, force: bool = False) -> bool:
        if head == self.last:
            return False
        return force or time.monotonic() - self.last_at >= self.every_seconds

    def write(self, head: tuple[int, str]) -> None:
        checkpoint.append(self.path, checkpoint.sign(self.key, *head))
        self.last, self.last_at = head, time.monotonic()


class AuditLog:
    def __init__(
        self,
        db: Database,
        metrics: AuditMetrics,
        *,
        batch_size: int,
        flush_seconds: float,
        buffer_limit: int,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        self.db = db
        self.checkpoints = checkpoints
        self.head: tuple[int, str] | None = None
        self.halted: ChainBroken | None = None
        metrics.chain_broken.set(0)
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
        except ChainBroken as exc:
            log.error(
                "audit records not written at shutdown: %d; the audit chain is broken (%s)",
                len(self._buffer),
                exc,
            )
        except Exception:
            log.exception("audit records not written at shutdown: %d", len(self._buffer))
        try:
            await asyncio.to_thread(self._checkpoint, True)
        except Exception:
            log.exception("audit checkpoint not written at shutdown")

    async def _run(self) -> None:
        while not self._stopping:
            full = True
            try:
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
            except TimeoutError:
                full = False
            self._wake.clear()
            try:
                # Woken by a full batch: full batches only, the rest waits for the next one or
                # the interval (at most `flush_seconds` either way). Writing whatever had come
                # while the last batch was written made batches of 100 records at 4,000 calls/s,
                # and each batch's own work (the transaction, the head) cost twice the records'.
                await self.flush(full_only=full)
            except ChainBroken:
                await asyncio.sleep(self.flush_seconds)
            except Exception:
                log.exception("audit batch write failed; retrying later")
                await asyncio.sleep(self.flush_seconds)

    async def flush(self, *, full_only: bool = False) -> int:
        """Write the buffer in batches (`full_only`: only while a whole batch is buffered);
        returns how many records were written."""
        written = 0
        while self._buffer and (not full_only or len(self._buffer) >= self.batch_size):
            batch = self._buffer[: self.batch_size]
            del self._buffer[: len(batch)]
            try:
                await asyncio.to_thread(self._write, batch)
            except BaseException as exc:
                # Back in front of the queue: a database outage delays records, never loses them.
                self._buffer[:0] = batch
                self.metrics.write_errors.inc()
                self.metrics.buffered.set(len(self._buffer))
                if isinstance(exc, ChainBroken):
                    self._halt(exc)
                raise
            if self.halted is not None:
                log.warning("audit chain head is back (%s): the audit writer goes on", self.head)
                self.halted = None
                self.metrics.chain_broken.set(0)
            written += len(batch)
            self.metrics.written.inc(len(batch))
        self.metrics.buffered.set(len(self._buffer))
        return written

    def _halt(self, exc: ChainBroken) -> None:
        self.metrics.chain_broken.set(1)
        if self.halted is None:
            log.error(
                "audit chain broken, the audit writer is halted (%s): nothing is written and "
                "%d records wait in memory; the head is not rebuilt. Run `lgsp audit verify "
                "--checkpoint <file>` and see docs/gateway.md (a broken audit chain)",
                exc,
                len(self._buffer),
            )
        self.halted = exc

    def _write(self, batch: list[CallRecord]) -> None:
        """One transaction: the chain head locked, the batch hashed onto it, one bulk insert;
        then a signed checkpoint of the new head when one is due."""
        with self.db.session() as session:
            self.head = chain.append(session.connection(), [c.chained() for c in batch])
        try:
            self._checkpoint(False)
        except Exception:
            # The batch is written: a checkpoint that failed is tried again after the next one.
            log.exception("audit checkpoint not written")

    def _checkpoint(self, force: bool) -> None:
        """Only a head this process wrote (committed), never one while the chain is broken."""
        cp, head = self.checkpoints, self.head
        if cp is None or head is None or self.halted is not None or not cp.due(head, force=force):
            return
        cp.write(head)
        self.metrics.checkpoints.inc()


def now_utc() -> datetime:
    return datetime.now(UTC)
