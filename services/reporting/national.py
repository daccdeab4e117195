"""The sync of dossiers to DVCQG (Cổng Dịch vụ công quốc gia), beside Phụ lục II.

Complete: of the dossiers received in the period (NgayTiepNhan, the dossiers rows 6.2–6.4
count, with the same `level` and `organ` filters), how many DVCQG holds; the dossier service
tells reporting once per sync batch which dossiers DVCQG took (`lgsp.dossier.dvcqg_accepted`).
A dossier refused at reception reaches DVCQG too but is no dossier of a period here.

Fresh: the dossier service's sync backlog as last read (`lgsp.dossier.dvcqg_backlog`, every few
seconds while it changes): dossiers waiting, and when the oldest change DVCQG has not got was
recorded. It is platform-wide, not per period: the change waiting longest may be of any
dossier. `as_of` says how old the reading is (the dossier service stopped, it is not renewed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from services.reporting import repository as repo
from services.reporting.periods import Period
from services.reporting.schemas import DvcqgBacklogOut, DvcqgSyncReport, heading
from services.reporting.service import ratio, subtree


def backlog(session: Session, *, now: datetime | None = None) -> DvcqgBacklogOut | None:
    row = repo.dvcqg_backlog(session.connection())
    if row is None:
        return None
    now = now or datetime.now(UTC)
    oldest = row.oldest_change_at
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None and row.pending else 0.0
    return DvcqgBacklogOut(
        as_of=row.at,
        pending=row.pending,
        refused=row.refused,
        oldest_unsynced_change_at=oldest,
        lag_seconds=round(lag, 3),
    )


def build(
    session: Session,
    period: Period,
    *,
    tz: ZoneInfo,
    level: str | None = None,
    organ: str | None = None,
) -> DvcqgSyncReport:
    """The period's dossiers synced to DVCQG, of those received, and the sync's backlog."""
    conn = session.connection()
    scope = repo.Scope(level=level, organs=subtree(conn, organ) if organ else None)
    received = sum(repo.receptions(conn, period, scope).values())
    synced = repo.dvcqg_dossiers(conn, period, scope)
    return DvcqgSyncReport(
        **heading(period, tz=tz, level=level, organ=organ),
        received=received,
        synced=synced,
        value=ratio(synced, received),
        backlog=backlog(session),
    )
