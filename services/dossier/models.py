"""Tables of the dossier service (its own registry: never mixed with another service's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from lgsp_kit.db import UTCDateTime, new_metadata
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
    processing_days: int
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Dossier(Base, table=True):
    """A hồ sơ TTHC."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, description="MaHoSo")
    procedure_code: str = Field(max_length=64, index=True, description="MaTTHC")
    organ_code: str = Field(max_length=32, index=True, description="DonViXuLy")
    organ_level: str = Field(max_length=16)
    service_mode: str = Field(max_length=8)
    fee_bearing: bool
    channel: int = Field(description="KenhThucHien")
    applicant_type: int = Field(description="LoaiDoiTuong")
    applicant_name: str = Field(max_length=200)
    applicant_identifier: str = Field(max_length=64)
    status: int = Field(description="TrangThaiHoSo")
    submitted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DossierSequence(Base, table=True):
    """The last sequence number given in MaHoSo per organ and day."""

    __table_args__ = (UniqueConstraint("organ_code", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    organ_code: str = Field(max_length=32)
    day: str = Field(max_length=6, description="yyMMdd")
    last: int
