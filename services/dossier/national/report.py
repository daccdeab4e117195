"""What reporting learns of the sync to DVCQG: two events, never one per dossier change.

- `lgsp.dossier.dvcqg_accepted`, one per sync batch: the dossiers whose first record DVCQG
  just accepted (reporting counts, per period, the dossiers DVCQG holds). It is committed
  before the batch's marks are cleared, so a dossier is never on DVCQG without it; should the
  sync stop in between, the dossier is sent again and comes again in a later event, which
  reporting counts once (by MaHoSo).
- `lgsp.dossier.dvcqg_backlog`, from `BacklogReporter`: how many dossiers wait and since when
  the oldest change waits (reporting shows how fresh DVCQG's copy is). Every
  `dvcqg_report_seconds` when it changed, every `dvcqg_report_idle_seconds` when not; it reads
  the pending marks only (an index range), not the whole table.

Both are written straight to the outbox, without the commit hooks: the relay finds them on
its next look (within a second), and the sync worker is not woken (a snapshot written while
DVCQG is down must not cut the worker's back-off short).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from contracts.events import DvcqgAccepted, DvcqgBacklog
from contracts.events.dossier import DvcqgAcceptedData, DvcqgBacklogData, DvcqgDossier
from lgsp_kit.db import Database
from lgsp_kit.leader import Leadership
from lgsp_kit.outbox import add_events
from services.dossier.dossiers.events import SOURCE
from services.dossier.models import Dossier, DvcqgSync, outbox
from services.dossier.settings import Settings

log = logging.getLogger("lgsp.dossier.dvcqg")


def record_accepted(db: Database, dossier_ids: Sequence[int]) -> None:
    """One `dvcqg_accepted` event naming the dossiers DVCQG took its first record of."""
    if not dossier_ids:
        return
    now = datetime.now(UTC)
    with db.writing(), Session(db.engine) as session:
        rows = session.execute(
            select(
                col(Dossier.code),
                col(Dossier.organ_code),
                col(Dossier.organ_level),
                col(Dossier.received_at),
            )
            .where(col(Dossier.id).in_(list(dossier_ids)))
            .order_by(col(Dossier.code))
        ).all()
        if not rows:
            return
        data = DvcqgAcceptedData(
            accepted_at=now,
            dossiers=[
                DvcqgDossier(code=c, organ_code=o, organ_level=lv, received_at=r)
                for c, o, lv, r in rows
            ],
        )
        add_events(session, outbox, [DvcqgAccepted(source=SOURCE, time=now, data=data)])
        session.commit()


Snapshot = tuple[int, int, float | None]


def read_backlog(db: Database) -> Snapshot:
    """(pending, refused among them, epoch of the oldest pending change) over pending marks."""
    t = DvcqgSync.__table__  # type: ignore[attr-defined]
    with db.reader.connect() as conn:
        pending, refused, oldest = conn.execute(
            select(func.count(), func.count(t.c.last_error), func.min(t.c.pending_since)).where(
                t.c.pending_since.is_not(None)
            )
        ).one()
    return int(pending), int(refused), oldest


def record_backlog(db: Database, snapshot: Snapshot) -> None:
    pending, refused, oldest = snapshot
    now = datetime.now(UTC)
    data = DvcqgBacklogData(
        at=now,
        pending=pending,
        refused=refused,
        oldest_change_at=datetime.fromtimestamp(oldest, UTC) if oldest is not None else None,
    )
    with db.writing(), Session(db.engine) as session:
        add_events(session, outbox, [DvcqgBacklog(source=SOURCE, time=now, data=data)])
        session.commit()


class BacklogReporter:
    """Writes `dvcqg_backlog` events while the sync runs, where it runs (`leadership`: one
    process per database)."""

    def __init__(self, db: Database, settings: Settings, leadership: Leadership) -> None:
        self.db = db
        self.settings = settings
        self.leadership = leadership
        self.written = 0
        self._last: Snapshot | None = None
        self._last_at = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dvcqg-backlog")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                if self.leadership.leader:
                    await self.report_once()
            except Exception:  # the database is busy or down: try again at the next tick
                log.exception("writing the DVCQG backlog event")
            await asyncio.sleep(self.settings.dvcqg_report_seconds)

    async def report_once(self) -> bool:
        """Write the backlog if it changed or the last one is old; whether one was written."""
        snapshot = await asyncio.to_thread(read_backlog, self.db)
        idle = time.monotonic() - self._last_at >= self.settings.dvcqg_report_idle_seconds
        if snapshot == self._last and not idle:
            return False
        await asyncio.to_thread(record_backlog, self.db, snapshot)
        self._last, self._last_at = snapshot, time.monotonic()
        self.written += 1
        return True
