"""`GET /admin/audit`: the record of every call to a published API and of the gateway's own
token and administration events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query

from gateway.audit.events import AdminAuditedRoute
from gateway.audit.repository import AuditFilter
from gateway.audit.schemas import AuditPage
from gateway.audit.service import search_audit
from gateway.auth.dependencies import AdminCaller
from lgsp_kit.errors import Unprocessable
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession

router = APIRouter(prefix="/admin/audit", tags=["administration"], route_class=AdminAuditedRoute)


@router.get(
    "",
    response_model=AuditPage,
    summary="Search the audit log",
    responses=problem_responses(401, 403, 422),
)
def list_audit(
    _admin: AdminCaller,
    session: ReadSession,
    client_id: Annotated[str | None, Query(max_length=64)] = None,
    api: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[datetime | None, Query(description="from this time (with offset)")] = None,
    until: Annotated[datetime | None, Query(description="before this time (with offset)")] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Nhật ký giám sát: calls to published APIs, newest first, with filters and paging."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Unprocessable(f"{name} needs a UTC offset", code="naive_datetime")
    where = AuditFilter(client_id, api, status, request_id, since, until)
    return search_audit(session, where, cursor=cursor, limit=limit)
