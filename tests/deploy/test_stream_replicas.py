"""The stream's replica count comes from the settings and reaches JetStream.

A scale-out deployment sets `LGSP_STREAM_REPLICAS=3` (deploy/k8s); the embedded single server
cannot hold more than one copy, which is what proves the setting is really sent to NATS.
"""

from __future__ import annotations

import asyncio

import pytest
from nats.js.errors import APIError

from lgsp_kit.bus import Bus
from lgsp_kit.settings import AppSettings

pytestmark = pytest.mark.anyio


def test_stream_replicas_is_read_from_the_platform_wide_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert AppSettings().stream_replicas == 1
    monkeypatch.setenv("LGSP_STREAM_REPLICAS", "3")
    assert AppSettings().stream_replicas == 3
    monkeypatch.setenv("LGSP_STREAM_REPLICAS", "0")
    with pytest.raises(ValueError):
        AppSettings()
    monkeypatch.delenv("LGSP_STREAM_REPLICAS")
    monkeypatch.setenv("LGSP_NATS_REPLICAS", "3")
    assert AppSettings().stream_replicas == 3


async def _connected(bus: Bus) -> None:
    for _ in range(100):
        if bus.connected:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("bus did not connect")


async def test_bus_creates_the_stream_with_the_configured_replicas(nats_url: str) -> None:
    single = Bus(nats_url, stream="SINGLE", replicas=1)
    single.start()
    try:
        await asyncio.wait_for(single.wait_ready(), 10)
        info = await single.js.stream_info("SINGLE")
        assert info.config.num_replicas == 1
    finally:
        await single.close()

    clustered = Bus(nats_url, stream="CLUSTERED", replicas=3)
    clustered.start()
    try:
        await _connected(clustered)
        # A lone server refuses three copies: the count was sent, not dropped on the way.
        with pytest.raises(APIError, match=r"(?i)replicas"):
            await clustered.ensure_stream()
    finally:
        await clustered.close()
