"""Projections of the reporting service: counts and versioned state, never raw events.

Count tables are keyed by the business day (or month) (Asia/Ho_Chi_Minh) and carry `organ_code`:
every increment is written twice, once on the row of its organ and once on the roll-up row of
its organ level (`organ_code == ""`), so a report without an organ filter reads a few thousand
roll-up rows per year however many organs there are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from lgsp_kit.db import UTCDateTime, new_metadata
from lgsp_kit.outbox import define_processed

# The organ_code of a level's roll-up row.
ALL_ORGANS = ""


class Base(SQLModel, registry=registry(metadata=new_metadata())):
    pass


processed_event = define_processed(Base.metadata)


class DossierReceptionDay(Base, table=True):
    """Dossiers received (NgayTiepNhan) per day × organ × organ level × service mode × channel."""

    __tablename__ = "dossier_reception_day"
    __table_args__ = (Index("ix_dossier_reception_day_organ_day", "organ_code", "day"),)

    day: str = Field(primary_key=True, max_length=10, description="YYYY-MM-DD")
    organ_level: str = Field(primary_key=True, max_length=16)
    organ_code: str = Field(primary_key=True, max_length=32, description="'' = level roll-up")
    service_mode: str = Field(primary_key=True, max_length=8)
    channel: int = Field(primary_key=True, description="KenhThucHien")
    received: int = 0


class ProcedureHalfMonth(Base, table=True):
    """Per half-month × procedure × organ: dossiers received (row 6.2) and online payments
    (row TT.2, procedures with an online payment).

    By half-month (days 1–14 and 15–end, keyed by the half's first day), not by day: a period
    on either basis (calendar or Decree 09, which closes on the 14th) is whole halves, and a
    year of a thousand procedures stays at a few tens of thousands of roll-up rows.
    """

    __tablename__ = "procedure_half_month"
    __table_args__ = (Index("ix_procedure_half_month_organ_half", "organ_code", "half_start"),)

    half_start: str = Field(primary_key=True, max_length=10, description="YYYY-MM-01 | YYYY-MM-15")
    organ_level: str = Field(primary_key=True, max_length=16)
    organ_code: str = Field(primary_key=True, max_length=32)
    procedure_code: str = Field(primary_key=True, max_length=64, description="MaTTHC")
    received: int = 0
    online: int = 0
    online_payments: int = Field(default=0, description="online fee payments of amount > 0")


class FeeDossier(Base, table=True):
    """A dossier of a fee-bearing procedure, as row TT.1 needs it: when it was resolved (status
    9) and whether a fee transaction, and an online one, was ever recorded for it.

    One row per dossier, not a count: a fee paid online at hand-over (after status 9) or
    delivered out of order still lands on the period of the dossier's resolution, and each
    dossier counts once however many payments it has.
    """

    __tablename__ = "fee_dossier"
    __table_args__ = (Index("ix_fee_dossier_resolved_day", "resolved_day"),)

    code: str = Field(primary_key=True, max_length=64, description="MaHoSo")
    organ_level: str = Field(max_length=16)
    organ_code: str = Field(max_length=32, index=True)
    procedure_code: str = Field(max_length=64)
    resolved_day: str | None = Field(default=None, max_length=10, description="status 9, local")
    fee_paid: bool = Field(default=False, description="a payment of amount > 0 was recorded")
    paid_online: bool = Field(default=False, description="an online one among them")


class PaymentDay(Base, table=True):
    """Fee payments (lệ phí) per day × organ × method."""

    __tablename__ = "payment_day"
    __table_args__ = (Index("ix_payment_day_organ_day", "organ_code", "day"),)

    day: str = Field(primary_key=True, max_length=10)
    organ_level: str = Field(primary_key=True, max_length=16)
    organ_code: str = Field(primary_key=True, max_length=32)
    method: str = Field(primary_key=True, max_length=8)
    payments: int = 0
    amount: int = Field(default=0, description="VND")


class DocumentSentDay(Base, table=True):
    """Documents sent per day × sender organ × sender level × electronic (row 5.2)."""

    __tablename__ = "document_sent_day"
    __table_args__ = (Index("ix_document_sent_day_organ_day", "organ_code", "day"),)

    day: str = Field(primary_key=True, max_length=10)
    sender_level: str = Field(primary_key=True, max_length=16)
    organ_code: str = Field(primary_key=True, max_length=32)
    electronic: bool = Field(primary_key=True)
    sent: int = 0


class DvcqgDossier(Base, table=True):
    """A dossier DVCQG (the national public-service portal) holds, as the dossier service's
    sync told it (`lgsp.dossier.dvcqg_accepted`): one row per dossier, so a dossier told twice
    counts once. Counted in the period of its reception, like Phụ lục II's dossiers."""

    __tablename__ = "dvcqg_dossier"
    __table_args__ = (
        Index("ix_dvcqg_dossier_received_day", "received_day"),
        Index("ix_dvcqg_dossier_organ_day", "organ_code", "received_day"),
    )

    code: str = Field(primary_key=True, max_length=64, description="MaHoSo")
    organ_level: str = Field(max_length=16)
    organ_code: str = Field(max_length=32)
    received_day: str | None = Field(
        default=None, max_length=10, description="NgayTiepNhan, local; null: refused at reception"
    )
    accepted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DvcqgBacklog(Base, table=True):
    """The DVCQG sync's backlog as last read by the dossier service (one row, id 1)."""

    __tablename__ = "dvcqg_backlog"

    id: int = Field(default=1, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False), description="read at")
    pending: int = Field(description="dossiers with a change DVCQG has not got")
    refused: int = Field(description="among them, refused by DVCQG at their last try")
    oldest_change_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime), description="the oldest change not sent"
    )


class ProcedureVersion(Base, table=True):
    """Each published state of a procedure (TTHC), so the catalogue is known at any time."""

    __tablename__ = "procedure_version"

    code: str = Field(primary_key=True, max_length=64, description="MaTTHC")
    changed_at: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True))
    level: str = Field(max_length=16)
    online_mode: str = Field(max_length=8)
    full_online_eligible: bool
    fee_bearing: bool
    online_payment: bool


class Organ(Base, table=True):
    """An organ of the directory (the denominators of rows 5.1 and 5.3)."""

    __tablename__ = "organ"

    code: str = Field(primary_key=True, max_length=32)
    level: str = Field(max_length=16)
    parent_code: str | None = Field(default=None, max_length=32)
    registered_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class OrganConnection(Base, table=True):
    """Each connection change of an organ to a system (qlvb, motcua), by its event id."""

    __tablename__ = "organ_connection"

    event_id: str = Field(primary_key=True, max_length=64)
    code: str = Field(max_length=32, index=True)
    level: str = Field(max_length=16)
    system: str = Field(max_length=8)
    connected: bool
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class EventTypeCount(Base, table=True):
    """Events applied, by type, with the latest business time seen."""

    type: str = Field(primary_key=True, max_length=200)
    consumed: int = 0
    last_time: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class DeclaredValue(Base, table=True):
    """A value of a declared row (rows 1–4) entered by an official; every entry is kept."""

    __tablename__ = "declared_value"

    id: int | None = Field(default=None, primary_key=True)
    stt: str = Field(max_length=16, index=True)
    period: str | None = Field(default=None, max_length=8, description="null: every period")
    value: float
    note: str | None = Field(default=None, max_length=1000)
    declared_by: str = Field(max_length=200)
    declared_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
