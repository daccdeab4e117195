"""Queries of documents, recipients and traces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from services.documents.models import Attachment, Document, Organ, Recipient, TraceEntry


@dataclass(frozen=True)
class InboxFilter:
    status: str | None = None
    from_organ: str | None = None
    document_type: str | None = None
    electronic: bool | None = None
    sent_after: datetime | None = None
    sent_before: datetime | None = None


def attachments(session: Session, document_id: str) -> list[Attachment]:
    query = (
        select(Attachment)
        .where(col(Attachment.document_id) == document_id)
        .order_by(col(Attachment.position))
    )
    return list(session.exec(query))


def recipients(session: Session, document_id: str) -> list[tuple[Recipient, Organ]]:
    query = (
        select(Recipient, Organ)
        .join(Organ, col(Organ.code) == col(Recipient.organ_code))
        .where(col(Recipient.document_id) == document_id)
        .order_by(col(Recipient.seq))
    )
    return [(r, o) for r, o in session.exec(query)]


def recipient(session: Session, document_id: str, organ_code: str) -> Recipient | None:
    query = (
        select(Recipient)
        .where(col(Recipient.document_id) == document_id)
        .where(col(Recipient.organ_code) == organ_code)
        .with_for_update()
    )
    return session.exec(query).first()


def trace(session: Session, document_id: str) -> list[TraceEntry]:
    query = (
        select(TraceEntry)
        .where(col(TraceEntry.document_id) == document_id)
        .order_by(col(TraceEntry.at), col(TraceEntry.seq))
    )
    return list(session.exec(query))


def inbox(
    session: Session, organ_code: str, where: InboxFilter, *, before: int | None, limit: int
) -> list[tuple[Recipient, Document, Organ]]:
    """Newest first, by the recipient row's sequence (the cursor)."""
    query = (
        select(Recipient, Document, Organ)
        .join(Document, col(Document.id) == col(Recipient.document_id))
        .join(Organ, col(Organ.code) == col(Document.from_organ))
        .where(col(Recipient.organ_code) == organ_code)
        .order_by(col(Recipient.seq).desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(col(Recipient.seq) < before)
    if where.status is not None:
        query = query.where(col(Recipient.status) == where.status)
    if where.from_organ is not None:
        query = query.where(col(Document.from_organ) == where.from_organ)
    if where.document_type is not None:
        query = query.where(col(Document.document_type) == where.document_type)
    if where.electronic is not None:
        query = query.where(col(Document.electronic) == where.electronic)
    if where.sent_after is not None:
        query = query.where(col(Document.sent_at) >= where.sent_after)
    if where.sent_before is not None:
        query = query.where(col(Document.sent_at) < where.sent_before)
    return [(r, d, o) for r, d, o in session.exec(query)]
