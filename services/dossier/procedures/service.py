"""The procedures catalogue (danh mục TTHC): every create or change publishes its whole state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from contracts import reference
from contracts.events import ProcedurePublished
from contracts.events.dossier import ProcedurePublishedData
from lgsp_kit.db import dialect_insert, table_of
from lgsp_kit.errors import Conflict, NotFound, invalid
from lgsp_kit.fields import in_display_zone
from lgsp_kit.outbox import add_events
from lgsp_kit.paging import TEXT
from lgsp_kit.reads import rows, shapes
from services.dossier.dossiers.events import SOURCE
from services.dossier.models import Procedure, outbox
from services.dossier.procedures.schemas import ProcedureIn, ProcedureOut, ProcedurePage

CLOCK_SKEW = timedelta(seconds=60)
FIELDS = (
    "name",
    "field",
    "level",
    "online_mode",
    "full_online_eligible",
    "fee_bearing",
    "online_payment",
    "processing_days",
    "processing_unit",
)
# ProcedurePublished predates the unit: its schema stays as published (a new field would be a
# breaking change of the event); `processing_days` is described there as in the procedure's unit.
EVENT_FIELDS = tuple(f for f in FIELDS if f != "processing_unit")


def published(p: Procedure) -> ProcedurePublished:
    return ProcedurePublished(
        source=SOURCE,
        subject=p.code,
        time=p.updated_at,
        data=ProcedurePublishedData(
            code=p.code, changed_at=p.updated_at, **{f: getattr(p, f) for f in EVENT_FIELDS}
        ),
    )


def seed_demo_catalogue(session: Session) -> int:
    """Add the demo procedures the catalogue lacks (never overwrites); returns how many."""
    now = datetime.now(UTC)
    insert = dialect_insert(session)
    table = table_of(Procedure)
    rows = [{**p.model_dump(), "updated_at": now} for p in reference.procedures()]
    # Concurrent replicas may seed at once: only the rows this one inserted are announced.
    stmt = insert(table).values(rows).on_conflict_do_nothing().returning(table.c.code)
    added = set(session.execute(stmt).scalars())
    fresh = [Procedure(**r) for r in rows if r["code"] in added]
    add_events(session, outbox, [published(p) for p in fresh])
    return len(fresh)


def to_out(p: Procedure | Row[Any]) -> ProcedureOut:
    return ProcedureOut(
        code=p.code,
        updated_at=p.updated_at,
        **{f: getattr(p, f) for f in FIELDS},
    )


@dataclass(frozen=True)
class PutResult:
    procedure: ProcedureOut
    created: bool


def put(session: Session, code: str, body: ProcedureIn) -> PutResult:
    """Create or replace; an unchanged procedure publishes nothing."""
    current = session.exec(
        select(Procedure).where(col(Procedure.code) == code).with_for_update()
    ).first()
    new_state = body.model_dump(exclude={"at"})
    if current is not None and all(getattr(current, f) == new_state[f] for f in FIELDS):
        return PutResult(to_out(current), created=False)
    now = datetime.now(UTC)
    at = body.at or now
    # The same rules and codes as a dossier's status changes.
    if at > now + CLOCK_SKEW:
        raise invalid("at", "in the future", detail="at is in the future", code="time_in_future")
    if current is not None and at < current.updated_at:
        last = in_display_zone(current.updated_at)
        # The request is well formed; the procedure's state is what refuses it.
        raise Conflict(
            f"at is before the procedure's last change ({last})",
            code="time_goes_backwards",
        )
    created = current is None
    procedure = current or Procedure(code=code, updated_at=at, **new_state)
    for f in FIELDS:
        setattr(procedure, f, new_state[f])
    procedure.updated_at = at
    session.add(procedure)
    add_events(session, outbox, [published(procedure)])
    session.flush()
    return PutResult(to_out(procedure), created=created)


def get(session: Session, code: str) -> ProcedureOut:
    procedure = session.get(Procedure, code)
    if procedure is None:
        raise NotFound(f"no procedure {code!r}", code="procedure_not_found")
    return to_out(procedure)


@dataclass(frozen=True)
class ProcedureFilter:
    field: str | None = None
    level: str | None = None
    online_mode: str | None = None
    fee_bearing: bool | None = None
    online_payment: bool | None = None
    full_online_eligible: bool | None = None


# The filters of the list, each a column of the same name.
FILTERS = ("field", "level", "online_mode", "fee_bearing", "online_payment", "full_online_eligible")


@shapes
def _page_statement(given: tuple[str, ...], after: bool) -> Select[Any]:
    """The list's select with the filters `given` and, with `after`, a cursor."""
    table = table_of(Procedure)
    stmt = core_select(table)
    for name in given:
        stmt = stmt.where(table.c[name] == bindparam(name))
    if after:
        stmt = stmt.where(table.c.code > bindparam("after"))
    return stmt.order_by(table.c.code).limit(bindparam("limit"))


def search(
    session: Session, f: ProcedureFilter, *, cursor: str | None, limit: int
) -> ProcedurePage:
    """Procedures in code order after `cursor` (the last code of the previous page)."""
    values: dict[str, Any] = {n: getattr(f, n) for n in FILTERS if getattr(f, n) is not None}
    given = tuple(values)
    after = TEXT.key(cursor)
    values.update(after=after, limit=limit + 1)
    found = rows(session, _page_statement(given, after is not None), values)
    page, next_cursor = TEXT.page(found, limit, key=lambda p: str(p.code))
    return ProcedurePage(items=[to_out(p) for p in page], next_cursor=next_cursor)
