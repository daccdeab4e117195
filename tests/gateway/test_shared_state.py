"""Gateway state shared through Redis (gateway.shared): the throttle counted once for several
gateways, a change told to all of them, and a Redis outage that falls back to per-process limits
instead of refusing traffic."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gateway.fastpath.throttle import ASK, SharedThrottle, StoreUnavailable, Throttle
from gateway.shared import SharedMetrics, SharedState
from lgsp_kit.natsserver import free_port
from tests.gateway.conftest import Gateway, gateway_settings, open_gateway

pytestmark = pytest.mark.anyio

LIMITS: dict[str, int | None] = {"Bronze": 1000, "Gold": 5000, "Unlimited": None}


@pytest.fixture
async def shared(redis_url: str) -> AsyncIterator[SharedState]:
    state = SharedState(redis_url, SharedMetrics(CollectorRegistry()))
    yield state
    await state.close()


def _throttle(store: Any, window: int = 3600) -> SharedThrottle:
    return SharedThrottle(LIMITS, window, store, lease=0.005, lease_max=100, retry_seconds=0.5)


async def _call(throttle: Throttle, client_id: str, tier: str) -> bool:
    decision = throttle.hit(client_id, tier)
    if decision is ASK:
        decision = await throttle.ask(client_id, tier)
    assert decision is not None
    return decision.allowed


def _safe_window(window: int) -> None:
    """Tests count one window: not within 30 s of its end."""
    left = window - time.time() % window
    assert window > 60
    if left < 30:
        time.sleep(left + 0.1)


async def test_two_shared_throttles_allow_the_limit_once(shared: SharedState) -> None:
    """Two gateways' throttles on one Redis, called concurrently and alternately: together they
    allow at most Bronze's 1,000 calls in the window, and no fewer than 98 % of them."""
    _safe_window(3600)
    a, b = _throttle(shared), _throttle(shared)
    results: list[bool] = []

    async def caller(throttle: Throttle, n: int) -> None:
        for _ in range(n):
            results.append(await _call(throttle, "bronze-app", "Bronze"))

    await asyncio.gather(*(caller(t, 200) for t in (a, b, a, b, a, b, a, b)))
    allowed = sum(results)
    assert len(results) == 1600
    assert 980 <= allowed <= 1000
    # The store's counter is what was granted; no more than the limit.
    window = int(time.time() // 3600)
    counter = int(await shared.redis.get(f"lgsp:gateway:throttle:{window}:bronze-app") or 0)
    assert allowed <= counter <= 1000
    # Once the window is spent, neither asks Redis again: refused locally.
    assert a.hit("bronze-app", "Bronze") is not ASK
    assert b.hit("bronze-app", "Bronze") is not ASK


async def test_an_unlimited_tier_never_asks_and_a_lease_spends_locally(
    shared: SharedState,
) -> None:
    _safe_window(3600)
    throttle = _throttle(shared)
    assert throttle.hit("gold-app", "Unlimited") is None
    assert throttle.hit("gold-app", "Gold") is ASK
    assert await _call(throttle, "gold-app", "Gold")
    # Gold's lease is 25 calls (0.5 % of 5,000): the next 24 are decided without Redis.
    assert throttle.lease_size(5000) == 25
    for _ in range(24):
        decision = throttle.hit("gold-app", "Gold")
        assert decision is not ASK and decision is not None and decision.allowed
    assert throttle.hit("gold-app", "Gold") is ASK


class _DeadStore:
    calls = 0

    async def take(self, key: str, want: int, limit: int, ttl: int) -> tuple[int, int]:
        self.calls += 1
        raise StoreUnavailable("ConnectionError: refused")


async def test_a_dead_store_falls_back_to_per_process_limits_and_retries() -> None:
    store = _DeadStore()
    changes: list[tuple[bool, str]] = []
    throttle = SharedThrottle(
        {"Bronze": 3}, 3600, store, retry_seconds=0.2, on_change=lambda d, r: changes.append((d, r))
    )
    assert [await _call(throttle, "c", "Bronze") for _ in range(5)] == [True] * 3 + [False] * 2
    assert throttle.degraded and changes == [(True, "ConnectionError: refused")]
    assert store.calls == 1  # not once per call while degraded
    await asyncio.sleep(0.25)
    await _call(throttle, "c", "Bronze")
    assert store.calls == 2 and len(changes) == 1  # told once per loss


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[int, Any]]:
    """A Redis server of the test's own on a free port, to stop and start again."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import redis

                redis.Redis(port=port).ping()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop() -> None:
        procs[-1].terminate()
        procs[-1].wait(10)

    start()
    try:
        yield port, (start, stop)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics")


async def _get(gw: Gateway, headers: dict[str, str]) -> int:
    return (await gw.client.get("/echo/v1/things", headers=headers)).status_code


async def test_a_redis_outage_keeps_serving_with_per_process_limits(
    tmp_path: Path,
    database_url: str,
    upstreams: dict[str, str],
    private_redis: tuple[int, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, (start, stop) = private_redis
    settings = gateway_settings(
        tmp_path,
        database_url,
        upstreams,
        redis_url=f"redis://127.0.0.1:{port}/0",
        redis_retry_seconds=0.3,
        throttle_window_seconds=3600,
        tier_limits={"Bronze": 4, "Unlimited": None},
    )
    _safe_window(3600)
    async with open_gateway(settings) as gw:
        _, auth = await gw.bearer(apis=["echo"], tier="Bronze")
        up = 'lgsp_gateway_shared_state_up{part="throttle"}'
        assert [await _get(gw, auth) for _ in range(2)] == [200, 200]
        stop()
        caplog.set_level(logging.WARNING, "lgsp.gateway.shared")
        # Redis gone: the calls are still decided, here by this process alone (its counters
        # start afresh: up to the limit again), never all refused.
        statuses = [await _get(gw, auth) for _ in range(6)]
        assert statuses == [200] * 4 + [429] * 2
        metrics = (await gw.client.get("/metrics")).text
        assert _metric(metrics, up) == 0
        assert _metric(metrics, 'lgsp_gateway_shared_state_failures_total{part="throttle"}') == 1
        assert any("throttling per process" in r.getMessage() for r in caplog.records)
        # Back (a Redis that kept nothing: the window's counter starts again): Redis counts.
        start()
        await asyncio.sleep(0.35)
        statuses = [await _get(gw, auth) for _ in range(5)]
        assert statuses == [200] * 4 + [429]
        metrics = (await gw.client.get("/metrics")).text
        assert _metric(metrics, up) == 1
        # The changes channel subscribes again too (and drops what it cached meanwhile).
        changes = 'lgsp_gateway_shared_state_up{part="changes"}'
        for _ in range(100):
            if _metric((await gw.client.get("/metrics")).text, changes) == 1:
                break
            await asyncio.sleep(0.05)
        assert _metric((await gw.client.get("/metrics")).text, changes) == 1
        assert any("answers again for the changes" in r.getMessage() for r in caplog.records)
        import redis

        keys = redis.Redis(port=port).keys("lgsp:gateway:throttle:*")
        assert [int(redis.Redis(port=port).get(k) or 0) for k in keys] == [4]


async def test_a_change_reaches_another_gateway_through_redis(
    tmp_path: Path, database_url: str, upstreams: dict[str, str], redis_url: str
) -> None:
    """Two gateways on one database and one Redis, each caching a consumer for a minute: a
    consumer disabled through one is refused by the other at once, and enabled again."""
    settings = gateway_settings(
        tmp_path, database_url, upstreams, redis_url=redis_url, consumer_cache_seconds=60.0
    )
    async with open_gateway(settings) as one, open_gateway(settings) as two:
        assert one.state.shared is not None and two.state.shared is not None
        await asyncio.wait_for(two.state.shared.subscribed.wait(), 5)
        created, auth = await one.bearer(apis=["echo"], tier="Gold")
        assert await _get(two, auth) == 200
        cid = created["client_id"]
        resp = await one.client.post(f"/admin/consumers/{cid}/disable", headers=one.admin())
        assert resp.status_code == 200
        assert await _until(lambda: _get(two, auth), 401) < 3.0
        resp = await one.client.post(f"/admin/consumers/{cid}/enable", headers=one.admin())
        assert resp.status_code == 200
        assert await _until(lambda: _get(two, auth), 200) < 3.0


async def _until(call: Any, status: int, give_up: float = 5.0) -> float:
    """Seconds until `call()` answers `status`."""
    began = time.monotonic()
    while True:
        got = await call()
        elapsed = time.monotonic() - began
        if got == status:
            return elapsed
        assert elapsed < give_up, f"still {got} after {elapsed:.1f} s"
        await asyncio.sleep(0.02)


def test_the_redis_url_is_shown_without_its_password() -> None:
    from gateway.shared import redacted

    assert redacted("redis://:s3cret@redis:6379/2") == "redis://redis:6379/2"
    assert "s3cret" not in redacted("rediss://user:s3cret@h/0")


async def test_without_redis_the_gateway_throttles_in_process(gw: Gateway) -> None:
    assert gw.state.shared is None
    assert type(gw.state.proxy.throttle) is Throttle
    _, auth = await gw.bearer(apis=["echo"], tier="Bronze")
    assert [await _get(gw, auth) for _ in range(4)] == [200, 200, 200, 429]
