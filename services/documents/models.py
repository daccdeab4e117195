"""Tables of the documents service (its own registry: never mixed with another service's)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from lgsp_kit.db import UTCDateTime, new_metadata
from lgsp_kit.idempotency import define_idempotency
from lgsp_kit.outbox import define_outbox


class Base(SQLModel, registry=registry(metadata=new_metadata())):
    pass


outbox = define_outbox(Base.metadata)
# The first successful answer to a POST carrying an Idempotency-Key, per calling client.
idempotency_record = define_idempotency(Base.metadata)

_SEQ = BigInteger().with_variant(Integer, "sqlite")


class Organ(Base, table=True):
    """An organ of the directory, by its mã định danh (QCVN 102), with its connections."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=300)
    level: str = Field(max_length=16, index=True)
    parent_code: str | None = Field(default=None, max_length=32)
    admin_code: str | None = Field(default=None, max_length=8)
    qlvb_connected: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=false()),
        description="connected to document exchange (liên thông văn bản, QLVB&ĐHCV)",
    )
    qlvb_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    motcua_connected: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=false()),
        description="connected to the one-stop system (Một cửa điện tử)",
    )
    motcua_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class OrganKey(Base, table=True):
    """An organ's signing key (chứng thư số): RSA-3072, private part encrypted, never served.

    `private_key_pem` is empty for an organ whose documents are signed by another system and
    whose certificate was registered here only to verify what it sends.
    """

    __tablename__ = "organ_key"

    organ_code: str = Field(
        sa_column=Column(String(32), ForeignKey("organ.code"), primary_key=True)
    )
    private_key_pem: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    certificate_pem: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(max_length=64, description="SHA-256 of the DER certificate")
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Document(Base, table=True):
    """A văn bản sent by one organ to one or more organs (edXML MessageHeader fields)."""

    id: str = Field(primary_key=True, max_length=36)
    edxml_id: str = Field(max_length=200, index=True, description="edXML DocumentId")
    origin: str = Field(max_length=8, description="sent here, or imported from a package")
    from_organ: str = Field(
        sa_column=Column(String(32), ForeignKey("organ.code"), nullable=False, index=True)
    )
    sender_level: str = Field(max_length=16)
    code_number: str = Field(max_length=16, description="CodeNumber (số)")
    code_notation: str = Field(max_length=64, description="CodeNotation (ký hiệu)")
    document_type: str = Field(max_length=8, index=True, description="DocumentType")
    subject: str = Field(sa_column=Column(Text, nullable=False), description="trích yếu")
    content: str | None = Field(default=None, sa_column=Column(Text))
    promulgation_place: str = Field(max_length=200)
    promulgation_date: date
    signer_full_name: str = Field(max_length=200)
    signer_position: str = Field(max_length=200)
    signer_competence: str | None = Field(default=None, max_length=200)
    due_date: date | None = None
    steering_type: int = 0
    priority: int = 0
    response_for: str | None = Field(default=None, max_length=36)
    electronic: bool = Field(index=True)
    sent_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    signature: str | None = Field(
        default=None, sa_column=Column(Text), description="base64 RSA signature (canonical form)"
    )
    signed_digest: str | None = Field(default=None, max_length=64)
    key_fingerprint: str | None = Field(default=None, max_length=64)
    package: bytes | None = Field(
        default=None,
        sa_column=Column(LargeBinary),
        description="the signed edXML package as received (imported documents)",
    )
    verified: bool = Field(default=True)
    verification_reason: str | None = Field(default=None, max_length=500)
    verification: str | None = Field(
        default=None,
        max_length=12,
        description="imported: verified, unverified (no trusted certificate) or refused",
    )
    signature_algorithm: str | None = Field(
        default=None, max_length=32, description="imported: SignatureMethod, e.g. rsa-sha256"
    )
    edxml_type: int | None = Field(default=None, description="DocumentType/Type as received")
    edxml_type_detail: int | None = Field(default=None, description="DocumentType/TypeDetail")
    edxml_type_name: str | None = Field(default=None, max_length=200, description="TypeName")
    business_state: str | None = Field(
        default=None,
        max_length=8,
        description="revoked, updated or replaced by a business package (edXML Bussiness)",
    )
    supersedes: str | None = Field(
        default=None, max_length=36, description="the document this one updates or replaces"
    )
    superseded_by: str | None = Field(
        default=None, max_length=36, description="the document that updates or replaces this one"
    )


class Attachment(Base, table=True):
    """A file of a document (tệp đính kèm); the SHA-256 is part of what is signed."""

    document_id: str = Field(
        sa_column=Column(String(36), ForeignKey("document.id"), primary_key=True)
    )
    position: int = Field(primary_key=True)
    content_id: str = Field(max_length=64)
    name: str = Field(max_length=255)
    content_type: str = Field(max_length=128)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Recipient(Base, table=True):
    """One recipient of a document and its exchange status (trạng thái liên thông)."""

    __table_args__ = (UniqueConstraint("document_id", "organ_code"),)

    seq: int | None = Field(default=None, sa_column=Column(_SEQ, primary_key=True))
    document_id: str = Field(
        sa_column=Column(String(36), ForeignKey("document.id"), nullable=False)
    )
    organ_code: str = Field(
        sa_column=Column(String(32), ForeignKey("organ.code"), nullable=False, index=True)
    )
    status: str = Field(max_length=2, index=True)
    reason: str | None = Field(default=None, max_length=500)
    changed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class TraceEntry(Base, table=True):
    """One hop of a document: sent, arrived, refused, handled, recalled… with its time."""

    __tablename__ = "trace_entry"

    seq: int | None = Field(default=None, sa_column=Column(_SEQ, primary_key=True))
    document_id: str = Field(
        sa_column=Column(String(36), ForeignKey("document.id"), nullable=False, index=True)
    )
    organ_code: str = Field(max_length=32, description="the organ where the hop happened")
    action: str = Field(max_length=16)
    from_status: str | None = Field(default=None, max_length=2)
    to_status: str | None = Field(default=None, max_length=2)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    note: str | None = Field(default=None, max_length=1000)


class AxisPackage(Base, table=True):
    """A document sent here to organs outside the province (national organs, other provinces),
    waiting for the national document axis to take its edXML package. Queued in the send's own
    transaction, so a document never leaves without its package or the other way round."""

    __tablename__ = "axis_outbox"

    document_id: str = Field(
        sa_column=Column(String(36), ForeignKey("document.id"), primary_key=True)
    )
    organs: str = Field(max_length=2000)  # the organs outside the province, space-separated
    queued_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    taken_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
