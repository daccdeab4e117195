from __future__ import annotations

from pydantic import BaseModel, Field


class OrganOut(BaseModel):
    code: str = Field(description="mã định danh (QCVN 102)")
    name: str
    level: str = Field(description="province, province_organ, district or commune")
    parent_code: str | None


class OrganPage(BaseModel):
    items: list[OrganOut]
    next_cursor: str | None
