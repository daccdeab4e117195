"""Projections of the reporting service: counts, never raw events."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from lgsp_kit.db import new_metadata
from lgsp_kit.outbox import define_processed


class Base(SQLModel, registry=registry(metadata=new_metadata())):
    pass


processed_event = define_processed(Base.metadata)


class DossierDayCount(Base, table=True):
    """Dossiers by day of submission (Asia/Ho_Chi_Minh) × organ level × service mode × channel."""

    day: str = Field(primary_key=True, max_length=10, description="YYYY-MM-DD")
    organ_level: str = Field(primary_key=True, max_length=16)
    service_mode: str = Field(primary_key=True, max_length=8)
    channel: int = Field(primary_key=True, description="KenhThucHien")
    submitted: int = 0


class EventTypeCount(Base, table=True):
    """Events applied, by type."""

    type: str = Field(primary_key=True, max_length=200)
    consumed: int = 0
