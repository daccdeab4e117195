"""Documents fixes found by the contract suite: the patterns of text fields are published, and a
business time is never a number."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lgsp_kit.fields import NON_BLANK
from services.documents.main import create_app
from services.documents.settings import Settings

pytestmark = pytest.mark.anyio


def test_text_patterns_reach_the_published_schema(tmp_path: Path) -> None:
    schemas = create_app(Settings(data_dir=tmp_path)).openapi()["components"]["schemas"]
    assert schemas["DocumentIn"]["properties"]["code_notation"]["pattern"] == r"^[\w.-]+$"
    name = schemas["AttachmentIn"]["properties"]["name"]["pattern"]
    assert name == r"^[^/\\]*[^/\\\s\u001c-\u001f\u0085\ufeff][^/\\]*$"
    assert schemas["Promulgation-Input"]["properties"]["place"]["pattern"] == NON_BLANK


async def test_a_numeric_connection_time_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    resp = await client.post(
        "/v1/organs/000.00.31.H03/connections",
        json={"system": "qlvb", "connected": True, "at": 1700000000},
        headers=headers,
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "at"
