"""The national axis's registration at the gateway in dev: the documents API with
`documents:axis`, its credentials in `<data_dir>/axis-client.json` for the national simulator."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from tests.gateway.conftest import gateway_settings, open_gateway

pytestmark = pytest.mark.anyio


async def test_the_axis_consumer_gets_the_axis_scope(tmp_path: Path, database_url: str) -> None:
    upstreams = {"documents": "http://127.0.0.1:9", "dossier": "http://127.0.0.1:9"}
    settings = gateway_settings(tmp_path, database_url, upstreams)
    async with open_gateway(settings) as gw:
        saved = json.loads((tmp_path / "axis-client.json").read_text())
        token = await gw.token(saved["client_id"], saved["client_secret"])
        claims = jwt.decode(token, options={"verify_signature": False})
        assert sorted(claims["scope"].split()) == [
            "documents:axis",
            "documents:read",
            "documents:write",
        ]
        assert claims["organ"] == "000.00.00.H03"
    # A second start keeps the same registration.
    async with open_gateway(settings):
        again = json.loads((tmp_path / "axis-client.json").read_text())
    assert again == saved


async def test_no_axis_consumer_without_the_documents_api(
    tmp_path: Path, database_url: str
) -> None:
    settings = gateway_settings(tmp_path, database_url, {"echo": "http://127.0.0.1:9"})
    async with open_gateway(settings):
        assert not (tmp_path / "axis-client.json").exists()
