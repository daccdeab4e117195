"""The gateway's own routes at the edge (`lgsp_kit.edge`): `/admin` callers are checked before
their body is read, `/token` and `/admin` take small bodies only, and the proxy refuses `.`
and `..` path segments instead of forwarding them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Backend, Gateway

pytestmark = pytest.mark.anyio
CHUNK = 16 * 1024


class Source:
    """A request body made as it is pulled, counting what the gateway took."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            piece = b"{" * min(CHUNK, self.total - self.pulled)
            self.pulled += len(piece)
            yield piece


def _problem(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = resp.json()
    assert body["code"] == code
    return body


async def test_admin_without_a_token_or_the_admin_scope_is_refused_before_the_body(
    gw: Gateway,
) -> None:
    json_type = {"content-type": "application/json"}
    source = Source(48 * 1024)  # not JSON: read first, it was 422
    resp = await gw.client.post("/admin/consumers", content=source, headers=json_type)
    _problem(resp, 401, "missing_token")
    assert resp.headers["connection"] == "close"
    assert source.pulled <= CHUNK
    source = Source(48 * 1024)
    resp = await gw.client.post(
        "/admin/consumers", content=source, headers={**json_type, "authorization": "Bearer x.y.z"}
    )
    _problem(resp, 401, "invalid_token")
    assert source.pulled <= CHUNK
    _, consumer = await gw.bearer(apis=["echo"])  # a consumer's token, without lgsp:admin
    source = Source(48 * 1024)
    resp = await gw.client.post(
        "/admin/consumers", content=source, headers={**json_type, **consumer}
    )
    _problem(resp, 403, "insufficient_scope")
    assert source.pulled <= CHUNK
    # With the admin token the body is read, and a bad one is invalid input as before.
    resp = await gw.client.post(
        "/admin/consumers", content=b"{", headers={**json_type, **gw.admin()}
    )
    _problem(resp, 422, "validation_failed")
    await gw.consumer(apis=["echo"])  # and a good one registers


async def test_token_and_admin_take_small_bodies_only(gw: Gateway) -> None:
    limit = gw.runtime.settings.max_control_body_bytes
    assert limit == 64 * 1024
    form = {"content-type": "application/x-www-form-urlencoded"}
    source = Source(4 * limit)
    resp = await gw.client.post("/token", content=source, headers=form)
    _problem(resp, 413, "body_too_large")
    assert resp.headers["connection"] == "close"
    assert source.pulled <= limit + CHUNK
    big = b"grant_type=client_credentials&x=" + b"a" * limit
    _problem(await gw.client.post("/token", content=big, headers=form), 413, "body_too_large")
    source = Source(4 * limit)
    resp = await gw.client.post(
        "/admin/consumers",
        content=source,
        headers={"content-type": "application/json", **gw.admin()},
    )
    _problem(resp, 413, "body_too_large")
    assert source.pulled <= limit + CHUNK


@pytest.mark.parametrize(
    "path",
    [
        "/echo/v1/things/%2e%2e/%2e%2e/admin",
        "/echo/v1/%2E%2E/openapi.json",
        "/echo/v1/things/.%2e",
        "/echo/v1/things/%2e/1",
        "/echo/v1/things/..%2f..%2fadmin",
    ],
)
async def test_dot_segments_are_refused_not_forwarded(
    gw: Gateway, backend: tuple[Backend, str], path: str
) -> None:
    _, auth = await gw.bearer(apis=["echo"])
    calls = backend[0].calls
    resp = await gw.client.get(path, headers=auth)
    _problem(resp, 400, "dot_segment_in_path")
    assert backend[0].calls == calls
    # A dot inside a segment is an ordinary name.
    resp = await gw.client.get("/echo/v1/things/a..b/.well-known", headers=auth)
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == "/v1/things/a..b/.well-known"
