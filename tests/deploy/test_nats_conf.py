"""The NATS configs of docker-compose (deploy/nats/nats.conf) and Kubernetes (the nats-config
ConfigMap) give each app the embedded server's permissions, and a real nats-server started on
them requires a password and TLS; three of them form a cluster whose routes take only a server
with a certificate of the CA, and keep the stream in three copies."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import nats
import pytest
import yaml

from lgsp_kit.bus import Bus
from lgsp_kit.natsserver import (
    CONSUMERS,
    PRODUCERS,
    free_port,
    nats_server_binary,
    permissions,
    wait_for_port,
)
from tests.deploy.promql import ROOT
from tests.kit.test_nats_tls import make_pki

COMPOSE_CONF = ROOT / "deploy" / "nats" / "nats.conf"
PASSWORDS = {u: f"{u}-pw" for u in (*PRODUCERS, *CONSUMERS, "operator")}


def k8s_conf() -> str:
    docs = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "base" / "nats.yaml").read_text())
    (config,) = [d for d in docs if d and d["metadata"]["name"] == "nats-config"]
    text: str = config["data"]["nats.conf"]
    return text


CONFS = {"compose": COMPOSE_CONF.read_text(), "kubernetes": k8s_conf()}


def declared(conf: str) -> dict[str, object]:
    """user → its permissions block as written (None for a user without one)."""
    found: dict[str, object] = {}
    blocks = re.findall(
        r"\{\s*user: (\w+),?\s+password: \$(\w+)(.*?)\}(?=\s*(?:\{|#|\]))", conf, re.S
    )
    for user, variable, rest in blocks:
        assert variable == f"NATS_{user.upper()}_PASSWORD"
        if "permissions" not in rest:
            found[user] = None
            continue
        pub = re.search(r"publish: \{ allow: \[(.*?)\] \}", rest, re.S)
        sub = re.search(r"subscribe: \{ allow: \[(.*?)\] \}", rest, re.S)
        assert pub is not None and sub is not None, user
        found[user] = {
            "publish": {"allow": json.loads(f"[{pub.group(1)}]")},
            "subscribe": {"allow": json.loads(f"[{sub.group(1)}]")},
        }
    return found


@pytest.mark.parametrize("where", CONFS)
def test_each_user_has_the_embedded_servers_permissions(where: str) -> None:
    users = declared(CONFS[where])
    assert users == {u: permissions(u) for u in PASSWORDS}


def without_block(conf: str, name: str) -> str:
    """`conf` without its top-level block `name { … }` (nested blocks included)."""
    start = conf.index(f"\n{name} {{")
    depth, i = 0, conf.index("{", start)
    while True:
        depth += {"{": 1, "}": -1}.get(conf[i], 0)
        if depth == 0:
            return conf[:start] + conf[i + 1 :]
        i += 1


def local(conf: str, root: Path, port: int, pki: Path, *, http_port: int = 0) -> str:
    """The config with this machine's paths and ports."""
    conf = re.sub(r"\bport: 4222", f"port: {port}", conf)
    conf = re.sub(r"\bhttp_port: 8222", f"http_port: {http_port or free_port()}", conf)
    conf = conf.replace("/etc/nats/tls", str(pki)).replace(
        "store_dir: /data", f'store_dir: "{root}/js"'
    )
    return conf.replace("pid_file: /var/run/nats/nats.pid", f'pid_file: "{root}/nats.pid"')


def runnable(conf: str, root: Path, port: int, pki: Path) -> Path:
    """The config with this machine's paths and port, a single server (no cluster routes)."""
    path = root / "nats.conf"
    path.write_text(local(without_block(conf, "cluster"), root, port, pki))
    return path


def server_env(name: str) -> dict[str, str]:
    """What compose or the StatefulSet gives a server: the passwords and its own name."""
    passwords = {f"NATS_{u.upper()}_PASSWORD": pw for u, pw in PASSWORDS.items()}
    return passwords | {"POD_NAME": name, "NATS_SERVER_NAME": name}


@pytest.fixture(params=list(CONFS))
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca, cert, key = make_pki(tmp_path / "pki")
    cert.rename(tmp_path / "pki" / "tls.crt")
    key.rename(tmp_path / "pki" / "tls.key")
    port = free_port()
    conf = runnable(CONFS[request.param], tmp_path, port, tmp_path / "pki")
    proc = subprocess.Popen(
        [nats_server_binary(), "-c", str(conf)],
        env=server_env("nats-0"),
        stdout=(tmp_path / "nats.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield f"nats://127.0.0.1:{port}", ca
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_server_on_the_config_requires_a_password_and_tls(server: tuple[str, Path]) -> None:
    url, ca = server

    async def check() -> None:
        with pytest.raises(Exception):  # noqa: B017 - plain text: TLS required, then no user
            await nats.connect(url, allow_reconnect=False, connect_timeout=3)
        bus = Bus(url, user="dossier", password=PASSWORDS["dossier"], tls_ca=str(ca))
        bus.start()
        try:
            await asyncio.wait_for(bus.wait_ready(), 15)
            ack = await bus.js.publish("lgsp.dossier.dossier.submitted", b"{}")
            assert ack.stream == "LGSP"
        finally:
            await bus.close()

    asyncio.run(check())


# --- three servers: the cluster -------------------------------------------------------------


class Server:
    def __init__(self, root: Path, name: str, conf: str) -> None:
        self.root, self.name = root, name
        root.mkdir(parents=True, exist_ok=True)
        self.port, self.route_port, self.http_port = free_port(), free_port(), free_port()
        self.conf = conf
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, routes: list[int], pki: Path) -> None:
        conf = local(self.conf, self.root, self.port, pki, http_port=self.http_port)
        conf = re.sub(r"\bport: 6222", f"port: {self.route_port}", conf)
        # The route URLs name the servers (nats-1, nats-0.nats-headless, …): here each is a
        # port on 127.0.0.1, which the test certificate names.
        ports = iter(routes)
        conf = re.sub(r"nats://[\w.-]+:6222", lambda _: f"nats://127.0.0.1:{next(ports)}", conf)
        (self.root / "nats.conf").write_text(conf)
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(self.root / "nats.conf")],
            env=server_env(self.name),
            stdout=(self.root / "nats.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)

    def peers(self) -> set[str]:
        """The servers this one has a route to, by name."""
        routez = httpx.get(f"http://127.0.0.1:{self.http_port}/routez", timeout=5).json()
        return {r.get("remote_name") for r in routez.get("routes") or []}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time allowed")
        time.sleep(0.2)


@pytest.mark.parametrize("where", CONFS)
def test_three_servers_cluster_over_certificate_checked_routes(where: str, tmp_path: Path) -> None:
    ca, cert, key = make_pki(tmp_path / "pki")
    cert.rename(tmp_path / "pki" / "tls.crt")
    key.rename(tmp_path / "pki" / "tls.key")
    names = ["nats-0", "nats-1", "nats-2"]
    servers = [Server(tmp_path / n, n, CONFS[where]) for n in names]
    # A fourth server that trusts the CA (so it accepts the others' certificates) but holds a
    # certificate of another CA, routed to the others: they refuse it.
    make_pki(tmp_path / "rogue-pki", cn="Someone else's CA")
    rogue_pki = tmp_path / "rogue-pki"
    (rogue_pki / "server.crt").rename(rogue_pki / "tls.crt")
    (rogue_pki / "server.key").rename(rogue_pki / "tls.key")
    (rogue_pki / "ca.crt").write_bytes(ca.read_bytes())
    rogue = Server(tmp_path / "rogue", "rogue", CONFS[where])
    routes = [s.route_port for s in servers]
    try:
        for server in servers:
            server.start(routes, tmp_path / "pki")
        rogue.start(routes, rogue_pki)
        for server in servers:
            wait_until(partial(lambda s: s.peers() == set(names) - {s.name}, server))

        async def stream_in_three_copies() -> None:
            urls = ",".join(f"nats://127.0.0.1:{s.port}" for s in servers)
            bus = Bus(
                urls, replicas=3, user="dossier", password=PASSWORDS["dossier"], tls_ca=str(ca)
            )
            bus.start()
            try:
                await asyncio.wait_for(bus.wait_ready(), 30)
                info = await bus.js.stream_info("LGSP")
                assert info.config.num_replicas == 3
                assert info.cluster is not None and len(info.cluster.replicas or []) == 2
            finally:
                await bus.close()

        asyncio.run(stream_in_three_copies())
        assert rogue.peers() == set()
        assert all("rogue" not in s.peers() for s in servers)
    finally:
        for server in [*servers, rogue]:
            server.stop()
