"""Organ scope through the gateway, on the embedded platform (real processes, SQLite).

Two districts' applications, registered with the gateway's defaults, neither read, change nor
file each other's dossiers and touch neither the catalogue nor the declared rows; the demo
consumer (the province's, with the finer scopes) sees and does all.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e

CITY, CITY_WARD = "000.00.31.H03", "000.01.31.H03"
YEN_THE, YEN_THE_COMMUNE = "000.00.32.H03", "000.01.32.H03"
IDENTIFIER = "024090009876"


def client_of(platform: Platform, creds: dict[str, Any]) -> httpx.Client:
    resp = httpx.post(
        platform.gateway + "/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert resp.status_code == 200, resp.text
    token = resp.json()["access_token"]
    return httpx.Client(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def register(admin: httpx.Client, organ: str) -> dict[str, Any]:
    resp = admin.post(
        "/admin/consumers",
        json={"name": f"Một cửa {organ}", "organ_code": organ, "apis": ["dossier", "reporting"]},
    )
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    assert "dossier:catalogue" not in created["scopes"]
    return created


def dossier(organ: str) -> dict[str, Any]:
    return {
        "procedure_code": "1.004873",
        "organ_code": organ,
        "channel": 2,
        "applicant": {"type": 1, "name": "Hoàng Văn Cường", "identifier": IDENTIFIER},
    }


def codes(client: httpx.Client) -> list[str]:
    resp = client.get("/dossier/v1/dossiers")
    assert resp.status_code == 200, resp.text
    return [d["code"] for d in resp.json()["items"]]


def test_districts_are_kept_apart_and_the_province_sees_all(sqlite_platform: Platform) -> None:
    p = sqlite_platform
    admin = client_of(p, json.loads((p.data_dir / "admin-client.json").read_text()))
    city = client_of(p, register(admin, CITY))
    yen_the = client_of(p, register(admin, YEN_THE))
    province = client_of(p, json.loads((p.data_dir / "demo-client.json").read_text()))

    filed = yen_the.post("/dossier/v1/dossiers", json=dossier(YEN_THE_COMMUNE))
    assert filed.status_code == 201, filed.text
    theirs = filed.json()["code"]
    ours = city.post("/dossier/v1/dossiers", json=dossier(CITY_WARD)).json()["code"]

    # The other district's dossier: not found to read or change, nor in the list.
    for method, path, body in (
        ("GET", f"/dossier/v1/dossiers/{theirs}", None),
        ("POST", f"/dossier/v1/dossiers/{theirs}/status", {"status": 2}),
        ("POST", f"/dossier/v1/dossiers/{theirs}/payments", {"amount": 8000, "method": "offline"}),
    ):
        resp = city.request(method, path, json=body)
        assert resp.status_code == 404, (path, resp.text)
        assert resp.json()["code"] == "dossier_not_found" and IDENTIFIER not in resp.text
    assert codes(city) == [ours] and codes(yen_the) == [theirs]
    # Filing in its name, one by one or by sync: 403.
    resp = city.post("/dossier/v1/dossiers", json=dossier(YEN_THE_COMMUNE))
    assert resp.status_code == 403 and resp.json()["code"] == "organ_out_of_scope"
    record = {
        **dossier(YEN_THE_COMMUNE),
        "code": f"{YEN_THE_COMMUNE}-230113-900001",
        "submitted_at": "2023-01-13T08:00:00+07:00",
    }
    resp = city.post("/dossier/v1/dossiers:sync", json={"records": [record]})
    assert resp.status_code == 403 and resp.json()["code"] == "organ_out_of_scope"
    got = yen_the.get(f"/dossier/v1/dossiers/{theirs}").json()
    assert [h["status"] for h in got["history"]] == [1] and got["payments"] == []

    # Neither the catalogue nor the declared rows with the default grants.
    procedure = province.get("/dossier/v1/procedures/1.001193").json()
    change = {k: procedure[k] for k in ("name", "field", "level", "online_mode")}
    change.update(
        {k: procedure[k] for k in ("full_online_eligible", "fee_bearing", "online_payment")}
    )
    change.update(processing_days=procedure["processing_days"], name="Đăng ký khai sinh (sửa)")
    resp = city.put("/dossier/v1/procedures/1.001193", json=change)
    assert resp.status_code == 403 and resp.json()["code"] == "insufficient_scope"
    resp = city.put("/reporting/v1/indicators/4/declared", json={"value": 0})
    assert resp.status_code == 403 and resp.json()["code"] == "insufficient_scope"
    assert province.get("/dossier/v1/procedures/1.001193").json()["name"] == procedure["name"]
    assert province.get("/reporting/v1/indicators/4/declared").json()["items"] == []

    # The province's application sees both and keeps the catalogue and the declared rows.
    assert codes(province) == [theirs, ours]
    assert province.get(f"/dossier/v1/dossiers/{theirs}").status_code == 200
    resp = province.put("/dossier/v1/procedures/1.001193", json=change)
    assert resp.status_code == 200, resp.text
    resp = province.put("/reporting/v1/indicators/4/declared", json={"value": 2})
    assert resp.status_code == 200, resp.text
