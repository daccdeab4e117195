"""Two gateway processes on the same stores (`GATEWAY_PORT=… lgsp run gateway` twice) and the
machine's Redis (LGSP_REDIS_URL): they act as one gateway. A Bronze consumer gets its tier's
limit per window in total, not per process; a consumer disabled, or a signing key retired,
through one process is refused by the other within 3 s although their caches would keep it for
a minute and ten."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from lgsp_kit.natsserver import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

WINDOW = 3600
BRONZE = 1000  # the default tier limit (gateway/settings.py)


def _spawn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lgsp.cli", "run", "gateway"],
            env={**env, "GATEWAY_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _said(proc: subprocess.Popen[bytes], log: Path) -> str:
    return f"exit {proc.poll()}: {log.read_text()}"


@asynccontextmanager
async def gateway_process(env: dict[str, str], port: int, log: Path) -> AsyncIterator[str]:
    """`lgsp run gateway` on `port`, once ready (the backend it checks answers from this event
    loop: the wait must not block it)."""
    proc = _spawn(env, port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, _said(proc, log)
            try:
                async with httpx.AsyncClient(timeout=2) as http:
                    if (await http.get(url + "/readyz")).status_code == 200:
                        break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, _said(proc, log)
            await asyncio.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def _until_status(client: httpx.AsyncClient, auth: dict[str, str], status: int) -> float:
    began = time.monotonic()
    while True:
        got = (await client.get("/echo/v1/things", headers=auth)).status_code
        elapsed = time.monotonic() - began
        if got == status:
            return elapsed
        assert elapsed < 10, f"still {got} after {elapsed:.1f} s"
        await asyncio.sleep(0.02)


async def test_two_gateway_processes_act_as_one(
    tmp_path: Path, database_url: str, redis_url: str, upstreams: dict[str, str]
) -> None:
    left = WINDOW - time.time() % WINDOW
    if left < 60:  # the calls below count one window
        await asyncio.sleep(left + 0.1)
    env = {
        **os.environ,
        "LGSP_DATA_DIR": str(tmp_path),
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_UPSTREAMS": json.dumps({"echo": upstreams["echo"]}),
        "LGSP_REDIS_URL": redis_url,
        "GATEWAY_THROTTLE_WINDOW_SECONDS": str(WINDOW),
        # Long enough that only Redis's news can explain a change seen within 3 s.
        "GATEWAY_CONSUMER_CACHE_SECONDS": "60",
        "GATEWAY_KEY_REFRESH_SECONDS": "70",
        "LGSP_LOG_LEVEL": "warning",
    }
    async with (
        gateway_process(env, free_port(), tmp_path / "one.log") as one_url,
        gateway_process(env, free_port(), tmp_path / "two.log") as two_url,
        httpx.AsyncClient(base_url=one_url, timeout=10) as one,
        httpx.AsyncClient(base_url=two_url, timeout=10) as two,
    ):
        admin_creds = json.loads((tmp_path / "admin-client.json").read_text())
        admin = {"Authorization": f"Bearer {await _token(one, admin_creds)}"}

        async def register(tier: str) -> tuple[str, dict[str, str]]:
            body: dict[str, object] = {
                "name": "Cổng DVC",
                "organ_code": "000.00.00.H03",
                "apis": ["echo"],
            }
            resp = await one.post("/admin/consumers", json={**body, "tier": tier}, headers=admin)
            assert resp.status_code == 201, resp.text
            created = resp.json()
            token = await _token(two, created)
            return created["client_id"], {"Authorization": f"Bearer {token}"}

        _, bronze = await register("Bronze")
        gold_id, gold = await register("Gold")

        # 1,300 calls of the Bronze consumer, 8 at a time on each process.
        statuses: list[int] = []
        budget = iter(range(1300))

        async def caller(client: httpx.AsyncClient) -> None:
            for _ in budget:
                resp = await client.get("/echo/v1/things", headers=bronze)
                statuses.append(resp.status_code)
                if resp.status_code == 429:
                    assert int(resp.headers["retry-after"]) >= 1

        await asyncio.gather(*(caller(c) for c in [one, two] * 8))
        served = statuses.count(200)
        assert statuses.count(200) + statuses.count(429) == 1300
        assert BRONZE * 0.98 <= served <= BRONZE, served

        # Disabled through one, refused by the other (its cache would keep it 60 s).
        assert (await two.get("/echo/v1/things", headers=gold)).status_code == 200
        resp = await one.post(f"/admin/consumers/{gold_id}/disable", headers=admin)
        assert resp.status_code == 200
        assert await _until_status(two, gold, 401) < 3.0
        resp = await one.post(f"/admin/consumers/{gold_id}/enable", headers=admin)
        assert await _until_status(two, gold, 200) < 3.0

        # A key retired through one: the other forgets the tokens it verified with it.
        old_kid = (await one.get("/admin/signing-keys", headers=admin)).json()["items"][-1]
        assert (await one.post("/admin/signing-keys/rotate", headers=admin)).status_code == 201
        admin = {"Authorization": f"Bearer {await _token(one, admin_creds)}"}
        resp = await one.post(f"/admin/signing-keys/{old_kid['kid']}/retire", headers=admin)
        assert resp.status_code == 200, resp.text
        assert await _until_status(two, gold, 401) < 3.0


async def _token(client: httpx.AsyncClient, creds: dict[str, str]) -> str:
    resp = await client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["access_token"]
    return token
