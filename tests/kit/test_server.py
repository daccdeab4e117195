"""The apps' HTTP protocol (`lgsp_kit.server`) cuts slow-loris clients and refuses oversized
heads, found by the hostile-input run (`python -m bench.hostile`): uvicorn alone waited for a
trickled head or an unfinished body for ever, and read a 16 MiB header whole. It also writes an
answer's head with its first body part, and keeps uvicorn's keep-alive timeout on the
connection's one timer."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from lgsp_kit import server as servermod
from lgsp_kit.natsserver import free_port, wait_for_port
from lgsp_kit.server import GuardedHttpToolsProtocol, _HeadWithBody

seen: list[str] = []


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            seen.append("disconnect")
            return
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"%d" % size
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"%d" % len(body))]})  # fmt: skip
    if scope["path"] == "/late-body":
        await asyncio.sleep(1)
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("LGSP_HTTP_HEAD_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("LGSP_HTTP_BODY_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("LGSP_HTTP_MAX_HEADERS", "50")
    servermod.limits.cache_clear()
    seen.clear()
    p = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=p, http=GuardedHttpToolsProtocol,
                            lifespan="off", log_level="warning", timeout_keep_alive=1)  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_for_port(p, timeout=10)
    try:
        yield p
    finally:
        srv.should_exit = True
        thread.join(10)
        servermod.limits.cache_clear()


def _talk(
    port: int, pieces: list[bytes], pause: float = 0.0, wait: float = 5.0
) -> tuple[bytes, float]:
    """Send the pieces `pause` s apart (stopping when the server answers or closes), then read
    until the server closes or `wait` s pass; what came back and when the exchange ended."""
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port))
    got = b""
    try:
        for piece in pieces:
            try:
                sock.sendall(piece)
            except OSError:
                break
            if pause:
                sock.settimeout(pause)
                try:
                    chunk = sock.recv(65536)
                    got += chunk
                    if not chunk or got:
                        break
                except TimeoutError:
                    pass
        sock.settimeout(wait)
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            got += chunk
            if (
                b"\r\n\r\n" in got
                and got.split(b"\r\n\r\n", 1)[1]
                and b"connection: close" not in got
            ):
                break
    finally:
        sock.close()
    return got, time.monotonic() - started


def test_a_normal_request_and_keep_alive(port: int) -> None:
    head = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello"
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    for _ in range(2):
        sock.sendall(head)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    sock.close()
    big = b"a" * (4 << 20)
    got, _ = _talk(
        port, [b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % len(big), big]
    )
    assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"%d" % len(big))


def test_a_head_trickled_byte_by_byte_is_cut_with_408(port: int) -> None:
    trickle = [b"GET / HTTP/1.1\r\n"] + [bytes([c]) for c in b"x-slow: " + b"a" * 100]
    got, seconds = _talk(port, trickle, pause=0.1)
    assert got.startswith(b"HTTP/1.1 408"), got
    assert b"application/problem+json" in got
    assert seconds < 3


def test_a_silent_connection_is_cut(port: int) -> None:
    got, seconds = _talk(port, [])
    assert got.startswith(b"HTTP/1.1 408") and seconds < 3


def test_a_body_never_sent_is_cut_and_the_app_hears_the_client_gone(port: int) -> None:
    got, seconds = _talk(port, [b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc"])
    assert got.startswith(b"HTTP/1.1 408") and seconds < 3
    time.sleep(0.2)
    assert seen == ["disconnect"]


def test_a_body_trickled_below_the_minimum_rate_is_cut(port: int) -> None:
    head = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n"
    got, seconds = _talk(port, [head] + [b"a"] * 1000, pause=0.05)
    assert got.startswith(b"HTTP/1.1 408") and seconds < 3


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET / HTTP/1.1\r\nhost: x\r\n" + b"x-a: b\r\n" * 1000 + b"\r\n", b"431"),
        (b"GET / HTTP/1.1\r\nhost: x\r\nx-a: " + b"a" * (1 << 20) + b"\r\n\r\n", b"431"),
        (b"GET /" + b"a" * (100 << 10) + b" HTTP/1.1\r\nhost: x\r\n\r\n", b"414"),
    ],
    ids=["1000 headers", "1 MiB header", "100 KiB URL"],
)
def test_an_oversized_head_is_refused(port: int, head: bytes, status: bytes) -> None:
    got, _ = _talk(port, [head])
    assert got.startswith(b"HTTP/1.1 " + status), got[:200]


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


@pytest.mark.anyio
async def test_a_head_goes_out_with_the_first_body_part_in_one_write() -> None:
    transport = _Transport()
    writer = _HeadWithBody(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    writer.expect_head()
    writer.write(b"HEAD")
    assert transport.writes == []
    writer.write(b"body")
    writer.write(b"more")
    assert transport.writes == [b"HEADbody", b"more"]
    await asyncio.sleep(0)  # the turn's end: nothing was left held
    assert transport.writes == [b"HEADbody", b"more"]


@pytest.mark.anyio
async def test_a_head_without_a_body_in_the_same_turn_goes_out_at_its_end() -> None:
    transport = _Transport()
    writer = _HeadWithBody(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    writer.expect_head()
    writer.write(b"HEAD")
    await asyncio.sleep(0)
    assert transport.writes == [b"HEAD"]
    writer.expect_head()
    writer.write(b"HEAD2")
    writer.close()  # a held head is written before the connection closes
    assert transport.writes == [b"HEAD", b"HEAD2"] and transport.closed


def test_a_late_body_does_not_hold_the_head_back(port: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(b"GET /late-body HTTP/1.1\r\nhost: x\r\n\r\n")
        started = time.monotonic()
        head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
        assert time.monotonic() - started < 0.8
        assert sock.recv(4096) == b"0"
    finally:
        sock.close()


def test_an_idle_kept_alive_connection_is_closed_and_a_busy_one_is_not(port: int) -> None:
    request = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"
    busy = socket.create_connection(("127.0.0.1", port), timeout=5)
    idle = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        for sock in (busy, idle):
            sock.sendall(request)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        for _ in range(4):  # 2 s in all, each pause under the 1 s keep-alive timeout
            time.sleep(0.5)
            busy.sendall(request)
            assert busy.recv(4096).startswith(b"HTTP/1.1 200")
        assert idle.recv(4096) == b""  # closed by the server, no answer
    finally:
        busy.close()
        idle.close()
