"""HTTP endpoints of dossiers (hồ sơ TTHC)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from lgsp_kit.access import OrganScopeDep
from lgsp_kit.app import RuntimeDep
from lgsp_kit.fields import Instant
from lgsp_kit.responses import problem_responses
from services.dossier import idempotency
from services.dossier.dossiers import service, sync
from services.dossier.dossiers.repository import DossierFilter
from services.dossier.dossiers.schemas import (
    DossierCreate,
    DossierOut,
    DossierPage,
    PaymentCreate,
    StatusChange,
    SyncRequest,
    SyncResponse,
)
from services.dossier.idempotency import CallerId, IdempotencyDep

router = APIRouter(prefix="/v1/dossiers", tags=["dossiers"])
# `POST /v1/dossiers:sync` has no slash after `dossiers`, so it never meets `/{code}`.
sync_router = APIRouter(tags=["dossiers"])

CodePath = Annotated[str, Path(min_length=1, max_length=64, description="MaHoSo")]
WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 422, 429)
# Organ scope (lgsp_kit.access): filing in the name of an organ outside the caller's scope is
# 403 `organ_out_of_scope`; a dossier of such an organ is 404 to read and to change, exactly as
# one that does not exist, so its existence does not leak; the list holds only dossiers in scope.


def _tz(runtime: RuntimeDep) -> ZoneInfo:
    return ZoneInfo(runtime.settings.timezone)


@router.post(
    "",
    status_code=201,
    response_model=DossierOut,
    summary="Submit a dossier",
    responses=problem_responses(400, 401, 403, 422, 429),
)
async def submit_dossier(
    body: DossierCreate,
    runtime: RuntimeDep,
    caller: CallerId,
    idem: IdempotencyDep,
    scope: OrganScopeDep,
) -> Response:
    """Nộp hồ sơ: the service assigns MaHoSo and the dossier starts as Mới đăng ký (1). Filing
    with an organ outside the caller's scope is 403 `organ_out_of_scope`."""
    tz = _tz(runtime)
    return await run_in_threadpool(
        idempotency.run,
        runtime.db,
        idem,
        lambda s: service.submit(s, body, tz=tz, actor=caller, scope=scope),
        status_code=201,
    )


@router.get(
    "",
    response_model=DossierPage,
    summary="List and search dossiers",
    responses=problem_responses(400, 401, 403, 422, 429),
)
async def list_dossiers(
    runtime: RuntimeDep,
    scope: OrganScopeDep,
    status: Annotated[int | None, Query(ge=1, le=10, description="TrangThaiHoSo")] = None,
    organ_code: Annotated[str | None, Query(max_length=32, description="DonViXuLy")] = None,
    procedure_code: Annotated[str | None, Query(max_length=64, description="MaTTHC")] = None,
    channel: Annotated[int | None, Query(ge=1, le=3, description="KenhThucHien")] = None,
    received_from: Annotated[Instant | None, Query(description="NgayTiepNhan at or after")] = None,
    received_to: Annotated[Instant | None, Query(description="NgayTiepNhan before")] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DossierPage:
    """Dossiers of the organs in the caller's scope, in the order they were stored, filtered,
    a page at a time."""
    tz = _tz(runtime)
    f = DossierFilter(
        status,
        organ_code,
        procedure_code,
        channel,
        received_from,
        received_to,
        organs=scope.reference_organs(),
    )

    def work() -> DossierPage:
        with runtime.db.reading() as session:
            return service.search(session, f, cursor=cursor, limit=limit, tz=tz)

    return await run_in_threadpool(work)


@router.get(
    "/{code}",
    response_model=DossierOut,
    summary="Get a dossier with its history",
    responses=problem_responses(400, 401, 403, 404, 422, 429),
)
async def get_dossier(runtime: RuntimeDep, code: CodePath, scope: OrganScopeDep) -> DossierOut:
    """One dossier by its MaHoSo, with its progress history (tiến độ) and payments; one of an
    organ outside the caller's scope is not found (404)."""
    tz = _tz(runtime)

    def work() -> DossierOut:
        with runtime.db.reading() as session:
            return service.get(session, code, tz=tz, scope=scope)

    return await run_in_threadpool(work)


@router.post(
    "/{code}/status",
    response_model=DossierOut,
    summary="Change a dossier's status",
    responses=WRITE_ERRORS,
)
async def change_dossier_status(
    code: CodePath,
    body: StatusChange,
    runtime: RuntimeDep,
    caller: CallerId,
    idem: IdempotencyDep,
    scope: OrganScopeDep,
) -> Response:
    """Cập nhật TrangThaiHoSo; an illegal move is 409 naming the allowed next statuses; a
    dossier of an organ outside the caller's scope is not found (404)."""
    tz = _tz(runtime)
    return await run_in_threadpool(
        idempotency.run,
        runtime.db,
        idem,
        lambda s: service.change_status(s, code, body, tz=tz, actor=caller, scope=scope),
        status_code=200,
    )


@router.post(
    "/{code}/payments",
    status_code=201,
    response_model=DossierOut,
    summary="Record a payment",
    responses=WRITE_ERRORS,
)
async def record_dossier_payment(
    code: CodePath,
    body: PaymentCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    scope: OrganScopeDep,
) -> Response:
    """Ghi nhận thanh toán lệ phí, online (DuocThanhToanTrucTuyen 1 or 2) or offline; a
    dossier of an organ outside the caller's scope is not found (404)."""
    tz = _tz(runtime)
    return await run_in_threadpool(
        idempotency.run,
        runtime.db,
        idem,
        lambda s: service.record_payment(s, code, body, tz=tz, scope=scope),
        status_code=201,
    )


@sync_router.post(
    "/v1/dossiers:sync",
    response_model=SyncResponse,
    summary="Sync whole dossier records",
    responses=problem_responses(400, 401, 403, 422, 429),
)
async def sync_dossiers(
    body: SyncRequest,
    runtime: RuntimeDep,
    caller: CallerId,
    idem: IdempotencyDep,
    scope: OrganScopeDep,
) -> Response:
    """Đồng bộ hồ sơ (DongBoHoSoMC): up to 1,000 records, one result per record. A batch
    with a record of an organ outside the caller's scope is refused whole (403)."""
    tz = _tz(runtime)
    return await run_in_threadpool(
        idempotency.run,
        runtime.db,
        idem,
        lambda s: sync.sync(s, body.records, tz=tz, caller=caller, scope=scope),
        status_code=200,
    )
