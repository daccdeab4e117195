"""The proxy's HTTP/1.1 upstream client against real local servers: keep-alive reuse, framing
(length, chunked, until close, HEAD), a large streamed answer, broken, slow and absent backends.
Run on asyncio's loop and on uvloop (the loop the gateway runs on)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from gateway.fastpath.upstream import Answer, Pool, UpstreamError
from lgsp_kit.natsserver import free_port
from tests.gateway.conftest import Backend, run_backend

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(params=["asyncio", "uvloop"])
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    if request.param == "uvloop":
        return ("asyncio", {"use_uvloop": True})
    return "asyncio"


def get(path: str = "/v1/things", host: str = "backend", extra: bytes = b"") -> bytes:
    return f"GET {path} HTTP/1.1\r\nhost: {host}\r\n".encode() + extra + b"\r\n"


async def body_of(answer: Answer) -> bytes:
    parts = []
    while chunk := await answer.read():
        parts.append(chunk)
    return b"".join(parts)


def pool_for(port: int, **kw: Any) -> Pool:
    values: dict[str, Any] = {"connect_timeout": 1.0, "read_timeout": 1.0, **kw}
    return Pool("127.0.0.1", port, **values)


@asynccontextmanager
async def raw_server(handle: Handler) -> AsyncIterator[tuple[int, list[int]]]:
    """A server written byte by byte; yields its port and the count of connections it took."""
    accepted: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], accepted
    finally:
        server.close()


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def test_connections_are_kept_alive_and_reused() -> None:
    async with run_backend(Backend()) as url:
        pool = pool_for(int(url.rsplit(":", 1)[1]))
        for _ in range(5):
            answer = await pool.request(get())
            assert answer.status == 200
            assert b'"path": "/v1/things"' in await body_of(answer)
        assert pool.opened == 1
        assert pool.idle_count() == 1
        # Concurrent calls each get a connection; all go back to the pool afterwards.
        answers = await asyncio.gather(*(pool.request(get()) for _ in range(4)))
        await asyncio.gather(*(body_of(a) for a in answers))
        assert pool.opened == 4
        assert pool.idle_count() == 4
        pool.close()


async def test_a_request_body_is_sent_as_framed_by_the_head() -> None:
    async with run_backend(Backend()) as url:
        pool = pool_for(int(url.rsplit(":", 1)[1]))
        data = bytes(range(256)) * 400

        async def parts() -> AsyncIterator[bytes]:
            for i in range(0, len(data), 10_000):
                yield data[i : i + 10_000]

        head = (
            f"PUT /v1/things/1 HTTP/1.1\r\nhost: b\r\ncontent-length: {len(data)}\r\n\r\n"
        ).encode()
        answer = await pool.request(head, parts())
        seen = await body_of(answer)
        assert hashlib.sha256(data).hexdigest().encode() in seen
        assert f'"body_bytes": {len(data)}'.encode() in seen
        assert pool.idle_count() == 1


async def test_chunked_answers_are_read_whole_and_the_connection_reused() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_head(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            for part in (b"alpha-", b"beta-", b"gamma"):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n\r\n")

    async with raw_server(handle) as (port, accepted):
        pool = pool_for(port)
        for _ in range(3):
            answer = await pool.request(get())
            assert (b"transfer-encoding", b"chunked") in answer.headers
            assert await body_of(answer) == b"alpha-beta-gamma"
            assert answer.done
        assert len(accepted) == 1


async def test_a_large_answer_streams_through_in_parts() -> None:
    size = 8 * 1024 * 1024
    block = bytes(range(256)) * 256  # 64 KiB

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()
        await reader.read()  # keeps the connection open

    async with raw_server(handle) as (port, _):
        pool = pool_for(port)
        answer = await pool.request(get())
        digest, received, parts = hashlib.sha256(), 0, 0
        while chunk := await answer.read():
            parts += 1
            received += len(chunk)
            digest.update(chunk)
            await asyncio.sleep(0)  # a slow reader: the client pauses reading meanwhile
        assert received == size
        assert digest.hexdigest() == hashlib.sha256(block * (size // len(block))).hexdigest()
        assert parts > 1  # passed on as it came, not buffered whole
        assert pool.idle_count() == 1


async def test_answers_to_head_and_204_have_no_body_and_keep_the_connection() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await read_head(reader)
            if head.startswith(b"HEAD"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")

    async with raw_server(handle) as (port, accepted):
        pool = pool_for(port)
        head_request = b"HEAD /v1/things HTTP/1.1\r\nhost: b\r\n\r\n"
        answer = await pool.request(head_request, head_only=True)
        assert (answer.status, await body_of(answer)) == (200, b"")
        answer = await pool.request(get())
        assert (answer.status, await body_of(answer)) == (204, b"")
        answer = await pool.request(head_request, head_only=True)
        assert await body_of(answer) == b""
        assert len(accepted) == 1


async def test_an_answer_ended_by_close_is_read_to_the_end_and_not_reused() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end")
        await writer.drain()

    async with raw_server(handle) as (port, accepted):
        pool = pool_for(port)
        for _ in range(2):
            answer = await pool.request(get())
            assert await body_of(answer) == b"until the end"
        assert pool.idle_count() == 0
        assert len(accepted) == 2


async def test_connection_close_from_the_backend_is_honoured() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.2)

    async with raw_server(handle) as (port, _):
        pool = pool_for(port)
        assert await body_of(await pool.request(get())) == b"ok"
        assert pool.idle_count() == 0


async def test_an_interim_100_answer_is_skipped() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 4\r\nx-final: yes\r\n\r\ndone")
        await writer.drain()
        await reader.read()

    async with raw_server(handle) as (port, _):
        answer = await pool_for(port).request(get())
        assert answer.status == 201
        assert answer.headers == [(b"content-length", b"4"), (b"x-final", b"yes")]
        assert await body_of(answer) == b"done"


async def test_a_backend_closing_mid_answer_is_a_protocol_error() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b")
        await writer.drain()

    async with raw_server(handle) as (port, _):
        pool = pool_for(port)
        answer = await pool.request(get())
        assert answer.status == 200
        with pytest.raises(UpstreamError) as caught:
            await body_of(answer)
        assert caught.value.kind == "protocol"
        answer.release()
        assert pool.idle_count() == 0


async def test_hang_up_without_an_answer_and_garbage_are_protocol_errors() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()
        await reader.read()

    for handle in (hang_up, garbage):
        async with raw_server(handle) as (port, _):
            with pytest.raises(UpstreamError) as caught:
                await pool_for(port).request(get())
            assert caught.value.kind == "protocol"


async def test_slow_first_byte_and_stalls_between_parts_time_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await asyncio.sleep(5)

    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf!")
        await writer.drain()
        await asyncio.sleep(5)

    async with raw_server(silent) as (port, _):
        start = time.monotonic()
        with pytest.raises(UpstreamError) as caught:
            await pool_for(port, read_timeout=0.3).request(get())
        assert caught.value.kind == "timeout"
        assert 0.25 < time.monotonic() - start < 1.5
    async with raw_server(stalls) as (port, _):
        pool = pool_for(port, read_timeout=0.3)
        answer = await pool.request(get())
        assert await answer.read() == b"half!"
        with pytest.raises(UpstreamError) as caught:
            await answer.read()
        assert caught.value.kind == "timeout"
        answer.release()
        assert pool.idle_count() == 0


async def test_connection_refused_is_a_connect_error() -> None:
    start = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        await pool_for(free_port()).request(get())
    assert caught.value.kind == "connect"
    assert time.monotonic() - start < 1.0


async def test_a_kept_connection_the_backend_closed_is_replaced_without_error() -> None:
    async def one_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Says keep-alive, then closes once the answer is out (as an idle timeout would,
        # racing the next request).
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()

    async with raw_server(one_answer) as (port, accepted):
        pool = pool_for(port)
        for _ in range(3):
            answer = await pool.request(get())
            assert await body_of(answer) == b"ok"
            await asyncio.sleep(0.05)
        assert len(accepted) == 3


async def test_connections_idle_too_long_are_not_used() -> None:
    async with run_backend(Backend()) as url:
        pool = pool_for(int(url.rsplit(":", 1)[1]), idle_seconds=0.1)
        await body_of(await pool.request(get()))
        await body_of(await pool.request(get()))
        assert pool.opened == 1
        await asyncio.sleep(0.2)
        await body_of(await pool.request(get()))
        assert pool.opened == 2
        assert pool.idle_count() == 1


async def test_an_answer_not_read_to_the_end_closes_its_connection() -> None:
    backend = Backend()
    async with run_backend(backend) as url:
        pool = pool_for(int(url.rsplit(":", 1)[1]))
        answer = await pool.request(get("/v1/stream"))
        assert await answer.read() == b"first;"
        answer.release()  # the caller went away
        assert pool.idle_count() == 0
        backend.release_stream.set()
