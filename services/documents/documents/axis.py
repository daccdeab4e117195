"""The national document axis (trục liên thông văn bản quốc gia), seen from the province.

Organs outside the province (ministries and the government office, other provinces: the
directory of national organs, and senders recorded as `external`) are reached through the axis,
not through this service. A document sent here to one of them is queued in the axis outbox in the
send's own transaction; the axis (or whatever stands for it: issue 13's national tier) reads the
outbox, takes each signed edXML package (the same bytes as the document's export) and
acknowledges it, which removes it from the outbox. Packages the axis brings for the province's
organs come in through `POST /v1/documents:import` (and status packages through
`POST /v1/status-packages`), with the same codec. Every call needs the scope `documents:axis`.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from lgsp_kit.errors import NotFound
from services.documents.documents import service
from services.documents.documents.schemas import AxisItem, AxisOutbox
from services.documents.models import AxisPackage, Document
from services.documents.scope import OrganScope
from services.documents.settings import Settings


def item_of(row: AxisPackage, document: Document) -> AxisItem:
    return AxisItem(
        document_id=row.document_id,
        edxml_document_id=document.edxml_id,
        from_organ=document.from_organ,
        to_organs=row.organs.split(),
        queued_at=row.queued_at,
        taken_at=row.taken_at,
    )


def outbox(session: Session, *, limit: int) -> AxisOutbox:
    """The packages waiting for the axis, oldest first."""
    query = (
        select(AxisPackage, Document)
        .join(Document, col(Document.id) == col(AxisPackage.document_id))
        .where(col(AxisPackage.taken_at).is_(None))
        .order_by(col(AxisPackage.queued_at), col(AxisPackage.document_id))
        .limit(limit + 1)
    )
    rows = session.exec(query).all()
    return AxisOutbox(
        items=[item_of(row, document) for row, document in rows[:limit]],
        more=len(rows) > limit,
    )


def queued(session: Session, document_id: str) -> AxisPackage:
    row = session.get(AxisPackage, document_id)
    if row is None:
        raise NotFound(
            f"document {document_id} is not in the axis outbox (it was not sent to an organ "
            "outside the province)",
            code="not_in_axis_outbox",
        )
    return row


def package(session: Session, document_id: str, *, settings: Settings) -> bytes:
    """The signed edXML package of a queued document, as its export gives it."""
    queued(session, document_id)
    return service.export(session, document_id, scope=OrganScope(None), settings=settings)


def take(session: Session, document_id: str) -> AxisItem:
    """The axis has taken the package: it leaves the outbox (again: the same answer)."""
    row = queued(session, document_id)
    if row.taken_at is None:
        row.taken_at = service.now()
        session.add(row)
        session.flush()
    document = service.find(session, document_id)
    return item_of(row, document)
