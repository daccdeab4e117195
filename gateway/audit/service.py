"""Reading the audit log (nhật ký giám sát) for administrators."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session

from gateway.audit import repository
from gateway.audit.repository import AuditFilter
from gateway.audit.schemas import AuditOut, AuditPage


def search_audit(
    session: Session, where: AuditFilter, *, cursor: str | None, limit: int, timezone: str
) -> AuditPage:
    tz = ZoneInfo(timezone)
    rows = repository.search(
        session, where, before=int(cursor) if cursor else None, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        AuditOut.model_validate(r, from_attributes=True).model_copy(
            update={"at": r.at.astimezone(tz)}
        )
        for r in rows
    ]
    return AuditPage(items=items, next_cursor=str(rows[-1].id) if more and rows else None)
