"""What the backend receives on the wire through the gateway's own upstream client: the path
bytes as the caller sent them, a base path of the upstream, HEAD, `Expect` not passed on, and
one kept-alive connection for many calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.conftest import Backend, Gateway, gateway_settings, open_gateway

pytestmark = pytest.mark.anyio


@pytest.fixture
async def wire(
    tmp_path: Path, database_url: str, backend: tuple[Backend, str]
) -> AsyncIterator[Gateway]:
    url = backend[1]
    upstreams = {"echo": url, "based": f"{url}/base/"}
    async with open_gateway(gateway_settings(tmp_path, database_url, upstreams)) as gateway:
        yield gateway


async def test_the_path_bytes_and_query_reach_the_backend_as_sent(wire: Gateway) -> None:
    _, auth = await wire.bearer(apis=["echo"], tier="Gold")
    resp = await wire.client.get("/echo/v1/things/a%2Fb%20c?q=%C3%A1&x=1", headers=auth)
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == "/v1/things/a%2Fb%20c?q=%C3%A1&x=1"


async def test_an_upstream_base_path_is_kept(wire: Gateway) -> None:
    _, auth = await wire.bearer(apis=["based"], tier="Gold")
    resp = await wire.client.get("/based/v1/things?x=1", headers=auth)
    # The echo backend routes only /v1/...: the base path reached it.
    assert resp.status_code == 404
    assert resp.headers["ratelimit-limit"] == "100000"


async def test_head_and_expect(wire: Gateway, backend: tuple[Backend, str]) -> None:
    _, auth = await wire.bearer(apis=["echo"], tier="Gold")
    resp = await wire.client.head("/echo/v1/things", headers=auth)
    assert resp.status_code == 200
    assert resp.content == b""
    assert int(resp.headers["content-length"]) > 0
    resp = await wire.client.post(
        "/echo/v1/things", content=b'{"a":1}', headers={**auth, "Expect": "100-continue"}
    )
    assert resp.status_code == 200
    names = [name for name, _ in resp.json()["headers"]]
    assert "expect" not in names
    assert resp.json()["body_bytes"] == 7


async def test_many_calls_share_one_kept_alive_connection(wire: Gateway) -> None:
    _, auth = await wire.bearer(apis=["echo"], tier="Gold")
    pool = wire.state.proxy.pools["echo"]
    before = pool.opened
    for _ in range(10):
        assert (await wire.client.get("/echo/v1/things", headers=auth)).status_code == 200
    assert pool.opened - before <= 1
    assert pool.idle_count() == 1
