"""Tables of the national simulator (its own registry and database).

What DVCQG received is kept as received: the last dossier record per `MaHoSo` (the JSON object
with its Vietnamese field names and string values), every progress row, and a log of each call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from lgsp_kit.db import UTCDateTime, new_metadata


class Base(SQLModel, registry=registry(metadata=new_metadata())):
    pass


_SEQ = BigInteger().with_variant(Integer, "sqlite")


class DvcqgHoSo(Base, table=True):
    """A dossier as DVCQG holds it: the last record received for its `MaHoSo`."""

    __tablename__ = "dvcqg_hoso"

    ma_ho_so: str = Field(primary_key=True, max_length=100, description="MaHoSo")
    ma_tthc: str = Field(max_length=100, description="MaTTHC")
    trang_thai: str = Field(max_length=2, index=True, description="TrangThaiHoSo")
    ngay_tiep_nhan: str = Field(max_length=14, description="NgayTiepNhan, yyyyMMddHHmmss")
    record: str = Field(sa_column=Column(Text, nullable=False), description="JSON as received")
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # DongBoHoSoMC calls with isUpdating "True" applied to it.
    updates: int = 0


class DvcqgTienDo(Base, table=True):
    """A progress row (CapNhatTienDoHoSoMC); the same row again counts, it is not doubled."""

    __tablename__ = "dvcqg_tien_do"
    __table_args__ = (UniqueConstraint("ma_ho_so", "digest"),)

    id: int | None = Field(default=None, sa_column=Column(_SEQ, primary_key=True))
    ma_ho_so: str = Field(max_length=100, index=True)
    digest: str = Field(max_length=64, description="SHA-256 of the row as received")
    trang_thai: str = Field(max_length=2)
    thoi_diem_xu_ly: str = Field(max_length=14)
    row: str = Field(sa_column=Column(Text, nullable=False))
    received: int = 1
    first_received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DvcqgCall(Base, table=True):
    """One call to a DVCQG service: what came in and what was answered."""

    __tablename__ = "dvcqg_call"

    id: int | None = Field(default=None, sa_column=Column(_SEQ, primary_key=True))
    service: str = Field(max_length=40, index=True)
    is_updating: str | None = Field(default=None, max_length=8)
    consumer: str = Field(max_length=100)
    body: str = Field(sa_column=Column(Text, nullable=False))
    error_code: str = Field(max_length=8)
    message: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class NgspToken(Base, table=True):
    """An access token of the national gateway (stored as its SHA-256, never in clear)."""

    __tablename__ = "ngsp_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    consumer_key: str = Field(max_length=100)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


class Fault(Base, table=True):
    """The failure the testers asked for (one row, id 1): see services/national/faults.py."""

    __tablename__ = "fault"

    id: int = Field(default=1, primary_key=True)
    mode: str = Field(max_length=8, description="error | slow | down")
    targets: str = Field(max_length=40, description="space separated: dvcqg ngsp axis")
    error_code: str = Field(max_length=8)
    message: str = Field(max_length=500)
    delay_seconds: float = 0.0
    remaining_calls: int | None = None
    until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    set_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AxisPackage(Base, table=True):
    """An edXML document package on the national axis, kept byte for byte."""

    __tablename__ = "axis_package"

    id: str = Field(primary_key=True, max_length=36)
    digest: str = Field(max_length=64, unique=True, description="SHA-256 of the bytes")
    edxml_document_id: str | None = Field(default=None, max_length=300)
    from_organ: str = Field(max_length=32, index=True)
    to_organs: str = Field(sa_column=Column(Text, nullable=False), description="space separated")
    subject: str = Field(sa_column=Column(Text, nullable=False))
    # "province": taken from the province's axis outbox; "national": sent to the axis by a
    # national organ (or a tester standing for one).
    source: str = Field(max_length=16)
    # The documents service's id of a package taken from its outbox (taken once).
    province_document_id: str | None = Field(default=None, max_length=36, unique=True)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    # To the province's documents service: "none" (no organ of the province among its To),
    # "pending", "delivered", "failed" (refused by the province, or out of attempts).
    delivery: str = Field(max_length=12, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    province_answer: str | None = Field(default=None, sa_column=Column(Text))
