"""Events leave through the outbox relay to a real JetStream and parse against the contract."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeoutError

from contracts.events import DossierStatusChanged, DossierSubmitted, parse_event
from services.dossier.main import create_app
from services.dossier.settings import Settings
from tests.conftest import TokenMint, serve, service_settings
from tests.dossier.conftest import WRITE
from tests.dossier.test_dossiers import GOOD
from tests.dossier.test_sync import RECORD

pytestmark = pytest.mark.anyio


async def read_stream(nats_url: str, subject: str, expected: int) -> list[bytes]:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe(subject, durable=None)
        got: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + 20
        while len(got) < expected and asyncio.get_running_loop().time() < deadline:
            try:
                msgs = await sub.fetch(expected - len(got), timeout=1)
            except NatsTimeoutError:
                continue
            for m in msgs:
                await m.ack()
                got.append(m.data)
        return got
    finally:
        await nc.close()


async def test_submitted_status_and_synced_events_reach_jetstream(
    tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint
) -> None:
    settings: Settings = service_settings(Settings, tmp_path, database_url, nats_url, mint)
    app = create_app(settings)
    async with serve(app) as client:
        headers = mint.headers(WRITE)
        code = (await client.post("/v1/dossiers", json=GOOD, headers=headers)).json()["code"]
        moved = await client.post(
            f"/v1/dossiers/{code}/status", json={"status": 2}, headers=headers
        )
        assert moved.status_code == 200
        synced = await client.post("/v1/dossiers:sync", json={"records": [RECORD]}, headers=headers)
        assert synced.json()["created"] == 1
        raw = await read_stream(nats_url, "lgsp.dossier.>", 2 + 38 + 8)
    events = [parse_event(r) for r in raw]
    live = [e for e in events if e.subject == code]
    assert [type(e) for e in live] == [DossierSubmitted, DossierStatusChanged]
    from_sync = [e for e in events if e.subject == RECORD["code"]]
    assert len(from_sync) == 8
    assert len({e.id for e in events}) == len(events)
