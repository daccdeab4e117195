"""The NATS JetStream connection: connects in the background, reconnects forever."""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import timedelta
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger("lgsp.bus")

SUBJECTS = ["lgsp.>"]
DUPLICATE_WINDOW = timedelta(minutes=10)


def server_urls(url: str) -> list[str]:
    """The servers of `nats_url`: one URL, or a comma-separated list (the servers of a cluster,
    tried in turn; the client also learns the others from the one it reaches)."""
    servers = [part.strip() for part in url.split(",") if part.strip()]
    if not servers:
        raise ValueError("no NATS server URL given")
    return servers


def connect_options(user: str = "", password: str = "", tls_ca: str = "") -> dict[str, Any]:
    """`nats.connect` keyword arguments for an app's credentials and the server's CA."""
    options: dict[str, Any] = {}
    if user:
        options["user"] = user
        options["password"] = password
        # Replies on an inbox of this user's own: the server lets it read no other's.
        options["inbox_prefix"] = f"_INBOX.{user}"
    if tls_ca:
        # TLS from the first byte (the server allows it with `handshake_first`): a server, or
        # someone in the middle, that offers no TLS never gets to read the password.
        options["tls"] = ssl.create_default_context(cafile=tls_ca)
        options["tls_handshake_first"] = True
    return options


class Bus:
    def __init__(
        self,
        url: str,
        *,
        stream: str = "LGSP",
        name: str = "lgsp",
        replicas: int = 1,
        user: str = "",
        password: str = "",
        tls_ca: str = "",
        create_stream: bool = True,
    ) -> None:
        self.url = url
        self.servers = server_urls(url)
        self.stream = stream
        self.replicas = replicas
        self.name = name
        self.options = connect_options(user, password, tls_ca)
        # A consumer-only app may not create the stream: it waits for a producer to.
        self.create_stream = create_stream
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise ConnectionError("not connected to NATS yet")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise ConnectionError("not connected to NATS yet")
        return self._js

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name="bus-connect")

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def _connect_loop(self) -> None:
        delay = 0.2
        while not self._closing:
            try:
                nc = await nats.connect(
                    servers=self.servers,
                    name=self.name,
                    connect_timeout=2,
                    reconnect_time_wait=0.5,
                    max_reconnect_attempts=-1,
                    ping_interval=5,
                    max_outstanding_pings=3,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnect,
                    reconnected_cb=self._on_reconnect,
                    **self.options,
                )
            except Exception as exc:  # NATS not up yet: keep trying, readyz says 503 meanwhile
                log.warning("NATS at %s unreachable (%s); retrying in %.1fs", self.url, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._nc = nc
            self._js = nc.jetstream(timeout=5)
            break
        while not self._closing:
            try:
                await self.ensure_stream()
                self._ready.set()
                return
            except Exception as exc:
                log.warning("JetStream stream %s not ready (%s); retrying", self.stream, exc)
                await asyncio.sleep(1.0)

    async def ensure_stream(self) -> None:
        config = StreamConfig(
            name=self.stream,
            subjects=SUBJECTS,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW.total_seconds(),
            num_replicas=self.replicas,
        )
        try:
            await self.js.stream_info(self.stream)
        except NotFoundError:
            if not self.create_stream:
                raise
            try:
                await self.js.add_stream(config)
            except BadRequestError:
                # Created by another replica between our two calls.
                await self.js.stream_info(self.stream)

    async def _on_error(self, exc: Exception) -> None:
        # A permissions violation says this app tried what its NATS user may not do.
        level = logging.WARNING if "permissions" in str(exc).lower() else logging.DEBUG
        log.log(level, "NATS error: %s", exc)

    async def _on_disconnect(self) -> None:
        log.warning("NATS disconnected")

    async def _on_reconnect(self) -> None:
        log.info("NATS reconnected")

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._nc is not None and not self._nc.is_closed:
            # Not drain(): pulled-but-unacked messages are simply redelivered to the next run.
            try:
                await asyncio.wait_for(self._nc.close(), 5)
            except Exception as exc:
                log.warning("closing the NATS connection: %s", exc)
