"""Status packages (gói tin trạng thái, QCVN 102:2016) out of and into the documents service.

Out: a recipient's current status of a document, as the status package its system would send
(`contracts.edxml`). In: a received status package moves the recipient it names along the same
transition table as `POST /v1/documents/{id}/recipients/{organ}/status` (illegal moves 409).

Who is who, as the samples of ../shared/edxml-samples have it: for 01-06, 15 and 16 the status
comes From the recipient and its `ResponseFor/OrganId` is the document's sender; for 13 (the
sender asks for a recall) it comes From the sender and `ResponseFor/OrganId` is the recipient
asked. `ResponseFor/DocumentId` is the document's edXML DocumentId.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from contracts import edxml as codec
from lgsp_kit.errors import NotFound, Unprocessable
from services.documents.documents import repository, service
from services.documents.documents.exchange import STATUS_NAMES, set_by_sender
from services.documents.documents.schemas import RecipientOut, StatusChange
from services.documents.models import Document, Organ
from services.documents.scope import OrganScope

# The note of a status change holds at most this many characters (StatusChange.note).
NOTE_LIMIT = 500


def organ_ref(session: Session, code: str) -> codec.Organ:
    organ = session.get(Organ, code)
    return codec.Organ(organ_id=code, organ_name=organ.name if organ is not None else None)


def status_package(
    session: Session, document_id: str, organ_code: str, *, scope: OrganScope
) -> codec.StatusPackage:
    """The recipient's current status of the document as a status package (not yet written)."""
    document = service.find(session, document_id)
    service.visible(session, document, scope)
    row = repository.recipient(session, document_id, organ_code)
    if row is None:
        raise NotFound(
            f"{organ_code} is not a recipient of {document_id}", code="recipient_not_found"
        )
    if set_by_sender(row.status):
        sender, about = document.from_organ, organ_code
    else:
        sender, about = organ_code, document.from_organ
    return codec.StatusPackage(
        from_=organ_ref(session, sender),
        response_for=codec.ResponseFor(
            organ_id=about,
            code=f"{document.code_number}/{document.code_notation}",
            promulgation_date=document.promulgation_date,
            document_id=document.edxml_id,
        ),
        status_code=row.status,
        # The standard's timestamps have whole seconds.
        timestamp=row.changed_at.astimezone(codec.VIETNAM).replace(microsecond=0),
        description=row.reason or STATUS_NAMES[row.status],
        staff_info=codec.StaffInfo(department=organ_ref(session, sender).organ_name),
    )


def export(session: Session, document_id: str, organ_code: str, *, scope: OrganScope) -> bytes:
    return codec.write(status_package(session, document_id, organ_code, scope=scope))


def read(raw: bytes) -> codec.StatusPackage:
    """The status package in `raw`; 422 naming the line when it is not one."""
    try:
        package = codec.read(raw)
    except codec.EdxmlError as exc:
        extra = {"line": exc.line} if exc.line is not None else None
        raise Unprocessable(
            f"not a readable edXML package: {exc}", code=f"edxml_{exc.code}", extra=extra
        ) from exc
    if not isinstance(package, codec.StatusPackage):
        raise Unprocessable(
            "a document package, not a status package (MessageHeader has no StatusCode)",
            code="not_a_status_package",
        )
    if package.status_code not in STATUS_NAMES:
        raise Unprocessable(
            f"StatusCode {package.status_code} is not one of {', '.join(STATUS_NAMES)}",
            code="unknown_status_code",
        )
    return package


def document_named(session: Session, edxml_id: str) -> Document:
    query = (
        select(Document)
        .where(col(Document.edxml_id) == edxml_id)
        .order_by(col(Document.sent_at), col(Document.id))
    )
    document = session.exec(query).first()
    if document is None:
        raise NotFound(f"no document with edXML DocumentId {edxml_id}", code="document_not_found")
    return document


def apply(session: Session, raw: bytes, *, scope: OrganScope) -> tuple[str, RecipientOut]:
    """Apply a received status package; the document's id and the recipient's new status."""
    package = read(raw)
    sender = package.from_.organ_id
    # The caller answers for the organ the status comes from, before anything is looked up.
    scope.require(session, sender, acting_as="the organ the status package comes From")
    assert package.response_for.document_id is not None  # the reader requires it
    document = document_named(session, package.response_for.document_id)
    if set_by_sender(package.status_code):
        if sender != document.from_organ:
            raise Unprocessable(
                f"status 13 (recall) comes from the document's sender {document.from_organ}, "
                f"not {sender}",
                code="not_the_sender",
            )
        if not package.response_for.organ_id:
            raise Unprocessable(
                "status 13 names the recipient asked in ResponseFor/OrganId", code="no_recipient"
            )
        recipient = package.response_for.organ_id
    else:
        recipient = sender
    note = package.description[:NOTE_LIMIT] if package.description else None
    change = StatusChange.model_validate(
        {"status": package.status_code, "at": package.timestamp, "note": note}
    )
    out = service.change_status(session, document.id, recipient, change, scope=scope)
    return document.id, out
