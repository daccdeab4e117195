"""HTTP endpoints of dossiers (hồ sơ TTHC)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from lgsp_kit.access import OrganScopeDep
from lgsp_kit.fields import Instant
from lgsp_kit.paging import OPAQUE_NUMBER_PATTERN
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, WriteSession
from services.dossier.dependencies import CallerId, Idempotent, SettingsDep
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

router = APIRouter(prefix="/v1/dossiers", tags=["dossiers"])
# `POST /v1/dossiers:sync` has no slash after `dossiers`, so it never meets `/{code}`.
sync_router = APIRouter(tags=["dossiers"])

CodePath = Annotated[str, Path(min_length=1, max_length=64, description="MaHoSo")]
WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 422, 429)
# Organ scope (lgsp_kit.access): filing in the name of an organ outside the caller's scope is
# 403 `organ_out_of_scope`; a dossier of such an organ is 404 to read and to change, exactly as
# one that does not exist, so its existence does not leak; the list holds only dossiers in scope.


@router.post(
    "",
    status_code=201,
    response_model=DossierOut,
    summary="Submit a dossier",
    responses=problem_responses(400, 401, 403, 422, 429),
)
def submit_dossier(
    body: DossierCreate,
    session: WriteSession,
    idem: Idempotent,
    settings: SettingsDep,
    caller: CallerId,
    scope: OrganScopeDep,
) -> Response:
    """Nộp hồ sơ: the service assigns MaHoSo and the dossier starts as Mới đăng ký (1). Filing
    with an organ outside the caller's scope is 403 `organ_out_of_scope`."""
    dossier = service.submit(session, body, tz=settings.zone, actor=caller, scope=scope)
    return idem.answer(dossier, status_code=201)


@router.get(
    "",
    response_model=DossierPage,
    summary="List and search dossiers",
    responses=problem_responses(400, 401, 403, 422, 429),
)
def list_dossiers(
    session: ReadSession,
    scope: OrganScopeDep,
    status: Annotated[int | None, Query(ge=1, le=10, description="TrangThaiHoSo")] = None,
    organ_code: Annotated[str | None, Query(max_length=32, description="DonViXuLy")] = None,
    procedure_code: Annotated[str | None, Query(max_length=64, description="MaTTHC")] = None,
    channel: Annotated[int | None, Query(ge=1, le=3, description="KenhThucHien")] = None,
    received_from: Annotated[Instant | None, Query(description="NgayTiepNhan at or after")] = None,
    received_to: Annotated[Instant | None, Query(description="NgayTiepNhan before")] = None,
    on_time: Annotated[
        bool | None,
        Query(
            description="the 766 verdict: true on time, false late; a dossier never received "
            "or still in handling has none and is in neither list"
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            pattern=OPAQUE_NUMBER_PATTERN,
            description="the `next_cursor` of the previous page",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DossierPage:
    """Dossiers of the organs in the caller's scope, in the order they were stored, filtered,
    a page at a time."""
    f = DossierFilter(
        status,
        organ_code,
        procedure_code,
        channel,
        received_from,
        received_to,
        on_time,
        organs=scope.reference_organs(),
    )
    return service.search(session, f, cursor=cursor, limit=limit)


@router.get(
    "/{code}",
    response_model=DossierOut,
    summary="Get a dossier with its history",
    responses=problem_responses(400, 401, 403, 404, 422, 429),
)
def get_dossier(session: ReadSession, code: CodePath, scope: OrganScopeDep) -> DossierOut:
    """One dossier by its MaHoSo, with its progress history (tiến độ) and payments; one of an
    organ outside the caller's scope is not found (404)."""
    return service.get(session, code, scope=scope)


@router.post(
    "/{code}/status",
    response_model=DossierOut,
    summary="Change a dossier's status",
    responses=WRITE_ERRORS,
)
def change_dossier_status(
    code: CodePath,
    body: StatusChange,
    session: WriteSession,
    idem: Idempotent,
    settings: SettingsDep,
    caller: CallerId,
    scope: OrganScopeDep,
) -> Response:
    """Cập nhật TrangThaiHoSo; an illegal move is 409 naming the allowed next statuses; a
    dossier of an organ outside the caller's scope is not found (404)."""
    dossier = service.change_status(
        session, code, body, tz=settings.zone, actor=caller, scope=scope
    )
    return idem.answer(dossier, status_code=200)


@router.post(
    "/{code}/payments",
    status_code=201,
    response_model=DossierOut,
    summary="Record a payment",
    responses=WRITE_ERRORS,
)
def record_dossier_payment(
    code: CodePath,
    body: PaymentCreate,
    session: WriteSession,
    idem: Idempotent,
    scope: OrganScopeDep,
) -> Response:
    """Ghi nhận thanh toán lệ phí, online (DuocThanhToanTrucTuyen 1 or 2) or offline; a
    dossier of an organ outside the caller's scope is not found (404)."""
    dossier = service.record_payment(session, code, body, scope=scope)
    return idem.answer(dossier, status_code=201)


@sync_router.post(
    "/v1/dossiers:sync",
    response_model=SyncResponse,
    summary="Sync whole dossier records",
    responses=problem_responses(400, 401, 403, 422, 429),
)
def sync_dossiers(
    body: SyncRequest,
    session: WriteSession,
    idem: Idempotent,
    settings: SettingsDep,
    caller: CallerId,
    scope: OrganScopeDep,
) -> Response:
    """Đồng bộ hồ sơ (DongBoHoSoMC): up to 1,000 records, one result per record. A batch
    with a record of an organ outside the caller's scope is refused whole (403)."""
    results = sync.sync(session, body.records, tz=settings.zone, caller=caller, scope=scope)
    return idem.answer(results, status_code=200)
