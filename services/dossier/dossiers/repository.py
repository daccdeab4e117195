"""Every query on dossiers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from lgsp_kit.db import dialect_insert
from services.dossier.models import Dossier, DossierHistory, DossierPayment, DossierSequence


def next_sequence(session: Session, organ_code: str, day_key: str) -> int:
    """The next number of an organ's day, from one atomic upsert (no two callers share one)."""
    insert = dialect_insert(session)
    table = DossierSequence.__table__  # type: ignore[attr-defined]
    stmt = (
        insert(table)
        .values(organ_code=organ_code, day=day_key, last=1)
        .on_conflict_do_update(
            index_elements=["organ_code", "day"], set_={"last": table.c.last + 1}
        )
        .returning(table.c.last)
    )
    seq: int = session.execute(stmt).scalar_one()
    return seq


def code_taken(session: Session, code: str) -> bool:
    return session.exec(select(Dossier.id).where(col(Dossier.code) == code)).first() is not None


def by_code(session: Session, code: str, *, for_update: bool = False) -> Dossier | None:
    stmt = select(Dossier).where(col(Dossier.code) == code)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def by_codes(session: Session, codes: Iterable[str]) -> dict[str, Dossier]:
    codes = list(codes)
    found: dict[str, Dossier] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        for d in session.exec(select(Dossier).where(col(Dossier.code).in_(chunk))):
            found[d.code] = d
    return found


def ids_by_code(session: Session, codes: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        stmt = select(Dossier.code, Dossier.id).where(
            col(Dossier.code).in_(codes[start : start + 500])
        )
        found.update((code, id_) for code, id_ in session.exec(stmt) if id_ is not None)
    return found


def history_of(session: Session, dossier_id: int) -> list[DossierHistory]:
    stmt = (
        select(DossierHistory)
        .where(col(DossierHistory.dossier_id) == dossier_id)
        .order_by(col(DossierHistory.id))
    )
    return list(session.exec(stmt))


def payments_of(session: Session, dossier_id: int) -> list[DossierPayment]:
    stmt = (
        select(DossierPayment)
        .where(col(DossierPayment.dossier_id) == dossier_id)
        .order_by(col(DossierPayment.id))
    )
    return list(session.exec(stmt))


@dataclass(frozen=True)
class DossierFilter:
    status: int | None = None
    organ_code: str | None = None
    procedure_code: str | None = None
    channel: int | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None


def search(session: Session, f: DossierFilter, *, after_id: int, limit: int) -> list[Dossier]:
    """Dossiers in id order after `after_id`, matching every given filter."""
    stmt = select(Dossier).where(col(Dossier.id) > after_id)
    if f.status is not None:
        stmt = stmt.where(col(Dossier.status) == f.status)
    if f.organ_code is not None:
        stmt = stmt.where(col(Dossier.organ_code) == f.organ_code)
    if f.procedure_code is not None:
        stmt = stmt.where(col(Dossier.procedure_code) == f.procedure_code)
    if f.channel is not None:
        stmt = stmt.where(col(Dossier.channel) == f.channel)
    if f.received_from is not None:
        stmt = stmt.where(col(Dossier.received_at) >= f.received_from)
    if f.received_to is not None:
        stmt = stmt.where(col(Dossier.received_at) < f.received_to)
    return list(session.exec(stmt.order_by(col(Dossier.id)).limit(limit)))
