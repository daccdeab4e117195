"""The published-API path: `/{context}/{version}/...` → the service's `/v1/...`.

A raw ASGI handler (no FastAPI routing on the hot path) with one shared aiohttp session:
httpx's pool is too slow for a proxy under concurrency (measured, see docs/gateway.md).
Bodies stream both ways; every outcome is counted, audited and, when the gateway answers
itself, told as problem+json.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import Receive, Scope, Send

from gateway.audit.log import AuditLog, CallRecord, now_utc
from gateway.auth.tokens import Claims, InvalidToken, KeyRing
from gateway.catalogue.service import Catalogue
from gateway.proxy.throttle import Decision, Throttle
from gateway.settings import Settings
from lgsp_kit.errors import PROBLEM_JSON, code_for_status, problem_body
from lgsp_kit.metrics import LATENCY_BUCKETS
from lgsp_kit.requestid import current_request_id

log = logging.getLogger("lgsp.gateway.proxy")

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
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
CLIENT_CLOSED = 499  # nginx's code for a caller that went away; audit only


@dataclass(frozen=True)
class ConsumerView:
    client_id: str
    apis: frozenset[str]
    tier: str
    enabled: bool
    fetched_at: float


ConsumerLoader = Callable[[str], Awaitable[ConsumerView | None]]
KeyReloader = Callable[[], Awaitable[None]]


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
        self.upstream_duration = Histogram(
            "lgsp_gateway_upstream_duration_seconds",
            "Time until the backend's answer began",
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
        self.throttled = Counter(
            "lgsp_gateway_throttled",
            "Calls refused with 429, by API and consumer tier",
            ["api", "tier"],
            registry=registry,
        )


class ProxyError(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        code: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or code_for_status(status)
        self.headers = headers or []


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


_BEARER_CHALLENGE = [(b"www-authenticate", b'Bearer realm="lgsp"')]
_INVALID_CHALLENGE = [(b"www-authenticate", b'Bearer realm="lgsp", error="invalid_token"')]


def connection_tokens(headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names listed in `Connection`: hop-by-hop too (RFC 9110 §7.6.1)."""
    named: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(named)


class Proxy:
    def __init__(
        self,
        settings: Settings,
        keyring: KeyRing,
        load_consumer: ConsumerLoader,
        metrics: ProxyMetrics,
        *,
        throttle: Throttle,
        audit: AuditLog | None = None,
        catalogue: Catalogue | None = None,
        reload_keys: KeyReloader | None = None,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.load_consumer = load_consumer
        self.metrics = metrics
        self.throttle = throttle
        self.audit = audit
        self.catalogue = catalogue
        self.reload_keys = reload_keys
        self.upstreams = {k: v.rstrip("/") for k, v in settings.upstreams.items()}
        self._consumers: dict[str, ConsumerView] = {}
        self._loading: dict[str, asyncio.Future[ConsumerView | None]] = {}
        self._consumer_ttl = settings.consumer_cache_seconds
        self._keys_reloaded_at = 0.0
        self.session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.upstream_connect_timeout_seconds,
            sock_read=settings.upstream_timeout_seconds,
        )

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=512, limit_per_host=256, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
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
        """The consumer's subscriptions, cached for a few seconds (a disable bites quickly).
        One read per consumer at a time: concurrent calls share it (no stampede at expiry)."""
        view = self._consumers.get(client_id)
        if view is not None and time.monotonic() - view.fetched_at <= self._consumer_ttl:
            return view
        pending = self._loading.get(client_id)
        if pending is None:
            pending = asyncio.ensure_future(self._load(client_id))
            self._loading[client_id] = pending
        return await asyncio.shield(pending)

    async def _load(self, client_id: str) -> ConsumerView | None:
        try:
            view = await self.load_consumer(client_id)
            if view is None:
                self._consumers.pop(client_id, None)
            else:
                self._consumers[client_id] = view
            return view
        finally:
            self._loading.pop(client_id, None)

    def forget(self, client_id: str) -> None:
        self._consumers.pop(client_id, None)
        # A read begun before the change may bring back the old state: do not wait for it.
        self._loading.pop(client_id, None)

    async def verify(self, token: str) -> Claims:
        """Verify with the key ring; a key id it does not know may be a key another gateway
        process has just made, so the ring is re-read (at most once a second) and tried again."""
        try:
            return self.keyring.verify(token)
        except InvalidToken as exc:
            if str(exc) != "unknown signing key" or self.reload_keys is None:
                raise
            if time.monotonic() - self._keys_reloaded_at < 1.0:
                raise
        self._keys_reloaded_at = time.monotonic()
        await self.reload_keys()
        return self.keyring.verify(token)

    async def _authorise(self, scope: Scope, api: str, rec: CallRecord) -> ConsumerView:
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                v = value.decode("latin-1")
                if v[:7].lower() == "bearer ":
                    token = v[7:].strip()
                break
        if not token:
            raise ProxyError(
                401, "a Bearer access token is required", "missing_token", _BEARER_CHALLENGE
            )
        try:
            claims = await self.verify(token)
        except InvalidToken as exc:
            raise ProxyError(401, str(exc), "invalid_token", _INVALID_CHALLENGE) from exc
        rec.client_id = claims.client_id
        rec.organ_code = claims.organ or None
        consumer = await self.consumer(claims.client_id)
        if consumer is None or not consumer.enabled:
            raise ProxyError(
                401,
                "the consumer of this token is disabled or unknown",
                "consumer_disabled",
                _INVALID_CHALLENGE,
            )
        rec.tier = consumer.tier
        if api not in consumer.apis:
            raise ProxyError(403, f"not subscribed to the {api} API", "not_subscribed")
        needed = f"{api}:{'read' if rec.method in READ_METHODS else 'write'}"
        if needed not in claims.scopes:
            raise ProxyError(403, f"the token lacks the scope {needed}", "insufficient_scope")
        return consumer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        path: str = scope["path"]
        _, api, *rest = path.split("/", 3)
        rec = CallRecord(
            api=api,
            method=scope["method"],
            path=path,
            request_id=current_request_id(),
            at=now_utc(),
        )
        if self.catalogue is not None:
            rec.route = self.catalogue.route(api, path)
        sent = _Sent()
        rate: list[tuple[bytes, bytes]] = []
        try:
            if not rest or rest[0] != VERSION:
                version = rest[0] if rest else ""
                raise ProxyError(
                    404, f"the {api} API has no version {version!r}", "unknown_version"
                )
            consumer = await self._authorise(scope, api, rec)
            decision = self.throttle.hit(consumer.client_id, consumer.tier)
            if decision is not None:
                rate = decision.headers()
                if not decision.allowed:
                    self.metrics.throttled.labels(api, consumer.tier).inc()
                    raise ProxyError(429, _throttled(decision, consumer.tier), "throttled", rate)
            await self._forward(scope, receive, send, api, rest, rec, rate, sent)
        except ProxyError as exc:
            rec.status = exc.status
            if sent.started:
                log.warning("%s %s: %s after the answer began", rec.method, path, exc.detail)
            else:
                rec.response_bytes = await _send_problem(send, exc, path)
        except _ClientGone:
            rec.status = CLIENT_CLOSED
        finally:
            elapsed = time.perf_counter() - start
            rec.total_ms = round(elapsed * 1000, 3)
            m = self.metrics
            m.requests.labels(api, str(rec.status), rec.tier or "none").inc()
            m.duration.labels(api).observe(elapsed)
            if self.audit is not None:
                self.audit.record(rec)

    async def _body(self, receive: Receive, rec: CallRecord) -> AsyncIterator[bytes]:
        """The caller's body as it arrives, counted against the limit."""
        limit = self.settings.max_body_bytes
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            rec.request_bytes += len(chunk)
            if rec.request_bytes > limit:
                raise _BodyTooLarge
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    def _request_headers(
        self, scope: Scope, rec: CallRecord
    ) -> tuple[list[tuple[str, str]], int | None, bool]:
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        named = connection_tokens(raw)
        headers: list[tuple[str, str]] = []
        length: int | None = None
        chunked = False
        for name, value in raw:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError as exc:
                    raise ProxyError(400, "Content-Length is not a number") from exc
                continue
            if name == b"transfer-encoding":
                chunked = True
                continue
            if name in REQUEST_SKIP or name in STRIPPED_FROM_CALLER or name in named:
                continue
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        headers.append(("X-LGSP-Client", rec.client_id or ""))
        headers.append(("X-LGSP-Organ", rec.organ_code or ""))
        client = scope.get("client")
        if client:
            headers.append(("X-Forwarded-For", client[0]))
        if length is not None:
            headers.append(("Content-Length", str(length)))
        return headers, length, chunked

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        api: str,
        rest: list[str],
        rec: CallRecord,
        rate: list[tuple[bytes, bytes]],
        sent: _Sent,
    ) -> None:
        assert self.session is not None
        tail = "/" + rest[1] if len(rest) > 1 else ""
        url = f"{self.upstreams[api]}/v1{tail}"
        query = scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")
        headers, length, chunked = self._request_headers(scope, rec)
        limit = self.settings.max_body_bytes
        if length is not None and length > limit:
            raise ProxyError(413, f"request body over {limit} bytes", "body_too_large")
        data = self._body(receive, rec) if chunked or length else None
        began = time.perf_counter()
        try:
            async with self.session.request(
                scope["method"], url, headers=headers, data=data, allow_redirects=False
            ) as resp:
                upstream = time.perf_counter() - began
                rec.upstream_ms = round(upstream * 1000, 3)
                self.metrics.upstream_duration.labels(api).observe(upstream)
                rec.status = resp.status
                raw = resp.raw_headers
                named = connection_tokens(list(raw))
                out = [
                    (k.lower(), v)
                    for k, v in raw
                    if k.lower() not in RESPONSE_SKIP and k.lower() not in named
                ]
                out += rate
                await send({"type": "http.response.start", "status": resp.status, "headers": out})
                sent.started = True
                async for chunk in resp.content.iter_any():
                    rec.response_bytes += len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except _BodyTooLarge as exc:
            raise ProxyError(413, f"request body over {limit} bytes", "body_too_large") from exc
        except TimeoutError as exc:
            self.metrics.upstream_errors.labels(api, "timeout").inc()
            raise ProxyError(504, f"the {api} service did not answer in time") from exc
        except aiohttp.ClientConnectorError as exc:
            self.metrics.upstream_errors.labels(api, "connect").inc()
            raise ProxyError(503, f"the {api} service is unavailable") from exc
        except aiohttp.ClientError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, _BodyTooLarge):
                raise ProxyError(413, f"request body over {limit} bytes", "body_too_large") from exc
            if isinstance(cause, _ClientGone):
                raise _ClientGone from exc
            self.metrics.upstream_errors.labels(api, "protocol").inc()
            raise ProxyError(
                502, f"the {api} service answered badly: {type(exc).__name__}"
            ) from exc


class _Sent:
    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False


def _throttled(decision: Decision, tier: str) -> str:
    return (
        f"the {tier} tier allows {decision.limit} calls per window; "
        f"try again in {decision.reset_seconds} s"
    )


async def _send_problem(send: Send, exc: ProxyError, path: str) -> int:
    body = orjson.dumps(problem_body(exc.status, exc.code, exc.detail, instance=path))
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *exc.headers,
    ]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return len(body)


def consumer_view(row: Any) -> ConsumerView:
    return ConsumerView(
        client_id=row.client_id,
        apis=frozenset(row.apis.split()),
        tier=row.tier,
        enabled=row.enabled,
        fetched_at=time.monotonic(),
    )
