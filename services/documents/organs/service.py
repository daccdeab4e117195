"""The organ directory."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from contracts import reference
from services.documents.models import Organ
from services.documents.organs.schemas import OrganOut, OrganPage


def seed_directory(session: Session) -> int:
    """Load the reference catalogue into an empty directory."""
    if session.exec(select(func.count()).select_from(Organ)).one():
        return 0
    rows = [Organ(**o.model_dump()) for o in reference.organs().values()]
    session.add_all(rows)
    return len(rows)


def list_organs(session: Session, *, level: str | None, after: str | None, limit: int) -> OrganPage:
    query = select(Organ).order_by(col(Organ.code)).limit(limit + 1)
    if level is not None:
        query = query.where(col(Organ.level) == level)
    if after is not None:
        query = query.where(col(Organ.code) > after)
    rows = list(session.exec(query))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        OrganOut(code=o.code, name=o.name, level=o.level, parent_code=o.parent_code) for o in rows
    ]
    return OrganPage(items=items, next_cursor=rows[-1].code if more and rows else None)
