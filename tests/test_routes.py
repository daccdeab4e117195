"""The shape every route of every app keeps (docs/architecture.md, "request scope"): a route
taking a session is a `UnitRoute`, which runs the endpoint and its unit of work in one pool
thread (a read on SQLite: in the event loop's thread); no dependency is a plain `def`, which
FastAPI would run in a thread of its own."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlmodel import Session

from lgsp.apps import APPS
from lgsp_kit.app import create_service_app
from lgsp_kit.sessions import UnitRoute, WriteSession, check_routes
from lgsp_kit.settings import AppSettings

pytestmark = pytest.mark.anyio


def fastapi_app(app: Any) -> FastAPI:
    # The gateway wraps its FastAPI app in its fast path; the services return theirs.
    while not isinstance(app, FastAPI):
        app = getattr(app, "api", None) or app.app
    return app


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def plain_def_dependencies(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        call = sub.call
        if inspect.isfunction(call) and not (
            inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
        ):
            yield f"{call.__module__}.{call.__qualname__}"
        yield from plain_def_dependencies(sub)


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_route_runs_its_unit_in_one_thread(name: str) -> None:
    app = fastapi_app(APPS[name].load().create_app())
    routes = list(api_routes(app.routes))
    assert len(routes) > 5
    check_routes(app)
    for route in routes:
        assert isinstance(route, UnitRoute), route.path
        assert list(plain_def_dependencies(route.dependant)) == [], route.path


def bare_service(tmp_path: Path) -> FastAPI:
    """A service app of the kit with no router of its own, no bus and no token checks."""
    settings = AppSettings(
        app_name="kit", data_dir=tmp_path, migrate_on_start=False, auth_required=False
    )
    return create_service_app(
        settings,
        title="kit",
        description="kit",
        routers=[],
        migrations_dir=tmp_path,
        uses_bus=False,
    )


def test_a_session_on_a_plain_route_is_refused_when_the_app_starts(tmp_path: Path) -> None:
    app = bare_service(tmp_path)

    def plain(session: WriteSession) -> None:
        assert isinstance(session, Session)

    app.router.add_api_route("/plain", plain, methods=["POST"], route_class_override=APIRoute)
    with pytest.raises(RuntimeError, match="must be a UnitRoute"):
        check_routes(app)


async def test_a_plain_def_endpoint_still_answers_through_a_unit_route(tmp_path: Path) -> None:
    app = bare_service(tmp_path)

    @app.get("/v1/answer")
    def answer(n: int = 1) -> dict[str, int]:
        """Twice n."""
        return {"twice": 2 * n}

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            resp = await client.get("/v1/answer", params={"n": 4})
    assert resp.json() == {"twice": 8}
    operation = app.openapi()["paths"]["/v1/answer"]["get"]
    assert operation["description"] == "Twice n."
    assert [p["name"] for p in operation["parameters"]] == ["n"]
