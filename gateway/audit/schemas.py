"""API shapes of the audit log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AuditOut(BaseModel):
    """One call to a published API (bản ghi nhật ký giám sát)."""

    id: int
    at: datetime = Field(description="when the call arrived")
    request_id: str
    client_id: str | None = Field(description="the consumer, when its token was valid")
    organ_code: str | None = Field(description="the consumer's organ (mã định danh)")
    tier: str | None
    api: str
    method: str
    route: str = Field(description="the operation's route template when known, else the path")
    status: int
    request_bytes: int
    response_bytes: int
    upstream_ms: float | None = Field(description="time until the backend's answer began")
    total_ms: float


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None
