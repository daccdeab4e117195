"""Fixes the hostile-input run found (`python -m bench.hostile`), on both backends: a NUL
character in a path, a query or a text field is refused with problem+json (PostgreSQL answered
500: its text cannot hold NUL) and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dossier.conftest import Api
from tests.dossier.test_dossiers import GOOD, submit

pytestmark = pytest.mark.anyio


def _refused_or_empty(resp: Any) -> None:
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert resp.headers["content-type"] == "application/problem+json"


async def test_nul_in_a_path_or_a_query_is_no_server_error(api: Api) -> None:
    await submit(api)
    headers = api.headers()
    for url in (
        "/v1/dossiers/000.01.31.H03-261126-000001%00",
        "/v1/dossiers?organ_code=000.01.31.H03%00",
        "/v1/dossiers?procedure_code=%00",
        "/v1/procedures?field=a%00b",
        "/v1/procedures/1.001193%00",
    ):
        resp = await api.client.get(url, headers=headers)
        _refused_or_empty(resp)
        if resp.status_code == 200 and "items" in resp.json():
            assert resp.json()["items"] == [], url


async def test_nul_in_a_text_field_is_refused_and_nothing_is_stored(api: Api) -> None:
    body = {**GOOD, "applicant": {**GOOD["applicant"], "name": "Nguyễn Văn\u0000 An"}}
    resp = await api.post("/v1/dossiers", body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"][0]["field"] == "applicant.name"
    assert "NUL" in resp.json()["errors"][0]["message"]
    assert (await api.get("/v1/dossiers")).json()["items"] == []
    assert api.dossier_events() == []
