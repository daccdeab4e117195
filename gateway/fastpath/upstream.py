"""A small HTTP/1.1 client for the proxy's hot path: one keep-alive pool per backend.

Why not aiohttp here: profiles of the gateway showed most of a proxied call's time in the
client's per-request machinery (URL objects, header multidicts, a writer task per request,
timeout contexts). A proxy needs much less: it already holds the request head as bytes, and it
passes the answer on as bytes. So this client writes a pre-built head on an asyncio Protocol,
parses the answer with `httptools` (the C parser uvicorn uses), and hands the body over in
chunks as they arrive.

Rules it keeps:
- a connection goes back to the pool only after its answer was read to the end, the backend
  allowed keep-alive and nothing unexpected came after; otherwise it is closed;
- the pool is a stack (LIFO: the warmest connection first, no scans); connections idle longer
  than `idle_seconds` are dropped rather than used (a backend closes its idle ones too —
  uvicorn after 5 s), and a call without a body that fails on a reused connection before any
  byte of the answer is retried once on a new one (the backend closed it meanwhile);
- timeouts: connecting, the first byte of the answer, and every pause between two parts of it;
- errors are `UpstreamError` with a `kind`: `connect`, `timeout` or `protocol`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from typing import Literal, cast

import httptools

Kind = Literal["connect", "timeout", "protocol"]
# Buffered answer bytes above which reading from the backend pauses until the caller catches up.
HIGH_WATER = 256 * 1024


class UpstreamError(Exception):
    def __init__(self, kind: Kind, detail: str, *, before_answer: bool = False) -> None:
        super().__init__(detail)
        self.kind: Kind = kind
        # Nothing of the answer came back (a retry of a call without a body is safe).
        self.before_answer = before_answer


class Connection(asyncio.Protocol):
    """One connection to a backend; carries one request and its answer at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self._parser: httptools.HttpResponseParser | None = None
        self._head_only = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._paused_reading = False
        self._reset_answer()

    def _reset_answer(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.error: UpstreamError | None = None
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._got_bytes = False
        self._interim = False
        self._framed = False  # a Content-Length or chunked answer (else: ends at close)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self.complete:
            # Bytes nobody asked for: this connection cannot be trusted with another call.
            self.close()
            return
        self._got_bytes = True
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError("protocol", f"unreadable answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._parser is not None and not self.complete:
            if self.headers_done and not self._framed:
                self.complete = True  # an answer delimited by the end of the connection
                self._wake()
            else:
                what = "during" if self._got_bytes else "before"
                self._fail(
                    UpstreamError(
                        "protocol",
                        f"the connection closed {what} the answer",
                        before_answer=not self._got_bytes,
                    )
                )
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_exception(ConnectionResetError("connection lost while writing"))

    def pause_writing(self) -> None:
        self._drain = self.loop.create_future()

    def resume_writing(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length" or name == b"transfer-encoding":
            self._framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            self._interim = True  # 1xx: the real answer follows on the same connection
            return
        self.status = status
        self.headers_done = True
        if self._head_only or status in (204, 304):
            self._framed = True
        if self._head_only:
            # The answer to HEAD has no body whatever its Content-Length says.
            self.keep_alive = self._parser.should_keep_alive()
            self.complete = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.complete:  # body bytes after an answer to HEAD: do not reuse
            self.keep_alive = False
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._paused_reading and self.transport:
            self._paused_reading = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        assert self._parser is not None
        if self._interim:
            self._interim = False
            self.headers.clear()
            self._framed = False
            return
        if self.complete:
            return
        self.keep_alive = self._parser.should_keep_alive()
        self.complete = True
        self._wake()

    # the client's side

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def reusable(self) -> bool:
        return (
            self.complete
            and self.keep_alive
            and self.error is None
            and not self.closed
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def begin(self, head_only: bool) -> None:
        """Ready for the next answer. The parser of the previous one goes on (llhttp starts the
        next message of a kept-alive connection by itself), except around an answer to HEAD,
        whose Content-Length announces a body that never comes."""
        if self._parser is None or head_only or self._head_only:
            self._parser = httptools.HttpResponseParser(self)
        self._reset_answer()
        self._head_only = head_only

    def write(self, data: bytes) -> asyncio.Future[None] | None:
        """Send `data`; returns what to await before sending more when the transport's buffer
        is full, else None (no coroutine for a write that does not wait)."""
        assert self.transport is not None
        if self.closed:
            raise ConnectionResetError("connection closed")
        self.transport.write(data)
        return self._drain

    async def wait(self, seconds: float, what: str) -> None:
        """Until the parser has news (head, body or end), the connection fails, or `seconds`
        pass. A timer handle rather than `asyncio.timeout`: no task cancellation per wait."""
        waiter = self._waiter = self.loop.create_future()
        timer = self.loop.call_later(seconds, _expire, waiter)
        try:
            await waiter
        except TimeoutError:
            raise UpstreamError(
                "timeout", f"no {what} within {seconds:g} s", before_answer=not self._got_bytes
            ) from None
        finally:
            timer.cancel()
            self._waiter = None

    def has_data(self) -> bool:
        return bool(self._chunks)

    def take(self) -> bytes:
        """The body bytes received so far (one piece, possibly empty)."""
        chunks = self._chunks
        if not chunks:
            return b""
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        if self._paused_reading and self.transport is not None:
            self._paused_reading = False
            self.transport.resume_reading()
        return data


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Answer:
    """A backend's answer: status and headers at once, the body read with `read()`."""

    __slots__ = ("_conn", "_pool", "_released", "headers", "status")

    def __init__(self, pool: Pool, conn: Connection) -> None:
        self._pool = pool
        self._conn = conn
        self._released = False
        self.status = conn.status
        self.headers = conn.headers

    @property
    def done(self) -> bool:
        """The whole body has been read."""
        conn = self._conn
        return conn.complete and conn.error is None and not conn.has_data()

    def ready(self) -> bytes | None:
        """The next part of the body when it is already here (`b""` at its end), else None."""
        conn = self._conn
        data = conn.take()
        if data:
            return data
        if conn.error is not None:
            raise conn.error
        if conn.complete:
            self.release()
            return b""
        return None

    async def read(self) -> bytes:
        """The next part of the body as it came; `b""` at its end."""
        while True:
            data = self.ready()
            if data is not None:
                return data
            await self._conn.wait(self._pool.read_timeout, "further part of the answer")

    def release(self) -> None:
        """Done with the answer: the connection goes back to the pool when it is reusable."""
        if not self._released:
            self._released = True
            self._pool.put(self._conn)


class Pool:
    """Keep-alive connections to one backend (`host:port`), most recently used first."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float,
        read_timeout: float,
        idle_seconds: float = 4.0,
        max_idle: int = 256,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle_seconds = idle_seconds
        self.max_idle = max_idle
        self._idle: list[Connection] = []
        self.opened = 0  # connections made so far (tests and metrics read it)

    async def request(
        self, head: bytes, body: AsyncIterator[bytes] | None = None, *, head_only: bool = False
    ) -> Answer:
        """Send a request (`head`: request line and headers, ending in an empty line; `body`:
        already framed as the head says) and wait for the answer's status and headers."""
        conn = self._idle_connection() or await self._connect()
        try:
            return await self._exchange(conn, head, body, head_only)
        except UpstreamError as exc:
            conn.close()
            if not (conn.reused and body is None and exc.before_answer and exc.kind != "timeout"):
                raise
        except BaseException:
            conn.close()
            raise
        # The backend closed a kept-alive connection as it was reused: once more, on a new one.
        conn = await self._connect()
        try:
            return await self._exchange(conn, head, None, head_only)
        except BaseException:
            conn.close()
            raise

    async def _exchange(
        self,
        conn: Connection,
        head: bytes,
        body: AsyncIterator[bytes] | None,
        head_only: bool,
    ) -> Answer:
        conn.begin(head_only)
        try:
            drain = conn.write(head)
            if drain is not None:
                await drain
            if body is not None:
                async for chunk in body:
                    drain = conn.write(chunk)
                    if drain is not None:
                        await drain
        except OSError as exc:
            # A backend may answer (say, 413) and close before reading the whole body.
            if not conn.headers_done:
                raise UpstreamError(
                    "protocol", f"the connection broke while sending: {exc}", before_answer=True
                ) from exc
        while not conn.headers_done:
            if conn.error is not None:
                raise conn.error
            await conn.wait(self.read_timeout, "answer")
        return Answer(self, conn)

    def _idle_connection(self) -> Connection | None:
        """The warmest kept-alive connection still fit for a call, if any."""
        idle = self._idle
        if idle:
            if time.monotonic() - idle[-1].idle_since > self.idle_seconds:
                # The most recent is too old, so all are (it is a stack): drop them all.
                for conn in idle:
                    conn.close()
                idle.clear()
            while idle:
                conn = idle.pop()
                if not conn.closed:
                    conn.reused = True
                    return conn
        return None

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop), self.host, self.port, ssl=self.tls
                )
        except TimeoutError as exc:
            raise UpstreamError(
                "timeout", f"no connection within {self.connect_timeout:g} s"
            ) from exc
        except OSError as exc:
            raise UpstreamError("connect", f"cannot connect: {exc.strerror or exc}") from exc
        self.opened += 1
        return conn

    def put(self, conn: Connection) -> None:
        if conn.reusable() and len(self._idle) < self.max_idle:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()

    def idle_count(self) -> int:
        return len(self._idle)

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
