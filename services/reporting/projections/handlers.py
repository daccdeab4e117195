"""Event type → projection update, in one place. Every update is an additive upsert."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from contracts.events import DossierSubmitted, Envelope
from lgsp_kit.db import dialect_insert
from services.reporting.models import DossierDayCount, EventTypeCount


def _add(session: Session, model: type, keys: dict[str, object], column: str, n: int) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(session)
    stmt = insert(table).values(**keys, **{column: n})
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={column: table.c[column] + n})
    session.execute(stmt)


def make_handler(tz: ZoneInfo) -> Callable[[Session, list[Envelope]], None]:
    def handle(session: Session, events: list[Envelope]) -> None:
        dossier_days: Counter[tuple[str, str, str, int]] = Counter()
        types: Counter[str] = Counter()
        for event in events:
            types[event.type] += 1
            if isinstance(event, DossierSubmitted):
                d = event.data
                day = d.submitted_at.astimezone(tz).date().isoformat()
                dossier_days[(day, d.organ_level, d.service_mode, d.channel)] += 1
        for (day, level, mode, channel), n in dossier_days.items():
            _add(
                session,
                DossierDayCount,
                {"day": day, "organ_level": level, "service_mode": mode, "channel": channel},
                "submitted",
                n,
            )
        for type_, n in types.items():
            _add(session, EventTypeCount, {"type": type_}, "consumed", n)

    return handle
