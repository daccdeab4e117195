"""HTTP endpoints of documents (văn bản): send, read, status, inbox, edXML export and import."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response

from lgsp_kit.errors import ProblemError
from lgsp_kit.fields import Instant
from lgsp_kit.idempotency import CallerId
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, WriteSession
from services.documents.dependencies import Idempotent, ScopeDep, SettingsDep
from services.documents.documents import batch, edxml, importing, repository, service
from services.documents.documents.exchange import DocumentTypeCode, StatusCode
from services.documents.documents.schemas import (
    BatchResponse,
    DocumentBatchIn,
    DocumentIn,
    DocumentOut,
    InboxPage,
    RecipientOut,
    StatusChange,
)
from services.documents.models import idempotency_record
from services.documents.organs.schemas import ORGAN_CODE_PATTERN

router = APIRouter(prefix="/v1/documents", tags=["documents"])
inbox_router = APIRouter(prefix="/v1/organs", tags=["documents"])

DocumentId = Annotated[str, Path(max_length=36, description="the document's id")]
OrganPath = Annotated[str, Path(pattern=ORGAN_CODE_PATTERN, description="mã định danh")]
# The shape of a package (an export of `GET /v1/documents/{id}/edxml` is a complete one).
XML_EXAMPLE = (
    f'<edXML xmlns="{edxml.NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>'
    "<From><OrganId>000.00.00.G22</OrganId><OrganName>Văn phòng Chính phủ</OrganName></From>"
    "<To><OrganId>000.00.31.H03</OrganId></To>"
    "<DocumentId>000.00.00.G22,2019/04/11,7816/VPCP-TTĐT</DocumentId>"
    "<Code><CodeNumber>7816</CodeNumber><CodeNotation>VPCP-TTĐT</CodeNotation></Code>"
    "<PromulgationInfo><Place>Hà Nội</Place><PromulgationDate>2019/04/11</PromulgationDate>"
    "</PromulgationInfo><DocumentType><Type>1</Type><TypeName>Công văn</TypeName></DocumentType>"
    "<Subject>V/v kết nối, liên thông phần mềm quản lý văn bản</Subject>"
    "<SignerInfo><Competence>KT. BỘ TRƯỞNG, CHỦ NHIỆM</Competence>"
    "<Position>Phó Chủ nhiệm</Position><FullName>Nguyễn Văn A</FullName></SignerInfo>"
    "</MessageHeader>"
    "<TraceHeaderList><TraceHeader><OrganId>000.00.00.G22</OrganId>"
    "<Timestamp>2019/04/11 08:00:00</Timestamp></TraceHeader></TraceHeaderList>"
    "</edXMLHeader><edXMLBody><edXMLManifest/></edXMLBody>"
    "</edXMLEnvelope><AttachmentEncoded><Attachment><ContentId>1</ContentId>"
    "<AttachmentName>cv.pdf</AttachmentName><ContentType>application/pdf</ContentType>"
    "<ContentTransferEncoded>JVBERi0xLjQK</ContentTransferEncoded></Attachment>"
    "</AttachmentEncoded></edXML>"
)


async def package_body(request: Request, settings: SettingsDep) -> bytes:
    """The edXML package of an import: XML, within `max_package_bytes` (checked on the declared
    length before it is read, and on what was read)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("application/xml", "text/xml"):
        raise ProblemError(
            "send the edXML package as application/xml", status=415, code="unsupported_media_type"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_package_bytes:
        raise ProblemError(
            f"the package exceeds {settings.max_package_bytes} bytes",
            status=413,
            code="package_too_large",
        )
    raw = await request.body()
    if len(raw) > settings.max_package_bytes:
        raise ProblemError(
            f"the package exceeds {settings.max_package_bytes} bytes",
            status=413,
            code="package_too_large",
        )
    return raw


PackageBody = Annotated[bytes, Depends(package_body)]


@router.post(
    "",
    status_code=201,
    response_model=DocumentOut,
    summary="Send a document",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
)
def send_document(
    body: DocumentIn,
    session: WriteSession,
    idem: Idempotent,
    settings: SettingsDep,
    scope: ScopeDep,
) -> Response:
    """Gửi văn bản: signed for the sending organ when electronic, delivered to each recipient."""
    document = service.send_document(session, body, scope=scope, settings=settings)
    return idem.answer(document, status_code=201)


@router.post(
    ":batch",
    response_model=BatchResponse,
    summary="Send documents in a batch",
    responses=problem_responses(400, 401, 403, 409, 413, 422, 429),
)
def send_batch(
    body: DocumentBatchIn,
    session: WriteSession,
    caller: CallerId,
    settings: SettingsDep,
    scope: ScopeDep,
) -> BatchResponse:
    """Gửi nhiều văn bản: each item (`{key, document}`) is sent as `POST /v1/documents` with
    `Idempotency-Key: key` would send it, on its own: the results say, item by item, what that
    call would have answered (201 sent with its `id`; 200 `replayed`, the key already used for
    the same document, in a batch or alone; 4xx with the problem `code`, `detail` and `errors`
    and nothing stored). The documents accepted are stored together in one transaction. Keys
    are per calling client; a key twice in one batch → the second item 422 `duplicate_key`;
    more than `DOCUMENTS_MAX_BATCH_DOCUMENTS` items → 422 `batch_too_large`; a concurrent
    request storing one of the keys first → 409 `concurrent_batch`, nothing stored (send it
    again). A document of a batch cannot answer (`response_for`) another of the same batch.
    """
    return batch.send_batch(
        session,
        body.items,
        table=idempotency_record,
        caller=caller,
        scope=scope,
        settings=settings,
    )


@router.post(
    ":import",
    status_code=201,
    response_model=DocumentOut,
    summary="Receive an edXML package",
    responses={
        200: {
            "description": "The same package was already received (nothing changed), or a "
            "revocation was applied: the document it names"
        },
        **problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
    },
    openapi_extra=edxml.xml_body(XML_EXAMPLE),
)
def import_document(
    raw: PackageBody,
    session: WriteSession,
    settings: SettingsDep,
    scope: ScopeDep,
    response: Response,
) -> DocumentOut:
    """Tiếp nhận gói tin edXML (QCVN 102:2016, `<edXML>` root): a document package.

    Its XML-DSig is verified with the certificate held for its From organ: 01 when it holds;
    01 stored as `unverified` (each recipient's reason says why) when it cannot be checked (no
    trusted certificate, a signature outside the XML-DSig namespace); 02 with the reason when
    it fails. RSA-SHA1 only with `DOCUMENTS_ALLOW_SHA1_SIGNATURES`. Only one enveloped
    signature over the whole package, in `edXMLEnvelope/edXMLHeader` (one Reference, `URI=""`),
    is read: any other shape is refused with 422 (`signature_misplaced`,
    `signature_not_enveloped`) and nothing is stored; so is a package that is not edXML
    (`invalid_package`, with the `line` of an XML fault) or a status package
    (`not_a_document`). The attachment limits of sending apply.

    A business operation (`TraceHeaderList/Bussiness/BussinessDocType`) acts on the documents it
    names by `DocumentId` (404 `document_not_found` when one is not here) only when the package
    verifies as signed by their sender: an update (2) or replacement (3) is stored as a new
    document and, verified, asks each recipient of the old one to give it back (13) and links
    the two; unverified, it is stored and the old one is left as it is (the reason says so). A
    revocation (1) is no document: verified, it asks the recipients back (13) and answers 200
    with the revoked document; unverified, 422 `business_not_verified`.
    """
    result = importing.import_package(session, raw, scope=scope, settings=settings)
    response.status_code = 201 if result.created else 200
    return result.document


@router.get(
    "/{document_id}",
    response_model=DocumentOut,
    summary="Get a document",
    responses=problem_responses(400, 401, 403, 404, 422, 429),
)
def get_document(document_id: DocumentId, session: ReadSession, scope: ScopeDep) -> DocumentOut:
    """The document: header, attachments metadata, per-recipient statuses and trace."""
    return service.get(session, document_id, scope=scope)


@router.get(
    "/{document_id}/edxml",
    response_class=Response,
    summary="Export the edXML package",
    responses={**edxml.XML_ANSWER, **problem_responses(400, 401, 403, 404, 409, 422, 429)},
)
def export_edxml(
    document_id: DocumentId, session: WriteSession, settings: SettingsDep, scope: ScopeDep
) -> Response:
    """Gói tin edXML (QCVN 102:2016) with base64 attachments and an XML-DSig signature."""
    # A write: the sender's signing key is made on its first package.
    package = service.export(session, document_id, scope=scope, settings=settings)
    return Response(content=package, media_type=edxml.MEDIA_TYPE)


@router.post(
    "/{document_id}/recipients/{organ_code}/status",
    response_model=RecipientOut,
    summary="Change a recipient's exchange status",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429),
)
def change_status(
    document_id: DocumentId,
    organ_code: OrganPath,
    body: StatusChange,
    session: WriteSession,
    idem: Idempotent,
    scope: ScopeDep,
) -> Response:
    """Cập nhật trạng thái: a recipient's next edXML status, or the sender's recall (13)."""
    recipient = service.change_status(session, document_id, organ_code, body, scope=scope)
    return idem.answer(recipient, status_code=200)


@inbox_router.get(
    "/{code}/inbox",
    response_model=InboxPage,
    summary="An organ's inbox",
    responses=problem_responses(400, 401, 403, 404, 422, 429),
)
def inbox(
    code: OrganPath,
    session: ReadSession,
    scope: ScopeDep,
    status: StatusCode | None = None,
    from_organ: str | None = Query(default=None, pattern=ORGAN_CODE_PATTERN),
    document_type: DocumentTypeCode | None = None,
    electronic: bool | None = None,
    sent_after: Instant | None = Query(default=None, description="inclusive"),
    sent_before: Instant | None = Query(default=None, description="exclusive"),
    cursor: str | None = Query(default=None, pattern=r"^[0-9]{1,18}$"),
    limit: int = Query(default=50, ge=1, le=200),
) -> InboxPage:
    """Hộp thư đến: documents addressed to the organ with its status, newest first."""
    where = repository.InboxFilter(
        status=status,
        from_organ=from_organ,
        document_type=document_type,
        electronic=electronic,
        sent_after=sent_after,
        sent_before=sent_before,
    )
    return service.inbox(session, code, where, cursor=cursor, limit=limit, scope=scope)
