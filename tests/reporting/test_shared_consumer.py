"""Two reporting processes on one durable JetStream consumer (replicas of one Deployment):
JetStream splits the events between them, the processed-event table keeps each one applied
once, and the report is exact, even when the whole stream is sent a second time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import func, select

from contracts.events import Envelope
from services.reporting.main import create_app
from services.reporting.models import processed_event
from services.reporting.settings import Settings
from tests.conftest import TokenMint, serve, service_settings
from tests.reporting import scenario
from tests.reporting.test_rebuild import assert_exact, consumed

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint) -> Settings:
    # Small batches: many pulls, so both processes get their share of a small stream.
    s: Settings = service_settings(Settings, tmp_path, database_url, nats_url, mint, batch_size=3)
    return s


async def publish(url: str, events: list[Envelope], *, msg_ids: bool) -> None:
    """With `msg_ids`, as the outbox relays publish; without, a replay that JetStream's
    duplicate window does not catch (a relay re-sending after it, a restore): only the
    consumers' processed-event table stands between it and a double count."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for e in events:
            headers = {"Nats-Msg-Id": e.id} if msg_ids else None
            await js.publish(e.nats_subject, e.model_dump_json().encode(), headers=headers)
    finally:
        await nc.close()


async def both_pulling(url: str, durable: str) -> None:
    """Until the durable has pull requests waiting from the two processes."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for _ in range(200):
            try:
                info = await js.consumer_info("LGSP", durable)
                if (info.num_waiting or 0) >= 2:
                    return
            except nats.js.errors.NotFoundError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError("the two processes are not both pulling from the durable")
    finally:
        await nc.close()


def rows_processed(app: Any) -> int:
    with app.state.runtime.db.session() as session:
        return int(session.execute(select(func.count()).select_from(processed_event)).scalar_one())


async def settled(apps: list[Any], n: int) -> None:
    for _ in range(600):  # 30 s; a batch lost to a conflict comes back after ack_wait
        if await consumed(apps[0]) >= n:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # and nothing more arrives


async def test_two_processes_on_one_durable_split_the_events_and_apply_each_once(
    settings: Settings, mint: TokenMint, nats_url: str
) -> None:
    events = scenario.everything()
    first, second = create_app(settings), create_app(settings)
    async with serve(first) as client, serve(second):
        for app in (first, second):
            await app.state.runtime.bus.wait_ready()
        await both_pulling(nats_url, settings.durable_name)
        await publish(nats_url, events, msg_ids=True)
        await settled([first, second], len(events))
        # The same events once more, past the duplicate window: the stream holds them twice.
        await publish(nats_url, events, msg_ids=False)
        await settled([first, second], len(events))

        applied = [app.state.runtime.consumer.applied for app in (first, second)]
        assert all(n > 0 for n in applied), f"one process did all the work: {applied}"
        assert sum(applied) == len(events)
        assert await consumed(first) == len(events)
        assert await asyncio.to_thread(rows_processed, first) == len(events)
        await assert_exact(client, mint)

        nc = await nats.connect(nats_url)
        try:
            info = await nc.jetstream().consumer_info("LGSP", settings.durable_name)
        finally:
            await nc.close()
        assert info.delivered.stream_seq == 2 * len(events)
        assert (info.num_pending, info.num_ack_pending) == (0, 0)


async def test_the_same_event_in_both_processes_at_once_is_applied_once(
    settings: Settings, mint: TokenMint, nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Each event twice in a row, no message id: the copies land in the two processes' batches
    # at the same moment, and both try to record the same event as processed.
    events = [e for e in scenario.everything() for _ in range(2)]
    first, second = create_app(settings), create_app(settings)
    async with serve(first) as client, serve(second):
        for app in (first, second):
            await app.state.runtime.bus.wait_ready()
        await both_pulling(nats_url, settings.durable_name)
        started = asyncio.get_running_loop().time()
        await publish(nats_url, events, msg_ids=False)
        await settled([first, second], len(events) // 2)
        took = asyncio.get_running_loop().time() - started
        applied = [app.state.runtime.consumer.applied for app in (first, second)]
        assert sum(applied) == len(events) // 2
        assert await asyncio.to_thread(rows_processed, first) == len(events) // 2
        await assert_exact(client, mint)
    # The copy a process lost the race for was skipped, not a batch failed and left to come
    # back after ack_wait (10 s).
    interrupted = [r.getMessage() for r in caplog.records if "interrupted" in r.getMessage()]
    assert not interrupted, interrupted[:1]
    assert took < 8, f"{took:.1f}s: a batch waited for redelivery"
