"""Restart and rebuild on a real JetStream: the numbers end exact either way."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import delete, update

from contracts.events import Envelope
from lgsp_kit import db as dbmod
from services.reporting import service
from services.reporting.main import create_app
from services.reporting.models import DocumentSentDay, DossierReceptionDay
from services.reporting.rebuild import rebuild
from services.reporting.settings import Settings
from tests.conftest import TokenMint, serve, service_settings
from tests.reporting import scenario

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint) -> Settings:
    s: Settings = service_settings(Settings, tmp_path, database_url, nats_url, mint, batch_size=7)
    return s


async def publish(url: str, events: list[Envelope]) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for e in events:
            await js.publish(
                e.nats_subject, e.model_dump_json().encode(), headers={"Nats-Msg-Id": e.id}
            )
    finally:
        await nc.close()


async def consumed(app: Any) -> int:
    def count() -> int:
        with app.state.runtime.db.session() as session:
            return service.status(session, lag_seconds=0, pending=None).events_consumed_total

    return await asyncio.to_thread(count)


async def wait_for(app: Any, n: int) -> None:
    for _ in range(400):  # 20 s: the machine's two cores are shared
        if await consumed(app) >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{await consumed(app)} of {n} events applied")


async def assert_exact(client: Any, mint: TokenMint) -> None:
    resp = await client.get(
        "/v1/reports/phu-luc-ii?period=2023", headers=mint.headers(["reporting:read"])
    )
    rows = {r["stt"]: r for r in resp.json()["rows"]}
    for stt, (n, d) in scenario.EXPECTED_2023.items():
        assert (rows[stt]["numerator"], rows[stt]["denominator"]) == (n, d), stt


async def test_stopped_mid_stream_and_restarted_ends_exact_and_rebuild_too(
    settings: Settings, mint: TokenMint, nats_url: str
) -> None:
    events = scenario.everything()
    half = len(events) // 2
    app = create_app(settings)
    async with serve(app):
        await app.state.runtime.bus.wait_ready()
        await publish(nats_url, events[:half])
        await wait_for(app, 7)  # some batches in, then the process goes away
    # Published while reporting is down, with a redelivered duplicate of an early event.
    await publish(nats_url, events[half:] + events[:3])
    app = create_app(settings)
    async with serve(app) as client:
        await wait_for(app, len(events))
        await assert_exact(client, mint)
    applied = await rebuild(settings)
    assert applied == len(events)
    app = create_app(settings)
    async with serve(app) as client:
        await asyncio.sleep(1.5)  # the durable consumer finds nothing new to count
        assert await consumed(app) == len(events)
        await assert_exact(client, mint)


async def report_and_metrics(client: Any, mint: TokenMint) -> tuple[list[Any], list[str]]:
    """Every row of the year's report, and every projection-fed line of `/metrics`."""
    resp = await client.get(
        "/v1/reports/phu-luc-ii?period=2023", headers=mint.headers(["reporting:read"])
    )
    assert resp.status_code == 200, resp.text
    metrics = await client.get("/metrics")
    counted = ("lgsp_dossier", "lgsp_documents", "lgsp_organs", "lgsp_indicator", "lgsp_events")
    lines = [line for line in metrics.text.splitlines() if line.startswith(counted)]
    return resp.json()["rows"], sorted(lines)


async def test_lgsp_reporting_rebuild_from_the_command_line_ends_with_the_same_numbers(
    settings: Settings, mint: TokenMint, nats_url: str, database_url: str, tmp_path: Path
) -> None:
    events = scenario.everything()
    app = create_app(settings)
    async with serve(app) as client:
        await app.state.runtime.bus.wait_ready()
        await publish(nats_url, events)
        await wait_for(app, len(events))
        before = await report_and_metrics(client, mint)
    assert any(line.startswith("lgsp_dossiers_received_total") for line in before[1])
    # Projections gone wrong (a lost table, a count off): the rebuild must not trust them.
    db = dbmod.Database(settings.resolved_database_url())
    with db.session() as session:
        session.execute(delete(DocumentSentDay))
        session.execute(
            update(DossierReceptionDay).values(received=DossierReceptionDay.received + 5)
        )
    db.dispose()

    env = {
        **os.environ,
        "REPORTING_DATABASE_URL": settings.resolved_database_url(),
        "LGSP_DATA_DIR": str(tmp_path),
        "NATS_URL": nats_url,
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "lgsp.cli", "reporting", "rebuild"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"reporting: {len(events)} events replayed" in done.stdout

    app = create_app(settings)
    async with serve(app) as client:
        await asyncio.sleep(1.0)  # the durable consumer finds nothing new to count
        assert await consumed(app) == len(events)
        assert await report_and_metrics(client, mint) == before
