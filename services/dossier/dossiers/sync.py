"""Batch sync of whole dossier records (DongBoHoSoMC).

Each record is validated on its own and replayed through the same rules as the interactive
endpoints, so a synced record emits exactly the events its history would have emitted live:
submitted, then its status changes and payments in business-time order (a payment at the same
instant as a status change counts first). The whole batch is one transaction with bulk inserts.

Idempotent on MaHoSo: a record already stored with the same content is `ok` with a note and
emits nothing; a record whose MaHoSo is stored with other content is refused (sync never
overwrites; later progress goes through the status and payment endpoints). A MaHoSo repeated
inside one batch is refused after its first occurrence.

A batch goes through four steps: `validate` (each record against its schema, MaHoSo unique in
the batch, the caller's organ scope), `plan` (what is stored already: unchanged or refused; the
procedures of the rest), `replay` (each new record through the rules, into rows and events) and
`write` (bulk inserts). Rows are mappings keyed by column name, so the columns written are the
keys the replay gave them.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection
from sqlmodel import Session, col, select

from contracts import reference
from lgsp_kit.access import OrganScope, OutOfScope
from lgsp_kit.db import copy_rows
from lgsp_kit.errors import ProblemError
from services.dossier.dossiers import events, repository
from services.dossier.dossiers.lifecycle import (
    SUBMITTED,
    Clock,
    apply_status,
    check_payment,
    check_time,
)
from services.dossier.dossiers.schemas import DossierRecord, SyncResponse, SyncResult
from services.dossier.dossiers.service import EPOCH, check_payment_allowed, processing_unit
from services.dossier.models import Dossier, DossierHistory, DossierPayment, Procedure, outbox

SYNC_ACTOR = "dong-bo"
SQLITE_CACHE_KIB = 64 * 1024


class RecordRefused(Exception):
    pass


Row = dict[str, Any]
TimeParam = Callable[[datetime | None], Any]


@dataclass
class Batch:
    """A batch on its way: one result per raw record once settled, and the records still to
    create (by MaHoSo: their index in the batch and the record)."""

    results: list[SyncResult | None]
    pending: dict[str, tuple[int, DossierRecord]] = field(default_factory=dict)

    def settle(self, index: int, result: SyncResult) -> None:
        self.results[index] = result

    def response(self, created: int) -> SyncResponse:
        final = [r for r in self.results if r is not None]
        assert len(final) == len(self.results)
        return SyncResponse(
            results=final,
            created=created,
            unchanged=sum(1 for r in final if r.ok and r.note),
            failed=sum(1 for r in final if not r.ok),
        )


@dataclass
class Prepared:
    """One accepted record as rows ready for the driver (its history and payment rows get the
    dossier id once the dossier row is written)."""

    index: int
    code: str
    dossier: Row
    history: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A batch allocates some 50,000 short-lived objects, none of them cyclic; the cyclic
    collector scanning them costs a fifth of the batch, so it waits until the batch is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def sync(
    session: Session,
    raw_records: Sequence[Any],
    *,
    tz: ZoneInfo,
    caller: str,
    scope: OrganScope,
) -> SyncResponse:
    now = datetime.now(UTC)
    with _gc_paused():
        batch = validate(raw_records, scope)
        procedures = plan(session, batch)
        prepared = replay(session, batch, procedures, now=now, tz=tz, caller=caller)
        write(session, prepared)
        for p in prepared:
            batch.settle(p.index, SyncResult(code=p.code, ok=True))
        return batch.response(created=len(prepared))


# -- validate: each record on its own, then the batch against the caller's scope


def validate(raw_records: Sequence[Any], scope: OrganScope) -> Batch:
    """Each record parsed, a MaHoSo repeated in the batch refused after its first occurrence;
    a record in the name of an organ outside the caller's scope refuses the whole batch."""
    batch = Batch(results=[None] * len(raw_records))
    for i, raw in enumerate(raw_records):
        try:
            r = DossierRecord.model_validate(raw)
        except ValidationError as exc:
            code = raw.get("code") if isinstance(raw, dict) else None
            code = code if isinstance(code, str) else None
            batch.settle(i, SyncResult(code=code, ok=False, error=_validation_message(exc)))
            continue
        first = batch.pending.get(r.code)
        if first is not None:
            error = f"MaHoSo repeated in this batch (first at record {first[0]})"
            batch.settle(i, SyncResult(code=r.code, ok=False, error=error))
            continue
        batch.pending[r.code] = (i, r)
    if not scope.unrestricted:
        _check_scope(batch.pending, scope)
    return batch


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(p) for p in e["loc"]) or "record"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def _check_scope(records: dict[str, tuple[int, DossierRecord]], scope: OrganScope) -> None:
    """A record filed in the name of a known organ outside the caller's scope refuses the whole
    batch before anything is read or written (an unknown organ is that record's own error)."""
    known = reference.organs()
    named = {r.organ_code for _, r in records.values()}
    outside = sorted(c for c in named if c in known and not scope.covers(c))
    if outside:
        first = min(i for i, r in records.values() if r.organ_code == outside[0])
        raise OutOfScope(
            f"the caller acts for {scope.organ or 'no organ'} and the organs under it, not for "
            f"{', '.join(outside[:5])} (record {first} is filed with {outside[0]})"
        )


# -- plan: what is stored already, and the procedures of what is not


def plan(session: Session, batch: Batch) -> dict[str, Procedure]:
    """Records already stored are settled (unchanged, or refused: sync never overwrites) and
    leave the batch; the procedures of the records left are read."""
    existing = repository.by_codes(session, batch.pending)
    if existing:
        same = _compare_existing(session, existing, {c: batch.pending[c][1] for c in existing})
        for code, equal in same.items():
            i = batch.pending.pop(code)[0]
            batch.settle(
                i,
                SyncResult(code=code, ok=True, note="already present, unchanged")
                if equal
                else SyncResult(
                    code=code,
                    ok=False,
                    error="MaHoSo already present with other content; sync never overwrites",
                ),
            )
    return _procedures(session, {r.procedure_code for _, r in batch.pending.values()})


def _canonical_incoming(r: DossierRecord) -> tuple[Any, ...]:
    return (
        r.procedure_code,
        r.organ_code,
        r.channel,
        (r.applicant.type, r.applicant.name, r.applicant.identifier),
        [(f.name, f.amount) for f in r.fees],
        r.submitted_at,
        [(h.status, h.at, h.actor, h.note) for h in r.history],
        [(p.amount, p.method, p.online_gateway, p.at) for p in r.payments],
    )


def _canonical_stored(
    d: Dossier, history: list[DossierHistory], payments: list[DossierPayment]
) -> tuple[Any, ...]:
    return (
        d.procedure_code,
        d.organ_code,
        d.channel,
        (d.applicant_type, d.applicant_name, d.applicant_identifier),
        [(f["name"], f["amount"]) for f in d.fees],
        d.submitted_at,
        [(h.to_status, h.at, h.actor, h.note) for h in history if h.from_status is not None],
        [(p.amount, p.method, p.online_gateway, p.paid_at) for p in payments],
    )


def _compare_existing(
    session: Session, existing: dict[str, Dossier], records: dict[str, DossierRecord]
) -> dict[str, bool]:
    """Whether each stored dossier holds exactly what its incoming record says."""
    ids = {d.id: d for d in existing.values()}
    history: dict[int, list[DossierHistory]] = {i: [] for i in ids if i is not None}
    payments: dict[int, list[DossierPayment]] = {i: [] for i in ids if i is not None}
    keys = list(history)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        stmt_h = select(DossierHistory).where(col(DossierHistory.dossier_id).in_(chunk))
        for h in session.exec(stmt_h.order_by(col(DossierHistory.id))):
            history[h.dossier_id].append(h)
        stmt_p = select(DossierPayment).where(col(DossierPayment.dossier_id).in_(chunk))
        for p in session.exec(stmt_p.order_by(col(DossierPayment.id))):
            payments[p.dossier_id].append(p)
    same: dict[str, bool] = {}
    for code, d in existing.items():
        assert d.id is not None
        stored = _canonical_stored(d, history[d.id], payments[d.id])
        incoming = _canonical_incoming(records[code])
        # Payments are compared in business-time order, as the record is replayed.
        same[code] = _normal(stored) == _normal(incoming)
    return same


def _normal(c: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*c[:7], sorted(c[7], key=lambda p: (p[3], p[0], p[1])))


def _procedures(session: Session, codes: set[str]) -> dict[str, Procedure]:
    if not codes:
        return {}
    stmt = select(Procedure).where(col(Procedure.code).in_(sorted(codes)))
    return {p.code: p for p in session.exec(stmt)}


# -- replay: each new record through the interactive endpoints' rules


def replay(
    session: Session,
    batch: Batch,
    procedures: dict[str, Procedure],
    *,
    now: datetime,
    tz: ZoneInfo,
    caller: str,
) -> list[Prepared]:
    """The records left, replayed into rows; a record the rules refuse is settled as failed."""
    db_time = _time_param(session)
    prepared: list[Prepared] = []
    for i, r in batch.pending.values():
        try:
            procedure = procedures.get(r.procedure_code)
            prepared.append(
                _replay_one(i, r, procedure, caller=caller, now=now, tz=tz, db_time=db_time)
            )
        except (RecordRefused, ProblemError) as exc:
            detail = exc.detail if isinstance(exc, ProblemError) else str(exc)
            batch.settle(i, SyncResult(code=r.code, ok=False, error=detail))
    return prepared


def _replay_one(
    index: int,
    r: DossierRecord,
    procedure: Procedure | None,
    *,
    caller: str,
    now: datetime,
    tz: ZoneInfo,
    db_time: TimeParam,
) -> Prepared:
    """Replay one record through the rules; raise what refuses it."""
    if procedure is None:
        raise RecordRefused(f"unknown procedure {r.procedure_code!r}")
    organ = reference.organs().get(r.organ_code)
    if organ is None:
        raise RecordRefused(f"unknown organ {r.organ_code!r}")
    check_time(r.submitted_at, not_before=EPOCH, now=now, field="submitted_at")
    facts = {
        "code": r.code,
        "procedure_code": procedure.code,
        "service_mode": procedure.online_mode,
        "fee_bearing": procedure.fee_bearing,
        "organ_code": organ.code,
        "organ_level": organ.level,
        "channel": r.channel,
    }
    submitted_at = db_time(r.submitted_at)
    prepared = Prepared(index, r.code, {})
    history, payments, staged = prepared.history, prepared.payments, prepared.events
    history.append(
        {
            "dossier_id": None,
            "from_status": None,
            "to_status": SUBMITTED,
            "at": submitted_at,
            "actor": caller,
            "note": None,
        }
    )
    staged.append(_event_row(events.submitted(facts, r.submitted_at)))
    clock = Clock(
        status=SUBMITTED,
        submitted_at=r.submitted_at,
        last_at=r.submitted_at,
        processing_days=procedure.processing_days,
        processing_unit=processing_unit(procedure.processing_unit),
    )
    for _, kind, i in _business_order(r):
        if kind == PAYMENT:
            p = r.payments[i]
            try:
                check_payment(clock, p.at, now=now)
                check_payment_allowed(procedure.code, procedure.fee_bearing, procedure, p.method)
            except ProblemError as exc:
                raise RecordRefused(f"payments[{i}]: {exc.detail}") from exc
            clock.paid_online = clock.paid_online or p.method == "online"
            payments.append(
                {
                    "dossier_id": None,
                    "amount": p.amount,
                    "method": p.method,
                    "online_gateway": p.online_gateway,
                    "paid_at": db_time(p.at),
                }
            )
            event = events.payment_recorded(facts, p.amount, p.method, p.online_gateway, p.at)
            staged.append(_event_row(event))
        else:
            h = r.history[i]
            try:
                change = apply_status(clock, h.status, h.at, now=now, tz=tz)
            except ProblemError as exc:
                raise RecordRefused(f"history[{i}]: {exc.detail}") from exc
            history.append(
                {
                    "dossier_id": None,
                    "from_status": change.from_status,
                    "to_status": h.status,
                    "at": db_time(h.at),
                    "actor": h.actor,
                    "note": h.note,
                }
            )
            staged.append(_event_row(events.status_changed(facts, change)))
    prepared.dossier = {
        "code": r.code,
        "procedure_code": procedure.code,
        "organ_code": organ.code,
        "organ_level": organ.level,
        "service_mode": procedure.online_mode,
        "fee_bearing": procedure.fee_bearing,
        "processing_days": procedure.processing_days,
        "processing_unit": procedure.processing_unit,
        "channel": r.channel,
        "applicant_type": r.applicant.type,
        "applicant_name": r.applicant.name,
        "applicant_identifier": r.applicant.identifier,
        "fees": json.dumps([f.model_dump() for f in r.fees], ensure_ascii=False),
        "status": clock.status,
        "submitted_at": submitted_at,
        "last_changed_at": db_time(clock.last_at),
        "received_at": db_time(clock.received_at),
        "due_at": db_time(clock.due_at),
        "paused_since": db_time(clock.paused_since),
        "resolved_at": db_time(clock.resolved_at),
        "returned_at": db_time(clock.returned_at),
        "on_time": clock.on_time,
        "paid_online": clock.paid_online,
        "supplement_requests": clock.supplement_requests,
    }
    return prepared


PAYMENT, STATUS_CHANGE = 0, 1


def _business_order(r: DossierRecord) -> list[tuple[datetime, int, int]]:
    """(time, kind, index) of the payments and status changes in business-time order; at the
    same instant a payment comes before a status change."""
    steps = [(p.at, PAYMENT, i) for i, p in enumerate(r.payments)]
    steps += [(h.at, STATUS_CHANGE, i) for i, h in enumerate(r.history)]
    steps.sort()  # by time, then kind, then index: the tuples' own order
    return steps


def _event_row(event: dict[str, Any]) -> Row:
    """The row `lgsp_kit.outbox.add_events` would write (the subject is the event type); its
    `created_at` is the batch's write time."""
    return {
        "event_id": event["id"],
        "subject": event["type"],
        "payload": orjson.dumps(event),
        "created_at": None,
    }


# -- write: bulk inserts


def sqlite_time(value: datetime | None) -> str | None:
    """A time as `UTCDateTime` stores it on SQLite: naive UTC text with microseconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _time_param(session: Session) -> TimeParam:
    """How a time goes to the driver: SQLite gets `UTCDateTime`'s text, psycopg the datetime."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite_time
    return lambda value: value


def write(session: Session, prepared: list[Prepared]) -> None:
    """Bulk inserts: dossiers, their ids back by MaHoSo, then history, payments and outbox."""
    if not prepared:
        return
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # SQLite's default page cache (2 MB) is far smaller than the indexes a batch touches.
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    _write_rows(conn, "dossier", [p.dossier for p in prepared])
    ids = repository.ids_by_code(session, [p.code for p in prepared])
    created_at = _time_param(session)(datetime.now(UTC))
    history: list[Row] = []
    payments: list[Row] = []
    staged: list[Row] = []
    for p in prepared:
        dossier_id = ids[p.code]
        for row in p.history:
            row["dossier_id"] = dossier_id
        for row in p.payments:
            row["dossier_id"] = dossier_id
        for row in p.events:
            row["created_at"] = created_at
        history += p.history
        payments += p.payments
        staged += p.events
    _write_rows(conn, "dossier_history", history)
    _write_rows(conn, "dossier_payment", payments)
    _write_rows(conn, outbox.name, staged)


def _write_rows(conn: Connection, table: str, rows: list[Row]) -> None:
    """Rows straight to the driver, skipping SQLAlchemy's per-value bind processing (the
    values were converted as the column types would, which `test_sync` checks): COPY on
    PostgreSQL, executemany on SQLite. The columns are the rows' keys (all rows of a table are
    built alike, with more than one column, so `itemgetter` gives tuples)."""
    if not rows:
        return
    columns = tuple(rows[0])
    values = map(itemgetter(*columns), rows)
    if conn.dialect.name == "postgresql":
        copy_rows(conn, table, columns, values)
        return
    marks = ", ".join("?" * len(columns))
    names = ", ".join(columns)
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(values))
