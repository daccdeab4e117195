"""The event spine on real stores: outbox → relay → JetStream → consumer, exactly once."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import Session

from contracts.events import DossierSubmitted, DossierSubmittedData, Envelope
from lgsp_kit.bus import Bus
from lgsp_kit.consumer import EventConsumer
from lgsp_kit.db import Database, dialect_insert, new_metadata
from lgsp_kit.natsserver import free_port, start_nats
from lgsp_kit.outbox import add_events, define_outbox, define_processed
from lgsp_kit.relay import OutboxRelay

pytestmark = pytest.mark.anyio


def tables() -> tuple[MetaData, Table, Table, Table]:
    metadata = new_metadata()
    outbox = define_outbox(metadata)
    processed = define_processed(metadata)
    counts = Table(
        "counts",
        metadata,
        Column("type", String(200), primary_key=True),
        Column("n", Integer, nullable=False),
    )
    return metadata, outbox, processed, counts


def submitted(i: int) -> DossierSubmitted:
    at = datetime(2023, 3, 1, 8, 0, tzinfo=UTC)
    return DossierSubmitted(
        source="/test",
        subject=f"D-{i}",
        time=at,
        data=DossierSubmittedData(
            code=f"D-{i}",
            procedure_code="1.001193",
            service_mode="full",
            fee_bearing=False,
            organ_code="000.01.31.H03",
            organ_level="commune",
            channel=2,
            submitted_at=at,
        ),
    )


def count_handler(counts: Table) -> Callable[[Session, list[Envelope]], None]:
    def handle(session: Session, events: list[Envelope]) -> None:
        for event in events:
            insert = dialect_insert(session)
            stmt = insert(counts).values(type=event.type, n=1)
            stmt = stmt.on_conflict_do_update(index_elements=["type"], set_={"n": counts.c.n + 1})
            session.execute(stmt)

    return handle


async def stream_messages(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info("LGSP")
        return int(info.state.messages)
    finally:
        await nc.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


async def test_relay_publishes_each_event_once_and_consumer_applies_each_once(
    db: Database, nats_url: str
) -> None:
    metadata, outbox, processed, counts = tables()
    metadata.create_all(db.engine)
    events = [submitted(i) for i in range(1200)]
    with db.session() as session:
        add_events(session, outbox, events)

    bus = Bus(nats_url)
    bus.start()
    relay = OutboxRelay(db, outbox, bus)
    relay.start()
    consumer = EventConsumer(db, processed, bus, count_handler(counts), durable="test")
    consumer.start()

    def applied() -> int:
        with db.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(counts.c.n), 0))).scalar_one())

    async def all_applied() -> bool:
        return await asyncio.to_thread(applied) == len(events)

    try:
        await eventually(all_applied)
        # The relay forgets a batch once JetStream acknowledged it, which may be a moment
        # after the consumer already applied it.
        await eventually(lambda: asyncio.to_thread(lambda: relay.backlog() == 0))
        assert await stream_messages(nats_url) == len(events)

        # A relay that died after publishing but before forgetting publishes again:
        # JetStream drops the duplicates by Nats-Msg-Id.
        with db.session() as session:
            add_events(session, outbox, events[:100])
        await eventually(lambda: asyncio.to_thread(lambda: relay.backlog() == 0))
        assert await stream_messages(nats_url) == len(events)

        # A batch redelivered after a crash between commit and ack counts nothing twice.
        assert consumer.apply([e.model_dump_json().encode() for e in events[:50]]) == 0
        await asyncio.sleep(0.5)
        assert applied() == len(events)
    finally:
        await consumer.stop()
        await relay.stop()
        await bus.close()


async def test_relay_keeps_events_while_nats_is_down_and_delivers_them_after(
    db: Database, tmp_path: Path
) -> None:
    metadata, outbox, _processed, _counts = tables()
    metadata.create_all(db.engine)
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    bus = Bus(url)
    bus.start()
    relay = OutboxRelay(db, outbox, bus)
    relay.start()
    server: subprocess.Popen[bytes] | None = None
    try:
        with db.session() as session:
            add_events(session, outbox, [submitted(i) for i in range(10)])
        await asyncio.sleep(1.0)
        assert relay.backlog() == 10  # nothing lost, nothing published: NATS is not there

        server = start_nats(tmp_path / "late-nats", port, auth=False)
        await eventually(lambda: asyncio.to_thread(lambda: relay.backlog() == 0), within=30)
        assert await stream_messages(url) == 10
    finally:
        await relay.stop()
        await bus.close()
        if server is not None:
            server.terminate()
            server.wait(10)


async def test_events_written_in_a_rolled_back_transaction_are_never_published(
    db: Database,
) -> None:
    metadata, outbox, _processed, _counts = tables()
    metadata.create_all(db.engine)
    with pytest.raises(RuntimeError), db.session() as session:
        add_events(session, outbox, [submitted(1)])
        raise RuntimeError("the state change failed")
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 0
