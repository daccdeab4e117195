"""The NATS configs of docker-compose (deploy/nats/nats.conf) and Kubernetes (the nats-config
ConfigMap) give each app the embedded server's permissions, and a real nats-server started on
them requires a password and TLS."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

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


def runnable(conf: str, root: Path, port: int, pki: Path) -> Path:
    """The config with this machine's paths and port, a single server (no cluster routes)."""
    conf = re.sub(r"\n\s*cluster \{.*?\n\s*\}\n", "\n", conf, flags=re.S)
    conf = re.sub(r"\bport: 4222", f"port: {port}", conf)
    conf = re.sub(r"\bhttp_port: 8222", f"http_port: {free_port()}", conf)
    conf = conf.replace("/etc/nats/tls", str(pki)).replace(
        "store_dir: /data", f'store_dir: "{root}/js"'
    )
    conf = conf.replace("pid_file: /var/run/nats/nats.pid", f'pid_file: "{root}/nats.pid"')
    path = root / "nats.conf"
    path.write_text(conf)
    return path


@pytest.fixture(params=list(CONFS))
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca, cert, key = make_pki(tmp_path / "pki")
    cert.rename(tmp_path / "pki" / "tls.crt")
    key.rename(tmp_path / "pki" / "tls.key")
    port = free_port()
    conf = runnable(CONFS[request.param], tmp_path, port, tmp_path / "pki")
    env = {f"NATS_{u.upper()}_PASSWORD": pw for u, pw in PASSWORDS.items()} | {"POD_NAME": "nats-0"}
    proc = subprocess.Popen(
        [nats_server_binary(), "-c", str(conf)],
        env=env,
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
