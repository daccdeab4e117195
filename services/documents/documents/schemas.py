"""API shapes of documents (văn bản): the edXML MessageHeader fields in snake_case."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
)

from lgsp_kit.fields import NON_BLANK, Instant, LocalTime, Text, one_of, text_pattern
from services.documents.documents.exchange import DocumentTypeCode, StatusCode
from services.documents.organs.schemas import OrganCode

_Strict = ConfigDict(extra="forbid")

SEND_EXAMPLE: dict[str, Any] = {
    "from_organ": "000.00.00.H03",
    "to_organs": ["000.00.31.H03", "000.00.32.H03"],
    "code_number": "123",
    "code_notation": "UBND-KGVX",
    "document_type": "CV",
    "subject": "Về việc triển khai kết nối liên thông văn bản bốn cấp",
    "promulgation": {"place": "Bắc Giang", "date": "2023-11-20"},
    "signer": {
        "full_name": "Trần Văn Bình",
        "position": "Phó Chủ tịch",
        "competence": "KT. CHỦ TỊCH",
    },
    "electronic": True,
    "priority": 1,
    "due_date": "2023-12-01",
    "attachments": [
        {"name": "cv-123.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0xLjQK"}
    ],
}


class Promulgation(BaseModel):
    """PromulgationInfo: nơi ban hành and ngày ban hành."""

    model_config = _Strict

    place: Annotated[
        Text, StringConstraints(min_length=1, max_length=200), *text_pattern(NON_BLANK)
    ]
    date: dt.date


class Signer(BaseModel):
    """SignerInfo: người ký, chức vụ and thẩm quyền ký (TM., KT., Q.)."""

    model_config = _Strict

    full_name: Annotated[
        Text, StringConstraints(min_length=1, max_length=200), *text_pattern(NON_BLANK)
    ]
    position: Annotated[
        Text, StringConstraints(min_length=1, max_length=200), *text_pattern(NON_BLANK)
    ]
    competence: Annotated[Text, StringConstraints(max_length=200)] | None = None


class AttachmentIn(BaseModel):
    """A tệp đính kèm, its bytes base64-encoded; size and content type are checked."""

    model_config = _Strict

    name: Annotated[
        Text,
        StringConstraints(min_length=1, max_length=255),
        *text_pattern(r"^[^/\\]*[^/\\\s\u001c-\u001f\u0085\ufeff][^/\\]*$"),
    ]
    content_type: Annotated[str, StringConstraints(min_length=3, max_length=128)]
    content_base64: Annotated[str, StringConstraints(min_length=1)]


class DocumentIn(BaseModel):
    """Gửi văn bản: one document from one organ to one or more organs."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SEND_EXAMPLE]})

    from_organ: OrganCode = Field(description="mã định danh of the sending organ (From)")
    to_organs: list[OrganCode] = Field(
        min_length=1, max_length=300, description="mã định danh of each recipient (To)"
    )
    code_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$")] = Field(
        description="số văn bản (CodeNumber)"
    )
    code_notation: Annotated[
        Text, StringConstraints(min_length=1, max_length=64), *text_pattern(r"^[\w.-]+$")
    ] = Field(description="ký hiệu văn bản (CodeNotation), e.g. UBND-KGVX")
    document_type: DocumentTypeCode = Field(description="loại văn bản (DocumentType)")
    subject: Annotated[
        Text, StringConstraints(min_length=1, max_length=2000), *text_pattern(NON_BLANK)
    ] = Field(description="trích yếu (Subject)")
    content: Annotated[Text, StringConstraints(max_length=20_000)] | None = Field(
        default=None, description="nội dung (Content)"
    )
    promulgation: Promulgation
    signer: Signer
    due_date: date | None = Field(default=None, description="hạn xử lý (DueDate)")
    steering_type: Annotated[StrictInt, *one_of(0, 1)] = Field(
        default=0, description="SteeringType: 0 không chỉ đạo, 1 văn bản chỉ đạo (not verified)"
    )
    priority: Annotated[StrictInt, *one_of(0, 1, 2, 3)] = Field(
        default=0, description="độ khẩn: 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc"
    )
    response_for: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = Field(
        default=None, description="id of the document this one answers (ResponseFor)"
    )
    electronic: StrictBool = Field(
        description="true: signed and sent online (điện tử); false: a paper document registered"
    )
    attachments: list[AttachmentIn] = Field(default_factory=list)
    sent_at: Instant | None = Field(
        default=None, description="business time of sending; now when omitted"
    )

    @field_validator("to_organs")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a recipient is named twice")
        return value


class StatusChange(BaseModel):
    """A recipient's exchange status change (cập nhật trạng thái văn bản)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"status": "03", "at": "2023-11-20T09:15:00+07:00", "note": "Vào sổ"}]
        },
    )

    status: StatusCode = Field(
        description="01 đã đến, 02 từ chối, 03 đã tiếp nhận, 04 phân công, 05 đang xử lý, "
        "06 hoàn thành, 13 yêu cầu lấy lại, 15 đồng ý lấy lại, 16 từ chối lấy lại"
    )
    at: Instant | None = Field(default=None, description="business time; now if omitted")
    note: Annotated[Text, StringConstraints(max_length=500)] | None = None


class AttachmentOut(BaseModel):
    content_id: str
    name: str
    content_type: str
    size: int
    sha256: str


class SignatureOut(BaseModel):
    algorithm: str
    value: str = Field(description="base64 signature over the canonical form")
    signed_digest: str = Field(description="SHA-256 of the canonical form")
    certificate_fingerprint: str = Field(description="SHA-256 of the signer's certificate")


class EdxmlDocumentType(BaseModel):
    """edXML `DocumentType` as the standard numbers it (as received, for an imported one)."""

    type: int = Field(description="DocumentType/Type")
    detail: int | None = Field(description="DocumentType/TypeDetail")
    name: str | None = Field(description="DocumentType/TypeName")


class RecipientOut(BaseModel):
    organ_code: str
    organ_name: str
    status: str
    status_name: str
    reason: str | None = Field(description="why a document was refused (02)")
    changed_at: LocalTime
    allowed_next: list[str]


class TraceOut(BaseModel):
    organ_code: str
    action: str = Field(description="sent, delivered, refused, status or imported")
    from_status: str | None
    to_status: str | None
    at: LocalTime
    note: str | None


class DocumentOut(BaseModel):
    id: str
    edxml_document_id: str = Field(description="edXML DocumentId: OrganId,yyyy/MM/dd,số/ký hiệu")
    origin: str = Field(description="sent here, or imported from an edXML package")
    from_organ: str
    sender_level: str
    to_organs: list[str]
    code_number: str
    code_notation: str
    document_type: str
    document_type_name: str
    subject: str
    content: str | None
    promulgation: Promulgation
    signer: Signer
    due_date: date | None
    steering_type: int
    priority: int
    response_for: str | None
    electronic: bool
    sent_at: LocalTime
    edxml_document_type: EdxmlDocumentType
    verified: bool = Field(description="the signature held when the document arrived")
    verification: Literal["verified", "unverified", "refused"] = Field(
        description="verified; unverified: its signature could not be checked (no trusted "
        "certificate of the sender), recipients say why; refused: it was checked and failed"
    )
    signature_algorithm: str | None = Field(
        description="the package's SignatureMethod (rsa-sha256, rsa-sha1) for an imported one"
    )
    business_state: Literal["revoked", "updated", "replaced"] | None = Field(
        default=None,
        description="what a business package (edXML Bussiness 1, 2, 3) did to this document",
    )
    supersedes: str | None = Field(
        default=None, description="the id of the document this one updates or replaces"
    )
    superseded_by: str | None = Field(
        default=None, description="the id of the document that updates or replaces this one"
    )
    signature: SignatureOut | None
    attachments: list[AttachmentOut]
    recipients: list[RecipientOut]
    trace: list[TraceOut]


class InboxItem(BaseModel):
    id: str
    from_organ: str
    from_organ_name: str
    code_number: str
    code_notation: str
    document_type: str
    subject: str
    electronic: bool
    priority: int
    due_date: date | None
    sent_at: LocalTime
    status: str
    status_name: str
    reason: str | None
    status_changed_at: LocalTime


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: str | None


class AxisItem(BaseModel):
    """A document waiting for (or taken by) the national document axis."""

    document_id: str
    edxml_document_id: str = Field(description="OrganId,yyyy/MM/dd,number/notation")
    from_organ: str
    to_organs: list[str] = Field(description="the recipients outside the province")
    queued_at: LocalTime
    taken_at: LocalTime | None = Field(description="when the axis acknowledged the package")


class AxisOutbox(BaseModel):
    items: list[AxisItem] = Field(description="oldest first")
    more: bool = Field(description="more packages wait beyond this page")


class BatchItemIn(BaseModel):
    """One document of a batch send, with the `Idempotency-Key` it would carry sent alone."""

    model_config = _Strict

    key: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="this document's idempotency key: the same key and document again replay "
        "its first answer (in a batch or as `POST /v1/documents` with `Idempotency-Key`)"
    )
    document: DocumentIn


class DocumentBatchIn(BaseModel):
    """Gửi nhiều văn bản: each item is checked on its own and stored or refused on its own."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"items": [{"key": "cv-123-2023", "document": SEND_EXAMPLE}]}]
        },
    )

    # Each item is validated on its own (an invalid one is refused, the others go on), so the
    # list is read as raw objects; their shape is `BatchItemIn`.
    items: list[dict[str, Any]] = Field(
        min_length=1,
        description="the documents, each `{key, document}` (BatchItemIn, document: DocumentIn)",
    )


class BatchResult(BaseModel):
    index: int = Field(description="the item's position in the batch, from 0")
    key: str | None = Field(description="the item's key, when it had one")
    ok: bool
    status: int = Field(
        description="what `POST /v1/documents` would have answered: 201 sent, 200 the first "
        "answer replayed, 4xx refused"
    )
    id: str | None = Field(default=None, description="the document's id (sent or replayed)")
    replayed: bool = Field(default=False, description="sent before under this key: unchanged")
    code: str | None = Field(default=None, description="why it was refused (problem code)")
    detail: str | None = Field(default=None, description="why it was refused, in words")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="the fields at fault of an invalid document"
    )


class BatchResponse(BaseModel):
    results: list[BatchResult] = Field(description="one per item, in order")
    created: int
    replayed: int
    failed: int
