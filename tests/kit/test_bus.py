"""The bus takes one NATS URL or a cluster's list of them, and reaches whichever answers."""

from __future__ import annotations

import asyncio

import pytest

from lgsp_kit.bus import Bus, server_urls
from lgsp_kit.natsserver import free_port

pytestmark = pytest.mark.anyio


def test_one_url_is_a_list_of_one() -> None:
    assert server_urls("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]


def test_a_comma_separated_list_gives_each_server() -> None:
    urls = " nats://nats-1:4222, nats://nats-2:4222 ,nats://nats-3:4222,"
    assert server_urls(urls) == [
        "nats://nats-1:4222",
        "nats://nats-2:4222",
        "nats://nats-3:4222",
    ]


def test_an_empty_url_is_refused() -> None:
    with pytest.raises(ValueError, match="no NATS server"):
        server_urls(" , ")


async def test_a_list_with_a_dead_server_connects_to_the_live_one(nats_url: str) -> None:
    dead = f"nats://127.0.0.1:{free_port()}"
    bus = Bus(f"{dead},{nats_url}", stream="LISTED")
    assert bus.servers == [dead, nats_url]
    bus.start()
    try:
        await asyncio.wait_for(bus.wait_ready(), 20)
        ack = await bus.js.publish("lgsp.dossier.dossier.submitted", b"{}")
        assert ack.stream == "LISTED"
    finally:
        await bus.close()
