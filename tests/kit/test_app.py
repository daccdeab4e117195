"""What every app gets from the kit: request ids, problem+json, health, readiness, metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from lgsp_kit.db import make_engine
from lgsp_kit.natsserver import free_port
from services.documents.main import create_app
from services.documents.settings import Settings
from tests.conftest import TokenMint, serve, service_settings

pytestmark = pytest.mark.anyio


async def test_request_id_is_echoed_or_generated(
    tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint
) -> None:
    app = create_app(service_settings(Settings, tmp_path, database_url, nats_url, mint))
    async with serve(app) as client:
        given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"
        fresh = await client.get("/healthz")
        assert len(fresh.headers["x-request-id"]) == 32
        hostile = await client.get("/healthz", headers={"X-Request-ID": "a b\\c" * 50})
        assert hostile.headers["x-request-id"] != "a b\\c" * 50


async def test_errors_are_problem_json_with_code_and_request_id(
    tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint
) -> None:
    app = create_app(service_settings(Settings, tmp_path, database_url, nats_url, mint))
    async with serve(app) as client:
        resp = await client.get("/no/such/path", headers={"X-Request-ID": "rid-1"})
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"
        body = resp.json()
        assert body["code"] == "not_found"
        assert body["request_id"] == "rid-1"
        assert body["instance"] == "/no/such/path"
        assert {"type", "title", "status", "detail"} <= body.keys()


async def test_readyz_is_503_while_nats_is_unreachable(
    tmp_path: Path, database_url: str, mint: TokenMint
) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"
    app = create_app(service_settings(Settings, tmp_path, database_url, nowhere, mint))
    async with serve(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        resp = await client.get("/readyz")
        assert resp.status_code == 503
        checks = resp.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["nats"].startswith("unavailable")


async def test_http_metrics_are_labelled_by_route_template(
    tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint
) -> None:
    app = create_app(service_settings(Settings, tmp_path, database_url, nats_url, mint))
    async with serve(app) as client:
        await client.get("/v1/organs", headers=mint.headers(["documents:read"]))
        await client.get("/v1/organs/000.00.00.H03", headers=mint.headers(["documents:read"]))
        text = (await client.get("/metrics")).text
        assert 'route="/v1/organs"' in text
        assert "000.00.00.H03" not in text


async def test_outbox_backlog_is_exposed(
    tmp_path: Path, database_url: str, mint: TokenMint
) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"  # nothing can be published: the backlog shows
    settings = service_settings(Settings, tmp_path, database_url, nowhere, mint)
    app = create_app(settings)
    async with serve(app) as client:
        text = (await client.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith("lgsp_outbox_backlog{"))
    assert 'app="documents"' in line
    # The directory seeding staged one event per organ, and none could leave.
    assert float(line.split()[-1]) == 240


async def test_an_unreachable_database_is_503_with_retry_after_not_500(
    tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint
) -> None:
    # Found by the PostgreSQL drill (bench/drills.py): while the server restarted, a write
    # answered 500 and the simulator, rightly, gave up; a 503 tells it to retry.
    app = create_app(service_settings(Settings, tmp_path, database_url, nats_url, mint))
    dead = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")

    @app.get("/drill/dead-database")
    def read_dead_database() -> None:
        with dead.connect():
            pass

    @app.get("/drill/bad-sqlite")
    def read_missing_table() -> None:
        with make_engine(f"sqlite:///{tmp_path}/empty.db").connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))

    async with serve(app) as client:
        resp = await client.get("/drill/dead-database")
        assert resp.status_code == 503
        assert resp.headers["retry-after"] == "1"
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["code"] == "database_unavailable"
        # A statement SQLite cannot run is a bug, not an outage.
        bug = await client.get("/drill/bad-sqlite")
        assert bug.status_code == 500
        assert bug.json()["code"] == "internal_error"
