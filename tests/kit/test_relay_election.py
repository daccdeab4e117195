"""Several replicas of a service on one PostgreSQL database: one outbox relay publishes (the one
holding the advisory lock), so no event goes out twice; when it stops, another takes over and
nothing is left behind. The buses here record every publication (JetStream would drop a
duplicate by its id and hide it)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from lgsp_kit.bus import Bus
from lgsp_kit.db import Database, new_metadata
from lgsp_kit.outbox import add_events, define_outbox
from lgsp_kit.relay import BacklogCollector, OutboxRelay
from tests.kit.test_event_spine import eventually, submitted

pytestmark = pytest.mark.anyio


class RecordingBus:
    """What the relay needs of a Bus: `connected` and a client (`nc`) to publish with and to
    read the acks from; each publication recorded, and acknowledged as JetStream would."""

    def __init__(self) -> None:
        self.connected = True
        self.sent: list[str] = []
        self.nc = self
        self._on_reply: Callable[[Any], Coroutine[Any, Any, None]] | None = None

    def new_inbox(self) -> str:
        return "_INBOX.test"

    async def subscribe(self, subject: str, cb: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
        self._on_reply = cb

    async def publish(self, subject: str, payload: bytes, reply: str, headers: Any) -> None:
        self.sent.append(headers["Nats-Msg-Id"])
        assert self._on_reply is not None
        ack = SimpleNamespace(subject=reply, headers=None, data=b'{"stream":"LGSP","seq":1}')
        asyncio.get_running_loop().create_task(self._on_reply(ack))


def _write(db: Database, outbox: Any, first: int, n: int) -> None:
    with db.session() as session:
        add_events(session, outbox, [submitted(i) for i in range(first, first + n)])
    db.committed()


async def test_one_relay_of_several_replicas_publishes_and_another_takes_over(
    new_database: Callable[[], str],
) -> None:
    url = new_database()
    metadata = new_metadata()
    outbox = define_outbox(metadata)
    replicas = [Database(url) for _ in range(3)]  # one engine each, as three processes
    metadata.create_all(replicas[0].engine)
    buses = [RecordingBus() for _ in replicas]
    relays = [
        OutboxRelay(db, outbox, cast(Bus, bus), idle_poll=0.2)
        for db, bus in zip(replicas, buses, strict=True)
    ]
    try:
        for relay in relays:
            relay.start()
        # Each replica writes events (as requests served by each would).
        for k in range(30):
            await asyncio.to_thread(_write, replicas[k % 3], outbox, k * 40, 40)
        await eventually(lambda: asyncio.to_thread(lambda: relays[0].backlog() == 0))
        sent = Counter(id_ for bus in buses for id_ in bus.sent)
        assert len(sent) == 1200 and set(sent.values()) == {1}
        assert sorted(len(bus.sent) for bus in buses) == [0, 0, 1200]
        assert [r.leader for r in relays].count(True) == 1
        leader = next(i for i, r in enumerate(relays) if r.leader)

        registry = CollectorRegistry()
        registry.register(BacklogCollector(relays[leader], "dossier"))
        assert b'lgsp_outbox_relay_leader{app="dossier"} 1.0' in generate_latest(registry)

        # The leader stops (a replica scaled down or rolled): another one takes the lock.
        await relays[leader].stop()
        for k in range(5):
            await asyncio.to_thread(_write, replicas[(leader + 1) % 3], outbox, 2000 + k * 40, 40)
        await eventually(lambda: asyncio.to_thread(lambda: relays[0].backlog() == 0))
        sent = Counter(id_ for bus in buses for id_ in bus.sent)
        assert len(sent) == 1400 and set(sent.values()) == {1}
        others = [r for i, r in enumerate(relays) if i != leader]
        assert [r.leader for r in others].count(True) == 1
    finally:
        for relay in relays:
            await relay.stop()
        for db in replicas:
            db.dispose()


async def test_on_sqlite_the_relay_always_publishes(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'one.db'}")
    metadata = new_metadata()
    outbox = define_outbox(metadata)
    metadata.create_all(db.engine)
    bus = RecordingBus()
    relay = OutboxRelay(db, outbox, cast(Bus, bus), idle_poll=0.2)
    assert relay.leader
    relay.start()
    try:
        await asyncio.to_thread(_write, db, outbox, 0, 10)
        await eventually(lambda: asyncio.to_thread(lambda: relay.backlog() == 0))
        assert len(bus.sent) == 10 and relay.leader
    finally:
        await relay.stop()
        db.dispose()
