"""The gateway (LGSP): tokens, published APIs, and the proxy to the services."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.router import router as auth_router
from gateway.auth.tokens import KeyRing
from gateway.consumers.service import ensure_demo_consumer, find_consumer, signing_keys
from gateway.proxy.handler import ConsumerView, Proxy, ProxyMetrics, consumer_view
from gateway.settings import Settings, get_settings
from lgsp_kit.app import Runtime, create_service_app
from lgsp_kit.requestid import RequestIdMiddleware

MIGRATIONS = Path(__file__).parent / "migrations"


class GatewayApp:
    """Published-API paths go to the proxy; everything else to the gateway's own FastAPI app."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api
        self.state = api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            proxy: Proxy | None = getattr(self.api.state, "proxy", None)
            if proxy is not None and proxy.matches(scope["path"]):
                await proxy(scope, receive, send)
                return
        await self.api(scope, receive, send)


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or get_settings()

    async def startup(runtime: Runtime) -> None:
        def prepare() -> list[tuple[str, str]]:
            with runtime.db.session() as session:
                keys = signing_keys(session)
                if settings.demo_consumer and settings.environment == "dev":
                    ensure_demo_consumer(
                        session, list(settings.upstreams), settings.data_dir / "demo-client.json"
                    )
                return keys

        keyring = KeyRing(await asyncio.to_thread(prepare), issuer=settings.issuer)
        runtime.extras["keyring"] = keyring

        async def load_consumer(client_id: str) -> ConsumerView | None:
            def load() -> ConsumerView | None:
                with runtime.db.session() as session:
                    row = find_consumer(session, client_id)
                    return consumer_view(row) if row is not None else None

            return await asyncio.to_thread(load)

        proxy = Proxy(settings, keyring, load_consumer, ProxyMetrics(runtime.registry))
        await proxy.start()
        api.state.proxy = proxy

    async def shutdown(runtime: Runtime) -> None:
        proxy: Proxy | None = getattr(api.state, "proxy", None)
        if proxy is not None:
            await proxy.close()

    api = create_service_app(
        settings,
        title="LGSP gateway",
        description="Nền tảng tích hợp, chia sẻ dữ liệu cấp tỉnh: tokens and published APIs.",
        routers=[auth_router],
        migrations_dir=MIGRATIONS,
        uses_bus=False,
        on_startup=startup,
        on_shutdown=shutdown,
    )
    return RequestIdMiddleware(GatewayApp(api))
