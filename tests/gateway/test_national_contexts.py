"""The national side published by the gateway (issue 17): `/ngsp/...` and `/dvcqg/...` go to
the national simulator under its own paths, with the province's national token in place of
the caller's; the caller needs the gateway's own token, subscription and scope, and each call
is throttled and audited as every other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.national.main import create_app as create_national
from services.national.settings import DEV_ADMIN_SECRET
from services.national.settings import Settings as NationalSettings
from tests.conftest import serve_tcp
from tests.gateway.conftest import Gateway, gateway_settings, open_gateway

pytestmark = pytest.mark.anyio

DANCU = "/ngsp/apiCSDLDanCu/ChiaSeThongTinCongDan"
DKDN = "/ngsp/apiCSDLDKDN/1.0/chiTietDoanhNghiep"
CITIZEN = {
    "HoVaTen": "",
    "SoDinhDanh": "024090001234",
    "SoCMND": "",
    "NgayThangNam": "",
    "Nam": "",
    "MaTichHop": "LGSP_BGG",
    "MaDVC": "BGG_DVC",
    "MaCanBo": "canbo01",
    "MaYeuCau": "BGG_DVC_0001",
}
RECORD = {
    "MaHoSo": "000.00.31.H03-250107-000001",
    "MaTTHC": "1.001612.000.00.00.H03",
    "TenTTHC": "Đăng ký thành lập hộ kinh doanh",
    "MaLinhVuc": "Đăng ký kinh doanh",
    "TenLinhVuc": "Đăng ký kinh doanh",
    "LoaiDoiTuong": "1",
    "NgayTiepNhan": "20250107083000",
    "TrangThaiHoSo": "2",
    "HinhThuc": "0",
    "DonViXuLy": "UBND Thành phố Bắc Giang",
}


@pytest.fixture
async def national(tmp_path: Path) -> AsyncIterator[str]:
    # The national side on a SQLite file of its own, whatever the gateway's database.
    (tmp_path / "national").mkdir()
    settings = NationalSettings(data_dir=tmp_path / "national", axis_enabled=False)
    async with serve_tcp(create_national(settings)) as url:
        yield url


@pytest.fixture
async def gw(tmp_path: Path, database_url: str, national: str) -> AsyncIterator[Gateway]:
    settings = gateway_settings(
        tmp_path / "gw", database_url, {}, national_url=national, upstream_timeout_seconds=5.0
    )
    async with open_gateway(settings) as gateway:
        yield gateway


async def test_ngsp_and_dvcqg_through_the_gateway_with_a_token_audited(
    gw: Gateway, national: str
) -> None:
    _, auth = await gw.bearer(apis=["ngsp", "dvcqg"], tier="Gold")
    assert (await gw.client.post(DANCU, json=CITIZEN)).status_code == 401

    found = await gw.client.post(DANCU, json=CITIZEN, headers=auth)
    assert found.status_code == 200, found.text
    assert found.json()["error_code"] == "0"
    assert "<CongDan>" in found.json()["message"] or "CongDan" in found.json()["message"]
    firm = await gw.client.get(DKDN, params={"msdn": "0100109106"}, headers=auth)
    assert firm.status_code == 200, firm.text
    assert firm.json()["Status"] == 1

    created = await gw.client.post(
        "/dvcqg/DongBoHoSoMC", params={"isUpdating": "False"}, json=[RECORD], headers=auth
    )
    assert created.json()["error_code"] == "0", created.text
    async with httpx.AsyncClient(base_url=national) as nat:
        shown = await nat.get(f"/dvcqg/hoso/{RECORD['MaHoSo']}")
    assert shown.json() == RECORD

    calls = await gw.audit()
    seen = {(c["api"], c["method"], c["status"]) for c in calls}
    assert {("ngsp", "POST", 200), ("ngsp", "GET", 200), ("dvcqg", "POST", 200)} <= seen
    assert ("ngsp", "POST", 401) in seen


async def test_subscription_and_scope_are_those_of_every_api(gw: Gateway) -> None:
    _, only_ngsp = await gw.bearer(apis=["ngsp"])
    refused = await gw.client.post("/dvcqg/TraCuuHoSo", json={"mahoso": "X"}, headers=only_ngsp)
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_subscribed"
    _, reader = await gw.bearer(apis=["ngsp"], scopes=["ngsp:read"])
    assert (
        await gw.client.get(DKDN, params={"msdn": "0100109106"}, headers=reader)
    ).status_code == 200
    assert (await gw.client.post(DANCU, json=CITIZEN, headers=reader)).status_code == 403
    listed = await gw.client.get("/.well-known/oauth-authorization-server")
    assert {"ngsp:read", "dvcqg:write"} <= set(listed.json()["scopes_supported"])
    # The Bronze tier of these tests allows 3 calls a window (a call refused for its scope is
    # not counted): the reader's fourth is refused.
    statuses = [
        (await gw.client.get(DKDN, params={"msdn": "0100109106"}, headers=reader)).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


async def test_the_national_side_down_is_told_to_the_caller(gw: Gateway, national: str) -> None:
    _, auth = await gw.bearer(apis=["dvcqg"], tier="Gold")
    async with httpx.AsyncClient(base_url=national) as admin:
        fault: dict[str, Any] = {"mode": "down", "targets": ["dvcqg"], "duration_seconds": 60}
        put = await admin.put(
            "/admin/fault", json=fault, headers={"Authorization": f"Bearer {DEV_ADMIN_SECRET}"}
        )
        assert put.status_code == 200, put.text
        down = await gw.client.post("/dvcqg/TraCuuHoSo", json={"mahoso": "X"}, headers=auth)
        assert down.status_code == 503
        assert down.json()["code"] == "national_unavailable"
        await admin.delete("/admin/fault", headers={"Authorization": f"Bearer {DEV_ADMIN_SECRET}"})
    back = await gw.client.post("/dvcqg/TraCuuHoSo", json={"mahoso": "X"}, headers=auth)
    assert back.json() == {"error_code": "0", "message": back.json()["message"], "result": []}


async def test_the_catalogue_and_the_merged_openapi_publish_the_national_parts(
    gw: Gateway, national: str
) -> None:
    """`ngsp` and `dvcqg` are in `/apis` and the merged document with the operations of the
    national side's own document tagged with their name, nothing else of it."""
    async with httpx.AsyncClient(base_url=national) as nat:
        own = (await nat.get("/openapi.json")).json()
    listed = {a["context"]: a for a in (await gw.client.get("/apis")).json()["items"]}
    assert listed["ngsp"] | {"title": None} == {
        "context": "ngsp",
        "title": None,
        "versions": [],
        "base_path": "/ngsp",
        "national": True,
        "openapi": "/apis/ngsp/openapi.json",
        "available": True,
        "error": None,
    }
    assert listed["dvcqg"]["available"] and listed["dvcqg"]["national"]

    ngsp = (await gw.client.get("/apis/ngsp/openapi.json")).json()
    assert set(ngsp["paths"]) == {DANCU, DKDN}
    dancu = ngsp["paths"][DANCU]["post"]
    national_dancu = own["paths"]["/apiCSDLDanCu/ChiaSeThongTinCongDan"]["post"]
    assert dancu["summary"] == national_dancu["summary"]
    assert dancu["security"] == [{"oauth2": ["ngsp:write"]}, {"bearerAuth": []}]
    body = dancu["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    published = ngsp["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert published["properties"] == own["components"]["schemas"]["CongDanQuery"]["properties"]
    # Only the schemas its operations use: none of the axis, the faults or DVCQG.
    assert "ngsp.PackageOut" not in ngsp["components"]["schemas"]
    assert "ngsp.HoSo" not in ngsp["components"]["schemas"]

    dvcqg = (await gw.client.get("/apis/dvcqg/openapi.json")).json()
    assert set(dvcqg["paths"]) == {
        "/dvcqg/DongBoHoSoMC",
        "/dvcqg/CapNhatTienDoHoSoMC",
        "/dvcqg/TraCuuHoSo",
    }

    merged = (await gw.client.get("/openapi.json")).json()
    assert merged["paths"][DANCU] == ngsp["paths"][DANCU]
    assert merged["paths"][DKDN]["get"]["operationId"] == "ngsp_chi_tiet_doanh_nghiep"
    assert "/dvcqg/DongBoHoSoMC" in merged["paths"]
    assert not [p for p in merged["paths"] if "/axis/" in p or p.startswith("/ngsp/admin")]
    assert {"ngsp", "dvcqg"} <= {t["name"] for t in merged["tags"]}
    assert merged["x-lgsp-unavailable"] == []


async def test_a_national_call_is_audited_with_its_route(gw: Gateway) -> None:
    _, auth = await gw.bearer(apis=["ngsp"], tier="Gold")
    await gw.client.get("/apis/ngsp/openapi.json")  # the routes are known once fetched
    firm = await gw.client.get(DKDN, params={"msdn": "0100109106"}, headers=auth)
    assert firm.status_code == 200, firm.text
    calls = await gw.audit(api="ngsp")
    assert [(c["route"], c["status"]) for c in calls] == [(DKDN, 200)]


async def test_the_national_side_down_leaves_its_contexts_out_of_the_catalogue(
    tmp_path: Path, database_url: str
) -> None:
    settings = gateway_settings(
        tmp_path / "gw", database_url, {}, national_url="http://127.0.0.1:9"
    )
    async with open_gateway(settings) as gw:
        listed = {a["context"]: a for a in (await gw.client.get("/apis")).json()["items"]}
        assert not listed["ngsp"]["available"] and listed["ngsp"]["error"]
        merged = (await gw.client.get("/openapi.json")).json()
        assert set(merged["x-lgsp-unavailable"]) == {"ngsp", "dvcqg"}
        assert (await gw.client.get("/apis/ngsp/openapi.json")).status_code == 503


async def test_only_the_published_national_services_are_forwarded(
    gw: Gateway, national: str
) -> None:
    """The rest of the national side (the axis, its token, the testers' views, the fault
    control, one context's services under another) is not the province consumers' to call:
    404 at the gateway, never forwarded with the province's national token."""
    _, auth = await gw.bearer(apis=["ngsp", "dvcqg"], tier="Gold")
    xml = {**auth, "content-type": "application/xml"}
    calls = [
        ("POST", "/ngsp/axis/packages", xml, b"<edXML/>"),
        ("GET", "/ngsp/axis/packages", auth, None),
        ("PUT", "/ngsp/admin/fault", auth, b'{"mode": "down"}'),
        ("POST", "/ngsp/token", auth, b"grant_type=client_credentials"),
        ("POST", "/ngsp/dvcqg/DongBoHoSoMC", auth, b"[]"),
        ("GET", f"/dvcqg/hoso/{RECORD['MaHoSo']}", auth, None),
        ("POST", "/dvcqg/TraCuuHoSoX", auth, b"{}"),
        ("GET", "/ngsp/openapi.json", auth, None),
    ]
    for method, path, headers, body in calls:
        resp = await gw.client.request(method, path, headers=headers, content=body)
        assert (resp.status_code, resp.json()["code"]) == (404, "not_found"), (path, resp.text)
    async with httpx.AsyncClient(base_url=national) as nat:
        assert (await nat.get("/axis/packages")).json()["items"] == []
        assert (
            await nat.get("/admin/fault", headers={"Authorization": f"Bearer {DEV_ADMIN_SECRET}"})
        ).status_code == 404
    # The published ones still are.
    firm = await gw.client.get(DKDN, params={"msdn": "0100109106"}, headers=auth)
    assert firm.json()["Status"] == 1
