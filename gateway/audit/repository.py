"""Queries of the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.models import AuditRecord


@dataclass(frozen=True)
class AuditFilter:
    client_id: str | None = None
    api: str | None = None
    status: int | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def search(
    session: Session, where: AuditFilter, *, before: int | None, limit: int
) -> list[AuditRecord]:
    """Newest first; `before` is the id the previous page ended at."""
    query = select(AuditRecord).order_by(col(AuditRecord.id).desc()).limit(limit)
    if before is not None:
        query = query.where(col(AuditRecord.id) < before)
    if where.client_id is not None:
        query = query.where(col(AuditRecord.client_id) == where.client_id)
    if where.api is not None:
        query = query.where(col(AuditRecord.api) == where.api)
    if where.status is not None:
        query = query.where(col(AuditRecord.status) == where.status)
    if where.request_id is not None:
        query = query.where(col(AuditRecord.request_id) == where.request_id)
    if where.since is not None:
        query = query.where(col(AuditRecord.at) >= where.since)
    if where.until is not None:
        query = query.where(col(AuditRecord.at) < where.until)
    return list(session.exec(query))
