"""HTTP endpoints of status packages (gói tin trạng thái, QCVN 102:2016): export and receive."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Response

from contracts import edxml as codec
from lgsp_kit.errors import ProblemError
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, WriteSession
from services.documents.dependencies import ScopeDep
from services.documents.documents import edxml, status_packages
from services.documents.documents.schemas import RecipientOut
from services.documents.organs.schemas import ORGAN_CODE_PATTERN

router = APIRouter(tags=["documents"])

DocumentId = Annotated[str, Path(max_length=36, description="the document's id")]
OrganPath = Annotated[str, Path(pattern=ORGAN_CODE_PATTERN, description="mã định danh")]
# A status package is small: no attachments, a header and perhaps a signature.
MAX_STATUS_PACKAGE_BYTES = 65536
STATUS_EXAMPLE = f"""<edXML xmlns="{codec.NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{codec.NS}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>000.00.31.H03</edXML:OrganId></edXML:From>
        <edXML:ResponseFor>
          <edXML:OrganId>000.00.00.H03</edXML:OrganId>
          <edXML:Code>123/UBND-KGVX</edXML:Code>
          <edXML:PromulgationDate>2023/11/20</edXML:PromulgationDate>
          <edXML:DocumentId>000.00.00.H03,2023/11/20,123/UBND-KGVX</edXML:DocumentId>
        </edXML:ResponseFor>
        <edXML:StatusCode>03</edXML:StatusCode>
        <edXML:Description>Đã tiếp nhận, vào sổ văn bản đến</edXML:Description>
        <edXML:Timestamp>2023/11/20 09:15:00</edXML:Timestamp>
      </edXML:MessageHeader>
    </edXML:edXMLHeader>
  </edXML:edXMLEnvelope>
</edXML>"""


async def status_package_body(request: Request) -> bytes:
    """A status package: XML, at most `MAX_STATUS_PACKAGE_BYTES`."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("application/xml", "text/xml"):
        raise ProblemError(
            "send the status package as application/xml", status=415, code="unsupported_media_type"
        )
    raw = await request.body()
    if len(raw) > MAX_STATUS_PACKAGE_BYTES:
        raise ProblemError(
            f"a status package is at most {MAX_STATUS_PACKAGE_BYTES} bytes",
            status=413,
            code="package_too_large",
        )
    return raw


StatusPackageBody = Annotated[bytes, Depends(status_package_body)]


class StatusApplied(RecipientOut):
    """The recipient's status after the package, with the document it belongs to."""

    document_id: str


@router.get(
    "/v1/documents/{document_id}/recipients/{organ_code}/status/edxml",
    response_class=Response,
    summary="Export a recipient's status as a status package",
    responses={**edxml.XML_ANSWER, **problem_responses(400, 401, 403, 404, 422, 429)},
)
def export_status(
    document_id: DocumentId, organ_code: OrganPath, session: WriteSession, scope: ScopeDep
) -> Response:
    """Gói tin trạng thái (QCVN 102:2016): the recipient's current status of the document, From
    the recipient (From the sender for 13), with ResponseFor naming the document."""
    # A write: the signing organ's key is made on its first package.
    package = status_packages.export(session, document_id, organ_code, scope=scope)
    return Response(content=package, media_type=codec.MEDIA_TYPE)


@router.post(
    "/v1/status-packages",
    response_model=StatusApplied,
    summary="Receive a status package",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
    openapi_extra=edxml.xml_body(STATUS_EXAMPLE),
)
def receive_status(raw: StatusPackageBody, session: WriteSession, scope: ScopeDep) -> StatusApplied:
    """Tiếp nhận gói tin trạng thái: moves the recipient it names (From, or ResponseFor/OrganId
    for 13) of the document its ResponseFor/DocumentId names; illegal transitions 409. The From
    organ must be in the caller's organ scope."""
    document_id, out = status_packages.apply(session, raw, scope=scope)
    return StatusApplied(document_id=document_id, **out.model_dump())
