"""The typed model of an edXML package (QCVN 102:2016 as real packages carry it).

Names follow the standard's elements in snake case; the Vietnamese term is in the docstring
where it helps. Identifiers (`OrganId`, `DocumentId`, codes) stay strings exactly as sent:
`DocumentId` embeds a date that real senders get wrong (`2014/02/30`), so it is not parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from typing import Literal


class BusinessDocType(IntEnum):
    """`Bussiness/BussinessDocType`: what a document package does to the document it names."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


@dataclass(frozen=True)
class Organ:
    """`From` or `To` (cơ quan gửi / nhận): the organ's identifier code and its contacts."""

    organ_id: str
    organ_name: str | None = None
    organization_in_charge: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


@dataclass(frozen=True)
class Code:
    """`Code` (số, ký hiệu văn bản): e.g. `7816` / `VPCP-TTĐT`."""

    code_number: str
    code_notation: str


@dataclass(frozen=True)
class PromulgationInfo:
    """`PromulgationInfo` (nơi, ngày ban hành)."""

    place: str | None
    promulgation_date: date


@dataclass(frozen=True)
class DocumentType:
    """`DocumentType`: the standard's `Type` number (1 is a Công văn), `TypeDetail`, `TypeName`."""

    type: int
    type_detail: int | None = None
    type_name: str | None = None


@dataclass(frozen=True)
class SignerInfo:
    """`SignerInfo` (người ký): `Competence` (thẩm quyền, e.g. `TL. BỘ TRƯỞNG`), position, name."""

    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


@dataclass(frozen=True)
class OtherInfo:
    """`OtherInfo`: priority (độ khẩn), sphere and amounts; children the standard does not name
    are kept as (element name, text) pairs so that they survive a rewrite."""

    priority: int | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ResponseFor:
    """`ResponseFor`: the document a package answers (văn bản phúc đáp) or a status is about."""

    organ_id: str | None = None
    code: str | None = None
    promulgation_date: date | None = None
    document_id: str | None = None


@dataclass(frozen=True)
class StaffInfo:
    """`StaffInfo`: the clerk (văn thư) who acted."""

    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None


@dataclass(frozen=True)
class TraceHeader:
    """`TraceHeader`: one hop, the organ and when it passed the package on."""

    organ_id: str
    timestamp: datetime


@dataclass(frozen=True)
class ReplacementInfo:
    """`ReplacementInfo`: a replaced document and the organs it had been sent to."""

    document_id: str
    organ_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Receiver:
    """`ReceiverList/Receiver` of an update."""

    organ_id: str
    receiver_type: int | None = None


@dataclass(frozen=True)
class BusinessDocumentInfo:
    """`BussinessDocumentInfo`: what an update changes (document info, receivers)."""

    document_info: str | None = None
    document_receiver: str | None = None
    receivers: tuple[Receiver, ...] = ()


@dataclass(frozen=True)
class Business:
    """`TraceHeaderList/Bussiness` (the standard's spelling): the business operation."""

    doc_type: BusinessDocType
    reason: str | None = None
    document_id: str | None = None
    paper: int | None = None
    staff_info: StaffInfo | None = None
    replacement_info: tuple[ReplacementInfo, ...] = ()
    document_info: BusinessDocumentInfo | None = None


@dataclass(frozen=True)
class ManifestReference:
    """`edXMLBody/edXMLManifest/Reference`: one attachment as the envelope lists it."""

    content_id: str
    attachment_name: str | None = None
    content_type: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Attachment:
    """`AttachmentEncoded/Attachment` beside the envelope; `content` is the decoded bytes of
    `ContentTransferEncoded` (base64)."""

    content_id: str
    name: str
    content_type: str | None
    content: bytes
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class Signature:
    """The XML-DSig `Signature` element as found, in exclusive canonical form (C14N 1.0):
    written back unchanged, read for its algorithm, checked by `check_signature`."""

    xml: bytes

    @property
    def algorithm(self) -> str | None:
        from contracts.edxml._signature import algorithm_of

        return algorithm_of(self.xml)


@dataclass(frozen=True)
class DocumentPackage:
    """A document package (gói tin văn bản): header, trace list, manifest and attachments."""

    from_: Organ
    to: tuple[Organ, ...]
    code: Code
    promulgation_info: PromulgationInfo
    document_type: DocumentType
    subject: str
    document_id: str | None = None
    content: str | None = None
    signer_info: SignerInfo | None = None
    due_date: date | None = None
    to_places: tuple[str, ...] = ()
    other_info: OtherInfo | None = None
    response_for: ResponseFor | None = None
    steering_type: int | None = None
    trace_headers: tuple[TraceHeader, ...] = ()
    business: Business | None = None
    signature: Signature | None = None
    manifest: tuple[ManifestReference, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    kind: Literal["document"] = field(default="document", init=False)


@dataclass(frozen=True)
class StatusPackage:
    """A status package (gói tin trạng thái): a recipient's processing status (01-06, 13, 15,
    16) of the document `response_for` names."""

    from_: Organ
    response_for: ResponseFor
    status_code: str
    timestamp: datetime
    description: str | None = None
    staff_info: StaffInfo | None = None
    trace_headers: tuple[TraceHeader, ...] = ()
    signature: Signature | None = None
    kind: Literal["status"] = field(default="status", init=False)


Package = DocumentPackage | StatusPackage
