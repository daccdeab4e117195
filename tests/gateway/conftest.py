"""Gateway fixtures: the real gateway app on a real database, in front of small backends
started on free ports (an echoing service, a slow one, one that breaks connections, none)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from gateway.fastpath.audit import AuditLog
from gateway.main import GatewayApp, create_app
from gateway.settings import Settings
from gateway.state import GatewayState
from lgsp_kit.natsserver import free_port

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "Echo service", "version": "1.0.0"},
    "paths": {
        "/v1/things": {
            "get": {"operationId": "list_things", "tags": ["things"], "responses": {}},
            "post": {
                "operationId": "create_thing",
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                    }
                },
                "responses": {},
            },
        },
        "/v1/things/{thing_id}": {"get": {"operationId": "get_thing", "responses": {}}},
        "/v1/things:count": {"get": {"operationId": "count_things", "responses": {}}},
        "/healthz": {"get": {"operationId": "healthz", "responses": {}}},
    },
    "components": {"schemas": {"Thing": {"type": "object"}}},
}


@dataclass
class Backend:
    """An echoing backend: tells what it received; a few paths misbehave on purpose."""

    release_stream: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0

    async def echo(self, request: web.Request) -> web.Response:
        self.calls += 1
        chunks = 0
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.content.iter_any():
            chunks += 1
            size += len(chunk)
            digest.update(chunk)
        return web.json_response(
            {
                "method": request.method,
                "path": request.path_qs,
                "headers": [[k.lower(), v] for k, v in request.headers.items()],
                "body_bytes": size,
                "body_sha256": digest.hexdigest(),
            },
            headers={
                "Connection": "keep-alive, X-Upstream-Hop",
                "X-Upstream-Hop": "secret",
                "X-Upstream-Kept": "yes",
            },
        )

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(1.5)
        return web.json_response({"late": True})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        await resp.write(b"first;")
        # The second part only comes once the caller has seen the first one through the
        # gateway: a gateway that buffered the whole answer would never get it.
        await asyncio.wait_for(self.release_stream.wait(), 5)
        await resp.write(b"second")
        await resp.write_eof()
        return resp

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(OPENAPI)

    async def ready(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/openapi.json", self.openapi)
        app.router.add_get("/readyz", self.ready)
        app.router.add_get("/v1/slow", self.slow)
        app.router.add_get("/v1/stream", self.stream)
        app.router.add_route("*", "/v1/{tail:.*}", self.echo)
        return app


@asynccontextmanager
async def run_backend(backend: Backend) -> AsyncIterator[str]:
    runner = web.AppRunner(backend.app(), access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def run_breaker() -> AsyncIterator[str]:
    """A backend that accepts the connection, reads the request and hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def gateway_settings(
    tmp_path: Path, database_url: str, upstreams: dict[str, str], **kw: Any
) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": database_url,
        "upstreams": upstreams,
        "upstream_timeout_seconds": 0.5,
        "max_body_bytes": 256 * 1024,
        "tier_limits": {"Bronze": 3, "Silver": 2000, "Gold": 100_000, "Unlimited": None},
        "audit_flush_seconds": 60.0,
        "consumer_cache_seconds": 0.3,
    }
    values.update(kw)
    return Settings(**values)


@dataclass
class Gateway:
    app: Any
    client: httpx.AsyncClient
    data_dir: Path
    admin_token: str = ""

    @property
    def runtime(self) -> Any:
        wrapper: GatewayApp = self.app
        return wrapper.api.state.runtime

    @property
    def state(self) -> GatewayState:
        wrapper: GatewayApp = self.app
        state: GatewayState = wrapper.api.state.gateway
        return state

    @property
    def audit_log(self) -> AuditLog:
        audit = self.state.audit
        assert audit is not None
        return audit

    async def token(self, client_id: str, secret: str, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        resp = await self.client.post(
            "/token", data=form, headers={"Authorization": f"Basic {basic}"}
        )
        assert resp.status_code == 200, resp.text
        token: str = resp.json()["access_token"]
        return token

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    async def consumer(self, **body: Any) -> dict[str, Any]:
        body = {"name": "Cổng DVC tỉnh", "organ_code": "000.00.00.H03", **body}
        resp = await self.client.post("/admin/consumers", json=body, headers=self.admin())
        assert resp.status_code == 201, resp.text
        created: dict[str, Any] = resp.json()
        return created

    async def bearer(self, **body: Any) -> tuple[dict[str, Any], dict[str, str]]:
        created = await self.consumer(**body)
        token = await self.token(created["client_id"], created["client_secret"])
        return created, {"Authorization": f"Bearer {token}"}

    async def audit(self, **filters: Any) -> list[dict[str, Any]]:
        await self.audit_log.flush()
        resp = await self.client.get("/admin/audit", params=filters, headers=self.admin())
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["items"]
        return items


@asynccontextmanager
async def open_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    app = create_app(settings)
    api = app.api  # type: ignore[attr-defined]
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            gw = Gateway(app, client, settings.data_dir)
            admin = json.loads((settings.data_dir / "admin-client.json").read_text())
            gw.admin_token = await gw.token(admin["client_id"], admin["client_secret"])
            yield gw


@pytest.fixture
async def backend() -> AsyncIterator[tuple[Backend, str]]:
    b = Backend()
    async with run_backend(b) as url:
        yield b, url


@pytest.fixture
async def breaker() -> AsyncIterator[str]:
    async with run_breaker() as url:
        yield url


@pytest.fixture
def upstreams(backend: tuple[Backend, str], breaker: str) -> dict[str, str]:
    return {"echo": backend[1], "broken": breaker, "down": f"http://127.0.0.1:{free_port()}"}


@pytest.fixture
async def gw(
    tmp_path: Path, database_url: str, upstreams: dict[str, str]
) -> AsyncIterator[Gateway]:
    async with open_gateway(gateway_settings(tmp_path, database_url, upstreams)) as gateway:
        yield gateway
