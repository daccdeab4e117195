"""The published-API path: `/{context}/{version}/...` → the service's `/v1/...`.

A raw ASGI handler (no FastAPI routing on the hot path) with a keep-alive pool per backend
(`gateway.fastpath.upstream`: httpx's and aiohttp's clients cost more than the rest of the
gateway's work together, measured, see docs/gateway.md). The request head is built as bytes
straight from the caller's; bodies stream both ways; every outcome is counted, audited and,
when the gateway answers itself, told as problem+json. An aiohttp session stays for the
gateway's other calls to backends (OpenAPI documents, readiness), off the hot path.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import Receive, Scope, Send

from gateway.auth.tokens import ConsumerDisabled, KeyRing
from gateway.catalogue.service import Catalogue
from gateway.fastpath.audit import AuditLog, CallRecord, now_utc
from gateway.fastpath.national import NationalToken, NationalTokenError
from gateway.fastpath.throttle import ASK, Decision, Throttle
from gateway.fastpath.upstream import Answer, Pool, UpstreamError
from gateway.settings import Settings
from lgsp_kit import db as dbmod
from lgsp_kit.auth import required_scope
from lgsp_kit.errors import ProblemError, code_for_status, render_error
from lgsp_kit.logtext import printable
from lgsp_kit.metrics import LATENCY_BUCKETS
from lgsp_kit.requestid import adopt, release
from lgsp_kit.scope import header
from lgsp_kit.tokens import UnknownSigningKey, bearer_token, require_scope

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
# Not copied from the caller's request: the gateway writes its own. `Expect: 100-continue` is
# answered by the gateway's server when the body is first read; the backend gets the body.
REQUEST_SKIP = HOP_BY_HOP | {b"host", b"content-length", b"expect"}
# Not copied from the backend's answer: the gateway's server writes its own.
RESPONSE_SKIP = HOP_BY_HOP | {b"date", b"server", b"x-request-id"}
STRIPPED_FROM_CALLER = frozenset({b"x-lgsp-client", b"x-lgsp-organ"})
VERSION = "v1"
DOT_SEGMENTS = frozenset({".", ".."})
CLIENT_CLOSED = 499  # nginx's code for a caller that went away; audit only


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
        # `.labels(...)` looks its child up under a lock each time: keep the children.
        self._requests: dict[tuple[str, int, str], Any] = {}
        self._durations: dict[str, tuple[Any, Any]] = {}

    def count(self, api: str, status: int, tier: str, elapsed: float) -> None:
        """One answered call: counted by API, status and tier, its duration observed."""
        child = self._requests.get((api, status, tier))
        if child is None:
            child = self._requests[(api, status, tier)] = self.requests.labels(
                api, str(status), tier
            )
        child.inc()
        self.durations(api)[0].observe(elapsed)

    def durations(self, api: str) -> tuple[Any, Any]:
        """The (total, upstream) duration histograms of an API."""
        pair = self._durations.get(api)
        if pair is None:
            pair = self._durations[api] = (
                self.duration.labels(api),
                self.upstream_duration.labels(api),
            )
        return pair


def refused(status: int, detail: str, code: str | None = None, **headers: str) -> ProblemError:
    """What the proxy answers itself: a problem with the status's usual code unless named."""
    return ProblemError(
        detail, status=status, code=code or code_for_status(status), headers=headers
    )


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


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
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        # The gateway's `/admin` checks tokens with this same verifier (`lgsp_kit.tokens`).
        self.verifier = keyring.verifier
        self.load_consumer = load_consumer
        self.metrics = metrics
        self.throttle = throttle
        self.audit = audit
        self.catalogue = catalogue
        self.upstreams = {k: v.rstrip("/") for k, v in settings.upstreams.items()}
        self.pools: dict[str, Pool] = {}
        # Per API: the upstream's `Host` line and path prefix, as bytes, made once.
        self._host_line: dict[str, bytes] = {}
        self._prefix: dict[str, bytes] = {}
        for api, base in self.upstreams.items():
            self._add_upstream(api, base)
        # The national contexts (NGSP, DVCQG): their own paths, the province's national token.
        self.national = settings.national()
        self.national_token = NationalToken(settings) if self.national else None
        self._national_paths = {
            api: (
                frozenset(p for p in paths if not p.endswith("/")),
                tuple(p for p in paths if p.endswith("/")),
            )
            for api, paths in settings.national_paths.items()
        }
        for api, base in self.national.items():
            self._add_upstream(api, base, version=b"")
        self._consumers: dict[str, ConsumerView] = {}
        self._loading: dict[str, asyncio.Future[ConsumerView | None]] = {}
        self._consumer_ttl = settings.consumer_cache_seconds
        self.session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.upstream_connect_timeout_seconds,
            sock_read=settings.upstream_timeout_seconds,
        )

    def _add_upstream(self, api: str, base: str, version: bytes = b"/v1") -> None:
        url = urlsplit(base)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"upstream of {api}: not an http(s) URL: {base!r}")
        tls = ssl.create_default_context() if url.scheme == "https" else None
        port = url.port or (443 if tls else 80)
        self.pools[api] = Pool(
            url.hostname,
            port,
            connect_timeout=self.settings.upstream_connect_timeout_seconds,
            read_timeout=self.settings.upstream_timeout_seconds,
            tls=tls,
        )
        self._host_line[api] = b"host: " + url.netloc.rpartition("@")[2].encode("ascii") + b"\r\n"
        self._prefix[api] = url.path.rstrip("/").encode() + version

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=512, limit_per_host=256, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )
        if self.national_token is not None:
            self.national_token.session = self.session

    async def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        if self.session is not None:
            await self.session.close()

    def matches(self, path: str) -> bool:
        context = path[1:].split("/", 1)[0]
        return context in self.upstreams or context in self.national

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

    def forget_all(self) -> None:
        self._consumers.clear()
        self._loading.clear()

    async def _authorise(self, scope: Scope, api: str, rec: CallRecord) -> ConsumerView:
        raw = header(scope, b"authorization")
        token = bearer_token(raw.decode("latin-1") if raw is not None else None)
        try:
            # A token seen before is in the verifier's memory: no await (no coroutine) for it.
            claims = self.verifier.verify(token)
        except UnknownSigningKey:
            claims = await self.verifier.check(token)  # the keys read again, once
        rec.client_id = claims.client_id
        rec.organ_code = claims.organ or None
        consumer = self._consumers.get(claims.client_id)
        if consumer is None or time.monotonic() - consumer.fetched_at > self._consumer_ttl:
            consumer = await self.consumer(claims.client_id)
        if consumer is None or not consumer.enabled:
            raise ConsumerDisabled
        rec.tier = consumer.tier
        if api not in consumer.apis:
            raise refused(403, f"not subscribed to the {api} API", "not_subscribed")
        require_scope(claims, required_scope(api, rec.method))
        return consumer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        # `X-Request-ID` here rather than in a middleware wrapping `send` (a layer per message).
        request_id, context = adopt(scope)
        path: str = scope["path"]
        _, api, *rest = path.split("/", 3)
        rec = CallRecord(
            api=api,
            method=scope["method"],
            path=path,
            request_id=request_id,
            at=now_utc(),
        )
        if self.catalogue is not None:
            rec.route = self.catalogue.route(api, path)
        sent = _Sent()
        try:
            if "/." in path and any(s in DOT_SEGMENTS for s in path.split("/")):
                # `..` (or `%2e%2e`, `.%2E`, decoded here) would climb out of the published
                # API on a backend or proxy that resolves it: refused, never forwarded.
                raise refused(400, "the path has a '.' or '..' segment", "dot_segment_in_path")
            if api in self.national:
                if not self._national_path(api, path[1 + len(api) :]):
                    raise refused(404, f"the {api} API has no operation at {path}", "not_found")
            elif not rest or rest[0] != VERSION:
                version = rest[0] if rest else ""
                raise refused(404, f"the {api} API has no version {version!r}", "unknown_version")
            try:
                consumer = await self._authorise(scope, api, rec)
            except dbmod.UNAVAILABLE_ERRORS as exc:
                # The consumer (or the key ring) could not be read: the database is restarting.
                if not dbmod.unavailable(exc):
                    raise
                raise refused(
                    503,
                    "the gateway's database is unavailable for the moment; retry",
                    "database_unavailable",
                    **{"retry-after": "1"},
                ) from exc
            decision = self.throttle.hit(consumer.client_id, consumer.tier)
            if decision is ASK:
                # A shared throttle whose lease for this consumer is spent: ask the store.
                decision = await self.throttle.ask(consumer.client_id, consumer.tier)
            # The gateway's own headers on the answer: `RateLimit-*` and `X-Request-ID`.
            own: list[tuple[bytes, bytes]] = []
            if decision is not None:
                own = decision.headers()
                if not decision.allowed:
                    self.metrics.throttled.labels(api, consumer.tier).inc()
                    raise refused(
                        429,
                        _throttled(decision, consumer.tier),
                        "throttled",
                        **{k.decode(): v.decode() for k, v in own},
                    )
            own.append((b"x-request-id", request_id.encode()))
            await self._forward(scope, receive, send, api, rec, own, sent)
        except ProblemError as exc:
            rec.status = exc.status
            if sent.started:
                log.warning(
                    "%s %s: %s after the answer began",
                    printable(rec.method),
                    printable(path),
                    printable(exc.detail),
                )
            else:
                rec.response_bytes = await _send_problem(send, exc, path, request_id)
        except _ClientGone:
            rec.status = CLIENT_CLOSED
        finally:
            elapsed = time.perf_counter() - start
            rec.total_ms = round(elapsed * 1000, 3)
            self.metrics.count(api, rec.status, rec.tier or "none", elapsed)
            if self.audit is not None:
                self.audit.record(rec)
            release(context)

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

    def _request_head(
        self, scope: Scope, api: str, rec: CallRecord, national: bytes | None = None
    ) -> tuple[bytes, int | None, bool]:
        """The upstream request's head as bytes (the caller's header bytes as they came, less
        hop-by-hop and spoofable ones), its body length when declared, and whether chunked.
        To a national context (`national`: the province's `Authorization` there) neither the
        caller's credentials nor the province's internal headers go."""
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        named = connection_tokens(raw) if any(n == b"connection" for n, _ in raw) else None
        parts = [scope["method"].encode(), b" ", self._target(scope, api), b" HTTP/1.1\r\n"]
        parts.append(self._host_line[api])
        length: int | None = None
        chunked = False
        for name, value in raw:
            if name in REQUEST_SKIP or name in STRIPPED_FROM_CALLER:
                if name == b"content-length":
                    try:
                        length = int(value)
                    except ValueError as exc:
                        raise refused(400, "Content-Length is not a number") from exc
                elif name == b"transfer-encoding":
                    chunked = True
                continue
            if named is not None and name in named:
                continue
            if national is not None and name == b"authorization":
                continue
            parts += (name, b": ", value, b"\r\n")
        if national is not None:
            parts += (b"authorization: ", national, b"\r\n")
        else:
            parts += (b"x-lgsp-client: ", (rec.client_id or "").encode(), b"\r\n")
            parts += (b"x-lgsp-organ: ", (rec.organ_code or "").encode(), b"\r\n")
            client = scope.get("client")
            if client:
                parts += (b"x-forwarded-for: ", client[0].encode(), b"\r\n")
        if length is not None and not chunked:
            parts += (b"content-length: ", b"%d" % length, b"\r\n")
        elif chunked:
            parts.append(b"transfer-encoding: chunked\r\n")
        parts.append(b"\r\n")
        return b"".join(parts), (None if chunked else length), chunked

    def _target(self, scope: Scope, api: str) -> bytes:
        """`/v1/...?query` on the backend, from the path bytes as the caller sent them (a
        national context: its path after `/{api}`, under the national prefix)."""
        raw_path: bytes | None = scope.get("raw_path")
        lead = 1 + len(api)  # "/{api}"
        if raw_path is not None:
            # Some servers (httpx's ASGI transport) include the query in raw_path.
            raw_path = raw_path.split(b"?", 1)[0]
        if api in self.national:
            if raw_path is None or raw_path[lead : lead + 1] != b"/":
                raw_path = quote(scope["path"], safe="/:@!$&'()*+,;=~").encode()
            target = self._prefix[api] + raw_path[lead:]
            query: bytes = scope.get("query_string", b"")
            return target + b"?" + query if query else target
        if raw_path is None or raw_path[lead : lead + 4] not in (b"/v1/", b"/v1"):
            raw_path = quote(scope["path"], safe="/:@!$&'()*+,;=~").encode()
        target = self._prefix[api] + raw_path[lead + 3 :]
        query = scope.get("query_string", b"")
        return target + b"?" + query if query else target

    def _national_path(self, api: str, path: str) -> bool:
        """Whether `path` (after `/{api}`) is one the national context forwards."""
        exact, prefixes = self._national_paths.get(api, (frozenset(), ()))
        return path in exact or path.startswith(prefixes)

    async def _national_header(self, api: str) -> bytes | None:
        if self.national_token is None or api not in self.national:
            return None
        try:
            return await self.national_token.header()
        except NationalTokenError as exc:
            log.warning("%s", exc)
            self.metrics.upstream_errors.labels(api, "national_token").inc()
            raise refused(
                503,
                f"the national side gives the province no token for {api} now; retry",
                "national_unavailable",
                **{"retry-after": "5"},
            ) from exc

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        api: str,
        rec: CallRecord,
        own: list[tuple[bytes, bytes]],
        sent: _Sent,
    ) -> None:
        national = await self._national_header(api) if api in self.national else None
        head, length, chunked = self._request_head(scope, api, rec, national)
        limit = self.settings.max_body_bytes
        if length is not None and length > limit:
            raise refused(413, f"request body over {limit} bytes", "body_too_large")
        body: AsyncIterator[bytes] | None = None
        if chunked:
            body = _chunked(self._body(receive, rec))
        elif length:
            body = self._body(receive, rec)
        upstream_hist = self.metrics.durations(api)[1]
        began = time.perf_counter()
        try:
            answer = await self.pools[api].request(head, body, head_only=scope["method"] == "HEAD")
        except _BodyTooLarge as exc:
            raise refused(413, f"request body over {limit} bytes", "body_too_large") from exc
        except UpstreamError as exc:
            raise self._upstream_failed(api, exc) from exc
        try:
            upstream = time.perf_counter() - began
            rec.upstream_ms = round(upstream * 1000, 3)
            upstream_hist.observe(upstream)
            rec.status = answer.status
            if national is not None and answer.status == 401:
                # The national side no longer takes the province's token: a new one next time.
                assert self.national_token is not None
                self.national_token.forget()
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": _response_headers(answer, own),
                }
            )
            sent.started = True
            await self._relay(answer, send, rec)
        except UpstreamError as exc:
            raise self._upstream_failed(api, exc) from exc
        finally:
            answer.release()

    async def _relay(self, answer: Answer, send: Send, rec: CallRecord) -> None:
        """The answer's body, passed on part by part; the last part ends the answer (a small
        answer that came whole is one message)."""
        while True:
            chunk = answer.ready()
            if chunk is None:
                chunk = await answer.read()
            last = answer.done
            if chunk or last:
                rec.response_bytes += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})
            if last:
                return

    def _upstream_failed(self, api: str, exc: UpstreamError) -> ProblemError:
        self.metrics.upstream_errors.labels(api, exc.kind).inc()
        if exc.kind == "timeout":
            return refused(504, f"the {api} service did not answer in time")
        if exc.kind == "connect":
            return refused(503, f"the {api} service is unavailable")
        return refused(502, f"the {api} service answered badly: {exc}")


def _response_headers(answer: Answer, own: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    raw = answer.headers
    if any(name == b"connection" for name, _ in raw):
        skip = RESPONSE_SKIP | connection_tokens(raw)
    else:
        skip = RESPONSE_SKIP
    out = [(k, v) for k, v in raw if k not in skip]
    out += own
    return out


async def _chunked(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The caller's body in HTTP/1.1 chunked framing (its length was not declared)."""
    async for chunk in body:
        yield b"%x\r\n%s\r\n" % (len(chunk), chunk)
    yield b"0\r\n\r\n"


class _Sent:
    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False


def _throttled(decision: Decision, tier: str) -> str:
    return (
        f"the {tier} tier allows {decision.limit} calls per window; "
        f"try again in {decision.reset_seconds} s"
    )


async def _send_problem(send: Send, exc: ProblemError, path: str, request_id: str) -> int:
    body, headers = render_error(exc, instance=path)
    headers = [*headers, (b"x-request-id", request_id.encode())]
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
