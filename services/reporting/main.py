"""The reporting service: Phụ lục II indicators, computed in real time from events."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from lgsp_kit.app import Runtime, create_service_app
from lgsp_kit.consumer import EventConsumer
from services.reporting import public
from services.reporting.metrics import ProjectionCollector
from services.reporting.models import processed_event
from services.reporting.projections.handlers import make_handler
from services.reporting.projections.sources import PRODUCER_SOURCES
from services.reporting.router import router
from services.reporting.settings import Settings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    tz = settings.zone

    def consumer(runtime: Runtime[Settings]) -> EventConsumer:
        assert runtime.bus is not None
        return EventConsumer(
            runtime.db,
            processed_event,
            runtime.bus,
            make_handler(tz),
            durable=settings.durable_name,
            batch_size=settings.batch_size,
            sources=PRODUCER_SOURCES,
        )

    async def register_metrics(runtime: Runtime[Settings]) -> None:
        runtime.registry.register(
            ProjectionCollector(
                runtime.db,
                lambda: runtime.consumer.lag_seconds if runtime.consumer else 0.0,
                tz,
            )
        )

    app = create_service_app(
        settings,
        title="Reporting service (Hệ thống thông tin báo cáo)",
        description=(
            "Phụ lục II e-government indicators, computed from the platform's events. "
            "The live page at `/` needs no token (aggregated figures only); through the "
            "gateway the same page is `/reporting/v1/dashboard`."
        ),
        routers=[router],
        migrations_dir=MIGRATIONS,
        consumer_factory=consumer,
        on_startup=register_metrics,
    )
    if settings.public_page:
        # Outside the guarded routers on purpose: a browser cannot send a Bearer token.
        app.include_router(public.router)
    return app
