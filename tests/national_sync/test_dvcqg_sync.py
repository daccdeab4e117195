"""The dossier service's sync to DVCQG, end to end: the dossier service (in process), the
gateway and the national simulator (each on a port of its own). Dossiers submitted and moved
through statuses appear at `GET /dvcqg/hoso/{MaHoSo}` with their last status and their whole
progress; with the national side down, then answering errors, nothing is lost, nothing is
there twice, and every record at DVCQG equals the province's once it is back."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from contracts.events import parse_event
from gateway.main import create_app as create_gateway
from lgsp_kit.db import Database
from lgsp_kit.natsserver import free_port
from services.dossier.main import create_app as create_dossier
from services.dossier.models import outbox
from services.dossier.settings import Settings as DossierSettings
from services.national.main import create_app as create_national
from services.national.settings import DEV_ADMIN_SECRET
from services.national.settings import Settings as NationalSettings
from tests.conftest import TokenMint, serve, serve_tcp, service_settings
from tests.gateway.conftest import gateway_settings

pytestmark = pytest.mark.anyio

ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_SECRET}"}
BODY: dict[str, Any] = {
    "procedure_code": "1.001193",
    "organ_code": "000.01.31.H03",
    "channel": 2,
    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
}
SCOPES = ["dossier:read", "dossier:write"]


@dataclass
class Stack:
    dossier: httpx.AsyncClient
    national: httpx.AsyncClient
    mint: TokenMint
    dossier_db: Database

    def headers(self) -> dict[str, str]:
        return self.mint.headers(SCOPES, client_id="one-stop")

    async def submit(self) -> str:
        resp = await self.dossier.post("/v1/dossiers", json=BODY, headers=self.headers())
        assert resp.status_code == 201, resp.text
        code: str = resp.json()["code"]
        return code

    async def move(self, code: str, *statuses: int) -> None:
        for status in statuses:
            resp = await self.dossier.post(
                f"/v1/dossiers/{code}/status", json={"status": status}, headers=self.headers()
            )
            assert resp.status_code == 200, resp.text

    async def province(self, code: str) -> dict[str, Any]:
        resp = await self.dossier.get(f"/v1/dossiers/{code}", headers=self.headers())
        out: dict[str, Any] = resp.json()
        return out

    async def at_dvcqg(self, code: str) -> dict[str, Any] | None:
        resp = await self.national.get(f"/dvcqg/hoso/{code}")
        return resp.json() if resp.status_code == 200 else None

    async def metric(self, name: str) -> float:
        text = (await self.dossier.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no {name} in /metrics")

    async def settled(self, codes: list[str], within: float = 30.0) -> None:
        """Wait until DVCQG has each dossier with its last status and its whole history."""
        deadline = time.monotonic() + within
        while True:
            missing = []
            for code in codes:
                mine = await self.province(code)
                theirs = await self.at_dvcqg(code)
                rows = (await self.national.get(f"/dvcqg/hoso/{code}/tiendo")).json()
                if (
                    theirs is None
                    or theirs["TrangThaiHoSo"] != str(mine["status"])
                    or len(rows) != len(mine["history"])
                ):
                    missing.append(code)
            if not missing:
                return
            assert time.monotonic() < deadline, f"not at DVCQG in {within} s: {missing}"
            await asyncio.sleep(0.2)


@asynccontextmanager
async def national_side(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """The national simulator and the gateway in front of it, each on a port of its own:
    (national URL, gateway URL); the gateway writes the sync's credentials under `gateway/`."""
    for name in ("national", "gateway"):
        (tmp_path / name).mkdir()
    national = create_national(NationalSettings(data_dir=tmp_path / "national", axis_enabled=False))
    async with serve_tcp(national) as national_url:
        gw = gateway_settings(
            tmp_path / "gateway",
            "",
            {},
            national_url=national_url,
            upstream_timeout_seconds=10.0,
            data_dir=tmp_path / "gateway",
        )
        async with serve_tcp(create_gateway(gw)) as gateway_url:
            yield national_url, gateway_url


def syncing_settings(
    tmp_path: Path, gateway_url: str, database_url: str, nats_url: str, mint: TokenMint, **more: Any
) -> DossierSettings:
    """The dossier service's settings with its DVCQG sync on, polling and retrying quickly in
    batches of 4."""
    settings: DossierSettings = service_settings(
        DossierSettings,
        tmp_path,
        database_url,
        nats_url,
        mint,
        dvcqg_gateway_url=gateway_url,
        dvcqg_client_file=tmp_path.parent / "gateway" / "dvcqg-client.json",
        dvcqg_poll_seconds=0.2,
        dvcqg_retry_seconds=0.2,
        dvcqg_retry_max_seconds=1.0,
        dvcqg_batch=4,
        **more,
    )
    return settings


@pytest.fixture
async def stack(tmp_path: Path, mint: TokenMint) -> AsyncIterator[Stack]:
    (tmp_path / "dossier").mkdir()
    async with national_side(tmp_path) as (national_url, gateway_url):
        settings = syncing_settings(
            tmp_path / "dossier",
            gateway_url,
            "",
            f"nats://127.0.0.1:{free_port()}",
            mint,
            dvcqg_report_seconds=0.2,
            dvcqg_report_idle_seconds=2.0,
        )
        app = create_dossier(settings)
        async with (
            serve(app) as dossier,
            httpx.AsyncClient(base_url=national_url) as nat,
        ):
            yield Stack(dossier, nat, mint, app.state.runtime.db)


async def test_changes_reach_dvcqg_with_the_last_status_and_survive_an_outage(
    stack: Stack,
) -> None:
    codes = [await stack.submit() for _ in range(6)]
    await stack.move(codes[0], 2)
    await stack.move(codes[1], 2, 4, 9, 10)
    await stack.move(codes[2], 3)
    await stack.move(codes[3], 2, 5)
    # codes[4] and codes[5] stay submitted (1): DVCQG takes a dossier at its reception.
    await stack.settled(codes[:4])
    first = await stack.at_dvcqg(codes[0])
    assert first is not None
    assert (first["MaHoSo"], first["MaTTHC"], first["TrangThaiHoSo"]) == (
        codes[0],
        "1.001193",
        "2",
    )
    assert len(first["NgayTiepNhan"]) == 14 and first["NgayTiepNhan"].isdigit()
    assert (await stack.at_dvcqg(codes[1]) or {})["NgayTra"] != ""
    assert await stack.at_dvcqg(codes[4]) is None
    assert await stack.metric("lgsp_dvcqg_sync_backlog") == 0

    # The national side down: changes keep coming, nothing reaches it, nothing is lost.
    down = {"mode": "down", "targets": ["dvcqg"], "duration_seconds": 4}
    assert (await stack.national.put("/admin/fault", json=down, headers=ADMIN)).status_code == 200
    more = [await stack.submit() for _ in range(5)]
    for code in more:
        await stack.move(code, 2)
    await stack.move(codes[0], 4, 9)
    await stack.move(codes[4], 2, 4)
    await stack.move(codes[3], 4)
    await asyncio.sleep(1.0)
    assert await stack.metric("lgsp_dvcqg_sync_backlog") >= 8
    assert await stack.metric("lgsp_dvcqg_sync_lag_seconds") > 0
    assert (await stack.at_dvcqg(codes[0]) or {})["TrangThaiHoSo"] == "2"

    # Back, then answering an error code for a few calls: all arrive in the end.
    await stack.national.delete("/admin/fault", headers=ADMIN)
    error = {"mode": "error", "targets": ["dvcqg"], "error_code": "99", "calls": 3}
    assert (await stack.national.put("/admin/fault", json=error, headers=ADMIN)).status_code == 200
    everything = codes[:5] + more
    await stack.settled(everything, within=60)
    assert await stack.metric("lgsp_dvcqg_sync_backlog") == 0

    listed = (await stack.national.get("/dvcqg/hoso")).json()["items"]
    at_dvcqg = [item["MaHoSo"] for item in listed]
    assert sorted(at_dvcqg) == sorted(everything)  # each once, the unreceived one not at all
    for code in everything:
        mine = await stack.province(code)
        theirs = await stack.at_dvcqg(code)
        assert theirs is not None and theirs["TrangThaiHoSo"] == str(mine["status"])
        rows = (await stack.national.get(f"/dvcqg/hoso/{code}/tiendo")).json()
        assert [r["row"]["TrangThai"] for r in rows] == [str(h["status"]) for h in mine["history"]]


def test_progress_rows_go_in_packs_of_whole_dossiers_of_at_most_100_rows() -> None:
    from services.dossier.national.sync import Item, _packs

    def item(rows: int) -> Item:
        return Item(0, f"HS{rows}", 1, 0.0, True, {}, [{"n": str(n)} for n in range(rows)])

    sizes = [
        [len(i.rows) for i in pack] for pack in _packs([item(n) for n in (60, 50, 120, 10, 90, 5)])
    ]
    # 60+50 > 100: apart; 120 alone (sent in calls of 100); 10+90 = 100 together.
    assert sizes == [[60], [50], [120], [10, 90], [5]]


def outbox_events(db: Database, type_: str) -> list[dict[str, Any]]:
    """The events of a type the dossier service wrote to its outbox (this test's NATS is
    unreachable: nothing is published, nothing is taken away)."""
    with db.reader.connect() as conn:
        payloads = conn.execute(
            select(outbox.c.payload).where(outbox.c.subject == type_).order_by(outbox.c.seq)
        ).scalars()
        return [parse_event(p).model_dump(mode="json") for p in payloads]


async def test_reporting_is_told_once_per_dossier_and_how_far_behind_dvcqg_is(
    stack: Stack,
) -> None:
    codes = [await stack.submit() for _ in range(5)]
    await stack.move(codes[0], 2)
    await stack.move(codes[1], 2, 4, 9)
    await stack.move(codes[2], 3)  # refused at reception: on DVCQG, no NgayTiepNhan here
    await stack.move(codes[3], 2)
    # codes[4] stays submitted: not on DVCQG, in no event.
    await stack.settled(codes[:4])
    await stack.move(codes[3], 4)  # a later change: an update, not a second acceptance
    await stack.settled(codes[:4])

    accepted = outbox_events(stack.dossier_db, "lgsp.dossier.dvcqg_accepted")
    # One event per sync batch (4 dossiers a batch here), never one per change.
    assert 1 <= len(accepted) <= 4
    told = Counter(d["code"] for e in accepted for d in e["data"]["dossiers"])
    assert told == Counter(codes[:4])
    by_code = {d["code"]: d for e in accepted for d in e["data"]["dossiers"]}
    mine = await stack.province(codes[0])
    assert datetime.fromisoformat(by_code[codes[0]]["received_at"]) == datetime.fromisoformat(
        mine["received_at"]
    )
    assert by_code[codes[2]]["received_at"] is None
    assert {d["organ_code"] for d in by_code.values()} == {BODY["organ_code"]}

    async def backlog_where(ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while True:
            found = [
                e["data"]
                for e in outbox_events(stack.dossier_db, "lgsp.dossier.dvcqg_backlog")
                if ok(e["data"])
            ]
            if found:
                return found[-1]
            assert time.monotonic() < deadline, "no such backlog event"
            await asyncio.sleep(0.2)

    assert (await backlog_where(lambda d: d["pending"] == 0))["oldest_change_at"] is None
    # The national side down: the backlog event says what waits, and since when.
    down = {"mode": "down", "targets": ["dvcqg"], "duration_seconds": 3}
    assert (await stack.national.put("/admin/fault", json=down, headers=ADMIN)).status_code == 200
    before = datetime.now(UTC)
    await stack.move(codes[0], 4)
    waiting = await backlog_where(lambda d: d["pending"] >= 1)
    oldest = datetime.fromisoformat(waiting["oldest_change_at"])
    # A change made while a sync was in flight counts from that sync's read (earlier, never
    # later than the change): a few seconds on a loaded machine.
    assert before - timedelta(seconds=10) <= oldest <= datetime.now(UTC)
    await stack.settled([codes[0]], within=30)
    await backlog_where(lambda d: d["pending"] == 0 and d["at"] > waiting["at"])
    # Still no second acceptance of any dossier.
    accepted = outbox_events(stack.dossier_db, "lgsp.dossier.dvcqg_accepted")
    assert Counter(d["code"] for e in accepted for d in e["data"]["dossiers"]) == Counter(codes[:4])
