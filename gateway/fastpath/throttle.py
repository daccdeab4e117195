"""Throttling per consumer and tier (WSO2 style: requests per minute): in this process, or shared
by every gateway process through a store (Redis, `gateway.shared`)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """`RateLimit-*` (IETF draft) and, when refused, `Retry-After`."""
        out = [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset_seconds),
        ]
        if not self.allowed:
            out.append((b"retry-after", b"%d" % self.reset_seconds))
        return out


class Throttle:
    """Fixed windows aligned on the clock: a consumer may make `limit` calls per window.

    Counters live in this process: N gateway processes let a consumer make up to N × limit,
    unless `SharedThrottle` (below) counts them in Redis.

    Not the `limits` package: its `FixedWindowRateLimiter` on `MemoryStorage` takes 10.2 µs for
    a hit alone and 15.5 µs with the window's remaining count and reset that the `RateLimit-*`
    headers need, against 1.9 µs here for the hit and the headers (timeit, best of 5 × 200,000,
    limits 5.8.0, on the 2-CPU machine of docs/gateway.md) — once per proxied call, and its
    storage runs an expiry thread besides."""

    def __init__(self, limits: dict[str, int | None], window_seconds: int) -> None:
        self.limits = dict(limits)
        self.window = window_seconds
        # Unknown tiers get the strictest configured limit rather than none.
        finite = [v for v in limits.values() if v is not None]
        self._fallback = min(finite) if finite else None
        self._counters: dict[str, tuple[int, int]] = {}

    def limit_for(self, tier: str) -> int | None:
        return self.limits.get(tier, self._fallback)

    def hit(self, client_id: str, tier: str, now: float | None = None) -> Decision | None:
        """Count one call; None when the tier is unlimited."""
        limit = self.limit_for(tier)
        if limit is None:
            return None
        now = time.time() if now is None else now
        window = int(now // self.window)
        reset = max(1, math.ceil((window + 1) * self.window - now))
        start, count = self._counters.get(client_id, (window, 0))
        if start != window:
            count = 0
            if len(self._counters) > 50_000:
                self._prune(window)
        if count >= limit:
            self._counters[client_id] = (window, count)
            return Decision(False, limit, 0, reset)
        count += 1
        self._counters[client_id] = (window, count)
        return Decision(True, limit, limit - count, reset)

    async def ask(self, client_id: str, tier: str) -> Decision | None:
        """The decision `hit` left to the shared store (`ASK`); in process, `hit` decides all."""
        return Throttle.hit(self, client_id, tier)

    def _prune(self, window: int) -> None:
        self._counters = {k: v for k, v in self._counters.items() if v[0] == window}


# What `hit` answers when only the shared store can decide: `ask` then does (a shared throttle
# only; the in-process one never answers it). Compared by identity on the hot path.
ASK = Decision(False, 0, 0, 0)


class StoreUnavailable(Exception):
    """The shared store did not answer (down, unreachable, too slow)."""


class LeaseStore(Protocol):
    async def take(self, key: str, want: int, limit: int, ttl: int) -> tuple[int, int]:
        """Up to `want` more calls on counter `key`, which never passes `limit`: (calls
        granted, the counter after). Raises StoreUnavailable."""
        ...


@dataclass(slots=True)
class _Lease:
    window: int
    # Calls granted to this process in the window and not made yet.
    left: int
    # The shared counter after the last grant: calls granted to every process in the window.
    used: int


class SharedThrottle(Throttle):
    """The same fixed windows, counted once for every gateway process in a shared store.

    A process does not ask the store per call: it takes a lease of a few calls (`lease` of the
    limit, at most `lease_max`) and spends it locally, so the store sees one atomic request per
    lease. The store's counter never passes the limit, so the processes together never allow
    more than the limit in a window; what a process holds unspent at the window's end is lost,
    at most N × lease calls for N processes (with the defaults: 5 of Bronze's 1,000 each).

    When the store fails, decisions fall back to the in-process counters (each process allows
    the limit by itself) for `retry_seconds`, then the store is asked again; `on_change` is
    told each time the store is lost or back."""

    def __init__(
        self,
        limits: dict[str, int | None],
        window_seconds: int,
        store: LeaseStore,
        *,
        lease: float = 0.005,
        lease_max: int = 100,
        retry_seconds: float = 1.0,
        on_change: Callable[[bool, str], None] | None = None,
    ) -> None:
        super().__init__(limits, window_seconds)
        self.store = store
        self.lease = lease
        self.lease_max = lease_max
        self.retry_seconds = retry_seconds
        self.on_change = on_change
        self.degraded = False
        self._retry_at = 0.0
        self._leases: dict[str, _Lease] = {}
        self._asking: dict[str, asyncio.Future[None]] = {}

    def lease_size(self, limit: int) -> int:
        return max(1, min(self.lease_max, int(limit * self.lease)))

    def hit(self, client_id: str, tier: str, now: float | None = None) -> Decision | None:
        limit = self.limit_for(tier)
        if limit is None:
            return None
        if self.degraded and time.monotonic() < self._retry_at:
            return super().hit(client_id, tier, now)
        now = time.time() if now is None else now
        lease = self._leases.get(client_id)
        if lease is not None and lease.window == int(now // self.window):
            if lease.left > 0:
                lease.left -= 1
                remaining = max(0, limit - lease.used) + lease.left
                return Decision(True, limit, remaining, self._reset(lease.window, now))
            if lease.used >= limit:
                return Decision(False, limit, 0, self._reset(lease.window, now))
        return ASK

    def _reset(self, window: int, now: float) -> int:
        return max(1, math.ceil((window + 1) * self.window - now))

    async def ask(self, client_id: str, tier: str) -> Decision | None:
        """Take a lease from the store (one request at a time per consumer: concurrent calls
        share it), then decide."""
        # Each round either grants this process calls, finds the window spent or the store
        # gone (then `hit` decides), or sees a new window: a burst larger than the lease waits
        # for the next lease rather than being counted outside the store.
        while True:
            pending = self._asking.get(client_id)
            if pending is None:
                pending = asyncio.ensure_future(self._take(client_id, tier))
                self._asking[client_id] = pending
            await asyncio.shield(pending)
            decision = self.hit(client_id, tier)
            if decision is not ASK:
                return decision

    async def _take(self, client_id: str, tier: str) -> None:
        try:
            limit = self.limit_for(tier) or 0
            now = time.time()
            window = int(now // self.window)
            key = f"{window}:{client_id}"
            try:
                granted, used = await self.store.take(
                    key, self.lease_size(limit), limit, self.window * 2
                )
            except StoreUnavailable as exc:
                self._retry_at = time.monotonic() + self.retry_seconds
                if not self.degraded:
                    self.degraded = True
                    if self.on_change is not None:
                        self.on_change(True, str(exc))
                return
            if self.degraded:
                self.degraded = False
                if self.on_change is not None:
                    self.on_change(False, "")
            if len(self._leases) > 50_000:
                self._leases = {k: v for k, v in self._leases.items() if v.window == window}
            self._leases[client_id] = _Lease(window, granted, used)
        finally:
            self._asking.pop(client_id, None)
