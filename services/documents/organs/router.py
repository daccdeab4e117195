"""HTTP endpoints of the organ directory."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, WriteSession
from services.documents.dependencies import ScopeDep, SettingsDep
from services.documents.organs import service
from services.documents.organs.schemas import (
    ORGAN_CODE_PATTERN,
    CertificateIn,
    CertificateOut,
    ConnectionChange,
    ConnectionResult,
    OrganLevel,
    OrganOut,
    OrganPage,
)

router = APIRouter(prefix="/v1/organs", tags=["organs"])

CodePath = Annotated[str, Path(pattern=ORGAN_CODE_PATTERN, description="mã định danh (QCVN 102)")]


@router.get(
    "",
    response_model=OrganPage,
    summary="List organs",
    responses=problem_responses(400, 401, 403, 422, 429),
)
def list_organs(
    session: ReadSession,
    level: OrganLevel | None = None,
    cursor: str | None = Query(default=None, max_length=32),
    limit: int = Query(default=100, ge=1, le=500),
) -> OrganPage:
    """The organ directory (danh mục cơ quan), by mã định danh, with connections and paging."""
    return service.list_organs(session, level=level, cursor=cursor, limit=limit)


@router.get(
    "/{code}",
    response_model=OrganOut,
    summary="Get an organ",
    responses=problem_responses(400, 401, 403, 404, 422, 429),
)
def get_organ(session: ReadSession, code: CodePath) -> OrganOut:
    """One organ of the directory with its connection state per system."""
    return service.organ_out(service.find(session, code))


@router.post(
    "/{code}/connections",
    response_model=ConnectionResult,
    summary="Connect or disconnect an organ",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429),
)
def change_connection(
    session: WriteSession,
    scope: ScopeDep,
    settings: SettingsDep,
    code: CodePath,
    body: ConnectionChange,
) -> ConnectionResult:
    """Kết nối / ngắt kết nối an organ to qlvb or motcua at a business time (idempotent)."""
    return service.change_connection(
        session,
        code,
        body,
        scope=scope,
        passphrase=settings.key_passphrase.get_secret_value().encode(),
    )


@router.get(
    "/{code}/certificate",
    response_model=CertificateOut,
    summary="Get an organ's signing certificate",
    responses=problem_responses(400, 401, 403, 404, 422, 429),
)
def get_certificate(session: ReadSession, code: CodePath) -> CertificateOut:
    """The organ's chứng thư số (public part only) that verifies what it signs."""
    return service.get_certificate(session, code)


@router.put(
    "/{code}/certificate",
    response_model=CertificateOut,
    summary="Register the certificate of an organ that signs elsewhere",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429),
)
def register_certificate(
    session: WriteSession, scope: ScopeDep, code: CodePath, body: CertificateIn
) -> CertificateOut:
    """Trust an organ's chứng thư số from another system, to verify packages it sends."""
    return service.register_certificate(session, code, body.certificate_pem, scope=scope)
