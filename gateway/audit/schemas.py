"""API shapes of the audit log."""

from __future__ import annotations

from pydantic import BaseModel, Field

from lgsp_kit.fields import LocalTime


class AuditOut(BaseModel):
    """One call to a published API, or one of the gateway's own events: a token request (api
    `gateway:token`) or an administration change (api `gateway:admin`) (bản ghi nhật ký giám
    sát)."""

    id: int
    at: LocalTime = Field(description="when the call arrived")
    request_id: str
    client_id: str | None = Field(
        description="the consumer, when its token was valid; for `gateway:token` the client id "
        "the request presented"
    )
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
    target: str | None = Field(
        default=None, description="`gateway:admin`: the consumer or signing key acted on"
    )
    reason: str | None = Field(
        default=None,
        description="`gateway:token`: `issued` or the error code; `gateway:admin`: `ok` or the "
        "problem's code; null on proxied calls",
    )


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None
