"""Event type → projection update, in one place. Every update is an additive upsert.

Each count lands on the business day of its fact (Asia/Ho_Chi_Minh), so late and out-of-order
events fall into the period they belong to. Counts of a batch are summed in memory first and
written as one upsert per key, twice: on the organ's row and on its level's roll-up row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_
from sqlalchemy.orm import Session

from contracts.events import (
    DocumentSent,
    DossierStatusChanged,
    DvcqgAccepted,
    DvcqgBacklog,
    Envelope,
    OrganConnectionChanged,
    OrganRegistered,
    PaymentRecorded,
    ProcedurePublished,
)
from contracts.events.dossier import DossierFacts
from lgsp_kit.db import dialect_insert, table_of
from services.reporting.models import (
    ALL_ORGANS,
    DocumentSentDay,
    DossierReceptionDay,
    DvcqgDossier,
    EventTypeCount,
    FeeDossier,
    Organ,
    OrganConnection,
    PaymentDay,
    ProcedureHalfMonth,
    ProcedureVersion,
)
from services.reporting.models import DvcqgBacklog as BacklogRow
from services.reporting.periods import half_start

RECEIVED = 2  # TrangThaiHoSo: Được tiếp nhận
RESOLVED = 9  # TrangThaiHoSo: Đã xử lý xong
ONLINE = 2  # KenhThucHien: trực tuyến

Key = tuple[Any, ...]


def _add(
    session: Session,
    model: type,
    key_names: tuple[str, ...],
    counts: Mapping[Key, Counter[str]],
) -> None:
    """Add `counts` (key → column → n) to `model`'s rows, creating missing rows."""
    if not counts:
        return
    table = table_of(model)
    columns = sorted({c for cnt in counts.values() for c in cnt})
    rows = [
        {**dict(zip(key_names, key, strict=True)), **{c: cnt.get(c, 0) for c in columns}}
        for key, cnt in sorted(counts.items())
    ]
    insert = dialect_insert(session)
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key_names),
        set_={c: table.c[c] + stmt.excluded[c] for c in columns},
    )
    session.execute(stmt, rows)


def _both(key: Key, organ_index: int) -> Iterable[Key]:
    """The organ's own key and its level's roll-up key."""
    yield key
    yield (*key[:organ_index], ALL_ORGANS, *key[organ_index + 1 :])


class BatchCounts:
    """Counts of one batch, summed by key before they are written."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.receptions: defaultdict[Key, Counter[str]] = defaultdict(Counter)
        self.procedures: defaultdict[Key, Counter[str]] = defaultdict(Counter)
        # MaHoSo → what the batch learnt about a fee-bearing dossier (row TT.1).
        self.fee_dossiers: dict[str, dict[str, Any]] = {}
        self.payments: defaultdict[Key, Counter[str]] = defaultdict(Counter)
        self.documents: defaultdict[Key, Counter[str]] = defaultdict(Counter)
        self.types: Counter[str] = Counter()
        self.last_time: dict[str, datetime] = {}

    def day(self, at: datetime) -> str:
        return at.astimezone(self.tz).date().isoformat()

    def half(self, at: datetime) -> str:
        return half_start(at.astimezone(self.tz).date())

    def fee_dossier(
        self, d: DossierFacts, *, resolved_day: str | None = None, paid_online: bool | None = None
    ) -> None:
        row = self.fee_dossiers.setdefault(
            d.code,
            {
                "code": d.code,
                "organ_level": d.organ_level,
                "organ_code": d.organ_code,
                "procedure_code": d.procedure_code,
                "resolved_day": None,
                "fee_paid": False,
                "paid_online": False,
            },
        )
        if resolved_day is not None:
            row["resolved_day"] = resolved_day
        if paid_online is not None:
            row["fee_paid"] = True
            row["paid_online"] = row["paid_online"] or paid_online

    def status_changed(self, event: DossierStatusChanged) -> None:
        d = event.data
        day = self.day(d.at)
        if d.to_status == RECEIVED:
            online = int(d.channel == ONLINE)
            key = (day, d.organ_level, d.organ_code, d.service_mode, d.channel)
            for k in _both(key, 2):
                self.receptions[k]["received"] += 1
            if d.service_mode != "none":  # row 6.2 counts online services (DVCTT) only
                pkey = (self.half(d.at), d.organ_level, d.organ_code, d.procedure_code)
                for k in _both(pkey, 2):
                    self.procedures[k]["received"] += 1
                    self.procedures[k]["online"] += online
        elif d.to_status == RESOLVED and d.fee_bearing:
            # TT.1 counts it in the period of its resolution; its payments may come later.
            self.fee_dossier(d, resolved_day=day)

    def payment(self, event: PaymentRecorded) -> None:
        d = event.data
        key = (self.day(d.paid_at), d.organ_level, d.organ_code, d.method)
        for k in _both(key, 2):
            self.payments[k]["payments"] += 1
            self.payments[k]["amount"] += d.amount
        if d.amount > 0 and d.fee_bearing:
            # A fee transaction (giao dịch phí, lệ phí), at whatever status it was made.
            online = d.method == "online"
            self.fee_dossier(d, paid_online=online)
            if online:
                pkey = (self.half(d.paid_at), d.organ_level, d.organ_code, d.procedure_code)
                for k in _both(pkey, 2):
                    self.procedures[k]["online_payments"] += 1

    def document(self, event: DocumentSent) -> None:
        d = event.data
        key = (self.day(d.sent_at), d.sender_level, d.from_organ, d.electronic)
        for k in _both(key, 2):
            self.documents[k]["sent"] += 1

    def write(self, session: Session) -> None:
        _add(
            session,
            DossierReceptionDay,
            ("day", "organ_level", "organ_code", "service_mode", "channel"),
            self.receptions,
        )
        _add(
            session,
            ProcedureHalfMonth,
            ("half_start", "organ_level", "organ_code", "procedure_code"),
            self.procedures,
        )
        _merge_fee_dossiers(session, list(self.fee_dossiers.values()))
        _add(session, PaymentDay, ("day", "organ_level", "organ_code", "method"), self.payments)
        _add(
            session,
            DocumentSentDay,
            ("day", "sender_level", "organ_code", "electronic"),
            self.documents,
        )
        _add_types(session, self.types, self.last_time)


def _merge_fee_dossiers(session: Session, rows: list[dict[str, Any]]) -> None:
    """Upsert fee-bearing dossiers: a known resolution day stays, the flags only turn on."""
    if not rows:
        return
    table = table_of(FeeDossier)
    insert = dialect_insert(session)
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={
            "resolved_day": func.coalesce(stmt.excluded.resolved_day, table.c.resolved_day),
            "fee_paid": or_(table.c.fee_paid, stmt.excluded.fee_paid),
            "paid_online": or_(table.c.paid_online, stmt.excluded.paid_online),
        },
    )
    session.execute(stmt, sorted(rows, key=lambda r: r["code"]))


def _add_types(session: Session, types: Counter[str], last: dict[str, datetime]) -> None:
    if not types:
        return
    table = table_of(EventTypeCount)
    insert = dialect_insert(session)
    stmt = insert(table)
    old, new = table.c.last_time, stmt.excluded.last_time
    stmt = stmt.on_conflict_do_update(
        index_elements=["type"],
        set_={
            "consumed": table.c.consumed + stmt.excluded.consumed,
            "last_time": case((old.is_(None), new), (new > old, new), else_=old),
        },
    )
    rows = [{"type": t, "consumed": n, "last_time": last[t]} for t, n in sorted(types.items())]
    session.execute(stmt, rows)


def _procedure(session: Session, event: ProcedurePublished) -> None:
    d = event.data
    table = table_of(ProcedureVersion)
    state = {
        "level": d.level,
        "online_mode": d.online_mode,
        "full_online_eligible": d.full_online_eligible,
        "fee_bearing": d.fee_bearing,
        "online_payment": d.online_payment,
    }
    insert = dialect_insert(session)
    stmt = insert(table).values(code=d.code, changed_at=d.changed_at, **state)
    session.execute(stmt.on_conflict_do_update(index_elements=["code", "changed_at"], set_=state))


def _organ(session: Session, event: OrganRegistered) -> None:
    d = event.data
    table = table_of(Organ)
    insert = dialect_insert(session)
    stmt = insert(table).values(
        code=d.code, level=d.level, parent_code=d.parent_code, registered_at=d.registered_at
    )
    # Registered twice (a replay from another source): the earliest registration stands.
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={
            "level": stmt.excluded.level,
            "parent_code": stmt.excluded.parent_code,
            "registered_at": func.min(table.c.registered_at, stmt.excluded.registered_at)
            if session.get_bind().dialect.name == "sqlite"
            else func.least(table.c.registered_at, stmt.excluded.registered_at),
        },
    )
    session.execute(stmt)


def _connection(session: Session, event: OrganConnectionChanged) -> None:
    d = event.data
    session.add(
        OrganConnection(
            event_id=event.id,
            code=d.code,
            level=d.level,
            system=d.system,
            connected=d.connected,
            at=d.at,
        )
    )


def _dvcqg_accepted(session: Session, event: DvcqgAccepted, tz: ZoneInfo) -> None:
    """Dossiers DVCQG holds: inserted once, a dossier told again is left as it is."""
    d = event.data
    rows = [
        {
            "code": x.code,
            "organ_level": x.organ_level,
            "organ_code": x.organ_code,
            "received_day": (
                x.received_at.astimezone(tz).date().isoformat() if x.received_at else None
            ),
            "accepted_at": d.accepted_at,
        }
        for x in d.dossiers
    ]
    insert = dialect_insert(session)
    stmt = insert(table_of(DvcqgDossier)).on_conflict_do_nothing(index_elements=["code"])
    session.execute(stmt, rows)


def _dvcqg_backlog(session: Session, event: DvcqgBacklog) -> None:
    """The latest reading wins (one delivered late does not replace a newer one)."""
    d = event.data
    table = table_of(BacklogRow)
    state = {
        "at": d.at,
        "pending": d.pending,
        "refused": d.refused,
        "oldest_change_at": d.oldest_change_at,
    }
    insert = dialect_insert(session)
    stmt = insert(table).values(id=1, **state)
    newer = stmt.excluded.at > table.c.at
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={k: case((newer, stmt.excluded[k]), else_=table.c[k]) for k in state},
    )
    session.execute(stmt)


def make_handler(tz: ZoneInfo) -> Callable[[Session, list[Envelope]], None]:
    def handle(session: Session, events: list[Envelope]) -> None:
        batch = BatchCounts(tz)
        for event in events:
            batch.types[event.type] += 1
            seen = batch.last_time.get(event.type)
            if seen is None or event.time > seen:
                batch.last_time[event.type] = event.time
            if isinstance(event, DossierStatusChanged):
                batch.status_changed(event)
            elif isinstance(event, PaymentRecorded):
                batch.payment(event)
            elif isinstance(event, DocumentSent):
                batch.document(event)
            elif isinstance(event, ProcedurePublished):
                _procedure(session, event)
            elif isinstance(event, OrganRegistered):
                _organ(session, event)
            elif isinstance(event, OrganConnectionChanged):
                _connection(session, event)
            elif isinstance(event, DvcqgAccepted):
                _dvcqg_accepted(session, event, tz)
            elif isinstance(event, DvcqgBacklog):
                _dvcqg_backlog(session, event)
        batch.write(session)
        session.flush()

    return handle
