"""HTTP endpoints of the organ directory."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from lgsp_kit.app import RuntimeDep
from lgsp_kit.responses import problem_responses
from services.documents.organs import service
from services.documents.organs.schemas import OrganPage

router = APIRouter(prefix="/v1/organs", tags=["organs"])


@router.get(
    "",
    response_model=OrganPage,
    summary="List organs",
    responses=problem_responses(400, 401, 403, 422, 429),
)
async def list_organs(
    runtime: RuntimeDep,
    level: Literal["province", "province_organ", "district", "commune"] | None = None,
    cursor: str | None = Query(default=None, max_length=32),
    limit: int = Query(default=100, ge=1, le=500),
) -> OrganPage:
    """The organ directory, by mã định danh, with cursor paging."""

    def work() -> OrganPage:
        with runtime.db.session() as session:
            return service.list_organs(session, level=level, after=cursor, limit=limit)

    return await run_in_threadpool(work)
