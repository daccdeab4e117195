"""The procedures catalogue (danh mục TTHC)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, func, select

from contracts import reference
from services.dossier.models import Procedure


def seed_demo_catalogue(session: Session) -> int:
    """Load the demo catalogue into an empty catalogue; returns how many were added."""
    if session.exec(select(func.count()).select_from(Procedure)).one():
        return 0
    now = datetime.now(UTC)
    rows = [Procedure(**p.model_dump(), updated_at=now) for p in reference.procedures()]
    session.add_all(rows)
    return len(rows)
