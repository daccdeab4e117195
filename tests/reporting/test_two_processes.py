"""Two reporting processes (`REPORTING_PORT=… lgsp run reporting` twice, as two replicas of a
Deployment) on one database and one durable JetStream consumer: each applies a share of the
events, none applies an event twice, and after the whole stream is sent a second time (a replay
past JetStream's duplicate window) the report is still exact."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import nats
import pytest
from sqlalchemy import func, select

from lgsp_kit.db import Database
from lgsp_kit.natsserver import free_port
from services.reporting import service
from services.reporting.models import processed_event
from tests.conftest import TokenMint
from tests.reporting import scenario
from tests.reporting.test_rebuild import assert_exact
from tests.reporting.test_shared_consumer import both_pulling, publish

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def _spawn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lgsp.cli", "run", "reporting"],
            env={**env, "REPORTING_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _said(proc: subprocess.Popen[bytes], log: Path) -> str:
    return f"exit {proc.poll()}: {log.read_text()}"


@asynccontextmanager
async def reporting_process(env: dict[str, str], log: Path) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    proc = _spawn(env, port, log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, _said(proc, log)
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, _said(proc, log)
                await asyncio.sleep(0.2)
            yield client
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _applied_here(metrics: str) -> int:
    found = re.search(
        r'^lgsp_consumer_events_applied_total\{app="reporting"\} ([0-9.e+]+)$', metrics, re.M
    )
    assert found, "lgsp_consumer_events_applied_total missing"
    return int(float(found.group(1)))


def _counts(db: Database) -> tuple[int, int]:
    """Events the projections counted, rows of the processed-event table."""
    with db.session() as session:
        consumed = service.status(session, lag_seconds=0, pending=None).events_consumed_total
        rows = session.execute(select(func.count()).select_from(processed_event)).scalar_one()
        return consumed, int(rows)


async def _settled(db: Database, n: int) -> None:
    for _ in range(900):  # 45 s: a batch lost to a conflict comes back after ack_wait
        if (await asyncio.to_thread(_counts, db))[0] >= n:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # and nothing more arrives


async def test_two_reporting_processes_on_one_durable_apply_each_event_once(
    tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint
) -> None:
    events = scenario.everything()
    env = {
        **os.environ,
        "LGSP_DATA_DIR": str(tmp_path),
        "REPORTING_DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "LGSP_JWKS_URL": mint.jwks_url,
        # Small batches: many pulls, so both processes get their share of a small stream.
        "REPORTING_BATCH_SIZE": "3",
        "LGSP_LOG_LEVEL": "warning",
    }
    db = Database(database_url)
    try:
        # One after the other: the first applies the migrations.
        async with (
            reporting_process(env, tmp_path / "one.log") as one,
            reporting_process(env, tmp_path / "two.log") as two,
        ):
            await both_pulling(nats_url, "reporting")
            await publish(nats_url, events, msg_ids=True)
            await _settled(db, len(events))
            # The replay: every event again, without message ids (JetStream keeps them all).
            await publish(nats_url, events, msg_ids=False)
            await _settled(db, len(events))

            shares = [_applied_here((await c.get("/metrics")).text) for c in (one, two)]
            assert all(n > 0 for n in shares), f"one process did all the work: {shares}"
            assert sum(shares) == len(events)
            assert await asyncio.to_thread(_counts, db) == (len(events), len(events))
            await assert_exact(one, mint)
            await assert_exact(two, mint)

            nc = await nats.connect(nats_url)
            try:
                info = await nc.jetstream().consumer_info("LGSP", "reporting")
            finally:
                await nc.close()
            assert info.delivered.stream_seq == 2 * len(events)
            assert (info.num_pending, info.num_ack_pending) == (0, 0)
    finally:
        db.dispose()
