"""The drill's three-server cluster: the stream kept in three copies, a SIGKILLed leader
replaced while the apps' bus (given the list of servers) goes on publishing, the server back
and caught up. The whole drill (`python -m bench.nats_cluster`) runs with LGSP_RUN_DRILLS=1."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import nats_cluster
from bench.nats_cluster import NODES, STREAM, NatsCluster
from lgsp_kit.bus import Bus
from lgsp_kit.natsserver import app_nats_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    started = NatsCluster(tmp_path / "cluster", tmp_path)
    started.start_all()
    try:
        yield started
    finally:
        started.stop_all()


def dossier_bus(cluster: NatsCluster, data_dir: Path) -> Bus:
    env = app_nats_env(data_dir)
    return Bus(
        cluster.url,
        stream=STREAM,
        replicas=NODES,
        user=env["DOSSIER_NATS_USER"],
        password=env["DOSSIER_NATS_PASSWORD"],
    )


async def publish(bus: Bus, first: int, n: int) -> None:
    for i in range(first, first + n):
        # As the outbox relay does: retried until acknowledged, deduplicated by its id.
        for _ in range(100):
            try:
                await bus.js.publish(
                    f"lgsp.dossier.test.{i}", b"{}", headers={"Nats-Msg-Id": f"m-{i}"}
                )
                break
            except Exception:
                await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"message {i} never acknowledged")


def test_the_stream_survives_its_leader_killed(cluster: NatsCluster, tmp_path: Path) -> None:
    async def before() -> None:
        bus = dossier_bus(cluster, tmp_path)
        bus.start()
        try:
            await asyncio.wait_for(bus.wait_ready(), 60)
            await publish(bus, 0, 50)
        finally:
            await bus.close()

    asyncio.run(before())
    info = cluster.stream_info()
    assert info.config.num_replicas == NODES
    leader = cluster.leader()
    cluster.kill(leader)

    async def after() -> None:
        bus = dossier_bus(cluster, tmp_path)
        bus.start()
        try:
            await asyncio.wait_for(bus.wait_ready(), 60)
            # 10 again: a relay re-sending what it is not sure went through.
            await publish(bus, 40, 60)
        finally:
            await bus.close()

    asyncio.run(after())
    assert cluster.leader() is not leader
    cluster.start(leader)
    current, state = cluster.copies()
    assert current, state
    assert cluster.stream_info().state.messages == 100, state


@pytest.mark.skipif(
    os.environ.get("LGSP_RUN_DRILLS") != "1", reason="the whole drill: set LGSP_RUN_DRILLS=1"
)
def test_the_whole_drill_loses_and_doubles_nothing() -> None:
    assert nats_cluster.main(["--scale", "0.002", "--phase-seconds", "10"]) == 0


def test_the_platforms_nats_fault_kills_every_server_and_starts_them_again(
    tmp_path: Path,
) -> None:
    platform = nats_cluster.ClusterPlatform(tmp_path / "platform")
    platform.start_nats()
    try:
        assert all(node.up for node in platform.cluster.nodes)
        platform.kill_nats()
        assert not any(node.up for node in platform.cluster.nodes)
        platform.start_nats()
        assert all(node.up for node in platform.cluster.nodes)
    finally:
        platform.cluster.stop_all()
