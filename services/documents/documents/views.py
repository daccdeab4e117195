"""How documents are shown: the API shapes built from the rows (times in local time)."""

from __future__ import annotations

from typing import Literal

from sqlmodel import Session

from services.documents.documents import edxml, repository
from services.documents.documents.exchange import STATUS_NAMES, allowed_next, type_name_of
from services.documents.documents.schemas import (
    AttachmentOut,
    DocumentOut,
    EdxmlDocumentType,
    Promulgation,
    RecipientOut,
    SignatureOut,
    Signer,
    TraceOut,
)
from services.documents.models import Attachment, Document, Organ, Recipient
from services.documents.signing import canonical

XMLDSIG_ALGORITHM = "XML-DSig {} (edXML package)"


def recipient_out(row: Recipient, organ: Organ) -> RecipientOut:
    return RecipientOut(
        organ_code=row.organ_code,
        organ_name=organ.name,
        status=row.status,
        status_name=STATUS_NAMES[row.status],
        reason=row.reason,
        changed_at=row.changed_at,
        allowed_next=list(allowed_next(row.status)),
    )


def signature_out(document: Document) -> SignatureOut | None:
    if document.signature is None or document.signed_digest is None:
        return None
    return SignatureOut(
        algorithm=(
            canonical.ALGORITHM
            if document.origin == "sent"
            else XMLDSIG_ALGORITHM.format((document.signature_algorithm or "unknown").upper())
        ),
        value=document.signature,
        signed_digest=document.signed_digest,
        certificate_fingerprint=document.key_fingerprint or "",
    )


def edxml_type(document: Document) -> EdxmlDocumentType:
    t = edxml.document_type_of(document)
    return EdxmlDocumentType(type=t.type, detail=t.type_detail, name=t.type_name)


def verification(document: Document) -> Literal["verified", "unverified", "refused"]:
    if document.verification == "unverified":
        return "unverified"
    return "verified" if document.verified else "refused"


def document_out(
    session: Session, document: Document, rows: list[tuple[Recipient, Organ]]
) -> DocumentOut:
    return document_out_of(
        document,
        [recipient_out(r, o) for r, o in rows],
        repository.attachments(session, document.id),
        [
            TraceOut(
                organ_code=t.organ_code,
                action=t.action,
                from_status=t.from_status,
                to_status=t.to_status,
                at=t.at,
                note=t.note,
            )
            for t in repository.trace(session, document.id)
        ],
    )


def document_out_of(
    document: Document,
    recipients: list[RecipientOut],
    attachments: list[Attachment],
    trace: list[TraceOut],
) -> DocumentOut:
    """The answer from its parts: recipients in their order, the trace in its."""
    return DocumentOut(
        id=document.id,
        edxml_document_id=document.edxml_id,
        origin=document.origin,
        from_organ=document.from_organ,
        sender_level=document.sender_level,
        to_organs=[r.organ_code for r in recipients],
        code_number=document.code_number,
        code_notation=document.code_notation,
        document_type=document.document_type,
        document_type_name=type_name_of(document.document_type, document.edxml_type_name),
        subject=document.subject,
        content=document.content,
        promulgation=Promulgation(
            place=document.promulgation_place, date=document.promulgation_date
        ),
        signer=Signer(
            full_name=document.signer_full_name,
            position=document.signer_position,
            competence=document.signer_competence,
        ),
        due_date=document.due_date,
        steering_type=document.steering_type,
        priority=document.priority,
        response_for=document.response_for,
        electronic=document.electronic,
        sent_at=document.sent_at,
        edxml_document_type=edxml_type(document),
        verified=document.verified,
        verification=verification(document),
        signature_algorithm=document.signature_algorithm,
        business_state=document.business_state,
        supersedes=document.supersedes,
        superseded_by=document.superseded_by,
        signature=signature_out(document),
        attachments=[
            AttachmentOut(
                content_id=a.content_id,
                name=a.name,
                content_type=a.content_type,
                size=a.size,
                sha256=a.sha256,
            )
            for a in attachments
        ],
        recipients=recipients,
        trace=trace,
    )
