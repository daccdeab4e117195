"""Every dossier change forwarded to DVCQG through the gateway, off the request path.

A change (a history entry or a payment) marks its dossier pending in `dvcqg_sync`, in the
change's own transaction (triggers, `services/dossier/models.py`): whoever writes it, nothing
is missed, and nothing is lost while DVCQG is down: the mark stays until DVCQG has the dossier
as it was read. The worker takes pending dossiers oldest first and sends each one's record as
it stands now (`DongBoHoSoMC`; `isUpdating` "False" until DVCQG has it, and "True" after), then
its history entries not sent yet (`CapNhatTienDoHoSoMC`), in order. A dossier is in one call
at a time, so its order holds; the record always being the whole current state, a retry or a
resend is harmless (idempotent by MaHoSo).

DVCQG's answers: "0" done; "-3" (đã tồn tại) to a create: sent again as an update; "-2" (not
there) to an update: sent again as a create; "-1" (invalid) or another code in a batch: each
dossier alone, and a dossier refused alone waits, doubling, before its next try. No answer, an
HTTP error (429, 5xx: the national side down) or a refused token: the whole worker waits,
doubling from `dvcqg_retry_seconds` to `dvcqg_retry_max_seconds`, and tries again.

One worker per database: on PostgreSQL with several replicas, set `DOSSIER_DVCQG_GATEWAY_URL`
on one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlmodel import Session

from contracts import reference
from lgsp_kit.db import Database, table_of
from lgsp_kit.db import rows as core_rows
from lgsp_kit.leader import Leadership
from services.dossier.models import Dossier, DossierHistory, DossierPayment, DvcqgSync, Procedure
from services.dossier.national import mapping, report
from services.dossier.settings import Settings

log = logging.getLogger("lgsp.dossier.dvcqg")
SYNC = "/dvcqg/DongBoHoSoMC"
PROGRESS = "/dvcqg/CapNhatTienDoHoSoMC"
DONE, INVALID, NOT_THERE, ALREADY_THERE = "0", "-1", "-2", "-3"
ABOUT_RECORDS = frozenset({INVALID, NOT_THERE, ALREADY_THERE})
ERROR_LIMIT = 500
# Rows a CapNhatTienDoHoSoMC call carries at most (the portal's limit, as the simulator has it).
PROGRESS_ROWS = 100


class Unavailable(Exception):
    """DVCQG (or the gateway on the way) gave no usable answer: try everything again later."""


@dataclass
class Item:
    """A pending dossier as read: what to send, and the mark it clears once sent."""

    dossier_id: int
    code: str
    changes: int
    read_at: float
    on_dvcqg: bool
    record: dict[str, Any] | None
    rows: list[dict[str, str]] = field(default_factory=list)
    last_step: int = 0


class Gateway:
    """The gateway's `dvcqg` context, as the dossier service's consumer (client credentials)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(
            base_url=settings.dvcqg_gateway_url.rstrip("/"),
            timeout=settings.dvcqg_timeout_seconds,
        )
        self._token: str | None = None
        self._until = 0.0

    async def close(self) -> None:
        await self.client.aclose()

    def _credentials(self) -> tuple[str, str]:
        s = self.settings
        if s.dvcqg_client_id:
            return s.dvcqg_client_id, s.dvcqg_client_secret.get_secret_value()
        path = s.dvcqg_credentials_file()
        try:
            saved = json.loads(path.read_text())
            return str(saved["client_id"]), str(saved["client_secret"])
        except (OSError, ValueError, KeyError) as exc:
            raise Unavailable(f"no gateway credentials for the DVCQG sync ({path})") from exc

    async def _bearer(self) -> str:
        if self._token is None or time.monotonic() >= self._until:
            try:
                resp = await self.client.post(
                    "/token",
                    data={"grant_type": "client_credentials"},
                    auth=self._credentials(),
                )
            except httpx.HTTPError as exc:
                raise Unavailable(f"the gateway's /token: {exc!r}") from exc
            if resp.status_code != 200:
                raise Unavailable(f"the gateway's /token answered {resp.status_code}")
            body = resp.json()
            self._token = str(body["access_token"])
            self._until = time.monotonic() + float(body.get("expires_in", 300)) / 2
        return self._token

    async def call(self, path: str, body: list[Any], **params: str) -> dict[str, Any]:
        """DVCQG's `{error_code, message}` answer; `Unavailable` when there is none."""
        payload = orjson.dumps(body)
        for _ in range(2):
            headers = {
                "Authorization": f"Bearer {await self._bearer()}",
                "Content-Type": "application/json",
            }
            try:
                resp = await self.client.post(path, content=payload, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise Unavailable(f"{path}: {exc!r}") from exc
            if resp.status_code == 401:
                self._token = None  # expired or the key rotated: a new token, once
                continue
            if resp.status_code != 200:
                raise Unavailable(f"{path} answered HTTP {resp.status_code}: {resp.text[:200]}")
            try:
                answer = resp.json()
                return {"error_code": str(answer["error_code"]), "message": str(answer["message"])}
            except (ValueError, KeyError, TypeError) as exc:
                raise Unavailable(f"{path} answered no DVCQG answer: {resp.text[:200]}") from exc
        raise Unavailable(f"{path}: the gateway refused the sync's token")


class SyncWorker:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.gateway = Gateway(settings)
        self.sent = {"records": 0, "progress": 0, "refused": 0, "unavailable": 0}
        # One process of those sharing the database syncs: the one holding the sync's lock.
        self.leadership = Leadership(db, "lgsp.dvcqg-sync", what="the DVCQG sync")
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    # -- the loop

    def notify(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.db.commit_hooks.append(self.notify)
        self._task = asyncio.create_task(self._run(), name="dvcqg-sync")

    async def stop(self) -> None:
        if self.notify in self.db.commit_hooks:
            self.db.commit_hooks.remove(self.notify)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.gateway.close()
        await asyncio.to_thread(self.leadership.resign)

    async def _run(self) -> None:
        delay = self.settings.dvcqg_retry_seconds
        while True:
            self._wake.clear()
            if not await asyncio.to_thread(self.leadership.lead):
                # Another process syncs: wait for its lock to come free.
                await self._sleep(self.settings.dvcqg_poll_seconds)
                continue
            try:
                synced = await self.run_once()
            except Unavailable as exc:
                self.sent["unavailable"] += 1
                log.warning("DVCQG sync waits %.1f s: %s", delay, exc)
                await self._sleep(delay * (0.8 + 0.4 * random.random()))
                delay = min(delay * 2, self.settings.dvcqg_retry_max_seconds)
                continue
            except Exception:
                log.exception("DVCQG sync failed")
                await self._sleep(delay)
                delay = min(delay * 2, self.settings.dvcqg_retry_max_seconds)
                continue
            delay = self.settings.dvcqg_retry_seconds
            if not synced:
                await self._sleep(self.settings.dvcqg_poll_seconds)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def run_once(self) -> int:
        """One batch of pending dossiers; how many were taken."""
        ids = await asyncio.to_thread(self._due)
        if not ids:
            return 0
        items = await asyncio.to_thread(self._read, ids)
        await self.sync(items)
        return len(items)

    # -- sending

    async def sync(self, items: list[Item]) -> None:
        ready: list[Item] = []
        for item in items:
            if item.record is None:
                # Before its reception decision DVCQG takes nothing of it (mapping.record).
                await asyncio.to_thread(self._done, item, False)
        creates = [i for i in items if i.record is not None and not i.on_dvcqg]
        updates = [i for i in items if i.record is not None and i.on_dvcqg]
        for group, updating in ((creates, "False"), (updates, "True")):
            if not group:
                continue
            answer = await self.gateway.call(SYNC, [i.record for i in group], isUpdating=updating)
            if answer["error_code"] == DONE:
                ready += group
            elif answer["error_code"] in ABOUT_RECORDS:
                ready += [i for i in group if await self._one(i, updating)]
            else:
                raise Unavailable(f"DongBoHoSoMC: {answer}")
        self.sent["records"] += len(ready)
        # Reporting learns which dossiers DVCQG now holds, before their marks are cleared.
        first = {id(i) for i in creates}
        accepted = [i.dossier_id for i in ready if id(i) in first]
        await asyncio.to_thread(report.record_accepted, self.db, accepted)
        await self._progress(ready)

    async def _one(self, item: Item, updating: str) -> bool:
        answer = await self.gateway.call(SYNC, [item.record], isUpdating=updating)
        code = answer["error_code"]
        if code == ALREADY_THERE and updating == "False":
            answer = await self.gateway.call(SYNC, [item.record], isUpdating="True")
        elif code == NOT_THERE and updating == "True":
            answer = await self.gateway.call(SYNC, [item.record], isUpdating="False")
        if answer["error_code"] == DONE:
            item.on_dvcqg = True
            return True
        if answer["error_code"] not in ABOUT_RECORDS:
            raise Unavailable(f"DongBoHoSoMC: {answer}")
        await asyncio.to_thread(self._failed, item, f"DongBoHoSoMC: {answer['message']}")
        return False

    async def _progress(self, items: list[Item]) -> None:
        """The items' fresh progress rows, whole items packed into calls of at most
        `PROGRESS_ROWS` rows (an item with more goes alone, in calls of that size, in order);
        a call refused for its records is retried item by item."""
        for item in items:
            item.on_dvcqg = True
        done = [i for i in items if not i.rows]
        for pack in _packs([i for i in items if i.rows]):
            rows = [r for i in pack for r in i.rows]
            answer = await self._send_rows(rows)
            if answer["error_code"] == DONE:
                self.sent["progress"] += len(rows)
                done += pack
                continue
            if answer["error_code"] not in ABOUT_RECORDS:
                raise Unavailable(f"CapNhatTienDoHoSoMC: {answer}")
            for item in pack:
                if len(pack) > 1:
                    answer = await self._send_rows(item.rows)
                if answer["error_code"] == DONE:
                    self.sent["progress"] += len(item.rows)
                    done.append(item)
                elif answer["error_code"] in ABOUT_RECORDS:
                    await asyncio.to_thread(
                        self._failed, item, f"CapNhatTienDoHoSoMC: {answer['message']}"
                    )
                else:
                    raise Unavailable(f"CapNhatTienDoHoSoMC: {answer}")
        await asyncio.to_thread(self._done_all, done)

    async def _send_rows(self, rows: list[dict[str, str]]) -> dict[str, Any]:
        answer: dict[str, Any] = {"error_code": DONE, "message": ""}
        for start in range(0, len(rows), PROGRESS_ROWS):
            answer = await self.gateway.call(PROGRESS, rows[start : start + PROGRESS_ROWS])
            if answer["error_code"] != DONE:
                break
        return answer

    # -- storage

    def _due(self) -> list[int]:
        t = sync_table()
        now = time.time()
        with self.db.reader.connect() as conn:
            return list(
                conn.execute(
                    select(t.c.dossier_id)
                    .where(
                        and_(
                            t.c.pending_since.is_not(None),
                            or_(t.c.next_attempt.is_(None), t.c.next_attempt <= now),
                        )
                    )
                    .order_by(t.c.pending_since, t.c.dossier_id)
                    .limit(self.settings.dvcqg_batch)
                ).scalars()
            )

    def _read(self, ids: list[int]) -> list[Item]:
        """The pending dossiers' records and fresh progress rows, read in one query a table,
        as Core rows: model instances (identity map, state, pydantic's private attributes)
        had cost a third of the worker's CPU."""
        tz = self.settings.zone
        organs = reference.organs()
        items = []
        with Session(self.db.reader) as session:
            read_at = time.time()
            mark_t, dossier_t, procedure_t = (table_of(m) for m in (DvcqgSync, Dossier, Procedure))
            marks = {
                m.dossier_id: m
                for m in core_rows(session, select(mark_t).where(mark_t.c.dossier_id.in_(ids)))
            }
            dossiers = {
                d.id: d
                for d in core_rows(session, select(dossier_t).where(dossier_t.c.id.in_(ids)))
            }
            codes = {d.procedure_code for d in dossiers.values()}
            procedures = {
                p.code: p
                for p in core_rows(
                    session, select(procedure_t).where(procedure_t.c.code.in_(codes))
                )
            }
            steps: dict[int, list[mapping.Step]] = {i: [] for i in ids}
            history = table_of(DossierHistory)
            for h in core_rows(
                session,
                select(history).where(history.c.dossier_id.in_(ids)).order_by(history.c.id),
            ):
                steps[h.dossier_id].append(
                    mapping.Step(h.id or 0, h.from_status, h.to_status, h.at, h.actor, h.note)
                )
            online: dict[int, list[int | None]] = {i: [] for i in ids}
            payments = table_of(DossierPayment)
            for p in core_rows(
                session,
                select(payments).where(payments.c.dossier_id.in_(ids)).order_by(payments.c.id),
            ):
                if p.method == "online":
                    online[p.dossier_id].append(p.online_gateway)
            for dossier_id in ids:
                mark = marks.get(dossier_id)
                dossier = dossiers.get(dossier_id)
                if mark is None or dossier is None:
                    continue
                procedure = procedures.get(dossier.procedure_code)
                organ = organs.get(dossier.organ_code)
                facts = mapping.Facts(
                    code=dossier.code,
                    procedure_code=dossier.procedure_code,
                    procedure_name=procedure.name if procedure else dossier.procedure_code,
                    procedure_field=procedure.field if procedure else "",
                    organ_name=organ.name if organ else dossier.organ_code,
                    channel=dossier.channel,
                    applicant_type=dossier.applicant_type,
                    applicant_name=dossier.applicant_name,
                    applicant_identifier=dossier.applicant_identifier,
                    fees=dossier.fees,
                    status=dossier.status,
                    submitted_at=dossier.submitted_at,
                    received_at=dossier.received_at,
                    due_at=dossier.due_at,
                    resolved_at=dossier.resolved_at,
                    returned_at=dossier.returned_at,
                    online_payments=online[dossier_id],
                )
                record = mapping.record(facts, steps[dossier_id], tz)
                fresh = (
                    [s for s in steps[dossier_id] if s.id > mark.progress_sent] if record else []
                )
                items.append(
                    Item(
                        dossier_id=dossier_id,
                        code=dossier.code,
                        changes=mark.changes,
                        read_at=read_at,
                        on_dvcqg=mark.on_dvcqg,
                        record=record,
                        rows=mapping.progress(dossier.code, fresh, tz),
                        last_step=fresh[-1].id if fresh else mark.progress_sent,
                    )
                )
        return items

    def _done_all(self, items: list[Item], sent: bool = True) -> None:
        """Clear the marks in one statement run for each item, each unless its dossier changed
        after the read (its `changes` moved on: then still pending, since the read)."""
        if not items:
            return
        t = sync_table()
        values: dict[str, Any] = {
            "attempts": 0,
            "next_attempt": None,
            "last_error": None,
            "pending_since": case(
                (t.c.changes == bindparam("read_changes"), None), else_=bindparam("read_at")
            ),
        }
        if sent:
            values.update(
                on_dvcqg=True, progress_sent=bindparam("last_step"), synced_at=datetime.now(UTC)
            )
        statement = update(t).where(t.c.dossier_id == bindparam("id")).values(**values)
        rows = [
            {
                "id": i.dossier_id,
                "read_changes": i.changes,
                "read_at": i.read_at,
                "last_step": i.last_step,
            }
            for i in items
        ]
        with self.db.writing(), self.db.engine.begin() as conn:
            conn.execute(statement, rows)

    def _done(self, item: Item, sent: bool) -> None:
        """Clear the mark, unless the dossier changed after it was read."""
        self._done_all([item], sent)

    def _failed(self, item: Item, error: str) -> None:
        t = sync_table()
        with self.db.writing(), self.db.engine.begin() as conn:
            attempts = conn.execute(
                select(t.c.attempts).where(t.c.dossier_id == item.dossier_id)
            ).scalar_one()
            wait = min(
                self.settings.dvcqg_retry_seconds * 2**attempts,
                self.settings.dvcqg_retry_max_seconds,
            )
            conn.execute(
                update(t)
                .where(t.c.dossier_id == item.dossier_id)
                .values(
                    attempts=attempts + 1,
                    next_attempt=time.time() + wait,
                    last_error=error[:ERROR_LIMIT],
                    on_dvcqg=item.on_dvcqg,
                )
            )
        self.sent["refused"] += 1
        log.warning("DVCQG refused %s (attempt %d): %s", item.code, attempts + 1, error)

    def backlog(self) -> tuple[int, float | None, int]:
        """Dossiers pending, the epoch of the oldest pending change, and those refused."""
        t = sync_table()
        with self.db.reader.connect() as conn:
            count, oldest, failing = conn.execute(
                select(
                    func.count(t.c.pending_since),
                    func.min(t.c.pending_since),
                    func.count(t.c.last_error),
                )
            ).one()
        return int(count), oldest, int(failing)


def _packs(items: list[Item]) -> Iterator[list[Item]]:
    """Whole items, in order, in packs of at most `PROGRESS_ROWS` rows (a bigger item alone)."""
    pack: list[Item] = []
    size = 0
    for item in items:
        if pack and size + len(item.rows) > PROGRESS_ROWS:
            yield pack
            pack, size = [], 0
        pack.append(item)
        size += len(item.rows)
    if pack:
        yield pack


def sync_table() -> Any:
    return DvcqgSync.__table__  # type: ignore[attr-defined]


class SyncCollector(Collector):
    """`lgsp_dvcqg_sync_backlog{app}`, `lgsp_dvcqg_sync_lag_seconds{app}`,
    `lgsp_dvcqg_sync_refused{app}` and `lgsp_dvcqg_sync_total{app,kind}`."""

    def __init__(self, sync: SyncWorker, app_name: str) -> None:
        self.sync = sync
        self.app_name = app_name

    def collect(self) -> Iterator[Metric]:
        count, oldest, failing = self.sync.backlog()
        backlog = GaugeMetricFamily(
            "lgsp_dvcqg_sync_backlog",
            "Dossiers with a change DVCQG has not got yet",
            labels=["app"],
        )
        backlog.add_metric([self.app_name], count)
        yield backlog
        lag = GaugeMetricFamily(
            "lgsp_dvcqg_sync_lag_seconds",
            "Age of the oldest dossier change DVCQG has not got (0 when none)",
            labels=["app"],
        )
        lag.add_metric([self.app_name], max(0.0, time.time() - oldest) if oldest else 0.0)
        yield lag
        refused = GaugeMetricFamily(
            "lgsp_dvcqg_sync_refused",
            "Dossiers DVCQG refused at their last try (waiting to be tried again)",
            labels=["app"],
        )
        refused.add_metric([self.app_name], failing)
        yield refused
        total = CounterMetricFamily(
            "lgsp_dvcqg_sync",
            "DVCQG sync outcomes: records and progress rows sent, refusals, waits",
            labels=["app", "kind"],
        )
        for kind, value in self.sync.sent.items():
            total.add_metric([self.app_name, kind], value)
        yield total
