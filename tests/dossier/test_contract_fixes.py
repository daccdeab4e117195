"""Dossier fixes found by the contract suite: times are never numbers, and the sync batch's
published schema says what it takes (any record, each answered on its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.dossier.main import create_app
from services.dossier.settings import Settings
from tests.dossier.conftest import Api

pytestmark = pytest.mark.anyio


async def test_a_numeric_received_to_is_refused(api: Api) -> None:
    for value in ("0.5", "1700000000"):
        resp = await api.get("/v1/dossiers", received_to=value)
        assert resp.status_code == 422, value
        assert resp.json()["errors"][0]["field"] == "received_to"
    assert (
        await api.get("/v1/dossiers", received_to="2023-11-20T00:00:00+07:00")
    ).status_code == 200


async def test_a_numeric_business_time_is_refused(api: Api) -> None:
    body = {
        "name": "Cấp giấy phép", "field": "Xây dựng", "level": "district",
        "online_mode": "partial", "full_online_eligible": False, "fee_bearing": True,
        "online_payment": True, "processing_days": 15, "at": 0,
    }  # fmt: skip
    resp = await api.client.put("/v1/procedures/9.999001", json=body, headers=api.headers())
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "at"
    resp = await api.post("/v1/dossiers/X-1/status", {"status": 2, "at": 1700000000})
    assert resp.status_code == 422


async def test_a_sync_batch_with_a_record_of_another_shape_answers_per_record(api: Api) -> None:
    resp = await api.post("/v1/dossiers:sync", {"records": [{"history": [{"status": -1}]}, 5]})
    assert resp.status_code == 200
    assert [r["ok"] for r in resp.json()["results"]] == [False, False]


def test_the_sync_schema_takes_any_record_and_publishes_the_record_shape(tmp_path: Path) -> None:
    spec = create_app(Settings(data_dir=tmp_path)).openapi()
    records = spec["components"]["schemas"]["SyncRequest"]["properties"]["records"]
    assert "$ref" not in records["items"]
    assert records["items"]["x-lgsp-record-schema"] == {
        "$ref": "#/components/schemas/DossierRecord"
    }
    assert "DossierRecord" in spec["components"]["schemas"]
