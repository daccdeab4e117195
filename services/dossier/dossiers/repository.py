"""Every query on dossiers."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam
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
        .values(organ_code=bindparam("organ_code"), day=bindparam("day"), last=bindparam("step"))
        .on_conflict_do_update(
            index_elements=["organ_code", "day"],
            set_={"last": _SEQUENCE.c.last + bindparam("step")},
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


# On PostgreSQL a process reserves numbers a block at a time, in a transaction of their own: the
# row of an organ's day would otherwise stay locked from a submit's first statement to its
# commit, and every submit to that organ that day would wait for the one before it (measured:
# 32 desks on one organ, most connections "INSERT waiting"). Numbers stay unique across
# processes and replicas; a number reserved and not used (a refused submit, a restart) is
# skipped. On SQLite writers take turns anyway: one number at a time, in the submit's own
# transaction, so a rolled-back submit gives its number back.
SEQUENCE_BLOCK = 20


class _Blocks:
    """The numbers this process has reserved and not yet given, per organ and day."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free: dict[tuple[str, str], Iterator[int]] = {}


_blocks: WeakKeyDictionary[Engine, _Blocks] = WeakKeyDictionary()
_blocks_lock = threading.Lock()


def _reserve(engine: Engine, organ_code: str, day_key: str) -> Iterator[int]:
    stmt = _NEXT_SEQUENCE["postgresql"]
    with engine.connect() as conn:
        last: int = conn.execute(
            stmt, {"organ_code": organ_code, "day": day_key, "step": SEQUENCE_BLOCK}
        ).scalar_one()
        conn.commit()
    return iter(range(last - SEQUENCE_BLOCK + 1, last + 1))


def next_sequence(session: Session, organ_code: str, day_key: str) -> int:
    """The next number of an organ's day, unique across every process (atomic upserts)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        stmt = _NEXT_SEQUENCE[bind.dialect.name]
        seq: int = session.execute(
            stmt, {"organ_code": organ_code, "day": day_key, "step": 1}
        ).scalar_one()
        return seq
    engine = bind.engine
    with _blocks_lock:
        blocks = _blocks.get(engine)
        if blocks is None:
            blocks = _blocks[engine] = _Blocks()
    key = (organ_code, day_key)
    with blocks.lock:
        number = next(blocks.free.get(key, iter(())), None)
        if number is None:
            free = _reserve(engine, organ_code, day_key)
            if len(blocks.free) >= 10_000:  # days gone by; what they held is skipped
                blocks.free.clear()
            blocks.free[key] = free
            number = next(free)
        return number


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
