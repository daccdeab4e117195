"""The HTTP protocol every app is served with: uvicorn's (httptools), plus limits it lacks.

uvicorn waits for a request's head and body as long as the client likes, and keeps a head of any
size: a slow-loris client (a head trickled a byte at a time, a body declared and never sent)
holds a connection and a task for ever, and a 16 MiB header is read whole. Here:

- the head must arrive within `head_timeout_seconds` of the connection or of the previous
  answer's end (keep-alive idles are uvicorn's own `timeout_keep_alive`), else 408 and close;
- the body may be silent for at most `body_timeout_seconds`, and on average must arrive at
  `body_min_rate` bytes/s (each byte received buys 1/rate s, as Apache's mod_reqtimeout), else
  408 (or a plain close once the answer has begun); a body the app has not read yet (reading
  paused) is not held against the client;
- a head over `max_head_bytes` (414 when the URL alone is), or with over `max_headers`
  header lines, is answered 431 and the connection closed.

Two costs of uvicorn's per-request path are cut here (measured with `python -m bench.gateway`,
docs/gateway.md): an answer's head is written together with its first body part, one send
instead of two (uvicorn writes each ASGI message at once; a small answer then took two
syscalls and woke the client twice), and one timer handle per connection, moved forward,
serves the head and body limits and uvicorn's keep-alive idle timeout (uvicorn makes and cancels
a timer per request for the latter, and the limits did too).

Limits are settings (`LGSP_HTTP_*`), read once per process.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lgsp_kit.errors import code_for_status, render_problem


class HttpLimits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LGSP_HTTP_", extra="ignore")

    head_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 10.0
    body_min_rate: float = 500.0
    max_head_bytes: int = 64 * 1024
    max_headers: int = 256


@cache
def limits() -> HttpLimits:
    return HttpLimits()


_DETAIL = {
    408: "the request did not arrive in time",
    414: "the request's URL is too long",
    431: "the request's header fields are too large or too many",
}


_REASON = {408: b"Request Timeout", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
_CLOSE = {"connection": "close"}


def refusal(status: int) -> bytes:
    """A whole problem+json answer that closes the connection."""
    body, headers = render_problem(status, code_for_status(status), _DETAIL[status], headers=_CLOSE)
    head = b"".join(b"%s: %s\r\n" % header for header in headers)
    return b"HTTP/1.1 %d %s\r\n%s\r\n" % (status, _REASON[status], head) + body


class _Refused(Exception):
    pass


class _HeadWithBody:
    """The connection's transport as a request's cycle writes to it: the first write of an
    answer (its head) is held until the next write (its first body part, usually in the same
    turn of the loop) and sent with it, or at the end of the loop's turn when no body part
    comes in it (a streamed answer's head is not kept waiting for its body)."""

    __slots__ = ("_held", "_hold_next", "_loop", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._hold_next = False

    def expect_head(self) -> None:
        """A new request's cycle: its next write is a head."""
        self._hold_next = True

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self.transport.write(held + data)
        elif self._hold_next:
            self._hold_next = False
            self._held = data
            self._loop.call_soon(self.flush)
        else:
            self.transport.write(data)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self.transport.is_closing():
            self.transport.write(held)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the head and body limits above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits()
        # "head", "body", None (the app has the request) or "idle" (kept alive between requests)
        self._phase: str | None = "head"
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._head_bytes = 0
        self._url_bytes = 0
        self._header_count = 0
        self._refusal: int | None = None
        self._writer: _HeadWithBody | None = None

    # -- the clock

    def _arm(self, deadline: float) -> None:
        """Expire at `deadline`: a timer already due before it is kept (it moves on when it
        fires), one due after it is replaced."""
        self._deadline = deadline
        timer = self._timer
        if timer is None or self._timer_at > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self.loop.call_at(deadline, self._expired)
            self._timer_at = deadline

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self._phase is None or self.transport is None or self.transport.is_closing():
            return
        now = self.loop.time()
        if self._phase == "body" and self.flow is not None and self.flow.read_paused:
            self._deadline = now + self.limits.body_timeout_seconds
        if now < self._deadline:
            self._arm(self._deadline)
            return
        if self._phase == "idle":
            # uvicorn's keep-alive timeout: an idle connection is closed without an answer.
            self._phase = None
            self.transport.close()
            return
        cycle = self.cycle if self._phase == "body" else None
        if cycle is None or not cycle.response_started:
            self.transport.write(refusal(408))
        if cycle is not None:
            # The app reading the body hears that the client is gone; what it answers is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self._phase = None
        self.transport.close()

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._writer = _HeadWithBody(transport, self.loop)
        self._arm(self.loop.time() + self.limits.head_timeout_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._phase = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "head":
            self._head_bytes += len(data)
        super().data_received(data)
        # A head still incomplete past the limit: its bytes are not kept any longer.
        if (
            self._phase == "head"
            and self._head_bytes > self.limits.max_head_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(431)

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:
            self._refuse(self._refusal)
            return
        super().send_400_response(msg)

    def _refuse(self, status: int) -> None:
        self._disarm()
        self._phase = None
        if not self.transport.is_closing():
            self.transport.write(refusal(status))
            self.transport.close()

    # -- parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "head"
        self._head_bytes = self._url_bytes = self._header_count = 0
        # The timer left from the previous request, if any, moves to the new deadline when it
        # fires (`_expired`): no new timer handle per request.
        self._arm(self.loop.time() + self.limits.head_timeout_seconds)

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_head_bytes:
            self._refusal = 414
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refusal = 431
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._phase = "body"
        self._deadline = self.loop.time() + self.limits.body_timeout_seconds
        super().on_headers_complete()
        cycle, writer = self.cycle, self._writer
        if cycle is not None and cycle.scope is self.scope and writer is not None:
            writer.expect_head()
            cycle.transport = writer  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        now = self.loop.time()
        self._deadline = min(
            self._deadline + len(body) / self.limits.body_min_rate,
            now + self.limits.body_timeout_seconds,
        )
        super().on_body(body)

    def on_response_complete(self) -> None:
        """uvicorn's, with the keep-alive wait on the connection's one timer."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif self._phase is None:
            self._phase = "idle"
            self._arm(self.loop.time() + self.timeout_keep_alive)

    def on_message_complete(self) -> None:
        # The timer stays: it finds no phase when it fires (or the next request's deadline).
        self._phase = None
        super().on_message_complete()
