"""DVCQG's dossier sync against the shapes of ../shared/national (DVCQG.md and the samples
rebuilt from the OpenCPS, Thanh Hóa and Hà Giang systems): real field names, string values,
yyyyMMddHHmmss times, code lists, `{error_code, message}` answers and the "đã tồn tại" rule."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.national.conftest import needs_samples, sample

pytestmark = [pytest.mark.anyio, needs_samples]

SYNC = "/dvcqg/DongBoHoSoMC"
PROGRESS = "/dvcqg/CapNhatTienDoHoSoMC"
LOOKUP = "/dvcqg/TraCuuHoSo"


def dossier(name: str = "05_thanhhoa_td_HoSo_ThemMoi_CapNhat.json", **changes: Any) -> dict:
    body = sample(name)
    record: dict[str, Any] = copy.deepcopy(body["data"][0] if isinstance(body, dict) else body[0])
    record.update(changes)
    return record


async def sync(
    client: httpx.AsyncClient, auth: dict[str, str], records: Any, updating: str | None = None
) -> dict[str, Any]:
    params = {"isUpdating": updating} if updating is not None else None
    resp = await client.post(SYNC, json=records, params=params, headers=auth)
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("02_opencps_DongBoHoSoMC.json", "000.00.31.H03-250107-0001"),
        ("05_thanhhoa_td_HoSo_ThemMoi_CapNhat.json", "000.00.31.H03-250107-0001"),
        ("07_hagiang_lgsp_DongBoHoSoMC.json", "000.00.01.H22-250107-0002"),
    ],
)
async def test_each_real_callers_dossier_is_created_then_exists_then_updates(
    client: httpx.AsyncClient, auth: dict[str, str], name: str, code: str
) -> None:
    record = dossier(name, MaHoSo=code)
    created = await sync(client, auth, [record], "False")
    assert created["error_code"] == "0", created
    assert "thành công" in created["message"]

    shown = await client.get(f"/dvcqg/hoso/{code}")
    assert shown.status_code == 200, shown.text
    assert shown.json() == record
    assert all(isinstance(v, str) for v in shown.json().values() if not isinstance(v, list))

    again = await sync(client, auth, [{**record, "TrangThaiHoSo": "4"}], "False")
    assert again["error_code"] == "-3"
    assert "đã tồn tại" in again["message"]
    assert (await client.get(f"/dvcqg/hoso/{code}")).json()["TrangThaiHoSo"] == record[
        "TrangThaiHoSo"
    ]

    changed = {**record, "TrangThaiHoSo": "9", "NgayKetThucXuLy": "20250109100000"}
    updated = await sync(client, auth, [changed], "True")
    assert updated["error_code"] == "0", updated
    assert (await client.get(f"/dvcqg/hoso/{code}")).json() == changed
    listed = (await client.get("/dvcqg/hoso")).json()
    assert [(i["MaHoSo"], i["TrangThaiHoSo"], i["updates"]) for i in listed["items"]] == [
        (code, "9", 1)
    ]

    found = (await client.post(LOOKUP, json={"mahoso": code}, headers=auth)).json()
    assert (found["error_code"], found["result"]) == ("0", [changed])
    # The 2019 OpenCPS key.
    old = (await client.post(LOOKUP, json={"MaHoSo": code}, headers=auth)).json()
    assert old["result"] == [changed]
    none = (await client.post(LOOKUP, json={"mahoso": "KHONG-CO"}, headers=auth)).json()
    assert (none["error_code"], none["result"]) == ("0", [])


async def test_without_is_updating_a_dossier_is_created(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert (await sync(client, auth, [dossier()]))["error_code"] == "0"


async def test_an_update_of_an_unknown_dossier_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    answer = await sync(client, auth, [dossier()], "True")
    assert answer["error_code"] == "-2"
    assert (await client.get("/dvcqg/hoso/000.00.31.H03-250107-0001")).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"TrangThaiHoSo": 2}, "TrangThaiHoSo"),  # a number where the portal wants a string
        ({"TrangThaiHoSo": "11"}, "TrangThaiHoSo"),
        ({"KenhThucHien": "4"}, "KenhThucHien"),
        ({"LoaiDoiTuong": "5"}, "LoaiDoiTuong"),
        ({"HinhThuc": "2"}, "HinhThuc"),
        ({"NgayTiepNhan": "2025-01-07 08:30:00"}, "NgayTiepNhan"),
        ({"NgayTiepNhan": "20251307083000"}, "NgayTiepNhan"),
        ({"NgayHenTra": "0"}, "NgayHenTra"),
        ({"MaTTHC": "1612"}, "MaTTHC"),
        ({"TrichYeuHoSo": "x" * 1001}, "TrichYeuHoSo"),
        ({"Email": "khong-phai-email"}, "Email"),
        ({"MaHoSoo": "typo"}, "MaHoSoo"),
        ({"HoSoCoThanhPhanSoHoa": "2"}, "HoSoCoThanhPhanSoHoa"),
        ({"DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": "024090001"}]}, "DinhDanhCHS"),
    ],
)
async def test_invalid_dossiers_are_refused_naming_the_field_and_nothing_is_kept(
    client: httpx.AsyncClient, auth: dict[str, str], change: dict[str, Any], field: str
) -> None:
    good = dossier(MaHoSo="000.00.31.H03-250107-0009")
    bad = dossier(**change)
    answer = await sync(client, auth, [good, bad], "False")
    assert answer["error_code"] == "-1", answer
    assert field in answer["message"]
    assert "bản ghi thứ 2" in answer["message"]
    assert (await client.get("/dvcqg/hoso")).json()["items"] == []


@pytest.mark.parametrize("missing", ["MaHoSo", "MaTTHC", "NgayTiepNhan", "TrangThaiHoSo"])
async def test_a_required_field_is_required(
    client: httpx.AsyncClient, auth: dict[str, str], missing: str
) -> None:
    record = dossier()
    del record[missing]
    answer = await sync(client, auth, [record])
    assert answer["error_code"] == "-1"
    assert missing in answer["message"]


async def test_the_batch_and_the_flag_are_checked(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    record = dossier()
    twice = await sync(client, auth, [record, record])
    assert twice["error_code"] == "-1" and "hai lần" in twice["message"]
    assert (await sync(client, auth, []))["error_code"] == "-1"
    flag = await sync(client, auth, [record], "true")  # the flag is the string True or False
    assert flag["error_code"] == "-1" and "isUpdating" in flag["message"]
    not_array = await sync(client, auth, record)
    assert not_array["error_code"] == "-1"
    resp = await client.post(
        SYNC, content=b"{not json", headers={**auth, "content-type": "application/json"}
    )
    assert resp.json()["error_code"] == "-1"
    assert (await client.get("/dvcqg/hoso")).json()["items"] == []


@pytest.mark.parametrize(
    "name", ["03_opencps_CapNhatTienDoHoSoMC.json", "06_thanhhoa_td_TienTrinh.json"]
)
async def test_progress_rows_of_the_real_callers(
    client: httpx.AsyncClient, auth: dict[str, str], name: str
) -> None:
    body = sample(name)
    rows: list[dict[str, Any]] = body["data"] if isinstance(body, dict) else body
    code = rows[0]["MaHoSo"]

    unknown = (await client.post(PROGRESS, json=rows, headers=auth)).json()
    assert unknown["error_code"] == "-2"

    assert (await sync(client, auth, [dossier(MaHoSo=code)]))["error_code"] == "0"
    done = (await client.post(PROGRESS, json=rows, headers=auth)).json()
    assert done["error_code"] == "0" and "thành công" in done["message"]
    again = (await client.post(PROGRESS, json=rows, headers=auth)).json()
    assert again["error_code"] == "0"

    kept = (await client.get(f"/dvcqg/hoso/{code}/tiendo")).json()
    assert sorted(r["row"]["NoiDungXuLy"] for r in kept) == sorted(r["NoiDungXuLy"] for r in rows)
    assert {r["received"] for r in kept} == {2}  # the same rows again: counted, not doubled

    long_name = [{**rows[0], "NguoiXuLy": "x" * 51}]
    refused = (await client.post(PROGRESS, json=long_name, headers=auth)).json()
    assert refused["error_code"] == "-1" and "NguoiXuLy" in refused["message"]


async def test_the_testers_listing_and_creates_count_what_was_received(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    one, two = "000.00.31.H03-250107-0001", "000.00.31.H03-250107-0002"
    assert (await sync(client, auth, [dossier(MaHoSo=one), dossier(MaHoSo=two)]))[
        "error_code"
    ] == "0"
    # A second create is refused: it is logged, not counted as a create.
    assert (await sync(client, auth, [dossier(MaHoSo=one)], "False"))["error_code"] == "-3"
    done = dossier(MaHoSo=one, TrangThaiHoSo="10", NgayTra="20250110080000")
    assert (await sync(client, auth, [done], "True"))["error_code"] == "0"
    row = {
        "MaHoSo": one, "NguoiXuLy": "Cán bộ", "ThoiDiemXuLy": "20250109100000",
        "NoiDungXuLy": "Đã trả kết quả", "TrangThai": "10",
    }  # fmt: skip
    for _ in range(2):
        assert (await client.post(PROGRESS, json=[row], headers=auth)).json()["error_code"] == "0"

    items = (await client.get("/dvcqg/hoso")).json()["items"]
    assert [i["MaHoSo"] for i in items] == [one, two]
    first = items[0]
    assert (first["TrangThaiHoSo"], first["NgayTra"], first["updates"]) == (
        "10",
        "20250110080000",
        1,
    )
    assert first["NgayTiepNhan"] == done["NgayTiepNhan"]
    assert first["NgayHenTra"] == (done.get("NgayHenTra") or "")
    assert (first["progress"], first["progress_received"]) == (1, 2)
    assert (items[1]["progress"], items[1]["updates"]) == (0, 0)
    assert items[1]["NgayTra"] == (dossier()["NgayTra"] or "")

    creates = (await client.get("/dvcqg/calls/creates")).json()
    assert creates == {"calls": 1, "dossiers": 2, "twice": {}}


async def test_the_token_is_needed(client: httpx.AsyncClient) -> None:
    missing = await client.post(SYNC, json=[dossier()])
    assert missing.status_code == 401
    assert missing.json()["fault"]["code"] == 900902
    wrong = await client.post(SYNC, json=[dossier()], headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["fault"]["code"] == 900901
    assert (await client.get("/dvcqg/hoso")).json()["items"] == []


async def test_the_token_endpoint(client: httpx.AsyncClient) -> None:
    bad = await client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("lgsp-province", "sai")
    )
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"
    grant = await client.post("/token", data={"grant_type": "password"})
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"
    form = await client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "lgsp-province",
            "client_secret": "dev-only-national-consumer-secret",
        },
    )
    assert form.status_code == 200
    assert (form.json()["token_type"], form.json()["scope"]) == ("Bearer", "default")
    assert form.json()["expires_in"] == 3600
