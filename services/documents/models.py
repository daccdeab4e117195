"""Tables of the documents service."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from lgsp_kit.db import new_metadata
from lgsp_kit.outbox import define_outbox


class Base(SQLModel, registry=registry(metadata=new_metadata())):
    pass


outbox = define_outbox(Base.metadata)


class Organ(Base, table=True):
    """An organ of the directory, by its mã định danh (QCVN 102)."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=300)
    level: str = Field(max_length=16, index=True)
    parent_code: str | None = Field(default=None, max_length=32)
    admin_code: str | None = Field(default=None, max_length=8)
