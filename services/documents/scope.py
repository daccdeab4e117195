"""Organ scope over the documents service's own directory (the kit's mechanism).

A consumer acts for its registered organ and the organs under it (lgsp_kit.access.OrganScope);
the hierarchy here is this service's Organ table, which may hold organs beyond the reference
catalogue, so the walk reads the parent of each organ from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from lgsp_kit import access
from lgsp_kit.access import OutOfScope
from services.documents.models import Organ

__all__ = ["OrganScope", "OutOfScope"]


@dataclass(frozen=True)
class OrganScope:
    """`organ` None means unrestricted (authentication switched off); "" means no organ."""

    organ: str | None

    def within(self, session: Session) -> access.OrganScope:
        def parent_of(code: str) -> str | None:
            row = session.get(Organ, code)
            return row.parent_code if row is not None else None

        return access.OrganScope(self.organ, parent_of=parent_of)

    def covers(self, session: Session, code: str) -> bool:
        return self.within(session).covers(code)

    def require(self, session: Session, code: str, *, acting_as: str) -> None:
        self.within(session).require(code, acting_as=acting_as)

    def require_any(self, session: Session, codes: Iterable[str], *, what: str) -> None:
        self.within(session).require_any(codes, what=what)
