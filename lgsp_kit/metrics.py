"""HTTP metrics labelled by route template, and the `/metrics` exposition."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry, app_name: str) -> None:
        self.app_name = app_name
        self.requests = Counter(
            "lgsp_http_requests",
            "HTTP requests served, by route template and status",
            ["app", "method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "lgsp_http_request_duration_seconds",
            "Time to serve an HTTP request, by route template",
            ["app", "method", "route"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        # The series of each (method, route, status) as first met: `labels()` looks them up
        # under a lock with the label values checked every time.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = (
                self.requests.labels(self.app_name, method, route, str(status)),
                self.duration.labels(self.app_name, method, route),
            )
            if len(self._series) < 1000:  # a client's made-up methods do not grow it for ever
                self._series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(seconds)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.observe(
                scope["method"], route_template(scope), status, time.perf_counter() - start
            )


def metrics_response(registry: CollectorRegistry) -> Response:
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


async def metrics_endpoint(request: Request) -> Response:
    return metrics_response(request.app.state.registry)
