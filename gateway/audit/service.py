"""Reading the audit log (nhật ký giám sát) for administrators."""

from __future__ import annotations

from sqlmodel import Session

from gateway.audit import repository
from gateway.audit.repository import AuditFilter
from gateway.audit.schemas import AuditOut, AuditPage
from lgsp_kit.paging import NUMBER


def search_audit(
    session: Session, where: AuditFilter, *, cursor: str | None, limit: int
) -> AuditPage:
    """Newest first: the cursor is the id the next page starts below."""
    rows = repository.search(session, where, before=NUMBER.key(cursor), limit=limit + 1)
    page, next_cursor = NUMBER.page(rows, limit, key=lambda r: r.id or 0)
    items = [AuditOut.model_validate(r, from_attributes=True) for r in page]
    return AuditPage(items=items, next_cursor=next_cursor)
