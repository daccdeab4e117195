"""Client authentication at `/token`: one secret check per call, bounded and throttled.

`authenticate` does the same work for an unknown client id as for a known one (a read and one
HMAC-SHA256), so the answer's time does not tell them apart. `SecretChecks` runs the checks
on `VERIFY_POOL` with a bounded queue (503 when full) and refuses, without checking, a client
id that failed too often lately (429), whether that id exists or not.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import update
from sqlmodel import col

from gateway.auth import secrets
from gateway.consumers.service import find_consumer
from gateway.models import Consumer
from lgsp_kit.db import Database
from lgsp_kit.errors import ProblemError

T = TypeVar("T")

# Client ids whose failures are remembered at once: a flood of made-up ids cannot grow the
# table past this (the oldest entries go first).
MAX_TRACKED_IDS = 10_000


def authenticate(db: Database, client_id: str, secret: str) -> Consumer | None:
    """The enabled consumer `client_id` when `secret` is its secret, else None.

    An unknown id is checked against a hash of a random secret (`UNKNOWN_CLIENT_HASH`): one
    HMAC either way. A hash stored in an older form (scrypt) is replaced on success; until then
    that consumer's check costs scrypt."""
    with db.reading() as session:
        consumer = find_consumer(session, client_id)
    stored = consumer.secret_hash if consumer is not None else secrets.UNKNOWN_CLIENT_HASH
    if not secrets.verify_secret(secret, stored) or consumer is None or not consumer.enabled:
        return None
    if secrets.needs_upgrade(stored):
        with db.session() as session:
            # Only the hash that was checked is replaced: a rotation in between wins.
            session.execute(
                update(Consumer)
                .where(col(Consumer.id) == consumer.id, col(Consumer.secret_hash) == stored)
                .values(secret_hash=secrets.hash_secret(secret))
            )
    return consumer


@dataclass
class _Failures:
    since: float
    count: int


class SecretChecks:
    """Secret checks on a small pool: a bounded queue and per-client-id failure throttling.

    State is per process (like the throttling counters); the pending count is only touched on
    the event loop."""

    def __init__(
        self,
        pool: Executor,
        *,
        queue_limit: int,
        failure_limit: int,
        failure_window_seconds: float,
        busy_retry_after: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.queue_limit = queue_limit
        self.failure_limit = failure_limit
        self.failure_window = failure_window_seconds
        self.busy_retry_after = busy_retry_after
        self.clock = clock
        self.pending = 0
        self._failures: dict[str, _Failures] = {}

    async def run(self, client_id: str, check: Callable[[], T | None]) -> T | None:
        """`check()` on the pool; its None is a failure for `client_id`."""
        self._refuse_if_throttled(client_id)
        if self.pending >= self.queue_limit:
            raise ProblemError(
                "too many client secret checks are waiting; try again shortly",
                status=503,
                code="token_service_busy",
                headers={"Retry-After": str(self.busy_retry_after)},
            )
        self.pending += 1
        try:
            result = await asyncio.get_running_loop().run_in_executor(self.pool, check)
        finally:
            self.pending -= 1
        if result is None:
            self._failed(client_id)
        else:
            self._failures.pop(client_id, None)
        return result

    def _refuse_if_throttled(self, client_id: str) -> None:
        entry = self._failures.get(client_id)
        if entry is None:
            return
        left = entry.since + self.failure_window - self.clock()
        if left <= 0:
            del self._failures[client_id]
        elif entry.count >= self.failure_limit:
            raise ProblemError(
                f"too many failed attempts for this client id; retry in {math.ceil(left)} s",
                status=429,
                code="too_many_failed_attempts",
                headers={"Retry-After": str(math.ceil(left))},
            )

    def _failed(self, client_id: str) -> None:
        now = self.clock()
        entry = self._failures.get(client_id)
        if entry is None or entry.since + self.failure_window <= now:
            self._failures.pop(client_id, None)
            self._failures[client_id] = _Failures(now, 1)
            self._trim(now)
        else:
            entry.count += 1

    def _trim(self, now: float) -> None:
        if len(self._failures) <= MAX_TRACKED_IDS:
            return
        for key in [k for k, e in self._failures.items() if e.since + self.failure_window <= now]:
            del self._failures[key]
        while len(self._failures) > MAX_TRACKED_IDS:
            del self._failures[next(iter(self._failures))]
