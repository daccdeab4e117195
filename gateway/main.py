"""The gateway (LGSP): tokens, published APIs, and the proxy to the services."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.audit import checkpoint
from gateway.audit.router import router as audit_router
from gateway.auth.dependencies import check_admin
from gateway.auth.router import router as auth_router
from gateway.auth.secrets import VERIFY_POOL
from gateway.auth.service import SecretChecks
from gateway.auth.tokens import KeyRing
from gateway.catalogue.router import router as catalogue_router
from gateway.catalogue.service import Catalogue
from gateway.consumers.router import router as consumers_router
from gateway.consumers.service import (
    encrypt_plain_keys,
    ensure_admin_consumer,
    ensure_axis_consumer,
    ensure_demo_consumer,
    ensure_dvcqg_sync_consumer,
    ensure_signing_algorithm,
    find_consumer,
    signing_keys,
)
from gateway.fastpath.audit import AuditLog, AuditMetrics, Checkpoints
from gateway.fastpath.proxy import ConsumerView, Proxy, ProxyMetrics, consumer_view
from gateway.fastpath.throttle import SharedThrottle, Throttle
from gateway.settings import Settings, get_settings
from gateway.shared import SharedMetrics, SharedState, redacted
from gateway.state import GatewayState
from lgsp_kit import db as dbmod
from lgsp_kit import files
from lgsp_kit.app import Runtime, create_service_app
from lgsp_kit.requestid import RequestIdMiddleware

log = logging.getLogger("lgsp.gateway")
MIGRATIONS = Path(__file__).parent / "migrations"
# FastAPI's own schema and docs routes: the catalogue serves the merged ones at these paths.
REPLACED_ROUTES = frozenset({"/openapi.json", "/docs"})


class GatewayApp:
    """Published-API paths go to the proxy (which takes and echoes `X-Request-ID` itself);
    everything else to the gateway's own FastAPI app behind `RequestIdMiddleware`."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api
        self.state = api.state
        self.own = RequestIdMiddleware(api)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            proxy: Proxy | None = getattr(self.state, "proxy", None)
            if proxy is not None and proxy.matches(scope["path"]):
                await proxy(scope, receive, send)
                return
        await self.own(scope, receive, send)


@contextlib.contextmanager
def _startup_lock(data_dir: Path) -> Iterator[None]:
    """Worker processes of one gateway migrate and create the first key one at a time."""
    files.private_dir(data_dir)
    with files.private_file(data_dir / "gateway.startup.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prepare(
    settings: Settings, runtime: Runtime[Settings], migrate: bool
) -> list[tuple[str, str]]:
    with _startup_lock(settings.data_dir):
        if migrate:
            dbmod.upgrade(MIGRATIONS, settings.resolved_database_url())
        passphrase = _passphrase(settings)
        with runtime.db.session() as session:
            encrypt_plain_keys(session, passphrase=passphrase)
            ensure_signing_algorithm(
                session, passphrase=passphrase, algorithm=settings.token_algorithm
            )
            keys = signing_keys(session, passphrase=passphrase)
            if settings.environment == "dev":
                if settings.demo_consumer:
                    ensure_demo_consumer(
                        session, settings.published(), settings.data_dir / "demo-client.json"
                    )
                if settings.admin_consumer:
                    ensure_admin_consumer(session, settings.data_dir / "admin-client.json")
                if settings.axis_consumer and "documents" in settings.upstreams:
                    ensure_axis_consumer(session, settings.data_dir / "axis-client.json")
                if settings.dvcqg_sync_consumer and "dvcqg" in settings.national():
                    ensure_dvcqg_sync_consumer(session, settings.data_dir / "dvcqg-client.json")
            return keys


def _passphrase(settings: Settings) -> bytes:
    return settings.key_passphrase.get_secret_value().encode()


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or get_settings()
    migrate = settings.migrate_on_start
    tasks: list[asyncio.Task[None]] = []

    async def startup(runtime: Runtime[Settings]) -> None:
        keyring = KeyRing(
            await asyncio.to_thread(_prepare, settings, runtime, migrate),
            issuer=settings.issuer,
            passphrase=_passphrase(settings),
            leeway=settings.token_leeway_seconds,
            new_key_algorithm=settings.token_algorithm,
        )

        def read_keys() -> list[tuple[str, str]]:
            with runtime.db.session() as session:
                return signing_keys(session, passphrase=_passphrase(settings))

        async def reload_keys() -> None:
            # A read that began before a rotation here must not undo it when it lands after.
            seen = keyring.generation
            keyring.load(await asyncio.to_thread(read_keys), read_at=seen)

        # A key id the ring does not hold may be one another gateway process has just made.
        keyring.verifier.reload = reload_keys

        async def load_consumer(client_id: str) -> ConsumerView | None:
            def load() -> ConsumerView | None:
                with runtime.db.session() as session:
                    row = find_consumer(session, client_id)
                    return consumer_view(row) if row is not None else None

            return await asyncio.to_thread(load)

        audit = None
        if settings.audit_enabled:
            key = await asyncio.to_thread(
                checkpoint.load_key,
                settings.checkpoint_key_setting(),
                settings.checkpoint_key_file(),
                create=True,
            )
            audit = AuditLog(
                runtime.db,
                AuditMetrics(runtime.registry),
                batch_size=settings.audit_batch_size,
                flush_seconds=settings.audit_flush_seconds,
                buffer_limit=settings.audit_buffer_limit,
                checkpoints=Checkpoints(
                    settings.checkpoint_file(), key, settings.audit_checkpoint_seconds
                ),
            )
            audit.start()

        shared: SharedState | None = None
        throttle: Throttle
        if settings.redis_url:
            shared = SharedState(
                settings.redis_url,
                SharedMetrics(runtime.registry),
                timeout=settings.redis_timeout_seconds,
            )
            throttle = SharedThrottle(
                settings.tier_limits,
                settings.throttle_window_seconds,
                shared,
                lease=settings.throttle_lease_fraction,
                lease_max=settings.throttle_lease_max,
                retry_seconds=settings.redis_retry_seconds,
                on_change=shared.throttle_changed,
            )
        else:
            throttle = Throttle(settings.tier_limits, settings.throttle_window_seconds)
        proxy = Proxy(
            settings,
            keyring,
            load_consumer,
            ProxyMetrics(runtime.registry),
            throttle=throttle,
            audit=audit,
        )
        await proxy.start()
        catalogue = Catalogue(
            proxy.upstreams,
            _spec_fetcher(proxy),
            settings.catalogue_cache_seconds,
            national={
                api: (settings.national_url.rstrip("/"), prefix)
                for api, prefix in settings.national_contexts.items()
            }
            if settings.national_url
            else None,
        )
        proxy.catalogue = catalogue
        api.state.gateway = GatewayState(
            runtime=runtime,
            keyring=keyring,
            secret_checks=SecretChecks(
                VERIFY_POOL,
                queue_limit=settings.token_check_queue_limit,
                failure_limit=settings.token_failure_limit,
                failure_window_seconds=settings.token_failure_window_seconds,
            ),
            proxy=proxy,
            catalogue=catalogue,
            audit=audit,
            shared=shared,
        )
        if shared is not None:
            log.info("gateway state shared in Redis %s", redacted(settings.redis_url))
            tasks.append(asyncio.create_task(_follow_changes(shared, proxy, reload_keys)))
        for name, base in proxy.upstreams.items():
            api.state.readiness_checks[f"upstream:{name}"] = _readiness(proxy, base)
        tasks.append(asyncio.create_task(_refresh_keys(reload_keys, settings.key_refresh_seconds)))
        api.state.proxy = proxy

    async def shutdown(runtime: Runtime[Settings]) -> None:
        for task in tasks:
            task.cancel()
        api.state.proxy = None
        state: GatewayState = api.state.gateway
        if state.audit is not None:
            await state.audit.stop()
        await state.proxy.close()
        if state.shared is not None:
            await state.shared.close()

    api = create_service_app(
        settings.model_copy(update={"migrate_on_start": False}),
        title="LGSP gateway",
        description=(
            "Nền tảng tích hợp, chia sẻ dữ liệu cấp tỉnh (LGSP): tokens, published APIs "
            "under `/{context}/v1/...`, consumers, throttling, audit and the catalogue."
        ),
        routers=[auth_router, catalogue_router, consumers_router, audit_router],
        migrations_dir=MIGRATIONS,
        uses_bus=False,
        on_startup=startup,
        on_shutdown=shutdown,
        # Small bodies only on the gateway's own control routes; `/admin` callers are checked
        # before their body is read (`lgsp_kit.edge`).
        body_limits={
            "/token": settings.max_control_body_bytes,
            "/admin": settings.max_control_body_bytes,
        },
        early_checks={"/admin": check_admin},
    )
    # FastAPI's defaults are plain routes; the catalogue's (API routes) take their paths.
    api.router.routes[:] = [
        r
        for r in api.router.routes
        if isinstance(r, APIRoute) or getattr(r, "path", None) not in REPLACED_ROUTES
    ]
    return GatewayApp(api)


def _spec_fetcher(proxy: Proxy) -> Any:
    async def fetch(base: str) -> dict[str, Any]:
        assert proxy.session is not None
        timeout = aiohttp.ClientTimeout(total=3)
        async with proxy.session.get(f"{base}/openapi.json", timeout=timeout) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            spec: dict[str, Any] = await resp.json(content_type=None)
            return spec

    return fetch


def _readiness(proxy: Proxy, base: str) -> Any:
    async def check() -> None:
        assert proxy.session is not None
        timeout = aiohttp.ClientTimeout(total=1.5)
        async with proxy.session.get(f"{base}/readyz", timeout=timeout) as resp:
            if resp.status != 200:
                raise ConnectionError(f"{base}/readyz answered {resp.status}")

    return check


async def _refresh_keys(reload: Any, every: float) -> None:
    """Pick up a key rotation made by another gateway process."""
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(Exception):
            await reload()


async def _follow_changes(shared: SharedState, proxy: Proxy, reload_keys: Any) -> None:
    """Act on the changes other gateway processes announce (and this one's own: harmless)."""

    async def on_message(message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == "consumer" and isinstance(message.get("client_id"), str):
            proxy.forget(message["client_id"])
        elif kind == "keys":
            await reload_keys()

    def on_resubscribed() -> None:
        # Changes announced while the subscription was down are lost: drop what may be stale.
        proxy.forget_all()
        task = asyncio.ensure_future(reload_keys())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    await shared.listen(on_message, on_resubscribed)
