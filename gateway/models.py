"""Tables of the gateway: consumers (applications), token signing keys and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from lgsp_kit.db import UTCDateTime, new_metadata


class Base(SQLModel, registry=registry(metadata=new_metadata())):
    pass


class Consumer(Base, table=True):
    """An application registered at the LGSP, with its subscriptions, scopes and tier."""

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    organ_code: str = Field(max_length=32)
    secret_hash: str = Field(max_length=256)
    apis: str = Field(max_length=500, description="subscribed API contexts, space separated")
    scopes: str = Field(max_length=1000, description="granted scopes, space separated")
    tier: str = Field(max_length=16)
    enabled: bool = True
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class SigningKey(Base, table=True):
    """An Ed25519 key that signs access tokens; the newest active one signs."""

    kid: str = Field(primary_key=True, max_length=64)
    private_pem: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    active: bool = True


class AuditRecord(Base, table=True):
    """One call to a published API (X-Road style operational-monitoring record).

    Records form a hash chain (`gateway.audit.chain`): `seq` counts 1, 2, 3, ... without gaps
    in chain order, `prev_hash` is the previous record's `hash`, and `hash` is SHA-256 over the
    record's fields and `prev_hash`.
    """

    __tablename__ = "audit_record"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    request_id: str = Field(max_length=128, index=True)
    client_id: str | None = Field(default=None, max_length=64, index=True)
    organ_code: str | None = Field(default=None, max_length=32)
    tier: str | None = Field(default=None, max_length=16)
    api: str = Field(max_length=64, index=True)
    method: str = Field(max_length=16)
    route: str = Field(max_length=500, description="route template when known, else the path")
    status: int = Field(index=True)
    request_bytes: int
    response_bytes: int
    upstream_ms: float | None = None
    total_ms: float
    # The gateway's own events (`/token`, `/admin` changes); null on proxied calls.
    target: str | None = Field(
        default=None, max_length=200, description="what an /admin change acted on"
    )
    reason: str | None = Field(
        default=None, max_length=64, description="outcome code of a /token or /admin event"
    )
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditChainHead(Base, table=True):
    """The audit chain's last link: one row (id 1), locked by each batch that extends it."""

    __tablename__ = "audit_chain_head"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)
