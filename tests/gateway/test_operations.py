"""Catalogue, readiness, metrics, streaming over a real socket, and the `lgsp consumer` CLI."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from gateway.main import create_app
from lgsp.cli import cli
from lgsp_kit.natsserver import free_port
from tests.gateway.conftest import Backend, Gateway, gateway_settings

pytestmark = pytest.mark.anyio


async def test_catalogue_lists_apis_and_merges_their_documents(gw: Gateway) -> None:
    apis = {a["context"]: a for a in (await gw.client.get("/apis")).json()["items"]}
    assert set(apis) == {"echo", "broken", "down"}
    echo = apis["echo"]
    assert echo["available"] is True and echo["title"] == "Echo service"
    assert echo["versions"] == ["v1"] and echo["base_path"] == "/echo/v1"
    assert apis["down"]["available"] is False and apis["down"]["error"]

    one = await gw.client.get(echo["openapi"])
    assert one.status_code == 200
    assert "/echo/v1/things/{thing_id}" in one.json()["paths"]
    resp = await gw.client.get("/apis/down/openapi.json")
    assert resp.status_code == 503 and resp.json()["code"] == "service_unavailable"
    assert (await gw.client.get("/apis/nope/openapi.json")).status_code == 404

    doc = (await gw.client.get("/openapi.json")).json()
    paths = doc["paths"]
    # The backend's own /healthz is not published; its /v1 operations are, prefixed.
    assert "/echo/healthz" not in paths and "/healthz" in paths
    assert {"/echo/v1/things", "/echo/v1/things/{thing_id}", "/echo/v1/things:count"} <= set(paths)
    # The gateway's own operations are there too.
    assert {"/token", "/apis", "/admin/consumers", "/admin/audit"} <= set(paths)
    get_thing = paths["/echo/v1/things/{thing_id}"]["get"]
    assert get_thing["operationId"] == "echo_get_thing"
    assert get_thing["security"] == [{"oauth2": ["echo:read"]}, {"bearerAuth": []}]
    post = paths["/echo/v1/things"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/echo.Thing"
    assert "echo.Thing" in doc["components"]["schemas"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/token"
    ids = [
        op["operationId"] for item in paths.values() for op in item.values() if "operationId" in op
    ]
    assert len(ids) == len(set(ids))
    assert doc["x-lgsp-unavailable"] == ["broken", "down"]

    page = await gw.client.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text

    # With the document known, audit records carry the route template.
    _, auth = await gw.bearer(apis=["echo"], tier="Gold")
    resp = await gw.client.get("/echo/v1/things/77", headers=auth)
    [record] = await gw.audit(request_id=resp.headers["x-request-id"])
    assert record["route"] == "/echo/v1/things/{thing_id}"
    resp = await gw.client.get("/echo/v1/unknown/path", headers=auth)
    [record] = await gw.audit(request_id=resp.headers["x-request-id"])
    assert record["route"] == "/echo/v1/unknown/path"


async def test_readiness_includes_each_backend(gw: Gateway) -> None:
    resp = await gw.client.get("/readyz")
    assert resp.status_code == 503
    checks = resp.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["upstream:echo"] == "ok"
    assert checks["upstream:down"].startswith("unavailable")
    assert checks["upstream:broken"].startswith("unavailable")
    assert (await gw.client.get("/healthz")).status_code == 200


async def test_metrics_by_api_status_and_tier_pass_promtool(gw: Gateway) -> None:
    _, auth = await gw.bearer(apis=["echo"], tier="Bronze")
    for _ in range(4):
        await gw.client.get("/echo/v1/things", headers=auth)
    await gw.client.get("/echo/v1/things")
    text = (await gw.client.get("/metrics")).text
    assert 'lgsp_gateway_requests_total{api="echo",status="200",tier="Bronze"} 3.0' in text
    assert 'lgsp_gateway_requests_total{api="echo",status="429",tier="Bronze"} 1.0' in text
    assert 'lgsp_gateway_requests_total{api="echo",status="401",tier="none"} 1.0' in text
    assert 'lgsp_gateway_throttled_total{api="echo",tier="Bronze"} 1.0' in text
    assert 'lgsp_gateway_request_duration_seconds_bucket{api="echo",le="+Inf"} 5.0' in text
    assert 'lgsp_gateway_upstream_duration_seconds_count{api="echo"} 3.0' in text
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    done = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "metrics"],
        input=text.encode(),
        capture_output=True,
        check=False,
    )
    assert done.stdout == b"" and done.stderr == b"", done.stdout + done.stderr
    assert done.returncode == 0


@asynccontextmanager
async def real_server(app: object) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_answers_stream_through_a_real_server_and_the_cli_administers_consumers(
    tmp_path: Path, database_url: str, upstreams: dict[str, str], backend: tuple[Backend, str]
) -> None:
    settings = gateway_settings(tmp_path, database_url, upstreams)
    runner = CliRunner()
    async with real_server(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:

        def lgsp(*args: str) -> str:
            result = runner.invoke(
                cli, ["consumer", *args, "--gateway", url, "--data-dir", str(tmp_path)]
            )
            assert result.exit_code == 0, result.output
            return result.output

        created = json.loads(
            await asyncio.to_thread(
                lgsp,
                "create",
                "--name", "Hệ thống QLVB huyện",
                "--organ", "000.00.13.H03",
                "--api", "echo",
                "--tier", "Gold",
            )
        )  # fmt: skip
        cid, secret = created["client_id"], created["client_secret"]
        listed = await asyncio.to_thread(lgsp, "list")
        assert f"{cid}\tenabled\tGold\t000.00.13.H03\techo\tHệ thống QLVB huyện" in listed

        token = (
            await http.post("/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        # The first part of the answer reaches the caller before the backend writes the rest.
        async with http.stream("GET", "/echo/v1/stream", headers=auth) as resp:
            assert resp.status_code == 200
            parts = resp.aiter_raw()
            first = await asyncio.wait_for(parts.__anext__(), 3)
            assert first == b"first;"
            backend[0].release_stream.set()
            rest = b"".join([chunk async for chunk in parts])
            assert rest == b"second"

        rotated = json.loads(await asyncio.to_thread(lgsp, "rotate-secret", cid))
        assert rotated["client_id"] == cid and rotated["client_secret"] != secret
        disabled = json.loads(await asyncio.to_thread(lgsp, "disable", cid))
        assert disabled["enabled"] is False
        resp = await http.get("/echo/v1/things", headers=auth)
        assert resp.status_code == 401

        bad = await asyncio.to_thread(
            runner.invoke, cli, ["consumer", "disable", "nobody", "--gateway", url,
                                 "--data-dir", str(tmp_path)]
        )  # fmt: skip
        assert bad.exit_code == 1 and "404 consumer_not_found" in bad.output
