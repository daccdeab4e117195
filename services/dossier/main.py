"""The dossier service: the province's one-stop system (Hệ thống thông tin giải quyết TTHC)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from lgsp_kit.app import Runtime, create_service_app
from services.dossier.dossiers.router import router as dossiers_router
from services.dossier.models import outbox
from services.dossier.procedures.service import seed_demo_catalogue
from services.dossier.settings import Settings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


async def _seed(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    if settings.seed_procedures:

        def work() -> None:
            with runtime.db.session() as session:
                seed_demo_catalogue(session)

        await asyncio.to_thread(work)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings,
        title="Dossier service (Hệ thống giải quyết TTHC)",
        description="Procedures, dossiers (hồ sơ TTHC), their status and payments.",
        routers=[dossiers_router],
        migrations_dir=MIGRATIONS,
        outbox=outbox,
        on_startup=_seed,
    )
