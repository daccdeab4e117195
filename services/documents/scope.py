"""Organ scope: a consumer acts for its registered organ and the organs under it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from lgsp_kit.errors import ProblemError
from services.documents.models import Organ


class OutOfScope(ProblemError):
    status = 403
    code = "organ_out_of_scope"


@dataclass(frozen=True)
class OrganScope:
    """`organ` None means unrestricted (authentication switched off); "" means no organ."""

    organ: str | None

    def covers(self, session: Session, code: str) -> bool:
        if self.organ is None:
            return True
        if not self.organ:
            return False
        current: str | None = code
        for _ in range(8):  # the directory is four levels deep
            if current is None:
                return False
            if current == self.organ:
                return True
            row = session.get(Organ, current)
            current = row.parent_code if row is not None else None
        return False

    def require(self, session: Session, code: str, *, acting_as: str) -> None:
        if not self.covers(session, code):
            raise OutOfScope(
                f"the caller acts for {self.organ or 'no organ'} and the organs under it, "
                f"not for {code} ({acting_as})"
            )

    def require_any(self, session: Session, codes: Iterable[str], *, what: str) -> None:
        if not any(self.covers(session, c) for c in codes):
            raise OutOfScope(
                f"the caller acts for {self.organ or 'no organ'} and the organs under it, "
                f"none of which is {what}"
            )
