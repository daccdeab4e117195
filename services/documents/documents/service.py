"""Rules of document exchange: send, deliver (verify on receipt), status changes, export."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Table, insert
from sqlmodel import Session, col, select

from contracts.events.documents import (
    DocumentSent,
    DocumentSentData,
    RecipientStatusChanged,
    RecipientStatusChangedData,
)
from lgsp_kit.db import copy_rows
from lgsp_kit.errors import Conflict, NotFound, ProblemError, Unprocessable
from lgsp_kit.fields import in_display_zone
from lgsp_kit.outbox import add_events, outbox_rows
from lgsp_kit.paging import NUMBER
from services.documents.documents import edxml, repository
from services.documents.documents.exchange import (
    ARRIVED,
    REFUSED,
    STATUS_NAMES,
    allowed_next,
    set_by_sender,
)
from services.documents.documents.schemas import (
    AttachmentIn,
    DocumentIn,
    DocumentOut,
    InboxItem,
    InboxPage,
    RecipientOut,
    StatusChange,
    TraceOut,
)
from services.documents.documents.views import document_out, document_out_of, recipient_out
from services.documents.models import (
    Attachment,
    AxisPackage,
    Document,
    Organ,
    Recipient,
    TraceEntry,
    outbox,
)
from services.documents.organs.service import OUTSIDE, SOURCE
from services.documents.scope import OrganScope
from services.documents.settings import Settings
from services.documents.signing import canonical, keys, threads


class TooLarge(ProblemError):
    status = 413
    code = "attachment_too_large"


class UnsupportedType(ProblemError):
    status = 415
    code = "unsupported_content_type"


def now() -> datetime:
    return datetime.now(UTC)


_HELD = "documents.organs"


def load_organs(session: Session, codes: Iterable[str]) -> None:
    """Load these organs into the session in one query, held for the session's life (its
    identity map holds rows weakly: unreferenced, a later `session.get` would query again)."""
    held: dict[str, Organ | None] = session.info.setdefault(_HELD, {})
    wanted = sorted(set(codes) - held.keys())
    if wanted:
        found = {o.code: o for o in session.exec(select(Organ).where(col(Organ.code).in_(wanted)))}
        held.update({c: found.get(c) for c in wanted})


def known_organs(session: Session, codes: Sequence[str]) -> dict[str, Organ]:
    """The organs by code (from the session's identity map when already loaded), or 422."""
    found = {c: o for c in codes if (o := session.get(Organ, c)) is not None}
    missing = [c for c in codes if c not in found]
    if missing:
        raise Unprocessable(
            f"no organ with mã định danh {', '.join(missing)}", code="unknown_organ"
        )
    return found


def check_attachment(name: str, content_type: str, size: int, settings: Settings) -> None:
    if content_type not in settings.allowed_content_types:
        raise UnsupportedType(
            f"attachment {name!r}: content type {content_type} is not allowed; allowed: "
            + ", ".join(settings.allowed_content_types)
        )
    if size > settings.max_attachment_bytes:
        raise TooLarge(
            f"attachment {name!r} has {size} bytes; the limit is {settings.max_attachment_bytes}"
        )


def check_attachment_count(count: int, settings: Settings) -> None:
    if count > settings.max_attachments:
        raise Unprocessable(
            f"at most {settings.max_attachments} attachments", code="too_many_attachments"
        )


def decode_attachments(items: list[AttachmentIn], settings: Settings) -> list[bytes]:
    check_attachment_count(len(items), settings)
    decoded = []
    for item in items:
        # Refuse on the announced size before decoding anything big.
        check_attachment(
            item.name, item.content_type, len(item.content_base64) * 3 // 4 - 2, settings
        )
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Unprocessable(
                f"attachment {item.name!r}: content_base64 is not base64", code="invalid_base64"
            ) from exc
        check_attachment(item.name, item.content_type, len(content), settings)
        decoded.append(content)
    return decoded


def require_connected(senders: Sequence[Organ], recipients: Sequence[Organ]) -> None:
    if off := [o.code for o in senders if not o.qlvb_connected]:
        raise Conflict(
            f"the sender {', '.join(off)} is not connected to document exchange (qlvb)",
            code="sender_not_connected",
        )
    if off := [o.code for o in recipients if not o.qlvb_connected]:
        raise Conflict(
            f"recipient {', '.join(off)} is not connected to document exchange (qlvb) "
            "and cannot receive electronic documents",
            code="recipient_not_connected",
            extra={"not_connected": off},
        )


def edxml_id(from_organ: str, day: date, number: str, notation: str) -> str:
    """edXML DocumentId: `<OrganId>,<yyyy/MM/dd>,<number>/<notation>`."""
    return f"{from_organ},{day:%Y/%m/%d},{number}/{notation}"


@dataclass(frozen=True)
class Signing:
    """A document's signature and its recipients' check on arrival, still to be done. Nothing
    of it reads the session, so a batch does its documents' on every core (`threads.each`:
    `cryptography` lets go of the GIL while it signs and verifies, hashlib while it hashes)."""

    form: bytes
    private_key: rsa.RSAPrivateKey
    key_fingerprint: str
    certificate: keys.Certificate | None
    files: list[Attachment]
    from_organ: str

    def run(self) -> tuple[str, str | None]:
        """The signature, and None or the reason the recipients refuse the document."""
        signature = canonical.sign(self.form, self.private_key)
        return signature, checked_on_receipt(
            self.form,
            signature,
            self.key_fingerprint,
            self.files,
            self.certificate,
            self.from_organ,
        )


@dataclass
class Prepared:
    """A document checked, with its rows not yet written: `sign` signs it (when `signing` is
    not done yet), `write` stores it (one insert per table), `out` is the answer, built from
    what was written (no read)."""

    document: Document
    sender: Organ
    recipients: list[Organ]
    files: list[Attachment]
    outside: list[str]
    event: DocumentSent
    signing: Signing | None = None
    reason: str | None = None

    def sign(self, done: tuple[str, str | None] | None = None) -> None:
        """Record the signature and what the check on arrival found: `done`, the outcome of
        `signing.run()` done elsewhere (a batch's, side by side), or run here."""
        if self.signing is None:
            return
        signature, self.reason = done or self.signing.run()
        self.document = self.document.model_copy(update={"signature": signature})
        self.signing = None

    @property
    def axis_organs(self) -> list[str]:
        """The recipients outside the province the document goes to over AXIS (electronic and
        accepted only)."""
        return self.outside if self.document.electronic and self.reason is None else []

    def out(self) -> DocumentOut:
        status = ARRIVED if self.reason is None else REFUSED
        at = self.document.sent_at
        recipients = [
            RecipientOut(
                organ_code=o.code,
                organ_name=o.name,
                status=status,
                status_name=STATUS_NAMES[status],
                reason=self.reason,
                changed_at=at,
                allowed_next=list(allowed_next(status)),
            )
            for o in self.recipients
        ]
        trace = [
            TraceOut(**{k: v for k, v in t.items() if k != "document_id"}) for t in trace_of(self)
        ]
        return document_out_of(self.document, recipients, self.files, trace)


def trace_of(prepared: Prepared) -> list[dict[str, Any]]:
    """The trace rows a send writes: sent by the sender, then each recipient's first status."""
    document, at, reason = prepared.document, prepared.document.sent_at, prepared.reason
    status = ARRIVED if reason is None else REFUSED
    action = "refused" if status == REFUSED else "delivered"
    sent = {
        "document_id": document.id,
        "organ_code": document.from_organ,
        "action": "sent",
        "from_status": None,
        "to_status": None,
        "at": at,
        "note": None,
    }
    return [
        sent,
        *(
            {**sent, "organ_code": o.code, "action": action, "to_status": status, "note": reason}
            for o in prepared.recipients
        ),
    ]


def prepare(
    session: Session,
    body: DocumentIn,
    *,
    scope: OrganScope,
    settings: Settings,
    sign: bool = True,
) -> Prepared:
    """Gửi văn bản up to the writes: every check (a refusal raises before anything is written,
    but a sender's first signing key), the row of the document, signed once and verified once
    as its recipients' system does on arrival (`sign=False`: left to the caller, `sign_all`)."""
    load_organs(session, [body.from_organ, *body.to_organs])
    sender = known_organs(session, [body.from_organ])[body.from_organ]
    scope.require(session, sender.code, acting_as="the sending organ")
    if body.from_organ in body.to_organs:
        raise Unprocessable("an organ cannot send a document to itself", code="self_recipient")
    recipients = known_organs(session, body.to_organs)
    contents = decode_attachments(body.attachments, settings)
    answered = answered_document(session, body.response_for, sender.code)
    if body.electronic:
        require_connected([sender], list(recipients.values()))
    sent_at = body.sent_at or now()
    document_id = str(uuid.uuid4())
    # Built without the ORM's attribute events (a tenth of the cost): these rows are never
    # added to the session, `write` inserts their values.
    files = [
        Attachment.model_construct(
            document_id=document_id,
            position=i,
            content_id=f"att-{i + 1:02d}",
            name=item.name,
            content_type=item.content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
        )
        for i, (item, content) in enumerate(zip(body.attachments, contents, strict=True))
    ]
    document = Document.model_construct(
        id=document_id,
        edxml_id=edxml_id(
            sender.code, body.promulgation.date, body.code_number, body.code_notation
        ),
        origin="sent",
        from_organ=sender.code,
        sender_level=sender.level,
        code_number=body.code_number,
        code_notation=body.code_notation,
        document_type=body.document_type,
        subject=body.subject,
        content=body.content,
        promulgation_place=body.promulgation.place,
        promulgation_date=body.promulgation.date,
        signer_full_name=body.signer.full_name,
        signer_position=body.signer.position,
        signer_competence=body.signer.competence,
        due_date=body.due_date,
        steering_type=body.steering_type,
        priority=body.priority,
        response_for=answered.id if answered else None,
        electronic=body.electronic,
        sent_at=sent_at,
    )
    signing = None
    if body.electronic:
        key = keys.signing_key(session, sender, settings.key_passphrase.get_secret_value().encode())
        form = canonical.canonical_form(document, body.to_organs, files)
        document = document.model_copy(
            update={"signed_digest": canonical.digest(form), "key_fingerprint": key.fingerprint}
        )
        signing = Signing(
            form=form,
            private_key=key.private_key,
            key_fingerprint=key.fingerprint,
            certificate=keys.certificate(session, sender.code),
            files=files,
            from_organ=sender.code,
        )
    event = DocumentSent(
        source=SOURCE,
        subject=document_id,
        time=sent_at,
        data=DocumentSentData(
            id=document_id,
            from_organ=sender.code,
            sender_level=sender.level,
            to_organs=list(body.to_organs),
            document_type=document.document_type,
            electronic=document.electronic,
            sent_at=sent_at,
        ),
    )
    prepared = Prepared(
        document=document,
        sender=sender,
        recipients=[recipients[c] for c in body.to_organs],
        files=files,
        outside=[c for c in body.to_organs if recipients[c].level in OUTSIDE],
        event=event,
        signing=signing,
    )
    if sign:
        prepared.sign()
    return prepared


def sign_all(prepared: Sequence[Prepared]) -> None:
    """Sign and check on arrival these documents side by side, on every core; each gets the
    signature and outcome it would get alone (RSASSA-PKCS1-v1_5 is deterministic)."""
    pending = [p for p in prepared if p.signing is not None]
    done = threads.each([p.signing for p in pending if p.signing is not None], Signing.run)
    for p, outcome in zip(pending, done, strict=True):
        p.sign(outcome)


# The tables themselves: Core inserts of plain rows, without the ORM's bulk bookkeeping.
DOCUMENT_TABLE: Table = Document.__table__  # type: ignore[attr-defined]
ATTACHMENT_TABLE: Table = Attachment.__table__  # type: ignore[attr-defined]
TRACE_TABLE: Table = TraceEntry.__table__  # type: ignore[attr-defined]
RECIPIENT_TABLE: Table = Recipient.__table__  # type: ignore[attr-defined]
AXIS_TABLE: Table = AxisPackage.__table__  # type: ignore[attr-defined]
DOCUMENT_COLUMNS = tuple(c.name for c in DOCUMENT_TABLE.columns)
ATTACHMENT_COLUMNS = tuple(c.name for c in ATTACHMENT_TABLE.columns)


def write(session: Session, prepared: Sequence[Prepared]) -> None:
    """Store prepared documents: one statement per table (documents first, then what refers to
    them), their events in the outbox in the same transaction."""
    if not prepared:
        return
    assert all(p.signing is None for p in prepared), "documents written before they are signed"
    insert_rows(
        session,
        DOCUMENT_TABLE,
        [{c: getattr(p.document, c) for c in DOCUMENT_COLUMNS} for p in prepared],
    )
    insert_rows(
        session,
        ATTACHMENT_TABLE,
        [{c: getattr(a, c) for c in ATTACHMENT_COLUMNS} for p in prepared for a in p.files],
    )
    insert_rows(session, TRACE_TABLE, [t for p in prepared for t in trace_of(p)])
    recipients = []
    events: list[DocumentSent | RecipientStatusChanged] = []
    for p in prepared:
        status = ARRIVED if p.reason is None else REFUSED
        at = p.document.sent_at
        for organ in p.recipients:
            recipients.append(
                {
                    "document_id": p.document.id,
                    "organ_code": organ.code,
                    "status": status,
                    "reason": p.reason,
                    "changed_at": at,
                }
            )
            events.append(status_event(p.document.id, organ.code, None, status, at))
        events.append(p.event)
    insert_rows(session, RECIPIENT_TABLE, recipients)
    axis = [
        {
            "document_id": p.document.id,
            "organs": " ".join(p.axis_organs),
            "queued_at": p.document.sent_at,
        }
        for p in prepared
        if p.axis_organs
    ]
    insert_rows(session, AXIS_TABLE, axis)
    insert_rows(session, outbox, outbox_rows(events))


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """New rows of a table in one statement: COPY on PostgreSQL (an INSERT executed for each
    row cost the server a statement a row), a Core executemany on SQLite. The rows hold what
    the columns take on PostgreSQL as they are (aware datetimes, dates, bytes), all with the
    same keys, and cannot conflict with stored ones (new ids): COPY bypasses SQLAlchemy's
    errors, which a unit of work turns into its conflict answer."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    columns = tuple(rows[0])
    copy_rows(conn, table.name, columns, ([row[c] for c in columns] for row in rows))


def send(session: Session, body: DocumentIn, *, scope: OrganScope, settings: Settings) -> str:
    """Gửi văn bản: record, sign (electronic), deliver to each recipient; the new id."""
    prepared = prepare(session, body, scope=scope, settings=settings)
    write(session, [prepared])
    return prepared.document.id


def answered_document(session: Session, document_id: str | None, sender: str) -> Document | None:
    if document_id is None:
        return None
    answered = session.get(Document, document_id)
    if answered is None:
        # A reference to a resource that is not here: 404, as for a path that names none.
        raise NotFound(f"response_for: no document {document_id}", code="unknown_document")
    if repository.recipient(session, document_id, sender) is None:
        raise Unprocessable(
            f"response_for: {sender} did not receive document {document_id}",
            code="not_a_recipient",
        )
    return answered


def verify_on_receipt(
    session: Session,
    document: Document,
    to_organs: list[str],
    files: list[Attachment],
) -> str | None:
    """What the recipient's system checks on arrival: None when the document is intact and
    signed by the sender's key, otherwise the reason it is refused (status 02)."""
    if not document.electronic:
        return None
    if document.signature is None:
        return "an electronic document must be signed"
    return checked_on_receipt(
        canonical.canonical_form(document, to_organs, files),
        document.signature,
        document.key_fingerprint,
        files,
        keys.certificate(session, document.from_organ),
        document.from_organ,
    )


def checked_on_receipt(
    form: bytes,
    signature: str,
    key_fingerprint: str | None,
    files: list[Attachment],
    certificate: keys.Certificate | None,
    from_organ: str,
) -> str | None:
    """`verify_on_receipt` once the sender's registered certificate is at hand: it reads no
    session, so any thread may run it."""
    if reason := canonical.attachments_intact(files):
        return reason
    if certificate is None or certificate.fingerprint != key_fingerprint:
        return f"the signing certificate is not the one registered for {from_organ}"
    return canonical.verify(form, signature, certificate.pem)


def deliver(
    session: Session,
    document: Document,
    to_organs: list[str],
    *,
    reason: str | None,
    at: datetime,
    status: str | None = None,
) -> None:
    """Each recipient's first status: 01 Đã đến, or 02 Từ chối tiếp nhận with the reason (an
    unverified import arrives, 01, with the reason it could not be verified)."""
    if status is None:
        status = ARRIVED if reason is None else REFUSED
    events = []
    for code in to_organs:
        session.add(
            Recipient(
                document_id=document.id,
                organ_code=code,
                status=status,
                reason=reason,
                changed_at=at,
            )
        )
        session.add(
            TraceEntry(
                document_id=document.id,
                organ_code=code,
                action="refused" if status == REFUSED else "delivered",
                to_status=status,
                at=at,
                note=reason,
            )
        )
        events.append(status_event(document.id, code, None, status, at))
    add_events(session, outbox, events)
    session.flush()


def status_event(
    document_id: str, organ_code: str, before: str | None, after: str, at: datetime
) -> RecipientStatusChanged:
    return RecipientStatusChanged(
        source=SOURCE,
        subject=f"{document_id}/{organ_code}",
        time=at,
        data=RecipientStatusChangedData(
            id=document_id, organ_code=organ_code, from_status=before, to_status=after, at=at
        ),
    )


def find(session: Session, document_id: str) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound(f"no document {document_id}", code="document_not_found")
    return document


def visible(
    session: Session, document: Document, scope: OrganScope
) -> list[tuple[Recipient, Organ]]:
    rows = repository.recipients(session, document.id)
    scope.require_any(
        session,
        [document.from_organ, *(r.organ_code for r, _ in rows)],
        what="the sender or a recipient of this document",
    )
    return rows


def get(session: Session, document_id: str, *, scope: OrganScope) -> DocumentOut:
    document = find(session, document_id)
    return document_out(session, document, visible(session, document, scope))


def send_document(
    session: Session, body: DocumentIn, *, scope: OrganScope, settings: Settings
) -> DocumentOut:
    """Send, and answer with the document as its sender sees it (built from what was written:
    the sender is in the caller's scope, so it may read it)."""
    prepared = prepare(session, body, scope=scope, settings=settings)
    write(session, [prepared])
    return prepared.out()


def change_status(
    session: Session,
    document_id: str,
    organ_code: str,
    change: StatusChange,
    *,
    scope: OrganScope,
) -> RecipientOut:
    """Move one recipient along the transition table; 13 is the sender's, the rest its own."""
    document = find(session, document_id)
    row = repository.recipient(session, document_id, organ_code)
    if row is None:
        raise NotFound(
            f"{organ_code} is not a recipient of {document_id}", code="recipient_not_found"
        )
    if set_by_sender(change.status):
        scope.require(session, document.from_organ, acting_as="the sender, who asks for a recall")
    else:
        scope.require(session, organ_code, acting_as="the recipient")
    allowed = allowed_next(row.status)
    if change.status not in allowed:
        nexts = ", ".join(allowed) if allowed else "none (final)"
        raise Conflict(
            f"{organ_code} is at {row.status} ({STATUS_NAMES[row.status]}); "
            f"{change.status} is not allowed next; allowed: {nexts}",
            code="illegal_transition",
            extra={"current_status": row.status, "allowed": list(allowed)},
        )
    at = change.at or now()
    if at < row.changed_at:
        raise Conflict(
            f"the last change of {organ_code} was at "
            f"{in_display_zone(row.changed_at).isoformat()}; "
            "a change cannot be recorded before it",
            code="out_of_order",
        )
    before = row.status
    row.status = change.status
    row.changed_at = at
    row.reason = change.note if change.status in (REFUSED, "16") else None
    session.add(row)
    actor = document.from_organ if set_by_sender(change.status) else organ_code
    session.add(
        TraceEntry(
            document_id=document_id,
            organ_code=actor,
            action="status",
            from_status=before,
            to_status=change.status,
            at=at,
            note=change.note,
        )
    )
    add_events(session, outbox, [status_event(document_id, organ_code, before, change.status, at)])
    session.flush()
    organ = session.get(Organ, organ_code)
    assert organ is not None
    return recipient_out(row, organ)


def inbox(
    session: Session,
    organ_code: str,
    where: repository.InboxFilter,
    *,
    cursor: str | None,
    limit: int,
    scope: OrganScope,
) -> InboxPage:
    """Hộp thư đến: documents addressed to the organ, newest first, with its status."""
    if session.get(Organ, organ_code) is None:
        raise NotFound(f"no organ with mã định danh {organ_code}", code="organ_not_found")
    scope.require(session, organ_code, acting_as="the organ whose inbox is read")
    rows = repository.inbox(session, organ_code, where, before=NUMBER.key(cursor), limit=limit)
    page, next_cursor = NUMBER.page(rows, limit, key=lambda row: row[0].seq or 0)
    items = [
        InboxItem(
            id=d.id,
            from_organ=d.from_organ,
            from_organ_name=o.name,
            code_number=d.code_number,
            code_notation=d.code_notation,
            document_type=d.document_type,
            subject=d.subject,
            electronic=d.electronic,
            priority=d.priority,
            due_date=d.due_date,
            sent_at=d.sent_at,
            status=r.status,
            status_name=STATUS_NAMES[r.status],
            reason=r.reason,
            status_changed_at=r.changed_at,
        )
        for r, d, o in page
    ]
    return InboxPage(items=items, next_cursor=next_cursor)


def export(session: Session, document_id: str, *, scope: OrganScope, settings: Settings) -> bytes:
    """The document's signed edXML package: as received for an imported document, built and
    signed with the sender's key for one sent here (deterministic: the same bytes each time)."""
    document = find(session, document_id)
    rows = visible(session, document, scope)
    if document.package is not None:
        return document.package
    if not document.electronic:
        raise Conflict(
            f"document {document_id} was registered on paper; it has no edXML package",
            code="not_electronic",
        )
    return build_signed_package(session, document, [o for _, o in rows], settings)


def build_signed_package(
    session: Session, document: Document, recipients: list[Organ], settings: Settings
) -> bytes:
    sender = session.get(Organ, document.from_organ)
    assert sender is not None
    answered = session.get(Document, document.response_for) if document.response_for else None
    package = edxml.package_of(
        document,
        sender,
        recipients,
        repository.attachments(session, document.id),
        response_for=answered,
    )
    key = keys.signing_key(session, sender, settings.key_passphrase.get_secret_value().encode())
    return edxml.signed_package(package, key.private_key, key.certificate_pem)
