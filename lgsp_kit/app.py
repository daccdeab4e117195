"""`create_service_app`: the FastAPI app every service and the gateway are built on.

The lifespan builds everything (migrations, engine, bus, relay, consumer); nothing is built at
import time. What it built sits on `app.state.runtime`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry
from sqlalchemy import Table
from starlette.types import ASGIApp, Receive, Scope, Send

from lgsp_kit import db as dbmod
from lgsp_kit import paramcache
from lgsp_kit.auth import authorise, check_caller
from lgsp_kit.bus import Bus
from lgsp_kit.consumer import EventConsumer, RefusedCollector
from lgsp_kit.db import Database
from lgsp_kit.edge import Check, EdgeGuard
from lgsp_kit.errors import install_error_handlers
from lgsp_kit.fields import display_zone
from lgsp_kit.health import ReadinessCheck
from lgsp_kit.health import router as health_router
from lgsp_kit.metrics import HttpMetrics, MetricsMiddleware
from lgsp_kit.relay import BacklogCollector, OutboxRelay
from lgsp_kit.requestid import RequestIdMiddleware
from lgsp_kit.responses import Answered, problem_responses, send_answered
from lgsp_kit.sessions import UnitRoute, check_routes
from lgsp_kit.settings import AppSettings
from lgsp_kit.tokens import JwksVerifier

log = logging.getLogger("lgsp.app")


# Set by `lgsp run` (a server process, not a test): see `freeze_startup_objects`.
GC_FREEZE_ENV = "LGSP_GC_FREEZE"


def freeze_startup_objects() -> None:
    """Move what startup built (modules, routes, models, engines: some 150,000 objects) out of
    the cyclic collector's sight. Otherwise each full collection walks them all, 50–130 ms
    during which the process answers nothing: that, not the work, made a server's p99 tail."""
    gc.collect()
    gc.freeze()


SettingsT = TypeVar("SettingsT", bound=AppSettings)


@dataclass
class Runtime(Generic[SettingsT]):
    """What the lifespan built, typed by the app's own settings class: `Runtime[Settings]`."""

    settings: SettingsT
    db: Database
    registry: CollectorRegistry
    # Checks the gateway's tokens with its published keys (lgsp_kit.auth).
    verifier: JwksVerifier
    bus: Bus | None = None
    relay: OutboxRelay | None = None
    consumer: EventConsumer | None = None


ConsumerFactory = Callable[[Runtime[SettingsT]], EventConsumer]
Hook = Callable[[Runtime[SettingsT]], Awaitable[None]]


class DisplayZone:
    """Sets the zone answers show times in (`lgsp_kit.fields.LocalTime`) for each request."""

    def __init__(self, app: ASGIApp, zone: ZoneInfo) -> None:
        self.app = app
        self.zone = zone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = display_zone.set(self.zone)
        try:
            await self.app(scope, receive, send)
        finally:
            display_zone.reset(token)


def operation_id(route: APIRoute) -> str:
    """Stable operation ids: the endpoint function's name."""
    return route.name


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def create_service_app(
    settings: SettingsT,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    migrations_dir: Path,
    outbox: Table | None = None,
    consumer_factory: ConsumerFactory[SettingsT] | None = None,
    uses_bus: bool = True,
    on_startup: Hook[SettingsT] | None = None,
    on_shutdown: Hook[SettingsT] | None = None,
    version: str = "1.0.0",
    body_limits: Mapping[str, int] | None = None,
    early_checks: Mapping[str, Check] | None = None,
) -> FastAPI:
    """`body_limits` and `early_checks` are by path prefix (`lgsp_kit.edge`): a route class's
    own body limit (else `settings.max_body_bytes`) and the credential check that runs before
    a body is read (the services' `/v1` routes: `check_caller`, when auth is required)."""
    _configure_logging()
    paramcache.install()
    registry = CollectorRegistry()
    http_metrics = HttpMetrics(registry, settings.app_name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_routes(app)
        url = settings.resolved_database_url()
        if settings.migrate_on_start:
            await asyncio.to_thread(dbmod.upgrade, migrations_dir, url)
        verifier = JwksVerifier(
            settings.jwks_url, issuer=settings.token_issuer, leeway=settings.token_leeway_seconds
        )
        runtime = Runtime(settings=settings, db=Database(url), registry=registry, verifier=verifier)
        app.state.runtime = runtime
        checks: dict[str, ReadinessCheck] = app.state.readiness_checks

        async def database_ready() -> None:
            await asyncio.to_thread(runtime.db.ping)

        checks["database"] = database_ready
        if uses_bus:
            runtime.bus = Bus(
                settings.nats_url,
                stream=settings.stream_name,
                name=settings.app_name,
                replicas=settings.stream_replicas,
                user=settings.nats_user,
                password=settings.nats_password.get_secret_value(),
                tls_ca=settings.nats_tls_ca,
                # With credentials, only a producer's NATS user may create the stream.
                create_stream=outbox is not None or not settings.nats_user,
            )
            runtime.bus.start()
            bus = runtime.bus

            async def nats_ready() -> None:
                if not bus.connected:
                    raise ConnectionError(f"not connected to {settings.nats_url}")

            checks["nats"] = nats_ready
            if outbox is not None:
                runtime.relay = OutboxRelay(runtime.db, outbox, runtime.bus)
                runtime.relay.start()
                registry.register(BacklogCollector(runtime.relay, settings.app_name))
            if consumer_factory is not None:
                runtime.consumer = consumer_factory(runtime)
                registry.register(RefusedCollector(runtime.consumer, settings.app_name))
                runtime.consumer.start()
        if on_startup is not None:
            await on_startup(runtime)
        if os.environ.get(GC_FREEZE_ENV) == "1":
            freeze_startup_objects()
        try:
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown(runtime)
            if runtime.consumer is not None:
                await runtime.consumer.stop()
            if runtime.relay is not None:
                await runtime.relay.stop()
            if runtime.bus is not None:
                await runtime.bus.close()
            runtime.db.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    # Routes declared on the app itself run their units of work as the routers' do.
    app.router.route_class = UnitRoute
    app.state.registry = registry
    app.state.readiness_checks = {}
    install_error_handlers(app)
    app.add_exception_handler(Answered, send_answered)
    checks: dict[str, Check] = {"/v1": check_caller} if settings.auth_required else {}
    checks.update(early_checks or {})
    app.add_middleware(
        EdgeGuard,
        default_limit=settings.max_body_bytes,
        limits=body_limits,
        checks=checks,
    )
    app.add_middleware(DisplayZone, zone=settings.zone)
    app.add_middleware(MetricsMiddleware, metrics=http_metrics)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health_router)
    guard = [Depends(authorise)] if settings.auth_required else []
    too_large = problem_responses(413)
    for router in routers:
        for route in router.routes:
            # Any body may meet the edge's limit (lgsp_kit.edge): the contract says so.
            if isinstance(route, APIRoute) and (route.methods or set()) & {"POST", "PUT", "PATCH"}:
                route.responses = {**route.responses, **too_large}
        app.include_router(router, dependencies=guard)
    return app


async def get_runtime(request: Request) -> Runtime[Any]:
    runtime: Runtime[Any] = request.app.state.runtime
    return runtime


# The kit's view (any app's settings); an app's own dependency types the settings.
RuntimeDep = Annotated[Runtime[Any], Depends(get_runtime)]
