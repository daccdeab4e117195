"""The procedures catalogue: seeding, filters, create-or-update and its events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import reference
from contracts.events import ProcedurePublished
from tests.dossier.conftest import Api

pytestmark = pytest.mark.anyio

NEW: dict[str, Any] = {
    "name": "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
    "field": "Xây dựng",
    "level": "district",
    "online_mode": "partial",
    "full_online_eligible": False,
    "fee_bearing": True,
    "online_payment": True,
    "processing_days": 15,
}


def published(api: Api) -> list[ProcedurePublished]:
    return [e for e in api.events() if isinstance(e, ProcedurePublished)]


async def test_demo_catalogue_is_seeded_once_with_one_event_each(api: Api) -> None:
    events = published(api)
    assert sorted(e.subject or "" for e in events) == sorted(p.code for p in reference.procedures())
    birth = next(e for e in events if e.subject == "1.001193")
    assert birth.data.online_mode == "full" and birth.data.name == "Đăng ký khai sinh"
    with api.app.state.runtime.db.session() as session:
        from services.dossier.procedures.service import seed_demo_catalogue

        assert seed_demo_catalogue(session) == 0
    assert len(published(api)) == len(events)


async def test_list_filters_and_pages(api: Api) -> None:
    resp = await api.get("/v1/procedures", limit=10)
    assert resp.status_code == 200
    codes = [p["code"] for p in resp.json()["items"]]
    while resp.json()["next_cursor"]:
        resp = await api.get("/v1/procedures", limit=10, cursor=resp.json()["next_cursor"])
        codes += [p["code"] for p in resp.json()["items"]]
    assert codes == sorted(p.code for p in reference.procedures())
    full_fee = (await api.get("/v1/procedures", online_mode="full", fee_bearing=True)).json()
    expected = {p.code for p in reference.procedures() if p.online_mode == "full" and p.fee_bearing}
    assert {p["code"] for p in full_fee["items"]} == expected
    civil = (await api.get("/v1/procedures", field="Hộ tịch", level="commune")).json()["items"]
    assert civil and all(p["field"] == "Hộ tịch" and p["level"] == "commune" for p in civil)
    assert (await api.get("/v1/procedures", online_mode="sometimes")).status_code == 422


async def test_put_creates_then_updates_and_publishes_each_change(api: Api) -> None:
    url = "/v1/procedures/1.009999.000.00.00.H03"
    before = len(published(api))
    created = await api.client.put(url, json=NEW, headers=api.headers())
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "1.009999.000.00.00.H03"
    same = await api.client.put(url, json=NEW, headers=api.headers())
    assert same.status_code == 200
    assert len(published(api)) == before + 1  # unchanged: nothing to publish
    changed = await api.client.put(
        url,
        json={**NEW, "online_mode": "full", "full_online_eligible": True},
        headers=api.headers(),
    )
    assert changed.status_code == 200 and changed.json()["online_mode"] == "full"
    events = published(api)[before:]
    assert [(e.data.online_mode, e.data.full_online_eligible) for e in events] == [
        ("partial", False),
        ("full", True),
    ]
    assert events[1].data.changed_at >= events[0].data.changed_at
    got = await api.get("/v1/procedures/1.009999.000.00.00.H03")
    assert got.json()["online_mode"] == "full"


@pytest.mark.parametrize(
    ("patch", "code_path"),
    [
        ({"online_mode": "full"}, "1.009998"),  # full online but not eligible
        ({"fee_bearing": False}, "1.009998"),  # online payment without a fee
        ({"processing_days": "15"}, "1.009998"),
        ({"fee_bearing": 1}, "1.009998"),
        ({"level": "national"}, "1.009998"),
        ({"name": "x" * 501}, "1.009998"),
        ({}, "not-a-code"),
    ],
)
async def test_put_refuses_bad_input(api: Api, patch: dict[str, Any], code_path: str) -> None:
    before = len(published(api))
    resp = await api.client.put(
        f"/v1/procedures/{code_path}", json={**NEW, **patch}, headers=api.headers()
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "validation_failed"
    assert len(published(api)) == before
    assert (await api.get("/v1/procedures/9.999999")).status_code == 404


async def test_put_takes_the_business_time_of_the_change(api: Api) -> None:
    url = "/v1/procedures/1.009997.000.00.00.H03"
    before = len(published(api))
    first = await api.client.put(
        url, json={**NEW, "at": "2023-01-01T07:00:00+07:00"}, headers=api.headers()
    )
    assert first.status_code == 201, first.text
    assert first.json()["updated_at"] == "2023-01-01T07:00:00+07:00"
    event = published(api)[before]
    assert event.time == datetime(2023, 1, 1, tzinfo=UTC)
    assert event.data.changed_at == event.time
    backwards = await api.client.put(
        url,
        json={**NEW, "processing_days": 3, "at": "2022-12-31T07:00:00+07:00"},
        headers=api.headers(),
    )
    assert backwards.status_code == 409
    assert backwards.json()["code"] == "time_goes_backwards"
    future = await api.client.put(
        url,
        json={**NEW, "processing_days": 3, "at": "2999-01-01T00:00:00+07:00"},
        headers=api.headers(),
    )
    assert future.status_code == 422
    assert len(published(api)) == before + 1
