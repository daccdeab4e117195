"""Every query on dossiers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from lgsp_kit.db import table_of
from services.dossier.models import Dossier, DossierHistory, DossierPayment, DossierSequence

# The statements of the interactive hot path are built once, with bind parameters: building a
# statement and its cache key anew on every call cost more CPU than running it.
_SEQUENCE = table_of(DossierSequence)
_NEXT_SEQUENCE = {
    name: (
        insert_of(_SEQUENCE)
        .values(organ_code=bindparam("organ_code"), day=bindparam("day"), last=1)
        .on_conflict_do_update(
            index_elements=["organ_code", "day"], set_={"last": _SEQUENCE.c.last + 1}
        )
        .returning(_SEQUENCE.c.last)
    )
    for name, insert_of in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}
_CODE_TAKEN = select(Dossier.id).where(col(Dossier.code) == bindparam("code"))
_BY_CODE = select(Dossier).where(col(Dossier.code) == bindparam("code"))
_BY_CODE_FOR_UPDATE = _BY_CODE.with_for_update()
_HISTORY_OF = (
    select(DossierHistory)
    .where(col(DossierHistory.dossier_id) == bindparam("dossier_id"))
    .order_by(col(DossierHistory.id))
)
_PAYMENTS_OF = (
    select(DossierPayment)
    .where(col(DossierPayment.dossier_id) == bindparam("dossier_id"))
    .order_by(col(DossierPayment.id))
)


def next_sequence(session: Session, organ_code: str, day_key: str) -> int:
    """The next number of an organ's day, from one atomic upsert (no two callers share one)."""
    stmt = _NEXT_SEQUENCE[session.get_bind().dialect.name]
    seq: int = session.execute(stmt, {"organ_code": organ_code, "day": day_key}).scalar_one()
    return seq


def code_taken(session: Session, code: str) -> bool:
    return session.execute(_CODE_TAKEN, {"code": code}).first() is not None


def by_code(session: Session, code: str, *, for_update: bool = False) -> Dossier | None:
    stmt = _BY_CODE_FOR_UPDATE if for_update else _BY_CODE
    found: Dossier | None = session.execute(stmt, {"code": code}).scalars().first()
    return found


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
    return list(session.execute(_HISTORY_OF, {"dossier_id": dossier_id}).scalars())


def payments_of(session: Session, dossier_id: int) -> list[DossierPayment]:
    return list(session.execute(_PAYMENTS_OF, {"dossier_id": dossier_id}).scalars())


@dataclass(frozen=True)
class DossierFilter:
    status: int | None = None
    organ_code: str | None = None
    procedure_code: str | None = None
    channel: int | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    on_time: bool | None = None
    # The organs of the caller's scope; None when it covers every organ.
    organs: frozenset[str] | None = None


def search(session: Session, f: DossierFilter, *, after_id: int, limit: int) -> list[Dossier]:
    """Dossiers in id order after `after_id`, matching every given filter."""
    stmt = select(Dossier).where(col(Dossier.id) > after_id)
    if f.status is not None:
        stmt = stmt.where(col(Dossier.status) == f.status)
    if f.organs is not None:
        stmt = stmt.where(col(Dossier.organ_code).in_(sorted(f.organs)))
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
    if f.on_time is not None:
        stmt = stmt.where(col(Dossier.on_time) == f.on_time)
    return list(session.exec(stmt.order_by(col(Dossier.id)).limit(limit)))
