"""The dossier service: the province's one-stop system (Hệ thống thông tin giải quyết TTHC)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from lgsp_kit.app import Runtime, create_service_app
from services.dossier.dossiers.router import router as dossiers_router
from services.dossier.dossiers.router import sync_router
from services.dossier.dossiers.schemas import DossierRecord
from services.dossier.models import outbox
from services.dossier.national.report import BacklogReporter
from services.dossier.national.sync import SyncCollector, SyncWorker
from services.dossier.procedures.router import router as procedures_router
from services.dossier.procedures.service import seed_demo_catalogue
from services.dossier.settings import Settings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"
# The DVCQG sync of each running app (by its runtime), stopped with it.
SYNCS: dict[int, SyncWorker] = {}
# What reporting is told of the sync's backlog, beside each running sync.
BACKLOGS: dict[int, BacklogReporter] = {}


async def _start(runtime: Runtime[Settings]) -> None:
    if runtime.settings.seed_procedures:

        def work() -> None:
            with runtime.db.session() as session:
                seed_demo_catalogue(session)

        await asyncio.to_thread(work)
    sync = SyncWorker(runtime.db, runtime.settings)
    runtime.registry.register(SyncCollector(sync, runtime.settings.app_name))
    if runtime.settings.dvcqg_gateway_url:
        sync.start()
        reporter = BacklogReporter(runtime.db, runtime.settings, sync.leadership)
        reporter.start()
        BACKLOGS[id(runtime)] = reporter
    SYNCS[id(runtime)] = sync


async def _stop(runtime: Runtime[Settings]) -> None:
    reporter = BACKLOGS.pop(id(runtime), None)
    if reporter is not None:
        await reporter.stop()
    sync = SYNCS.pop(id(runtime), None)
    if sync is not None:
        await sync.stop()


def _with_record_schema(app: FastAPI) -> None:
    """The sync body takes raw records (each validated on its own); publish their shape."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = plain()
            record = DossierRecord.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(record.pop("$defs", {}))
            components["DossierRecord"] = record
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = create_service_app(
        settings,
        title="Dossier service (Hệ thống giải quyết TTHC)",
        description="Procedures, dossiers (hồ sơ TTHC), their status and payments.",
        routers=[procedures_router, sync_router, dossiers_router],
        migrations_dir=MIGRATIONS,
        outbox=outbox,
        on_startup=_start,
        on_shutdown=_stop,
    )
    _with_record_schema(app)
    return app
