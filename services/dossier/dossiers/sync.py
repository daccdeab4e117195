"""Batch sync of whole dossier records (DongBoHoSoMC).

Each record is validated on its own and replayed through the same rules as the interactive
endpoints, so a synced record emits exactly the events its history would have emitted live:
submitted, then its status changes and payments in business-time order (a payment at the same
instant as a status change counts first). The whole batch is one transaction with bulk inserts.

Idempotent on MaHoSo: a record already stored with the same content is `ok` with a note and
emits nothing; a record whose MaHoSo is stored with other content is refused (sync never
overwrites; later progress goes through the status and payment endpoints). A MaHoSo repeated
inside one batch is refused after its first occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import insert
from sqlmodel import Session, col, select

from contracts import reference
from contracts.events import Envelope
from lgsp_kit.errors import ProblemError
from lgsp_kit.outbox import add_events
from services.dossier.dossiers import events, repository
from services.dossier.dossiers.lifecycle import (
    SUBMITTED,
    Clock,
    apply_status,
    check_payment,
    check_time,
)
from services.dossier.dossiers.schemas import DossierRecord, SyncResponse, SyncResult
from services.dossier.dossiers.service import EPOCH, check_payment_allowed
from services.dossier.models import Dossier, DossierHistory, DossierPayment, Procedure, outbox

SYNC_ACTOR = "dong-bo"


class RecordRefused(Exception):
    pass


@dataclass
class Prepared:
    index: int
    record: DossierRecord
    row: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(p) for p in e["loc"]) or "record"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


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


def _prepare(
    index: int,
    r: DossierRecord,
    procedure: Procedure | None,
    *,
    caller: str,
    now: datetime,
    tz: ZoneInfo,
) -> Prepared:
    """Replay one record through the rules; raise what refuses it."""
    if procedure is None:
        raise RecordRefused(f"unknown procedure {r.procedure_code!r}")
    organ = reference.organs().get(r.organ_code)
    if organ is None:
        raise RecordRefused(f"unknown organ {r.organ_code!r}")
    check_time(r.submitted_at, not_before=EPOCH, now=now, field="submitted_at")
    row: dict[str, Any] = {
        "code": r.code,
        "procedure_code": procedure.code,
        "organ_code": organ.code,
        "organ_level": organ.level,
        "service_mode": procedure.online_mode,
        "fee_bearing": procedure.fee_bearing,
        "processing_days": procedure.processing_days,
        "channel": r.channel,
        "applicant_type": r.applicant.type,
        "applicant_name": r.applicant.name,
        "applicant_identifier": r.applicant.identifier,
        "fees": [f.model_dump() for f in r.fees],
    }
    facts = {k: row[k] for k in events.FACT_FIELDS}
    out = Prepared(index, r, row)
    out.history.append(
        {
            "from_status": None,
            "to_status": SUBMITTED,
            "at": r.submitted_at,
            "actor": caller,
            "note": None,
        }
    )
    out.events.append(events.submitted(facts, r.submitted_at))
    clock = Clock(
        status=SUBMITTED,
        submitted_at=r.submitted_at,
        last_at=r.submitted_at,
        processing_days=procedure.processing_days,
    )
    # Business-time order; at the same instant a payment comes before a status change.
    steps: list[tuple[datetime, int, int]] = [(p.at, 0, i) for i, p in enumerate(r.payments)]
    steps += [(h.at, 1, i) for i, h in enumerate(r.history)]
    steps.sort(key=lambda s: (s[0], s[1], s[2]))
    for _, kind, i in steps:
        if kind == 0:
            p = r.payments[i]
            where = f"payments[{i}]"
            try:
                check_payment(clock, p.at, now=now)
                check_payment_allowed(procedure.code, procedure.fee_bearing, procedure, p.method)
            except ProblemError as exc:
                raise RecordRefused(f"{where}: {exc.detail}") from exc
            clock.paid_online = clock.paid_online or p.method == "online"
            out.payments.append(
                {
                    "amount": p.amount,
                    "method": p.method,
                    "online_gateway": p.online_gateway,
                    "paid_at": p.at,
                }
            )
            out.events.append(
                events.payment_recorded(facts, p.amount, p.method, p.online_gateway, p.at)
            )
        else:
            h = r.history[i]
            try:
                change = apply_status(clock, h.status, h.at, now=now, tz=tz)
            except ProblemError as exc:
                raise RecordRefused(f"history[{i}]: {exc.detail}") from exc
            out.history.append(
                {
                    "from_status": change.from_status,
                    "to_status": h.status,
                    "at": h.at,
                    "actor": h.actor,
                    "note": h.note,
                }
            )
            out.events.append(events.status_changed(facts, change))
    row.update(
        status=clock.status,
        submitted_at=r.submitted_at,
        last_changed_at=clock.last_at,
        received_at=clock.received_at,
        due_at=clock.due_at,
        paused_since=clock.paused_since,
        resolved_at=clock.resolved_at,
        returned_at=clock.returned_at,
        on_time=clock.on_time,
        paid_online=clock.paid_online,
    )
    return out


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


def sync(
    session: Session, raw_records: Sequence[Any], *, tz: ZoneInfo, caller: str
) -> SyncResponse:
    now = datetime.now(UTC)
    results: list[SyncResult | None] = [None] * len(raw_records)
    records: dict[str, tuple[int, DossierRecord]] = {}
    for i, raw in enumerate(raw_records):
        code = raw.get("code") if isinstance(raw, dict) else None
        code = code if isinstance(code, str) else None
        try:
            r = DossierRecord.model_validate(raw)
        except ValidationError as exc:
            results[i] = SyncResult(code=code, ok=False, error=_validation_message(exc))
            continue
        if r.code in records:
            first = records[r.code][0]
            results[i] = SyncResult(
                code=r.code,
                ok=False,
                error=f"MaHoSo repeated in this batch (first at record {first})",
            )
            continue
        records[r.code] = (i, r)
    existing = repository.by_codes(session, records)
    if existing:
        same = _compare_existing(session, existing, {c: records[c][1] for c in existing})
        for code, equal in same.items():
            i = records.pop(code)[0]
            results[i] = (
                SyncResult(code=code, ok=True, note="already present, unchanged")
                if equal
                else SyncResult(
                    code=code,
                    ok=False,
                    error="MaHoSo already present with other content; sync never overwrites",
                )
            )
    procedures = _procedures(session, {r.procedure_code for _, r in records.values()})
    prepared: list[Prepared] = []
    for i, r in records.values():
        try:
            prepared.append(
                _prepare(i, r, procedures.get(r.procedure_code), caller=caller, now=now, tz=tz)
            )
        except (RecordRefused, ProblemError) as exc:
            detail = exc.detail if isinstance(exc, ProblemError) else str(exc)
            results[i] = SyncResult(code=r.code, ok=False, error=detail)
    _insert(session, prepared)
    for p in prepared:
        results[p.index] = SyncResult(code=p.record.code, ok=True)
    final = [r for r in results if r is not None]
    assert len(final) == len(raw_records)
    unchanged = sum(1 for r in final if r.ok and r.note)
    return SyncResponse(
        results=final,
        created=len(prepared),
        unchanged=unchanged,
        failed=sum(1 for r in final if not r.ok),
    )


def _procedures(session: Session, codes: set[str]) -> dict[str, Procedure]:
    if not codes:
        return {}
    stmt = select(Procedure).where(col(Procedure.code).in_(sorted(codes)))
    return {p.code: p for p in session.exec(stmt)}


def _insert(session: Session, prepared: list[Prepared]) -> None:
    """Bulk inserts: dossiers (ids back by MaHoSo), then history, payments and the outbox."""
    if not prepared:
        return
    dossier_table = Dossier.__table__  # type: ignore[attr-defined]
    rows = [p.row for p in prepared]
    returned = session.execute(
        insert(dossier_table).returning(dossier_table.c.id, dossier_table.c.code), rows
    )
    ids = {code: id_ for id_, code in returned}
    history: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    staged: list[Envelope] = []
    for p in prepared:
        dossier_id = ids[p.record.code]
        history.extend({**h, "dossier_id": dossier_id} for h in p.history)
        payments.extend({**x, "dossier_id": dossier_id} for x in p.payments)
        staged.extend(p.events)
    session.execute(insert(DossierHistory.__table__), history)  # type: ignore[attr-defined]
    if payments:
        session.execute(insert(DossierPayment.__table__), payments)  # type: ignore[attr-defined]
    add_events(session, outbox, staged)
