"""Organ scope on dossiers and the catalogue scope, at the service (both backends).

A consumer acts for its organ and the organs under it: a district's application neither reads,
changes nor files another district's dossiers; the province's acts for all; changing the
procedure catalogue needs `dossier:catalogue`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lgsp_kit.natsserver import free_port
from services.dossier.main import create_app
from services.dossier.settings import Settings
from tests.conftest import TokenMint, serve, service_settings
from tests.dossier.conftest import PROVINCE, WRITE, Api
from tests.dossier.test_sync import RECORD

pytestmark = pytest.mark.anyio

PROVINCE_ORGAN = "000.00.00.H03"
# Thành phố Bắc Giang and one of its wards; Huyện Yên Thế and one of its communes.
CITY, CITY_WARD = "000.00.31.H03", "000.01.31.H03"
YEN_THE, YEN_THE_COMMUNE = "000.00.32.H03", "000.01.32.H03"
SECRET_ID = "024090001234"


def dossier(organ: str) -> dict[str, Any]:
    return {
        "procedure_code": "1.004873",
        "organ_code": organ,
        "channel": 2,
        "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": SECRET_ID},
    }


def as_organ(api: Api, organ: str, scopes: list[str] = WRITE) -> dict[str, str]:
    return api.mint.headers(scopes, client_id=f"app-{organ}", organ=organ)


async def file(api: Api, organ: str, headers: dict[str, str]) -> str:
    resp = await api.client.post("/v1/dossiers", json=dossier(organ), headers=headers)
    assert resp.status_code == 201, resp.text
    code: str = resp.json()["code"]
    return code


async def listed(api: Api, headers: dict[str, str], **params: Any) -> list[str]:
    """Every code the list gives, page after page."""
    codes: list[str] = []
    cursor: str | None = None
    while True:
        page = await api.client.get(
            "/v1/dossiers",
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert page.status_code == 200, page.text
        body = page.json()
        codes += [d["code"] for d in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return codes


async def test_a_district_cannot_read_change_or_file_another_district_s_dossiers(
    api: Api,
) -> None:
    city = as_organ(api, CITY)
    yen_the = as_organ(api, YEN_THE)
    theirs = await file(api, YEN_THE_COMMUNE, yen_the)
    ours = await file(api, CITY_WARD, city)
    before = len(api.dossier_events())

    # Reading or changing a dossier of another organ: not found, as one that does not exist.
    got = await api.client.get(f"/v1/dossiers/{theirs}", headers=city)
    assert got.status_code == 404 and got.json()["code"] == "dossier_not_found"
    assert SECRET_ID not in got.text
    moved = await api.client.post(f"/v1/dossiers/{theirs}/status", json={"status": 2}, headers=city)
    assert moved.status_code == 404 and moved.json()["code"] == "dossier_not_found"
    paid = await api.client.post(
        f"/v1/dossiers/{theirs}/payments", json={"amount": 8000, "method": "offline"}, headers=city
    )
    assert paid.status_code == 404 and paid.json()["code"] == "dossier_not_found"
    # Filing in another organ's name: 403.
    filed = await api.client.post("/v1/dossiers", json=dossier(YEN_THE_COMMUNE), headers=city)
    assert filed.status_code == 403 and filed.json()["code"] == "organ_out_of_scope"
    assert filed.headers["content-type"].startswith("application/problem+json")
    # Nothing changed and nothing was published.
    assert len(api.dossier_events()) == before
    still = await api.client.get(f"/v1/dossiers/{theirs}", headers=yen_the)
    assert still.status_code == 200
    assert [h["status"] for h in still.json()["history"]] == [1] and still.json()["payments"] == []

    # Each district lists only its own, even when it asks for the other's organ.
    assert await listed(api, city) == [ours]
    assert await listed(api, yen_the) == [theirs]
    assert await listed(api, city, organ_code=YEN_THE_COMMUNE) == []
    # Its own dossiers change as before.
    mine = await api.client.post(f"/v1/dossiers/{ours}/status", json={"status": 2}, headers=city)
    assert mine.status_code == 200, mine.text


async def test_the_list_is_filtered_in_the_query_not_after_paging(api: Api) -> None:
    city = as_organ(api, CITY)
    yen_the = as_organ(api, YEN_THE)
    ours = [await file(api, CITY_WARD, city)]
    for _ in range(5):
        await file(api, YEN_THE_COMMUNE, yen_the)
    ours.append(await file(api, CITY_WARD, city))
    # One per page: every page holds one of ours, none is empty for the other's rows.
    first = await api.client.get("/v1/dossiers", params={"limit": 1}, headers=city)
    assert [d["code"] for d in first.json()["items"]] == ours[:1]
    assert await listed(api, city, limit=1) == ours


async def test_a_commune_acts_for_itself_and_a_district_for_its_communes(api: Api) -> None:
    district = await file(api, CITY_WARD, as_organ(api, CITY))
    ward = as_organ(api, CITY_WARD)
    assert (await api.client.get(f"/v1/dossiers/{district}", headers=ward)).status_code == 200
    # A ward does not act for its district.
    up = await api.client.post("/v1/dossiers", json=dossier(CITY), headers=ward)
    assert up.status_code == 403 and up.json()["code"] == "organ_out_of_scope"
    # A token that names no organ acts for none.
    nobody = api.mint.headers(WRITE, organ="")
    assert (await api.client.get(f"/v1/dossiers/{district}", headers=nobody)).status_code == 404
    assert await listed(api, nobody) == []


async def test_the_province_acts_for_every_organ(api: Api) -> None:
    codes = [
        await file(api, CITY_WARD, as_organ(api, CITY)),
        await file(api, YEN_THE_COMMUNE, as_organ(api, YEN_THE)),
    ]
    province = as_organ(api, PROVINCE_ORGAN)
    assert await listed(api, province) == codes
    for code in codes:
        assert (await api.client.get(f"/v1/dossiers/{code}", headers=province)).status_code == 200
    moved = await api.client.post(
        f"/v1/dossiers/{codes[1]}/status", json={"status": 2}, headers=province
    )
    assert moved.status_code == 200, moved.text
    assert (await file(api, CITY, province)).startswith(CITY)


async def test_sync_refuses_a_batch_with_a_record_of_another_organ(api: Api) -> None:
    ours = {**copy.deepcopy(RECORD), "code": f"{CITY_WARD}-230113-900001"}
    theirs = {
        **copy.deepcopy(RECORD),
        "code": f"{YEN_THE_COMMUNE}-230113-900002",
        "organ_code": YEN_THE_COMMUNE,
    }
    city = as_organ(api, CITY)
    resp = await api.client.post(
        "/v1/dossiers:sync", json={"records": [ours, theirs]}, headers=city
    )
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == "organ_out_of_scope" and YEN_THE_COMMUNE in resp.json()["detail"]
    assert api.dossier_events() == []
    assert await listed(api, as_organ(api, PROVINCE_ORGAN)) == []
    # Its own records alone go through; an unknown organ stays that record's own error.
    unknown = {**copy.deepcopy(RECORD), "code": "X-1", "organ_code": "999.99.99.H03"}
    resp = await api.client.post(
        "/v1/dossiers:sync", json={"records": [ours, unknown]}, headers=city
    )
    assert resp.status_code == 200, resp.text
    assert [r["ok"] for r in resp.json()["results"]] == [True, False]
    # The other district's own application syncs its record.
    resp = await api.client.post(
        "/v1/dossiers:sync", json={"records": [theirs]}, headers=as_organ(api, YEN_THE)
    )
    assert resp.status_code == 200 and resp.json()["created"] == 1


PROCEDURE: dict[str, Any] = {
    "name": "Cấp giấy phép xây dựng",
    "field": "Xây dựng",
    "level": "district",
    "online_mode": "partial",
    "full_online_eligible": False,
    "fee_bearing": True,
    "online_payment": True,
    "processing_days": 15,
}


async def test_the_catalogue_changes_only_with_dossier_catalogue(api: Api) -> None:
    url = "/v1/procedures/1.001193"
    before = (await api.get(url)).json()
    published = len(api.events("lgsp.dossier.procedure_published"))
    assert published > 0  # the seeded catalogue
    for headers in (as_organ(api, CITY), as_organ(api, PROVINCE_ORGAN)):
        resp = await api.client.put(url, json=PROCEDURE, headers=headers)
        assert resp.status_code == 403, resp.text
        assert resp.json()["code"] == "insufficient_scope"
        assert "dossier:catalogue" in resp.json()["detail"]
    assert (await api.get(url)).json() == before
    assert len(api.events("lgsp.dossier.procedure_published")) == published
    keeper = as_organ(api, PROVINCE_ORGAN, PROVINCE)
    resp = await api.client.put(url, json=PROCEDURE, headers=keeper)
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == PROCEDURE["name"]
    assert len(api.events("lgsp.dossier.procedure_published")) == published + 1


async def test_with_authentication_off_nothing_is_restricted(
    tmp_path: Path, database_url: str, mint: TokenMint
) -> None:
    held = f"nats://127.0.0.1:{free_port()}"
    settings: Settings = service_settings(
        Settings, tmp_path, database_url, held, mint, auth_required=False
    )
    app = create_app(settings)
    async with serve(app) as client:
        resp = await client.post("/v1/dossiers", json=dossier(YEN_THE_COMMUNE))
        assert resp.status_code == 201, resp.text
        code = resp.json()["code"]
        assert (await client.get(f"/v1/dossiers/{code}")).status_code == 200
        items = (await client.get("/v1/dossiers")).json()["items"]
        assert [d["code"] for d in items] == [code]
        assert (await client.put("/v1/procedures/1.001193", json=PROCEDURE)).status_code == 200
