"""Every query on dossiers."""

from __future__ import annotations

import operator
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Engine,
    Select,
    bindparam,
    create_engine,
    insert,
    literal,
    null,
    union_all,
    update,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from lgsp_kit.db import table_of
from lgsp_kit.reads import one_of, rows, shapes, spread
from services.dossier.models import (
    Dossier,
    DossierHistory,
    DossierPayment,
    DossierSequence,
    outbox,
)

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
    """The numbers this process has reserved and not yet given, per organ and day, and the
    connection they are reserved on: one of its own, not the request pool's. A submit already
    holds a pooled connection when it needs a number; had the reservation taken a second one
    while holding `lock`, a full pool (every connection held by a submit waiting for `lock`)
    would have stalled every submit until the pool's timeout (found at 32 desks: 500s after
    30 s)."""

    def __init__(self, engine: Engine) -> None:
        self.lock = threading.Lock()
        self.free: dict[tuple[str, str], Iterator[int]] = {}
        self.engine = create_engine(engine.url, pool_size=1, max_overflow=0, pool_pre_ping=True)


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
            blocks = _blocks[engine] = _Blocks(engine)
    key = (organ_code, day_key)
    with blocks.lock:
        number = next(blocks.free.get(key, iter(())), None)
        if number is None:
            free = _reserve(blocks.engine, organ_code, day_key)
            if len(blocks.free) >= 10_000:  # days gone by; what they held is skipped
                blocks.free.clear()
            blocks.free[key] = free
            number = next(free)
        return number


# Writes of the interactive hot path, in Core: a submit and a status change each write their
# rows in as few statements as the backend allows, with no read after the write. On PostgreSQL
# a status change's dossier update, its history row and its event are one statement (data-
# modifying CTEs), as are a submit's history row and event; SQLite has no DML in a CTE and
# runs them one after the other (in the process, no round trip).
_DOSSIER = table_of(Dossier)
_HISTORY = table_of(DossierHistory)
_DOSSIER_COLUMNS = tuple(c.name for c in _DOSSIER.columns if c.name != "id")
_HISTORY_COLUMNS = ("dossier_id", "from_status", "to_status", "at", "actor", "note")
_OUTBOX_COLUMNS = ("event_id", "subject", "payload", "created_at")
# What a status change sets on the dossier (`service.store_clock`).
CLOCK_COLUMNS = (
    "status",
    "last_changed_at",
    "received_at",
    "due_at",
    "paused_since",
    "resolved_at",
    "returned_at",
    "on_time",
    "paid_online",
    "supplement_requests",
)
# A new dossier, unless its MaHoSo is taken (a synced record may hold it): then no row.
_INSERT_DOSSIER = {
    name: insert_of(_DOSSIER)
    .on_conflict_do_nothing(index_elements=["code"])
    .returning(_DOSSIER.c.id)
    for name, insert_of in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}
_INSERT_HISTORY = insert(_HISTORY).values({c: bindparam(f"h_{c}") for c in _HISTORY_COLUMNS})
_INSERT_EVENT = insert(outbox).values({c: bindparam(f"o_{c}") for c in _OUTBOX_COLUMNS})
_UPDATE_CLOCK = (
    update(_DOSSIER)
    .where(_DOSSIER.c.id == bindparam("u_id"))
    .values({c: bindparam(f"u_{c}") for c in CLOCK_COLUMNS})
)
_PG_HISTORY_AND_EVENT = _INSERT_EVENT.add_cte(_INSERT_HISTORY.cte("new_history"))
_PG_CHANGE = _INSERT_EVENT.add_cte(_UPDATE_CLOCK.cte("changed"), _INSERT_HISTORY.cte("new_history"))


def insert_dossier(session: Session, dossier: Dossier) -> int | None:
    """Store a new dossier; its id, or None when its MaHoSo is already taken."""
    row = {name: getattr(dossier, name) for name in _DOSSIER_COLUMNS}
    stmt = _INSERT_DOSSIER[session.get_bind().dialect.name]
    found = session.execute(stmt, row).first()
    return None if found is None else int(found[0])


def record_change(
    session: Session,
    *,
    history: dict[str, Any],
    event: dict[str, Any],
    clock: dict[str, Any] | None = None,
) -> None:
    """Write a dossier's change: its new clock (a status change; none for a submit), its
    history row (which marks it for the DVCQG sync: `models.sync_triggers`) and its event's
    outbox row, in the caller's transaction."""
    params = {f"h_{c}": history[c] for c in _HISTORY_COLUMNS}
    params.update((f"o_{c}", event[c]) for c in _OUTBOX_COLUMNS)
    if clock is not None:
        params.update((f"u_{c}", clock[c]) for c in CLOCK_COLUMNS)
        params["u_id"] = history["dossier_id"]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_HISTORY_AND_EVENT if clock is None else _PG_CHANGE, params)
        return
    if clock is not None:
        session.execute(_UPDATE_CLOCK, params)
    session.execute(_INSERT_HISTORY, params)
    session.execute(_INSERT_EVENT, params)


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


_PAYMENT = table_of(DossierPayment)
# A dossier's history and payments in one statement (one round trip, not two): the rows of
# both tables in one shape, history first, each in id order.
_H, _P = _HISTORY.c, _PAYMENT.c
_HISTORY_AND_PAYMENTS = union_all(
    core_select(
        literal(0).label("kind"),
        _H.id,
        _H.from_status,
        _H.to_status,
        _H.at,
        _H.actor,
        _H.note,
        null().label("amount"),
        null().label("method"),
        null().label("online_gateway"),
    ).where(_H.dossier_id == bindparam("dossier_id")),
    core_select(
        literal(1),
        _P.id,
        null(),
        null(),
        _P.paid_at,
        null(),
        null(),
        _P.amount,
        _P.method,
        _P.online_gateway,
    ).where(_P.dossier_id == bindparam("dossier_id")),
).order_by("kind", "id")


def history_and_payments(
    session: Session, dossier_id: int
) -> tuple[list[DossierHistory], list[DossierPayment]]:
    """A dossier's history and payments, each in the order they were stored."""
    history: list[DossierHistory] = []
    payments: list[DossierPayment] = []
    for r in session.execute(_HISTORY_AND_PAYMENTS, {"dossier_id": dossier_id}):
        if r.kind == 0:
            history.append(
                DossierHistory(
                    id=r.id,
                    dossier_id=dossier_id,
                    from_status=r.from_status,
                    to_status=r.to_status,
                    at=r.at,
                    actor=r.actor,
                    note=r.note,
                )
            )
        else:
            payments.append(
                DossierPayment(
                    id=r.id,
                    dossier_id=dossier_id,
                    amount=r.amount,
                    method=r.method,
                    online_gateway=r.online_gateway,
                    paid_at=r.at,
                )
            )
    return history, payments


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


# The filters equal to a column of the same name, and the bounds of the reception time.
_EQUAL = ("status", "organ_code", "procedure_code", "channel", "on_time")
_BOUNDS = {
    "received_from": ("received_at", operator.ge),
    "received_to": ("received_at", operator.lt),
}


@shapes
def _search_statement(given: tuple[str, ...], organs: int | None) -> Select[Any]:
    """The list's select with the filters `given` and, unless `organs` is None, the organ
    scope's `organs` codes."""
    t = table_of(Dossier)
    stmt = core_select(t).where(t.c.id > bindparam("after_id"))
    if organs is not None:
        stmt = stmt.where(one_of(t.c.organ_code, "organ", organs))
    for name in given:
        column, compare = _BOUNDS.get(name, (name, operator.eq))
        stmt = stmt.where(compare(t.c[column], bindparam(name)))
    return stmt.order_by(t.c.id).limit(bindparam("limit"))


def search(session: Session, f: DossierFilter, *, after_id: int, limit: int) -> Sequence[Any]:
    """Dossiers in id order after `after_id`, matching every given filter: rows with the
    dossier's columns (`lgsp_kit.reads.rows`)."""
    values: dict[str, Any] = {
        name: getattr(f, name) for name in (*_EQUAL, *_BOUNDS) if getattr(f, name) is not None
    }
    given = tuple(values)
    organs = None if f.organs is None else sorted(f.organs)
    if organs is not None:
        values.update(spread("organ", organs))
    values.update(after_id=after_id, limit=limit)
    statement = _search_statement(given, None if organs is None else len(organs))
    return rows(session, statement, values)
