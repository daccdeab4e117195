"""`/healthz` (alive), `/readyz` (stores and bus reachable, else 503) and `/metrics`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from lgsp_kit.logtext import printable
from lgsp_kit.metrics import metrics_response
from lgsp_kit.sessions import APIRouter

log = logging.getLogger("lgsp.health")

ReadinessCheck = Callable[[], Awaitable[None]]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    operation_id="readyz",
    responses={503: {"description": "a dependency is unreachable"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Each dependency (database, NATS, backends) answers."""
    checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
    results: dict[str, str] = {}

    async def run(name: str, check: ReadinessCheck) -> None:
        try:
            await asyncio.wait_for(check(), 2.0)
            results[name] = "ok"
        except Exception as exc:
            # Why it is down (an address, a driver's message) goes to the log only: /readyz
            # is public, and says which dependency is down, not why.
            log.warning(
                "readiness: %s unavailable: %s: %s", name, type(exc).__name__, printable(exc)
            )
            results[name] = "unavailable"

    await asyncio.gather(*(run(n, c) for n, c in checks.items()))
    ok = all(v == "ok" for v in results.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": results},
        status_code=200 if ok else 503,
    )


@router.get(
    "/metrics", summary="Prometheus metrics", operation_id="metrics", response_class=Response
)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    return await asyncio.to_thread(metrics_response, request.app.state.registry)
