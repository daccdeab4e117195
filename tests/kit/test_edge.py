"""The apps' edge (`lgsp_kit.edge`): bodies are limited by route class before they are read,
and a caller without a valid token is refused before its body is read (FastAPI reads and
validates a body before it runs the route's dependencies: a bad body without a token was 422
and, at 300 MB, cost the process 600 MB)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel

from lgsp_kit.app import create_service_app
from lgsp_kit.auth import Caller
from lgsp_kit.settings import AppSettings
from tests.conftest import TokenMint, serve

pytestmark = pytest.mark.anyio
LIMIT = 64 * 1024
IMPORT_LIMIT = 256 * 1024
CHUNK = 16 * 1024

router = APIRouter(prefix="/v1/things")


class Thing(BaseModel):
    name: str


@router.post("", status_code=201)
async def create_thing(body: Thing, caller: Caller) -> dict[str, str]:
    return {"name": body.name, "by": caller.client_id}


@router.get("")
async def list_things(caller: Caller) -> list[str]:
    return []


@router.post(":import", status_code=201)
async def import_things(request: Request, caller: Caller) -> dict[str, int]:
    return {"bytes": len(await request.body())}


class Source:
    """A request body made as it is pulled, counting what the app took."""

    def __init__(self, total: int, chunk: int = CHUNK) -> None:
        self.total = total
        self.chunk = chunk
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            piece = b"x" * min(self.chunk, self.total - self.pulled)
            self.pulled += len(piece)
            yield piece


@pytest.fixture
async def client(tmp_path: Path, mint: TokenMint) -> AsyncIterator[httpx.AsyncClient]:
    settings = AppSettings(
        app_name="things",
        data_dir=tmp_path,
        migrate_on_start=False,
        jwks_url=mint.jwks_url,
        max_body_bytes=LIMIT,
    )
    app = create_service_app(
        settings,
        title="things",
        description="a service of the kit",
        routers=[router],
        migrations_dir=tmp_path,
        uses_bus=False,
        body_limits={"/v1/things:import": IMPORT_LIMIT},
    )
    async with serve(app) as c:
        yield c


def _problem(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = resp.json()
    assert body["code"] == code
    return body


async def test_a_bad_body_without_a_token_is_401_and_is_not_read(
    client: httpx.AsyncClient,
) -> None:
    source = Source(LIMIT // 2)
    resp = await client.post(
        "/v1/things", content=source, headers={"content-type": "application/json"}
    )
    _problem(resp, 401, "missing_token")
    assert resp.headers["connection"] == "close"
    assert source.pulled <= CHUNK  # the transport's first chunk at most: the app read nothing


async def test_a_bad_token_or_a_missing_scope_is_refused_before_the_body(
    client: httpx.AsyncClient, mint: TokenMint
) -> None:
    source = Source(LIMIT // 2)
    resp = await client.post(
        "/v1/things",
        content=source,
        headers={"content-type": "application/json", "authorization": "Bearer not-a-token"},
    )
    _problem(resp, 401, "invalid_token")
    assert source.pulled <= CHUNK
    source = Source(LIMIT // 2)
    resp = await client.post(
        "/v1/things",
        content=source,
        headers={"content-type": "application/json", **mint.headers(["things:read"])},
    )
    _problem(resp, 403, "insufficient_scope")
    assert source.pulled <= CHUNK


async def test_a_good_call_still_passes_and_reads_without_a_token_are_still_401(
    client: httpx.AsyncClient, mint: TokenMint
) -> None:
    resp = await client.post(
        "/v1/things", json={"name": "a"}, headers=mint.headers(["things:write"])
    )
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"name": "a", "by": "test-client"}
    # With a token, a bad body is still told as invalid input.
    resp = await client.post(
        "/v1/things", json={"nom": "a"}, headers=mint.headers(["things:write"])
    )
    _problem(resp, 422, "validation_failed")
    _problem(await client.get("/v1/things"), 401, "missing_token")
    _problem(await client.get("/v1/nothing-here"), 404, "not_found")


async def test_a_declared_length_over_the_limit_is_413_at_once(
    client: httpx.AsyncClient, mint: TokenMint
) -> None:
    for headers in ({}, mint.headers(["things:write"])):
        source = Source(LIMIT + 1)
        resp = await client.post(
            "/v1/things",
            content=source,
            headers={
                **headers,
                "content-type": "application/json",
                "content-length": str(LIMIT + 1),
            },
        )
        body = _problem(resp, 413, "body_too_large")
        assert str(LIMIT) in body["detail"]
        assert resp.headers["connection"] == "close"
        assert source.pulled <= CHUNK


async def test_a_streamed_body_is_cut_once_past_the_limit(
    client: httpx.AsyncClient, mint: TokenMint
) -> None:
    source = Source(50 * LIMIT)  # no length declared: chunked
    resp = await client.post(
        "/v1/things",
        content=source,
        headers={"content-type": "application/json", **mint.headers(["things:write"])},
    )
    _problem(resp, 413, "body_too_large")
    assert resp.headers["connection"] == "close"
    assert source.pulled <= LIMIT + 2 * CHUNK


async def test_a_route_class_has_its_own_limit(client: httpx.AsyncClient, mint: TokenMint) -> None:
    auth = mint.headers(["things:write"])
    resp = await client.post("/v1/things:import", content=b"x" * (LIMIT * 3), headers=auth)
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"bytes": LIMIT * 3}
    source = Source(IMPORT_LIMIT * 4)
    resp = await client.post("/v1/things:import", content=source, headers=auth)
    _problem(resp, 413, "body_too_large")
    assert source.pulled <= IMPORT_LIMIT + 2 * CHUNK
    resp = await client.post("/v1/things:import", content=b"x" * (LIMIT * 3))
    _problem(resp, 401, "missing_token")
