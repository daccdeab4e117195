"""`lgsp consumer bootstrap-admin`: the first administrator of a deployment outside dev."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gateway.main import create_app
from tests.gateway.conftest import gateway_settings

pytestmark = pytest.mark.anyio


async def test_bootstrap_admin_can_administer_a_production_gateway(
    tmp_path: Path, database_url: str
) -> None:
    env = {
        **os.environ,
        "LGSP_DATA_DIR": str(tmp_path),
        "GATEWAY_DATABASE_URL": database_url,
        "LGSP_ENVIRONMENT": "production",
        "GATEWAY_KEY_PASSPHRASE": "a-passphrase-of-this-deployment",
    }
    command = [sys.executable, "-m", "lgsp.cli", "consumer", "bootstrap-admin", "--name", "ops"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    creds = json.loads(done.stdout)

    settings = gateway_settings(
        tmp_path,
        database_url,
        {},
        environment="production",
        key_passphrase="a-passphrase-of-this-deployment",
    )
    app = create_app(settings)
    api = app.api  # type: ignore[attr-defined]
    async with api.router.lifespan_context(api):
        assert not (tmp_path / "admin-client.json").exists()  # no dev administrator here
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            resp = await client.post(
                "/token",
                data={"grant_type": "client_credentials", "scope": "lgsp:admin"},
                auth=(creds["client_id"], creds["client_secret"]),
            )
            assert resp.status_code == 200, resp.text
            bearer = {"Authorization": f"Bearer {resp.json()['access_token']}"}
            listed = await client.get("/admin/consumers", headers=bearer)
            assert listed.status_code == 200
            assert [c["name"] for c in listed.json()["items"]] == ["ops"]
