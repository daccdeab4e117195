"""Business operations (nghiệp vụ) of a document package: revoke, update, replace.

A document package's `TraceHeaderList/Bussiness/BussinessDocType` says what it does to a
document already exchanged (QCVN 102:2016, as ../shared/edxml-samples have it):

- 1 revoke (thu hồi): the package's own `DocumentId` names the document revoked;
- 2 update (cập nhật): the package is the new version, `Bussiness/DocumentId` names the old one
  and `BussinessDocumentInfo/ReceiverList` the organs concerned;
- 3 replace (thay thế): the package is the new document, each
  `ReplacementInfoList/ReplacementInfo` names a document replaced and the organs concerned.

Each recipient concerned of the document acted on is asked to give it back: its status goes to
13 (yêu cầu lấy lại, the sender's request, with `BussinessDocReason` as the note), and its own
system answers 15 (agrees) or 16 (refuses) as a status package or a status change. A recipient
whose status cannot go to 13 (it refused the document, 02, or was already asked) is left as it
is and reported. The document acted on is marked `revoked`, `updated` or `replaced`; an updated or
replaced one is linked to the new document (`superseded_by`, and `supersedes` on the new one).

`apply` is what the import of a document package calls once the package is read (and, for an
update or replacement, once the new document is stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from contracts import edxml as codec
from lgsp_kit.errors import Unprocessable
from services.documents.documents import repository, service
from services.documents.documents.exchange import RECALL_REQUESTED, allowed_next
from services.documents.documents.schemas import StatusChange
from services.documents.documents.status_packages import document_named
from services.documents.models import Document
from services.documents.scope import OrganScope

STATE = {
    codec.BusinessDocType.REVOKE: "revoked",
    codec.BusinessDocType.UPDATE: "updated",
    codec.BusinessDocType.REPLACE: "replaced",
}
DEFAULT_REASON = {
    codec.BusinessDocType.REVOKE: "Thu hồi văn bản điện tử",
    codec.BusinessDocType.UPDATE: "Cập nhật văn bản điện tử",
    codec.BusinessDocType.REPLACE: "Văn bản thay thế",
}
NOTE_LIMIT = 500


@dataclass(frozen=True)
class Target:
    """A document the package acts on, and the organs whose copy it concerns."""

    edxml_id: str
    organs: tuple[str, ...]


@dataclass(frozen=True)
class BusinessResult:
    operation: str  # revoked, updated, replaced
    documents: tuple[str, ...]  # ids of the documents acted on
    new_document: str | None  # the update or replacement (None for a revocation)
    recalled: tuple[tuple[str, str], ...]  # (document id, organ) asked to give it back (13)
    skipped: tuple[tuple[str, str, str], ...]  # (document id, organ, status) left as they are


def targets(package: codec.DocumentPackage) -> list[Target]:
    """The documents the package names and the organs concerned, in the package's order."""
    business = package.business
    assert business is not None
    to = tuple(o.organ_id for o in package.to)
    if business.doc_type == codec.BusinessDocType.REVOKE:
        if not package.document_id:
            raise Unprocessable(
                "a revocation names the revoked document in MessageHeader/DocumentId",
                code="business_document_missing",
            )
        return [Target(package.document_id, to)]
    if business.doc_type == codec.BusinessDocType.UPDATE:
        if not business.document_id:
            raise Unprocessable(
                "an update names the updated document in Bussiness/DocumentId",
                code="business_document_missing",
            )
        info = business.document_info
        receivers = tuple(r.organ_id for r in info.receivers) if info is not None else ()
        return [Target(business.document_id, receivers or to)]
    found: dict[str, tuple[str, ...]] = {}
    for item in business.replacement_info:
        # The replacement sample names the same document twice: once is enough.
        organs = item.organ_ids or to
        found[item.document_id] = tuple(dict.fromkeys(found.get(item.document_id, ()) + organs))
    if not found and business.document_id:
        found[business.document_id] = to
    if not found:
        raise Unprocessable(
            "a replacement names the replaced documents in Bussiness/ReplacementInfoList",
            code="business_document_missing",
        )
    return [Target(edxml_id, organs) for edxml_id, organs in found.items()]


def apply(
    session: Session,
    package: codec.DocumentPackage,
    *,
    scope: OrganScope,
    at: datetime | None = None,
) -> BusinessResult | None:
    """Act on the documents a revoke, update or replace package names; None for a new one."""
    business = package.business
    if business is None or business.doc_type == codec.BusinessDocType.NEW:
        return None
    sender = package.from_.organ_id
    scope.require(session, sender, acting_as="the organ that revokes, updates or replaces")
    kind = business.doc_type
    new: Document | None = None
    if kind != codec.BusinessDocType.REVOKE:
        if not package.document_id:
            raise Unprocessable(
                "the update or replacement names itself in MessageHeader/DocumentId",
                code="business_document_missing",
            )
        new = document_named(session, package.document_id)
    found = [(document_named(session, t.edxml_id), t.organs) for t in targets(package)]
    for document, _ in found:
        if document.from_organ != sender:
            raise Unprocessable(
                f"document {document.edxml_id} was sent by {document.from_organ}; only its "
                f"sender can revoke, update or replace it, not {sender}",
                code="not_the_sender",
            )
        if new is not None and document.id == new.id:
            raise Unprocessable(
                f"document {document.edxml_id} cannot update or replace itself",
                code="business_self_reference",
            )
    when = at or service.now()
    note = (business.reason or DEFAULT_REASON[kind])[:NOTE_LIMIT]
    change = StatusChange.model_validate({"status": RECALL_REQUESTED, "at": when, "note": note})
    recalled: list[tuple[str, str]] = []
    skipped: list[tuple[str, str, str]] = []
    for document, organs in found:
        for organ in dict.fromkeys(organs):
            row = repository.recipient(session, document.id, organ)
            if row is None:
                continue  # an organ of the package that did not receive this document
            if RECALL_REQUESTED not in allowed_next(row.status):
                skipped.append((document.id, organ, row.status))
                continue
            service.change_status(session, document.id, organ, change, scope=scope)
            recalled.append((document.id, organ))
        document.business_state = STATE[kind]
        if new is not None:
            document.superseded_by = new.id
            new.supersedes = new.supersedes or document.id
            session.add(new)
        session.add(document)
    session.flush()
    return BusinessResult(
        operation=STATE[kind],
        documents=tuple(d.id for d, _ in found),
        new_document=new.id if new is not None else None,
        recalled=tuple(recalled),
        skipped=tuple(skipped),
    )
