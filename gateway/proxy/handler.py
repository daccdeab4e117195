"""The published-API path: `/{context}/{version}/...` → the service's `/v1/...`.

A raw ASGI handler (no FastAPI routing on the hot path) with one shared aiohttp session:
httpx's pool is too slow for a proxy under concurrency (measured, see the README).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import Receive, Scope, Send

from gateway.auth.tokens import Claims, InvalidToken, KeyRing
from gateway.settings import Settings
from lgsp_kit.errors import PROBLEM_JSON, code_for_status, problem_body
from lgsp_kit.metrics import LATENCY_BUCKETS
from lgsp_kit.requestid import current_request_id

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Not copied from the caller's request: aiohttp sets them for the upstream request.
REQUEST_SKIP = HOP_BY_HOP | {b"host", b"content-length"}
# Not copied from the backend's answer: the gateway's server writes its own.
RESPONSE_SKIP = HOP_BY_HOP | {b"date", b"server", b"x-request-id"}
STRIPPED_FROM_CALLER = frozenset({b"x-lgsp-client", b"x-lgsp-organ"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
VERSION = "v1"


@dataclass(frozen=True)
class ConsumerView:
    client_id: str
    apis: frozenset[str]
    tier: str
    enabled: bool
    fetched_at: float


ConsumerLoader = Callable[[str], Awaitable[ConsumerView | None]]


class ProxyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "lgsp_gateway_requests",
            "Calls to published APIs, by API, status and consumer tier",
            ["api", "status", "tier"],
            registry=registry,
        )
        self.duration = Histogram(
            "lgsp_gateway_request_duration_seconds",
            "Time to answer a call to a published API",
            ["api"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.upstream_errors = Counter(
            "lgsp_gateway_upstream_errors",
            "Calls the backend did not answer, by API and kind",
            ["api", "kind"],
            registry=registry,
        )


class ProxyError(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or code_for_status(status)
        self.headers = headers or {}


class Proxy:
    def __init__(
        self,
        settings: Settings,
        keyring: KeyRing,
        load_consumer: ConsumerLoader,
        metrics: ProxyMetrics,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.load_consumer = load_consumer
        self.metrics = metrics
        self.upstreams = {k: v.rstrip("/") for k, v in settings.upstreams.items()}
        self._consumers: dict[str, ConsumerView] = {}
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    def matches(self, path: str) -> bool:
        context = path[1:].split("/", 1)[0]
        return context in self.upstreams

    async def consumer(self, client_id: str) -> ConsumerView | None:
        """The consumer's subscriptions, cached for a few seconds (a disable bites quickly)."""
        view = self._consumers.get(client_id)
        if view is None or time.monotonic() - view.fetched_at > 5.0:
            view = await self.load_consumer(client_id)
            if view is None:
                self._consumers.pop(client_id, None)
                return None
            self._consumers[client_id] = view
        return view

    def forget(self, client_id: str) -> None:
        self._consumers.pop(client_id, None)

    async def _authorise(self, scope: Scope, api: str, method: str) -> tuple[Claims, ConsumerView]:
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                v = value.decode("latin-1")
                if v[:7].lower() == "bearer ":
                    token = v[7:].strip()
                break
        if not token:
            raise ProxyError(
                401,
                "a Bearer access token is required",
                "missing_token",
                {"WWW-Authenticate": 'Bearer realm="lgsp"'},
            )
        try:
            claims = self.keyring.verify(token)
        except InvalidToken as exc:
            raise ProxyError(
                401,
                str(exc),
                "invalid_token",
                {"WWW-Authenticate": 'Bearer realm="lgsp", error="invalid_token"'},
            ) from exc
        consumer = await self.consumer(claims.client_id)
        if consumer is None or not consumer.enabled:
            raise ProxyError(
                401, "the consumer of this token is disabled or unknown", "consumer_disabled"
            )
        if api not in consumer.apis:
            raise ProxyError(403, f"not subscribed to the {api} API", "not_subscribed")
        needed = f"{api}:{'read' if method in READ_METHODS else 'write'}"
        if needed not in claims.scopes:
            raise ProxyError(403, f"the token lacks the scope {needed}", "insufficient_scope")
        return claims, consumer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        path: str = scope["path"]
        _, api, *rest = path.split("/", 3)
        tier = "none"
        status = 500
        try:
            if not rest or rest[0] != VERSION:
                raise ProxyError(404, f"the {api} API has no version {rest[0] if rest else ''!r}")
            claims, consumer = await self._authorise(scope, api, scope["method"])
            tier = consumer.tier
            status = await self._forward(scope, receive, send, api, rest, claims)
        except ProxyError as exc:
            status = exc.status
            await _send_problem(send, exc, path)
        finally:
            m = self.metrics
            m.requests.labels(api, str(status), tier).inc()
            m.duration.labels(api).observe(time.perf_counter() - start)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        limit = self.settings.max_body_bytes
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ProxyError(400, "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise ProxyError(413, f"request body over {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        api: str,
        rest: list[str],
        claims: Claims,
    ) -> int:
        assert self.session is not None
        tail = "/" + rest[1] if len(rest) > 1 else ""
        url = f"{self.upstreams[api]}/v1{tail}"
        query = scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")
        headers: list[tuple[str, str]] = []
        for name, value in scope["headers"]:
            if name in REQUEST_SKIP or name in STRIPPED_FROM_CALLER:
                continue
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        headers.append(("X-LGSP-Client", claims.client_id))
        headers.append(("X-LGSP-Organ", claims.organ))
        client = scope.get("client")
        if client:
            headers.append(("X-Forwarded-For", client[0]))
        body = await self._read_body(receive)
        try:
            async with self.session.request(
                scope["method"],
                url,
                headers=headers,
                data=body if body else None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.settings.upstream_timeout_seconds),
            ) as resp:
                out = [
                    (k.lower(), v) for k, v in resp.raw_headers if k.lower() not in RESPONSE_SKIP
                ]
                out.append((b"x-request-id", current_request_id().encode()))
                started = False
                async for chunk in resp.content.iter_any():
                    if not started:
                        await send(
                            {"type": "http.response.start", "status": resp.status, "headers": out}
                        )
                        started = True
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if not started:
                    await send(
                        {"type": "http.response.start", "status": resp.status, "headers": out}
                    )
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return resp.status
        except TimeoutError as exc:
            self.metrics.upstream_errors.labels(api, "timeout").inc()
            raise ProxyError(504, f"the {api} service did not answer in time") from exc
        except aiohttp.ClientConnectorError as exc:
            self.metrics.upstream_errors.labels(api, "connect").inc()
            raise ProxyError(503, f"the {api} service is unavailable") from exc
        except aiohttp.ClientError as exc:
            self.metrics.upstream_errors.labels(api, "protocol").inc()
            raise ProxyError(
                502, f"the {api} service answered badly: {type(exc).__name__}"
            ) from exc
        except asyncio.CancelledError:
            raise


async def _send_problem(send: Send, exc: ProxyError, path: str) -> None:
    body = orjson.dumps(problem_body(exc.status, exc.code, exc.detail, instance=path))
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def consumer_view(row: Any) -> ConsumerView:
    return ConsumerView(
        client_id=row.client_id,
        apis=frozenset(row.apis.split()),
        tier=row.tier,
        enabled=row.enabled,
        fetched_at=time.monotonic(),
    )
