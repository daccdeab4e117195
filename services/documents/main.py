"""The documents service: the province's document exchange (Hệ thống QLVB&ĐHCV)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from lgsp_kit.app import Runtime, create_service_app
from services.documents.documents.axis_router import router as axis_router
from services.documents.documents.router import inbox_router
from services.documents.documents.router import router as documents_router
from services.documents.documents.status_router import router as status_router
from services.documents.models import outbox
from services.documents.organs.router import router as organs_router
from services.documents.organs.service import seed_directory, seed_national
from services.documents.settings import Settings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


async def _seed(runtime: Runtime[Settings]) -> None:
    def work() -> None:
        with runtime.db.session() as session:
            seed_directory(session)
            seed_national(session)

    await asyncio.to_thread(work)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings,
        title="Documents service (Hệ thống QLVB&ĐHCV)",
        description="Organ directory and signed document exchange between organs (edXML).",
        routers=[organs_router, inbox_router, documents_router, status_router, axis_router],
        migrations_dir=MIGRATIONS,
        outbox=outbox,
        on_startup=_seed,
        # An edXML package may be larger than an API body (attachments, base64).
        body_limits={"/v1/documents:import": settings.max_package_bytes},
    )
