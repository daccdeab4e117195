"""What the gateway processes share through Redis when `LGSP_REDIS_URL` is set: the throttle's
counters (`gateway.fastpath.throttle.SharedThrottle` takes its leases here) and the news of a
change that every process must act on at once (a consumer disabled or enabled, a signing key
rotated or retired), published on one channel.

Without it (the embedded default) each process keeps its own counters and learns of a change
within its cache bounds (`GATEWAY_CONSUMER_CACHE_SECONDS`, `GATEWAY_KEY_REFRESH_SECONDS`). With
it those bounds stay as the fallback: a message lost while Redis was away is caught up by them,
and each process forgets what it cached when its subscription comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, Counter, Gauge
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.fastpath.throttle import StoreUnavailable

log = logging.getLogger("lgsp.gateway.shared")

# Pub/sub channels are the server's, not a database's: the database number is part of the name,
# so gateways on other databases of one Redis do not hear each other.
CHANNEL = "lgsp:gateway:changes:{db}"
PREFIX = "lgsp:gateway:throttle:"

# KEYS[1] the window's counter; ARGV: calls wanted, the limit, the key's time to live. Grants
# what is left up to the number wanted, so the counter is the calls granted and never passes
# the limit; answers {granted, counter after}.
TAKE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used)
if grant <= 0 then
  return {0, used}
end
local after = redis.call('INCRBY', KEYS[1], grant)
if after == grant then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {grant, after}
"""

Listener = Callable[[dict[str, Any]], Awaitable[None]]


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class SharedMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.up = Gauge(
            "lgsp_gateway_shared_state_up",
            "1 while Redis serves this part of the gateway's shared state, 0 while the process "
            "falls back to its own (throttle: per-process limits; changes: cache bounds)",
            ["part"],
            registry=registry,
        )
        self.failures = Counter(
            "lgsp_gateway_shared_state_failures",
            "Times Redis was lost by a part of the gateway's shared state",
            ["part"],
            registry=registry,
        )
        for part in ("throttle", "changes"):
            self.up.labels(part).set(1)

    def change(self, part: str, degraded: bool, reason: str, url: str) -> None:
        self.up.labels(part).set(0 if degraded else 1)
        if degraded:
            self.failures.labels(part).inc()
            log.warning(
                "Redis %s unavailable for the %s (%s): %s",
                redacted(url),
                part,
                "throttling per process" if part == "throttle" else "changes within cache time",
                reason,
            )
        else:
            log.warning("Redis %s answers again for the %s", redacted(url), part)


class SharedState:
    """The connection to Redis: leases for the throttle, the changes channel."""

    def __init__(self, url: str, metrics: SharedMetrics, *, timeout: float = 0.25) -> None:
        self.url = url
        self.metrics = metrics
        # Calls wait on it: a short timeout and one retry (a pooled connection the server
        # closed), then the throttle falls back to per-process limits.
        self.redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        # The subscription waits for messages as long as it takes; a ping checks it.
        self._sub = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout, health_check_interval=5
        )
        self._take = self.redis.register_script(TAKE)
        self.channel = CHANNEL.format(db=self.redis.connection_pool.connection_kwargs.get("db", 0))
        # Built in the gateway's lifespan: its loop publishes what other threads announce.
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.subscribed = asyncio.Event()

    async def take(self, key: str, want: int, limit: int, ttl: int) -> tuple[int, int]:
        try:
            granted, used = await self._take(keys=[PREFIX + key], args=[want, limit, ttl])
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return int(granted), int(used)

    def throttle_changed(self, degraded: bool, reason: str) -> None:
        self.metrics.change("throttle", degraded, reason, self.url)

    # The changes channel.

    def announce(self, kind: str, **data: str) -> None:
        """Tell every gateway process of a change; callable from any thread (an endpoint's
        `after_commit` runs in its worker thread). A message Redis does not take is logged:
        the other processes then see the change within their cache time."""
        loop = self._loop
        if loop.is_closed():
            return
        message = json.dumps({"kind": kind, **data})

        def start() -> None:
            task = loop.create_task(self._publish(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop.call_soon_threadsafe(start)

    async def _publish(self, message: str) -> None:
        try:
            await self.redis.publish(self.channel, message)
        except (RedisError, OSError) as exc:
            log.warning(
                "Redis %s did not take a change (%s): other gateway processes see it within "
                "their cache time",
                redacted(self.url),
                exc,
            )

    async def listen(self, on_message: Listener, on_resubscribed: Callable[[], None]) -> None:
        """Act on every change announced, until cancelled. Each (re)subscription after a loss
        calls `on_resubscribed` first: messages sent meanwhile are lost, so what is cached goes."""
        lost = False
        while True:
            pubsub = self._sub.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if lost:
                    on_resubscribed()
                    self.metrics.change("changes", False, "", self.url)
                    lost = False
                self.subscribed.set()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    await self._dispatch(on_message, message["data"])
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                if not lost:
                    lost = True
                    self.metrics.change("changes", True, f"{type(exc).__name__}: {exc}", self.url)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _dispatch(self, on_message: Listener, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("a change on %s that is not JSON was ignored", self.channel)
            return
        if not isinstance(message, dict):
            return
        try:
            await on_message(message)
        except Exception:
            log.exception("acting on a change from %s failed", self.channel)

    async def close(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
        await self.redis.aclose()
        await self._sub.aclose()
