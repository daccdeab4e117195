"""The NGSP shared-data services against NGSP.md and samples/08: the population database's
`{error_code, message}` with the SOAP `CongdanCollection/CongDan` in `message`, and business
registration's `{Data: {MainInformation, Representatives}, DataCount, Status, Message}`; the
records synthetic and deterministic."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from lxml import etree

from services.national.ngsp.router import NS_DANCU
from tests.national.conftest import needs_samples, sample

pytestmark = pytest.mark.anyio

DANCU = "/apiCSDLDanCu/ChiaSeThongTinCongDan"
DKDN = "/apiCSDLDKDN/1.0/chiTietDoanhNghiep"
NS = {"s": "http://schemas.xmlsoap.org/soap/envelope/", "d": NS_DANCU}
NUMBER = "024090001234"  # born in Bắc Giang (024), a man (0) of 1990 (90)


def query(**changes: str) -> dict[str, Any]:
    body: dict[str, Any] = sample("08_thanhhoa_td_CSDLDanCu_via_LGSP.json")
    body.update({"SoDinhDanh": NUMBER, **changes})
    return body


def citizen(answer: dict[str, Any]) -> etree._Element:
    assert answer["error_code"] == "0", answer
    root = etree.fromstring(answer["message"].encode())
    [one] = root.findall("s:Body/d:CongdanCollection/d:CongDan", NS)
    return one


@needs_samples
async def test_a_citizen_is_synthetic_and_always_the_same(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    first = await client.post(DANCU, json=query(), headers=auth)
    assert first.status_code == 200, first.text
    one = citizen(first.json())
    assert one.findtext("d:SoDinhDanh", namespaces=NS) == NUMBER
    assert one.findtext("d:GioiTinh", namespaces=NS) == "1"
    assert one.findtext("d:NgayThangNamSinh/d:Nam", namespaces=NS) == "1990"
    assert one.findtext("d:NoiDangKyKhaiSinh/d:MaTinhThanh", namespaces=NS) == "24"
    name = " ".join(
        one.findtext(f"d:HoVaTen/d:{part}", namespaces=NS) or "" for part in ("Ho", "ChuDem", "Ten")
    )
    for element in ("ThuongTru/d:ChiTiet", "Cha/d:HoVaTen", "Me/d:SoDinhDanh", "SoSoHoKhau"):
        assert one.findtext(f"d:{element}", namespaces=NS)
    again = await client.post(DANCU, json=query(), headers=auth)
    assert again.json() == first.json()

    born = one.findtext("d:NgayThangNamSinh/d:NgayThangNam", namespaces=NS)
    assert born is not None
    matching = query(HoVaTen=name.upper(), NgayThangNam=born, Nam="1990")
    assert citizen((await client.post(DANCU, json=matching, headers=auth)).json()) is not None

    other = citizen(
        (await client.post(DANCU, json=query(SoDinhDanh="024190001234"), headers=auth)).json()
    )
    assert other.findtext("d:GioiTinh", namespaces=NS) == "2"


@needs_samples
@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"SoDinhDanh": "099090001234"}, "-2", "Không tìm thấy"),  # 099 is no province
        ({"SoDinhDanh": "024499001234"}, "-2", "Không tìm thấy"),  # century digit 4
        ({"HoVaTen": "Tên Khác Hẳn"}, "-3", "HoVaTen"),
        ({"NgayThangNam": "19000101"}, "-3", "NgayThangNam"),
        ({"SoDinhDanh": "02409000123"}, "-1", "SoDinhDanh"),
        ({"MaYeuCau": ""}, "-1", "MaYeuCau"),
        ({"Nam": 1990}, "-1", "Nam"),
        ({"MaDichVu": "033"}, "-1", "MaDichVu"),
    ],
)
async def test_population_database_errors(
    client: httpx.AsyncClient, auth: dict[str, str], changes: dict[str, Any], code: str, words: str
) -> None:
    resp = await client.post(DANCU, json=query(**changes), headers=auth)
    assert resp.status_code == 200, resp.text
    assert resp.json()["error_code"] == code
    assert words in resp.json()["message"]


async def test_business_registration(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    resp = await client.get(DKDN, params={"msdn": "0100109106"}, headers=auth)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["Status"], body["DataCount"]) == (1, 1)
    main = body["Data"]["MainInformation"]
    assert main["ENTERPRISE_GDT_CODE"] == "0100109106"
    assert main["NAME"] and main["HOAdress"]["AddressFullText"]
    assert [a for a in main["BusinessActivity"] if a["IS_MAIN"]]
    assert body["Data"]["Representatives"]["FULL_NAME"]
    assert (await client.get(DKDN, params={"msdn": "0100109106"}, headers=auth)).json() == body
    branch = (await client.get(DKDN, params={"msdn": "0100109106-001"}, headers=auth)).json()
    assert branch["Status"] == 1 and branch["Data"]["MainInformation"]["NAME"].startswith("CHI")

    for msdn in ("0100109107", "01001091", "abcdefghij"):  # wrong check digit, short, letters
        none = (await client.get(DKDN, params={"msdn": msdn}, headers=auth)).json()
        assert (none["Status"], none["DataCount"], none["Data"]) == (0, 0, {})
    missing = await client.get(DKDN, headers=auth)
    assert missing.status_code == 200
    assert missing.json()["Status"] == 0 and "msdn" in missing.json()["Message"]


async def test_a_token_is_needed(client: httpx.AsyncClient) -> None:
    assert (await client.get(DKDN, params={"msdn": "0100109106"})).status_code == 401
    resp = await client.post(DANCU, json={"SoDinhDanh": NUMBER})
    assert resp.status_code == 401 and resp.json()["fault"]["code"] == 900902
