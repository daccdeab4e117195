"""Receiving an edXML package (tiếp nhận gói tin edXML) from another system.

The package is read only in the shape where its signature covers all of it (one enveloped
signature in edXMLHeader, one Reference with `URI=""`; see `edxml.enveloped_signature`): any
other shape is refused with 422 and nothing is stored, so what is checked (the From organ whose
certificate verifies it, the recipients and the caller's scope over them, the attachment limits
of POST /v1/documents) is exactly what the signature covers, and, when it verifies, exactly what
is stored. It is verified with XML-DSig against the certificate this service holds for the From
organ it names (its own key's, or one registered for an organ that signs elsewhere). A package that
verifies arrives (01) at each recipient; one that does not — altered, signed with another key,
unsigned, no certificate known — is recorded as refused (02) with the reason, so the sender can be
told. The package is kept byte for byte and is what the export of that document returns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import tzinfo

from lxml import etree
from sqlmodel import Session, col, select

from lgsp_kit.errors import Conflict, Unprocessable
from services.documents.documents import edxml, repository, service, views
from services.documents.documents.schemas import DocumentOut
from services.documents.models import Attachment, Document, OrganKey, TraceEntry
from services.documents.scope import OrganScope
from services.documents.settings import Settings
from services.documents.signing import keys


@dataclass(frozen=True)
class ImportResult:
    document: DocumentOut
    created: bool


def read(raw: bytes) -> tuple[etree._Element, etree._Element | None, edxml.ParsedPackage]:
    """The package's root, its Signature (None if unsigned) and its content; 422 when the package
    cannot be read or its signature would not cover exactly that content."""
    try:
        root = edxml.read_root(raw)
        signature = edxml.enveloped_signature(root)
        return root, signature, edxml.parse(root)
    except edxml.SignatureShapeError as exc:
        raise Unprocessable(
            f"the package signature does not cover the whole package: {exc}", code=exc.code
        ) from exc
    except edxml.PackageError as exc:
        raise Unprocessable(f"not a readable edXML package: {exc}", code="invalid_package") from exc


def check_limits(package: edxml.ParsedPackage, settings: Settings) -> None:
    """The attachment limits of POST /v1/documents: count, size, content type."""
    service.check_attachment_count(len(package.attachments), settings)
    for a in package.attachments:
        service.check_attachment(a.name, a.content_type, len(a.content), settings)


def verification_failure(
    root: etree._Element,
    signature: etree._Element | None,
    package: edxml.ParsedPackage,
    certificate: OrganKey | None,
) -> str | None:
    """Why the package does not verify as sent by its From organ (it is then refused, 02), or
    None when it does; 422 `signed_content_mismatch` when it verifies but the raw package reads
    differently from the content the signature covers."""
    if signature is None:
        return "the package is not signed"
    if certificate is None:
        return f"no signing certificate of {package.from_organ} is known to this system"
    try:
        signed = edxml.parse(edxml.verify_enveloped(root, certificate.certificate_pem))
    except edxml.VerificationFailed as exc:
        return str(exc)
    except edxml.PackageError as exc:
        return f"the signed content is not a readable package: {exc}"
    if signed != package:
        # Only comments or processing instructions inside signed text get here: the digest
        # leaves them out, but they change what the raw package, kept and exported, reads as.
        raise Unprocessable(
            "the package reads differently from the content its signature covers "
            "(comments or processing instructions inside signed elements)",
            code="signed_content_mismatch",
        )
    return edxml.attachment_digests_hold(package)


def import_package(
    session: Session, raw: bytes, *, scope: OrganScope, settings: Settings, tz: tzinfo
) -> ImportResult:
    root, signature, package = read(raw)
    # From here on `package` is the content the signature covers (the whole root).
    sender = service.known_organs(session, [package.from_organ])[package.from_organ]
    recipients = service.known_organs(session, package.to_organs)
    scope.require_any(session, package.to_organs, what="a recipient of this package")
    existing = session.get(Document, package.exchange_id)
    if existing is not None:
        return ImportResult(already_registered(session, existing, raw, settings, tz), False)
    check_limits(package, settings)
    service.require_connected([], list(recipients.values()))

    # The certificate of the organ the signed From names, and no other.
    certificate = keys.certificate_of(session, sender.code)
    reason = verification_failure(root, signature, package, certificate)
    value = signature.find(f"{{{edxml.DS}}}SignatureValue") if signature is not None else None
    document = record(session, package, raw, sender.level, reason, certificate, value)
    received_at = service.now()
    session.add(
        TraceEntry(
            document_id=document.id,
            organ_code=sender.code,
            action="sent",
            at=package.sent_at,
            note="edXML package received from another system",
        )
    )
    service.deliver(session, document, package.to_organs, reason=reason, at=received_at)
    rows = repository.recipients(session, document.id)
    return ImportResult(views.document_out(session, document, rows, tz), True)


def already_registered(
    session: Session, existing: Document, raw: bytes, settings: Settings, tz: tzinfo
) -> DocumentOut:
    """The same package again changes nothing; a different one under the same id is refused."""
    rows = repository.recipients(session, existing.id)
    if existing.package is not None:
        same = existing.package == raw
    elif existing.electronic:
        built = service.build_signed_package(session, existing, [o for _, o in rows], settings, tz)
        same = built == raw
    else:
        same = False
    if not same:
        raise Conflict(
            f"document {existing.id} is already registered with different content",
            code="document_exists",
        )
    return views.document_out(session, existing, rows, tz)


def record(
    session: Session,
    package: edxml.ParsedPackage,
    raw: bytes,
    sender_level: str,
    reason: str | None,
    certificate: OrganKey | None,
    signature_value: etree._Element | None,
) -> Document:
    answered = None
    if package.response_for_edxml_id:
        query = select(Document.id).where(col(Document.edxml_id) == package.response_for_edxml_id)
        answered = session.exec(query).first()
    document = Document(
        id=package.exchange_id,
        edxml_id=package.edxml_id,
        origin="imported",
        from_organ=package.from_organ,
        sender_level=sender_level,
        code_number=package.code_number[:16],
        code_notation=package.code_notation[:64],
        document_type=package.document_type,
        subject=package.subject,
        content=package.content,
        promulgation_place=package.promulgation_place[:200],
        promulgation_date=package.promulgation_date,
        signer_full_name=package.signer_full_name[:200],
        signer_position=package.signer_position[:200],
        signer_competence=package.signer_competence,
        due_date=package.due_date,
        steering_type=package.steering_type,
        priority=package.priority,
        response_for=answered,
        electronic=True,
        sent_at=package.sent_at,
        signature=(
            "".join((signature_value.text or "").split()) if signature_value is not None else None
        ),
        signed_digest=hashlib.sha256(raw).hexdigest(),
        key_fingerprint=certificate.fingerprint if certificate is not None else None,
        package=raw,
        verified=reason is None,
        verification_reason=reason[:500] if reason else None,
    )
    session.add(document)
    session.flush()  # no ORM relationships: the parent row goes first, explicitly
    session.add_all(
        Attachment(
            document_id=document.id,
            position=i,
            content_id=a.content_id[:64],
            name=a.name[:255],
            content_type=a.content_type,
            size=len(a.content),
            sha256=hashlib.sha256(a.content).hexdigest(),
            content=a.content,
        )
        for i, a in enumerate(package.attachments)
    )
    session.flush()
    return document
