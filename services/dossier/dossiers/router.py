"""HTTP endpoints of dossiers (hồ sơ TTHC)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool

from lgsp_kit.app import RuntimeDep
from lgsp_kit.responses import problem_responses
from services.dossier.dossiers import service
from services.dossier.dossiers.schemas import DossierCreate, DossierOut

router = APIRouter(prefix="/v1/dossiers", tags=["dossiers"])


@router.post(
    "",
    status_code=201,
    response_model=DossierOut,
    summary="Submit a dossier",
    responses=problem_responses(400, 401, 403, 409, 422, 429),
)
async def submit_dossier(body: DossierCreate, runtime: RuntimeDep) -> DossierOut:
    """Nộp hồ sơ: the service assigns MaHoSo and the dossier starts as Mới đăng ký (1)."""
    tz = ZoneInfo(runtime.settings.timezone)

    def work() -> DossierOut:
        with runtime.db.session() as session:
            return service.submit(session, body, tz=tz)

    return await run_in_threadpool(work)


@router.get(
    "/{code}",
    response_model=DossierOut,
    summary="Get a dossier",
    responses=problem_responses(400, 401, 403, 404, 429),
)
async def get_dossier(
    runtime: RuntimeDep, code: str = Path(max_length=64, description="MaHoSo")
) -> DossierOut:
    """One dossier by its MaHoSo."""
    tz = ZoneInfo(runtime.settings.timezone)

    def work() -> DossierOut:
        with runtime.db.session() as session:
            return service.get(session, code, tz=tz)

    return await run_in_threadpool(work)
