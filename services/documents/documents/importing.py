"""Receiving an edXML document package (tiếp nhận gói tin edXML) from another system.

`read` turns the bytes into a `Received`: the package as `contracts.edxml` reads it (QCVN
102:2016 as real senders write it), its tree, and its Signature when it has the one shape
where the signature covers all of it (see `edxml.enveloped_signature`); any other shape is
refused with 422 and nothing is stored. `receive` hands that parsed package to the service:
what is checked (the From organ whose certificate verifies it, the recipients and the
caller's scope over them, the attachment limits of POST /v1/documents) is exactly what the
signature covers, and, when it verifies, exactly what is stored.

The signature policy (docs/edxml.md): RSA-SHA256 is verified; RSA-SHA1 only when
`DOCUMENTS_ALLOW_SHA1_SIGNATURES` is on. A package that verifies arrives (01) at each
recipient (`verification` "verified"); one whose signature cannot be checked — no trusted
certificate of its From organ here, or a signature outside the XML-DSig namespace as legacy
SDKs write it — arrives too, stored as "unverified", each recipient's reason saying why; one
that is checked and fails (altered, another key, unsigned, an algorithm not accepted) is
recorded as refused (02) with the reason. The algorithm is recorded on the document. The
package is kept byte for byte and is what the export of that document returns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from lxml import etree
from sqlmodel import Session, col, select

from contracts import edxml as codec
from lgsp_kit.errors import Conflict, Unprocessable
from services.documents.documents import (
    business,
    edxml,
    repository,
    service,
    views,
)
from services.documents.documents.exchange import ARRIVED, REFUSED, type_code_of
from services.documents.documents.schemas import DocumentOut
from services.documents.models import Attachment, Document, Organ, OrganKey, TraceEntry
from services.documents.organs.service import EXTERNAL, OUTSIDE
from services.documents.scope import OrganScope
from services.documents.settings import Settings
from services.documents.signing import keys

Verification = Literal["verified", "unverified", "refused"]
UNVERIFIED = "unverified: "
NOT_APPLIED = (
    "the update or replacement is not applied to the documents it names: that needs a verified "
    "signature of their sender"
)


@dataclass(frozen=True)
class ImportResult:
    document: DocumentOut
    created: bool


@dataclass(frozen=True)
class Received:
    """A document package as read: its bytes, tree, content and (accepted) Signature."""

    raw: bytes
    root: etree._Element
    package: codec.DocumentPackage
    signature: etree._Element | None


@dataclass(frozen=True)
class Verdict:
    verification: Verification
    reason: str | None
    algorithm: str | None


def read(raw: bytes) -> Received:
    """422 when the package cannot be read (naming the line for XML faults) or its signature
    would not cover exactly its content."""
    try:
        root, package = edxml.read(raw)
        signature = edxml.enveloped_signature(root)
    except edxml.SignatureShapeError as exc:
        raise Unprocessable(
            f"the package signature does not cover the whole package: {exc}", code=exc.code
        ) from exc
    except edxml.PackageError as exc:
        extra: dict[str, object] = {"line": exc.line} if exc.line is not None else {}
        if exc.reason is not None:
            extra["reason"] = exc.reason
        raise Unprocessable(
            f"not a readable edXML package: {exc}", code=exc.code, extra=extra
        ) from exc
    return Received(raw, root, package, signature)


def check_limits(package: codec.DocumentPackage, settings: Settings) -> None:
    """The attachment limits of POST /v1/documents: count, size, content type."""
    service.check_attachment_count(len(package.attachments), settings)
    for a in package.attachments:
        service.check_attachment(a.name, content_type(a), a.size, settings)


def check_signer(package: codec.DocumentPackage) -> None:
    """A document names who signed it (QCVN 102:2016 `SignerInfo`, its `Position` and
    `FullName`; every real package has them): 422 `signer_missing` otherwise, nothing stored."""
    signer = package.signer_info
    missing = [
        name
        for name, value in (
            ("Position", signer.position if signer else None),
            ("FullName", signer.full_name if signer else None),
        )
        if not (value or "").strip()
    ]
    if missing:
        raise Unprocessable(
            "the package does not name its signer: MessageHeader/SignerInfo needs "
            + " and ".join(missing),
            code="signer_missing",
        )


def content_type(attachment: codec.Attachment) -> str:
    return attachment.content_type or "application/octet-stream"


def verify(received: Received, certificate: OrganKey | None, *, allow_sha1: bool) -> Verdict:
    """Whether the package verifies as sent by its From organ; 422 `signed_content_mismatch`
    when it verifies but the raw package reads differently from the content signed."""
    signature = received.signature
    if signature is None:
        return Verdict("refused", "the package is not signed", None)
    algorithm = edxml.algorithm_of(signature)
    # What cannot be checked at all is unverified, whatever its algorithm; the algorithm policy
    # applies to a signature that is checked.
    if reason := edxml.uncheckable(signature):
        return Verdict("unverified", reason, algorithm)
    if certificate is None:
        sender = received.package.from_.organ_id
        return Verdict(
            "unverified", f"no trusted certificate of {sender} is known to this system", algorithm
        )
    if algorithm not in ("rsa-sha256", "rsa-sha1"):
        return Verdict("refused", f"the signature algorithm {algorithm} is not accepted", algorithm)
    if algorithm == "rsa-sha1" and not allow_sha1:
        return Verdict(
            "refused",
            "RSA-SHA1 signatures are not accepted here (DOCUMENTS_ALLOW_SHA1_SIGNATURES)",
            algorithm,
        )
    try:
        signed = edxml.signed_content(
            edxml.verify_enveloped(
                received.root, certificate.certificate_pem, allow_sha1=allow_sha1
            )
        )
    except edxml.VerificationFailed as exc:
        return Verdict("refused", str(exc), algorithm)
    if signed != edxml.without_signature(received.package) or edxml.has_unsigned_nodes(
        received.raw
    ):
        # Only comments or processing instructions inside signed text get here: the digest
        # leaves them out, but they change what the raw package, kept and exported, reads as.
        raise Unprocessable(
            "the package reads differently from the content its signature covers "
            "(comments or processing instructions inside signed elements)",
            code="signed_content_mismatch",
        )
    return Verdict("verified", None, algorithm)


def import_package(
    session: Session, raw: bytes, *, scope: OrganScope, settings: Settings
) -> ImportResult:
    return receive(session, read(raw), scope=scope, settings=settings)


def receive(
    session: Session, received: Received, *, scope: OrganScope, settings: Settings
) -> ImportResult:
    """A new document from a parsed package (`received.package`, what the signature covers)."""
    package = received.package
    to_organs = [o.organ_id for o in package.to]
    if len(set(to_organs)) != len(to_organs):
        raise Unprocessable("a To organ is named twice", code="invalid_package")
    recipients = service.known_organs(session, to_organs)
    # The package is the whole document; this service delivers the copies of the province's
    # organs, and the national axis those of the organs outside it.
    here = [code for code in to_organs if recipients[code].level not in OUTSIDE]
    if not here:
        raise Unprocessable(
            "none of the package's To organs is an organ of this province: the national "
            "document axis delivers it to them, not this service",
            code="no_recipient_here",
        )
    scope.require_any(session, here, what="a recipient of this package")
    kind = package.business.doc_type if package.business is not None else None
    if kind == codec.BusinessDocType.REVOKE:
        return revoke(session, received, settings=settings)
    document_id = edxml.exchange_id(package)
    existing = session.get(Document, document_id)
    if existing is not None:
        return ImportResult(already_registered(session, existing, received.raw, settings), False)
    check_limits(package, settings)
    check_signer(package)
    service.require_connected([], [recipients[code] for code in here])
    sender = sender_of(session, package.from_)

    # The certificate of the organ the signed From names, and no other.
    certificate = keys.certificate_of(session, sender.code)
    verdict = verify(received, certificate, allow_sha1=settings.allow_sha1_signatures)
    document = record(session, document_id, received, sender, verdict, certificate)
    session.add(
        TraceEntry(
            document_id=document.id,
            organ_code=sender.code,
            action="sent",
            at=document.sent_at,
            note="edXML package received from another system",
        )
    )
    if verdict.verification == "refused":
        reason, status = verdict.reason, REFUSED
    elif verdict.verification == "unverified":
        reason, status = f"{UNVERIFIED}{verdict.reason}", ARRIVED
    else:
        reason, status = None, ARRIVED
    if kind in (codec.BusinessDocType.UPDATE, codec.BusinessDocType.REPLACE):
        if verdict.verification == "verified":
            acts_on(session, package)
        else:
            reason = f"{reason or verdict.reason}; {NOT_APPLIED}"[:500]
    service.deliver(session, document, here, reason=reason, at=service.now(), status=status)
    rows = repository.recipients(session, document.id)
    return ImportResult(views.document_out(session, document, rows), True)


def acts_on(session: Session, package: codec.DocumentPackage) -> business.BusinessResult | None:
    """Apply a revocation, update or replacement whose signature verified.

    The caller's scope covers a recipient (checked on import); the authority to revoke, update
    or replace is the sender's, and a verified signature of the sender is that authority here:
    `business.apply` checks that the sender is the one of each document acted on."""
    return business.apply(session, package, scope=OrganScope(None))


def revoke(session: Session, received: Received, *, settings: Settings) -> ImportResult:
    """A revocation package (`BussinessDocType` 1) is a request about a document already here,
    not a document: with a verified signature of the document's sender, each recipient concerned
    is asked to give it back (13) and the document is marked revoked (200, the revoked document);
    without one, 422 `business_not_verified` and nothing changes."""
    package = received.package
    certificate = keys.certificate_of(session, package.from_.organ_id)
    verdict = verify(received, certificate, allow_sha1=settings.allow_sha1_signatures)
    if verdict.verification != "verified":
        raise Unprocessable(
            "a revocation acts only with a verified signature of the document's sender; "
            f"this one is {verdict.verification}: {verdict.reason}",
            code="business_not_verified",
        )
    result = acts_on(session, package)
    assert result is not None  # a revocation is a business operation
    document = service.find(session, result.documents[0])
    rows = repository.recipients(session, document.id)
    return ImportResult(views.document_out(session, document, rows), False)


def sender_of(session: Session, organ: codec.Organ) -> Organ:
    """The From organ: one of the directory, or one outside the province (a ministry, another
    province) recorded as `external` under the name its package gives, until the directory of
    national organs exists."""
    known = session.get(Organ, organ.organ_id)
    if known is not None:
        return known
    if len(organ.organ_id) > 32:
        raise Unprocessable(
            f"From/OrganId {organ.organ_id[:40]!r} is longer than an organ code",
            code="unknown_organ",
        )
    external = Organ(
        code=organ.organ_id, name=(organ.organ_name or organ.organ_id)[:300], level=EXTERNAL
    )
    session.add(external)
    session.flush()
    return external


def already_registered(
    session: Session, existing: Document, raw: bytes, settings: Settings
) -> DocumentOut:
    """The same package again changes nothing; a different one under the same id is refused."""
    rows = repository.recipients(session, existing.id)
    if existing.package is not None:
        same = existing.package == raw
    elif existing.electronic:
        built = service.build_signed_package(session, existing, [o for _, o in rows], settings)
        same = built == raw
    else:
        same = False
    if not same:
        raise Conflict(
            f"document {existing.id} is already registered with different content",
            code="document_exists",
        )
    return views.document_out(session, existing, rows)


def sent_at(package: codec.DocumentPackage) -> codec.TraceHeader | None:
    """The sender's hop (its TraceHeader), else the first one."""
    for trace in package.trace_headers:
        if trace.organ_id == package.from_.organ_id:
            return trace
    return package.trace_headers[0] if package.trace_headers else None


def record(
    session: Session,
    document_id: str,
    received: Received,
    sender: Organ,
    verdict: Verdict,
    certificate: OrganKey | None,
) -> Document:
    package = received.package
    answered = None
    if package.response_for is not None and package.response_for.document_id:
        query = select(Document.id).where(
            col(Document.edxml_id) == package.response_for.document_id
        )
        answered = session.exec(query).first()
    signer = package.signer_info
    assert signer is not None  # check_signer
    trace = sent_at(package)
    doc_type = package.document_type
    document = Document(
        id=document_id,
        edxml_id=edxml.document_id_of(package)[:200],
        origin="imported",
        from_organ=sender.code,
        sender_level=sender.level,
        code_number=package.code.code_number[:16],
        code_notation=package.code.code_notation[:64],
        document_type=type_code_of(doc_type.type_name),
        subject=package.subject,
        content=package.content,
        promulgation_place=(package.promulgation_info.place or "")[:200],
        promulgation_date=package.promulgation_info.promulgation_date,
        signer_full_name=(signer.full_name or "")[:200],
        signer_position=(signer.position or "")[:200],
        signer_competence=signer.competence[:200] if signer.competence else None,
        due_date=package.due_date,
        steering_type=package.steering_type or 0,
        priority=(package.other_info.priority if package.other_info else None) or 0,
        response_for=answered,
        electronic=True,
        sent_at=trace.timestamp if trace is not None else service.now(),
        signature=(
            edxml.signature_value(received.signature) if received.signature is not None else None
        ),
        signed_digest=hashlib.sha256(received.raw).hexdigest(),
        key_fingerprint=certificate.fingerprint if certificate is not None else None,
        package=received.raw,
        verified=verdict.verification == "verified",
        verification=verdict.verification,
        verification_reason=verdict.reason[:500] if verdict.reason else None,
        signature_algorithm=verdict.algorithm[:32] if verdict.algorithm else None,
        edxml_type=doc_type.type,
        edxml_type_detail=doc_type.type_detail,
        edxml_type_name=doc_type.type_name[:200] if doc_type.type_name else None,
    )
    session.add(document)
    session.flush()  # no ORM relationships: the parent row goes first, explicitly
    session.add_all(
        Attachment(
            document_id=document.id,
            position=i,
            content_id=a.content_id[:64],
            name=a.name[:255],
            content_type=content_type(a)[:128],
            size=a.size,
            sha256=hashlib.sha256(a.content).hexdigest(),
            content=a.content,
        )
        for i, a in enumerate(package.attachments)
    )
    session.flush()
    return document
