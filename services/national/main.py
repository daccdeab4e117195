"""The national simulator: the national side an LGSP connects the province to.

DVCQG (the national public-service portal's dossier sync), the NGSP shared-data services (the
population database, business registration) behind the national gateway's tokens, and the
national document axis. It stands for systems outside the province: the province reaches it
through its own gateway, never the other way round, and it publishes no events.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from lgsp_kit.app import Runtime, create_service_app
from services.national import auth, faults
from services.national.axis.router import MAX_PACKAGE_BYTES
from services.national.axis.router import router as axis_router
from services.national.axis.worker import AxisWorker
from services.national.dvcqg.router import router as dvcqg_router
from services.national.dvcqg.router import view as dvcqg_view
from services.national.dvcqg.router import view_calls as dvcqg_calls
from services.national.ngsp.router import dancu, dkdn
from services.national.settings import Settings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    workers: list[AxisWorker] = []

    async def start(runtime: Runtime[Settings]) -> None:
        if settings.axis_enabled:
            worker = AxisWorker(settings, runtime.db)
            worker.start()
            workers.append(worker)

    async def stop(runtime: Runtime[Settings]) -> None:
        for worker in workers:
            await worker.stop()
        workers.clear()

    return create_service_app(
        settings,
        title="National simulator (DVCQG, NGSP, the national document axis)",
        description=(
            "Stands for the national side: the Cổng Dịch vụ công quốc gia's dossier sync "
            "(`/dvcqg`), the NGSP shared-data services (`/apiCSDLDanCu`, `/apiCSDLDKDN`) "
            "behind the national gateway's tokens (`/token`), and the national document axis "
            "(`/axis`). Testers read what it received (`/dvcqg/hoso`, `/axis/packages`) and "
            "make it fail (`/admin/fault`). Its records are synthetic."
        ),
        routers=[
            auth.router,
            dvcqg_router,
            dvcqg_view,
            dvcqg_calls,
            dancu,
            dkdn,
            axis_router,
            faults.router,
        ],
        migrations_dir=MIGRATIONS,
        uses_bus=False,
        on_startup=start,
        on_shutdown=stop,
        body_limits={"/axis/packages": MAX_PACKAGE_BYTES},
    )
