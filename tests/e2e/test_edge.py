"""Issue 15, finding 3, reproduced on the embedded platform's gateway process: a 300 MB body
to `POST /admin/consumers` without a token was parsed before authentication (422) and grew
the process's peak RSS by about 600 MB, over a pod's memory limit. Now it is refused (401
before the body is read, 413 when its length is declared) and the peak RSS stays put; a raw
`..` in a published API's path is refused, never forwarded."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e
TOTAL = 300 * 1024 * 1024
PIECE = b"{" * (1 << 20)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The gateway alone (SQLite, dev credentials): `/admin` needs no service behind it."""
    p = Platform(tmp_path_factory.mktemp("edge") / "platform")
    p.start("gateway")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(p.gateway + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield p
    finally:
        p.stop_all()


def peak_rss(pid: int) -> int:
    """VmHWM: the process's peak resident set, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def send_big(port: int, head: bytes, chunked: bool) -> bytes:
    """Send `head` then 300 MB (chunked or as declared) while reading the answer; what came
    back once the gateway closed the connection (or the whole body was sent and answered)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    got = bytearray()

    def read() -> None:
        try:
            while chunk := sock.recv(65536):
                got.extend(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    reader.start()
    try:
        sock.sendall(head)
        sent = 0
        while sent < TOTAL:
            if chunked:
                sock.sendall(b"%x\r\n" % len(PIECE) + PIECE + b"\r\n")
            else:
                sock.sendall(PIECE)
            sent += len(PIECE)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the gateway answered and closed without reading the rest: what is wanted
    reader.join(30)
    sock.close()
    return bytes(got)


def _admin_token(p: Platform) -> str:
    admin = json.loads((p.data_dir / "admin-client.json").read_text())
    resp = httpx.post(
        p.gateway + "/token",
        data={"grant_type": "client_credentials"},
        auth=(admin["client_id"], admin["client_secret"]),
    )
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["access_token"]
    return token


@pytest.mark.parametrize(
    ("variant", "expected"),
    [("chunked, no token", b"401"), ("declared, no token", b"413"), ("chunked, admin", b"413")],
)
def test_a_300_mb_admin_body_is_refused_and_the_peak_rss_stays(
    gateway: Platform, variant: str, expected: bytes
) -> None:
    pid = gateway.procs["gateway"].pid
    before = peak_rss(pid)
    chunked = variant.startswith("chunked")
    auth = (
        b"authorization: Bearer %s\r\n" % _admin_token(gateway).encode()
        if "admin" in variant
        else b""
    )
    framing = b"transfer-encoding: chunked\r\n" if chunked else b"content-length: %d\r\n" % TOTAL
    head = (
        b"POST /admin/consumers HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n"
        + auth
        + framing
        + b"\r\n"
    )
    started = time.monotonic()
    answer = send_big(gateway.ports["gateway"], head, chunked)
    assert answer.startswith(b"HTTP/1.1 " + expected), answer[:300]
    assert b"application/problem+json" in answer
    assert time.monotonic() - started < 20
    grown = peak_rss(pid) - before
    assert grown < 100 * 1024 * 1024, f"peak RSS grew by {grown / 2**20:.0f} MiB"
    assert httpx.get(gateway.gateway + "/healthz").status_code == 200


@pytest.mark.parametrize(
    "target", [b"/dossier/v1/../../admin/consumers", b"/dossier/v1/dossiers/%2e%2e/x"]
)
def test_a_raw_dot_dot_segment_is_refused_by_the_proxy(gateway: Platform, target: bytes) -> None:
    sock = socket.create_connection(("127.0.0.1", gateway.ports["gateway"]), timeout=10)
    sock.sendall(b"GET %s HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n" % target)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b'"code":"dot_segment_in_path"' in answer
