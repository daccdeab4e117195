"""Tables of the dossier service (its own registry: never mixed with another service's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    event,
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


class Procedure(Base, table=True):
    """A thủ tục hành chính (TTHC) of the catalogue."""

    code: str = Field(primary_key=True, max_length=64, description="MaTTHC")
    name: str = Field(max_length=500)
    field: str = Field(max_length=200, description="MaLinhVuc / lĩnh vực")
    level: str = Field(max_length=16)
    online_mode: str = Field(max_length=8)
    full_online_eligible: bool
    fee_bearing: bool
    online_payment: bool
    processing_days: int = Field(description="thời hạn giải quyết, in `processing_unit`s")
    processing_unit: str = Field(
        default="working_day",
        sa_column=Column(String(16), nullable=False, server_default="working_day"),
        description="working_day, day, hour or month (the catalogue's DonViTinh)",
    )
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Dossier(Base, table=True):
    """A hồ sơ TTHC, with the facts fixed at submission and the dates of its lifecycle."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, description="MaHoSo")
    procedure_code: str = Field(max_length=64, index=True, description="MaTTHC")
    organ_code: str = Field(max_length=32, index=True, description="DonViXuLy")
    organ_level: str = Field(max_length=16)
    service_mode: str = Field(max_length=8)
    fee_bearing: bool
    processing_days: int = Field(
        sa_column=Column(Integer, nullable=False, server_default="0"),
        description="the procedure's time limit at submission, in `processing_unit`s",
    )
    processing_unit: str = Field(
        default="working_day",
        sa_column=Column(String(16), nullable=False, server_default="working_day"),
        description="the unit of the procedure's time limit at submission",
    )
    channel: int = Field(index=True, description="KenhThucHien")
    applicant_type: int = Field(description="LoaiDoiTuong")
    applicant_name: str = Field(max_length=200)
    applicant_identifier: str = Field(max_length=64)
    fees: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default="[]"),
        description="DanhSachLePhi",
    )
    status: int = Field(index=True, description="TrangThaiHoSo")
    submitted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    received_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, index=True), description="NgayTiepNhan"
    )
    due_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime), description="NgayHenTra"
    )
    paused_since: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime), description="waiting for a supplement since"
    )
    resolved_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime), description="NgayKetThucXuLy"
    )
    returned_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime), description="NgayTra"
    )
    on_time: bool | None = Field(
        default=None,
        description="766 verdict: final from the end of handling, provisional while waiting "
        "for a supplement, null while in handling or if never received",
    )
    supplement_requests: int = Field(
        default=0,
        sa_column=Column(Integer, nullable=False, server_default="0"),
        description="how many times a supplement was requested (status 5)",
    )
    paid_online: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=false()),
        description="an online payment was recorded",
    )


class DossierHistory(Base, table=True):
    """One progress record (tiến độ hồ sơ): who moved the dossier to which status, when."""

    __tablename__ = "dossier_history"

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(
        sa_column=Column(Integer, ForeignKey("dossier.id"), nullable=False, index=True)
    )
    from_status: int | None = None
    to_status: int
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    actor: str = Field(max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class DossierPayment(Base, table=True):
    """A fee payment (thanh toán lệ phí) of a dossier."""

    __tablename__ = "dossier_payment"

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(
        sa_column=Column(Integer, ForeignKey("dossier.id"), nullable=False, index=True)
    )
    amount: int = Field(sa_column=Column(BigInteger, nullable=False), description="VND")
    method: str = Field(max_length=8)
    online_gateway: int | None = Field(default=None, description="DuocThanhToanTrucTuyen")
    paid_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DossierSequence(Base, table=True):
    """The last sequence number given in MaHoSo per organ and day."""

    __table_args__ = (UniqueConstraint("organ_code", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    organ_code: str = Field(max_length=32)
    day: str = Field(max_length=6, description="yyMMdd")
    last: int


# The first successful answer to a POST carrying an Idempotency-Key, per calling client.
idempotency_record = define_idempotency(Base.metadata)


class DvcqgSync(Base, table=True):
    """A dossier's sync to DVCQG: a change (a history entry or a payment) marks it pending in
    the same transaction (the triggers below), the sync worker clears the mark once DVCQG has
    what the dossier was when it read it (services/dossier/national/sync.py)."""

    __tablename__ = "dvcqg_sync"

    dossier_id: int = Field(
        sa_column=Column(Integer, ForeignKey("dossier.id"), primary_key=True, autoincrement=False)
    )
    changes: int = Field(default=0, description="changes made to the dossier so far")
    pending_since: float | None = Field(
        default=None,
        sa_column=Column(Float, index=True),
        description="epoch seconds of the oldest change DVCQG has not got; null when synced",
    )
    on_dvcqg: bool = Field(default=False, description="DVCQG holds the record")
    progress_sent: int = Field(default=0, description="the last history id sent as progress")
    attempts: int = Field(default=0, description="failed attempts since the last success")
    next_attempt: float | None = Field(
        default=None, sa_column=Column(Float), description="epoch seconds; null: at once"
    )
    last_error: str | None = Field(default=None, max_length=500)
    synced_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


# The mark, in the transaction of the change, whoever writes it (the endpoints, the batch sync).
_MARK = (
    "INSERT INTO dvcqg_sync (dossier_id, changes, pending_since, on_dvcqg, progress_sent, "
    "attempts) VALUES (NEW.dossier_id, 1, {now}, {false}, 0, 0) ON CONFLICT (dossier_id) DO "
    "UPDATE SET changes = dvcqg_sync.changes + 1, "
    "pending_since = coalesce(dvcqg_sync.pending_since, excluded.pending_since)"
)
SQLITE_NOW = "(julianday('now') - 2440587.5) * 86400.0"
MARKED_TABLES = ("dossier_history", "dossier_payment")


def sync_triggers(dialect: str) -> list[str]:
    """The statements creating the triggers that mark a changed dossier pending."""
    if dialect == "sqlite":
        mark = _MARK.format(now=SQLITE_NOW, false="0")
        return [
            f"CREATE TRIGGER IF NOT EXISTS dvcqg_mark_{table} AFTER INSERT ON {table} "
            f"BEGIN {mark}; END"
            for table in MARKED_TABLES
        ]
    mark = _MARK.format(now="extract(epoch from clock_timestamp())", false="false")
    return [
        "CREATE OR REPLACE FUNCTION dvcqg_mark() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {mark}; RETURN NULL; END $$",
        *(
            f"CREATE OR REPLACE TRIGGER dvcqg_mark_{table} AFTER INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION dvcqg_mark()"
            for table in MARKED_TABLES
        ),
    ]


def _create_triggers(target: Any, connection: Any, **kw: Any) -> None:
    for statement in sync_triggers(connection.dialect.name):
        connection.exec_driver_sql(statement)


# A schema made without the migrations (metadata.create_all) gets them too.
event.listen(Base.metadata, "after_create", _create_triggers)
