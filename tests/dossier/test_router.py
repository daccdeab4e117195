"""Dossier endpoints in-process, on both database backends, with a real NATS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.dossier.main import create_app
from services.dossier.models import outbox
from services.dossier.settings import Settings
from tests.conftest import TokenMint, serve, service_settings

pytestmark = pytest.mark.anyio

WRITE = ["dossier:read", "dossier:write"]
GOOD: dict[str, Any] = {
    "procedure_code": "1.001193",
    "organ_code": "000.01.31.H06",
    "channel": 2,
    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint) -> Settings:
    s: Settings = service_settings(Settings, tmp_path, database_url, nats_url, mint)
    return s


async def test_submit_assigns_code_and_stages_one_event(
    settings: Settings, mint: TokenMint
) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        resp = await client.post("/v1/dossiers", json=GOOD, headers=mint.headers(WRITE))
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert body["status"] == 1
        assert body["code"].startswith("000.01.31.H06-")
        assert body["code"].endswith("-000001")
        assert body["applicant"]["name"] == "Nguyễn Văn An"
        got = await client.get(f"/v1/dossiers/{body['code']}", headers=mint.headers(WRITE))
        assert got.status_code == 200
        assert got.json()["code"] == body["code"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"channel": "2"}, "channel"),
        ({"channel": True}, "channel"),
        ({"channel": 4}, "channel"),
        ({"applicant": {"type": 1, "name": "", "identifier": "1"}}, "applicant.name"),
        ({"procedure_code": 1001193}, "procedure_code"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_input_is_problem_json_naming_the_field_and_changes_nothing(
    settings: Settings, mint: TokenMint, patch: dict[str, Any], field: str
) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        resp = await client.post(
            "/v1/dossiers", json={**GOOD, **patch}, headers=mint.headers(WRITE)
        )
        assert resp.status_code == 422
        assert resp.headers["content-type"] == "application/problem+json"
        problem = resp.json()
        assert problem["code"] == "validation_failed"
        assert problem["request_id"] == resp.headers["x-request-id"]
        assert field in [e["field"] for e in problem["errors"]]
        db = app.state.runtime.db
        with db.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 0


async def test_unknown_procedure_and_organ_are_refused(settings: Settings, mint: TokenMint) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        for patch, code in [
            ({"procedure_code": "9.999999"}, "unknown_procedure"),
            ({"organ_code": "000.99.99.H06"}, "unknown_organ"),
        ]:
            resp = await client.post(
                "/v1/dossiers", json={**GOOD, **patch}, headers=mint.headers(WRITE)
            )
            assert resp.status_code == 422
            assert resp.json()["code"] == code


async def test_a_call_without_a_valid_token_is_refused(settings: Settings, mint: TokenMint) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        assert (await client.post("/v1/dossiers", json=GOOD)).status_code == 401
        read_only = mint.headers(["dossier:read"])
        resp = await client.post("/v1/dossiers", json=GOOD, headers=read_only)
        assert resp.status_code == 403
        assert resp.json()["code"] == "insufficient_scope"
        forged = {"Authorization": "Bearer " + mint.token(WRITE)[:-4] + "AAAA"}
        assert (await client.post("/v1/dossiers", json=GOOD, headers=forged)).status_code == 401
