"""HTTP endpoints of the national document axis (see axis/service.py and axis/worker.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request, Response
from pydantic import BaseModel

from contracts import edxml as codec
from lgsp_kit.errors import ProblemError
from lgsp_kit.paging import TEXT
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, WriteSession
from services.national.auth import NEEDS_TOKEN, Caller
from services.national.axis import service
from services.national.dependencies import SettingsDep
from services.national.faults import checked
from services.national.models import AxisPackage

router = APIRouter(prefix="/axis/packages", tags=["axis"])

# A package carries its attachments base64-encoded.
MAX_PACKAGE_BYTES = 40 * 1024 * 1024


class PackageOut(BaseModel):
    id: str
    edxml_document_id: str | None
    from_organ: str
    to_organs: list[str]
    subject: str
    source: Literal["province", "national"]
    province_document_id: str | None
    received_at: datetime
    delivery: Literal["none", "pending", "delivered", "failed"]
    attempts: int
    last_error: str | None
    delivered_at: datetime | None


class PackagePage(BaseModel):
    items: list[PackageOut]
    next_cursor: str | None


def out(row: AxisPackage) -> PackageOut:
    return PackageOut(
        id=row.id,
        edxml_document_id=row.edxml_document_id,
        from_organ=row.from_organ,
        to_organs=row.to_organs.split(),
        subject=row.subject,
        source=row.source,
        province_document_id=row.province_document_id,
        received_at=row.received_at,
        delivery=row.delivery,
        attempts=row.attempts,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


async def package_body(request: Request) -> bytes:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("application/xml", "text/xml"):
        raise ProblemError(
            "send the edXML package as application/xml", status=415, code="unsupported_media_type"
        )
    raw = await request.body()
    if len(raw) > MAX_PACKAGE_BYTES:
        raise ProblemError(
            f"the package exceeds {MAX_PACKAGE_BYTES} bytes", status=413, code="package_too_large"
        )
    return raw


@router.post(
    "",
    status_code=201,
    response_model=PackageOut,
    summary="A national organ sends a document package on the axis",
    responses={
        200: {"description": "the same package was already on the axis"},
        **NEEDS_TOKEN,
        **problem_responses(413, 415, 422, 502, 503),
    },
    dependencies=[Depends(checked("axis", None))],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {codec.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def send_package(
    raw: Annotated[bytes, Depends(package_body)],
    consumer: Caller,
    session: WriteSession,
    settings: SettingsDep,
    response: Response,
) -> PackageOut:
    """An edXML document package (QCVN 102:2016) from an organ outside the province. When an
    organ of the province is among its `To`, the axis delivers it to the province's documents
    service (`delivery` "pending" until then). 422 `invalid_package` (with `reason` and
    `line`), `not_a_document` (a status package), `sender_in_province` (the province's own
    organs send through its documents service)."""
    row, created = service.receive(
        session, raw, source=service.NATIONAL, province_code=settings.province_code
    )
    response.status_code = 201 if created else 200
    return out(row)


@router.get(
    "",
    response_model=PackagePage,
    summary="Packages on the axis (testers)",
    responses=problem_responses(422),
)
def list_packages(
    session: ReadSession,
    source: Literal["province", "national"] | None = None,
    delivery: Literal["none", "pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=36)] = None,
) -> PackagePage:
    rows = service.listing(
        session, source=source, delivery=delivery, after=TEXT.key(cursor), limit=limit
    )
    page, nxt = TEXT.page(rows, limit, lambda r: r.id)
    return PackagePage(items=[out(r) for r in page], next_cursor=nxt)


PackageId = Annotated[str, Path(max_length=36)]


@router.get(
    "/{package_id}",
    response_model=PackageOut,
    summary="One package on the axis (testers)",
    responses=problem_responses(404, 422),
)
def get_package(package_id: PackageId, session: ReadSession) -> PackageOut:
    return out(service.find(session, package_id))


@router.get(
    "/{package_id}/edxml",
    response_class=Response,
    summary="The package's bytes, as received (testers)",
    responses={
        200: {"content": {codec.MEDIA_TYPE: {"schema": {"type": "string"}}}},
        **problem_responses(404, 422),
    },
)
def get_package_bytes(package_id: PackageId, session: ReadSession) -> Response:
    return Response(content=service.find(session, package_id).raw, media_type=codec.MEDIA_TYPE)
