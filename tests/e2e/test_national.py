"""The national tier as `lgsp run` wires it, every app a process of its own (SQLite): the
NGSP services through the gateway with the demo consumer's token (401 without, audited, in the
catalogue and the merged OpenAPI), a dossier received at the province reaching DVCQG, and the
national document axis both ways (a document to the government office leaves as its edXML
package; a package from the axis lands in a province organ's inbox)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from typer.testing import CliRunner

from contracts import edxml as codec
from lgsp.cli import cli
from services.national.settings import DEV_CONSUMER_SECRET
from tests.documents.conftest import DISTRICT, PROVINCE, document
from tests.documents.samples import FROM_AXIS, SAMPLES, addressed_to, sample
from tests.e2e.platform import WITH_NATIONAL, Platform

pytestmark = pytest.mark.e2e

VPCP = "000.00.00.G22"  # Văn phòng Chính phủ, on the national axis
DANCU = "/ngsp/apiCSDLDanCu/ChiaSeThongTinCongDan"
DKDN = "/ngsp/apiCSDLDKDN/1.0/chiTietDoanhNghiep"
CITIZEN = {
    "SoDinhDanh": "024090001234",
    "MaTichHop": "LGSP_H03",
    "MaDVC": "H03_DVC",
    "MaCanBo": "canbo01",
    "MaYeuCau": "H03_DVC_0001",
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = Platform(
        tmp_path_factory.mktemp("national") / "platform",
        apps=WITH_NATIONAL,
        # Short rounds for the axis and the DVCQG sync: the tests wait on them.
        extra_env={"NATIONAL_AXIS_POLL_SECONDS": "0.3", "DOSSIER_DVCQG_POLL_SECONDS": "0.3"},
    )
    try:
        p.start_all()
        yield p
    finally:
        p.stop_all()


@pytest.fixture(scope="module")
def gw(platform: Platform) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {platform.demo_token()}"}
    with httpx.Client(base_url=platform.gateway, headers=auth, timeout=30) as client:
        yield client


def until(check: Callable[[], Any], within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {within} s"
        time.sleep(0.2)


def admin_headers(platform: Platform) -> dict[str, str]:
    creds = json.loads((platform.data_dir / "admin-client.json").read_text())
    resp = httpx.post(
        platform.gateway + "/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def test_the_contract_suite_passes_with_the_national_contexts(
    platform: Platform, tmp_path: Path
) -> None:
    """`lgsp contract-test` against a platform that publishes ngsp and dvcqg: their answers
    match their published schemas, and their invalid input answered HTTP 200 in the
    national shape is not taken for a fault (`x-lgsp-invalid-input-status`). First in the
    module: once the axis test has connected 000.00.31.H03, the documents service's published
    import example (no SignerInfo) gets a 500 (tests/documents/test_import_example.py)."""
    creds = json.loads((platform.data_dir / "demo-client.json").read_text())
    junit = tmp_path / "contract.xml"
    args = [
        "contract-test", "--base-url", platform.gateway,
        "--client-id", creds["client_id"], "--client-secret", creds["client_secret"],
        "--max-examples", "5", "--seed", "17", "--junit", str(junit),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    cases = {c.get("name") or "" for c in ElementTree.parse(junit).getroot().iter("testcase")}
    for operation in (f"POST {DANCU}", f"GET {DKDN}", "POST /dvcqg/DongBoHoSoMC"):
        assert f"{operation} [fuzzing]" in cases, sorted(cases)


def test_ngsp_through_the_gateway_with_the_demo_consumer(
    platform: Platform, gw: httpx.Client
) -> None:
    bare = httpx.post(platform.gateway + DANCU, json=CITIZEN)
    assert bare.status_code == 401, bare.text

    citizen = gw.post(DANCU, json=CITIZEN)
    assert citizen.status_code == 200, citizen.text
    assert citizen.json()["error_code"] == "0"
    assert "<SoDinhDanh>024090001234</SoDinhDanh>" in citizen.json()["message"]
    firm = gw.get(DKDN, params={"msdn": "0100109106"})
    assert firm.status_code == 200, firm.text
    assert (firm.json()["Status"], firm.json()["DataCount"]) == (1, 1)
    assert firm.json()["Data"]["MainInformation"]["ENTERPRISE_GDT_CODE"] == "0100109106"
    # The portal's own answer to invalid input, through the gateway unchanged.
    invalid = gw.post(DANCU, json={**CITIZEN, "SoDinhDanh": "12"})
    assert (invalid.status_code, invalid.json()["error_code"]) == (200, "-1")

    wanted = {("POST", DANCU, 401), ("POST", DANCU, 200), ("GET", DKDN, 200)}

    def audited() -> bool:
        # Newest first; the audit is written in batches, about a second after the calls.
        resp = httpx.get(
            platform.gateway + "/admin/audit",
            params={"api": "ngsp", "limit": 10},
            headers=admin_headers(platform),
        )
        assert resp.status_code == 200, resp.text
        seen = {(c["method"], c["route"], c["status"]) for c in resp.json()["items"]}
        return wanted <= seen

    assert until(audited, within=10)

    listed = {a["context"]: a for a in httpx.get(platform.gateway + "/apis").json()["items"]}
    assert listed["ngsp"]["available"] and listed["ngsp"]["national"]
    assert listed["dvcqg"]["available"]
    merged = httpx.get(platform.gateway + "/openapi.json").json()
    assert {DANCU, DKDN, "/dvcqg/DongBoHoSoMC"} <= set(merged["paths"])
    assert merged["x-lgsp-unavailable"] == []


def test_a_received_dossier_reaches_dvcqg(platform: Platform, gw: httpx.Client) -> None:
    body = {
        "procedure_code": "1.001193",
        "organ_code": "000.01.31.H03",
        "channel": 2,
        "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
    }
    created = gw.post("/dossier/v1/dossiers", json=body)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    moved = gw.post(f"/dossier/v1/dossiers/{code}/status", json={"status": 2})
    assert moved.status_code == 200, moved.text

    def at_dvcqg() -> dict[str, Any] | None:
        resp = httpx.get(f"{platform.url('national')}/dvcqg/hoso/{code}")
        record: dict[str, Any] = resp.json()
        return record if resp.status_code == 200 and record["TrangThaiHoSo"] == "2" else None

    record = until(at_dvcqg)
    assert record["MaHoSo"] == code
    assert record["MaTTHC"].startswith("1.001193")
    assert len(record["NgayTiepNhan"]) == 14 and record["NgayTiepNhan"].isdigit()


def test_the_national_axis_both_ways(platform: Platform, gw: httpx.Client) -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"the edXML samples are not at {SAMPLES} (../shared beside the repository)")
    national = platform.url("national")
    for organ in (PROVINCE, DISTRICT):
        resp = gw.post(
            f"/documents/v1/organs/{organ}/connections",
            json={"system": "qlvb", "connected": True},
        )
        assert resp.status_code == 200, resp.text

    # Out: a document of the province's people's committee to the government office.
    sent = gw.post("/documents/v1/documents", json=document(PROVINCE, [VPCP], code_number="17"))
    assert sent.status_code == 201, sent.text
    doc_id = sent.json()["id"]

    def on_axis() -> dict[str, Any] | None:
        items = httpx.get(f"{national}/axis/packages", params={"source": "province"}).json()
        return next((i for i in items["items"] if i["province_document_id"] == doc_id), None)

    item = until(on_axis)
    assert (item["from_organ"], item["to_organs"]) == (PROVINCE, [VPCP])
    raw = httpx.get(f"{national}/axis/packages/{item['id']}/edxml").content
    package = codec.read(raw)
    assert isinstance(package, codec.DocumentPackage)
    assert package.from_.organ_id == PROVINCE
    assert [o.organ_id for o in package.to] == [VPCP]
    assert raw == gw.get(f"/documents/v1/documents/{doc_id}/edxml").content

    # In: the government office's package, addressed to the city's committee, posted on the
    # axis with the province's token there; the axis delivers it through the gateway.
    token = httpx.post(
        f"{national}/token",
        data={"grant_type": "client_credentials"},
        auth=("lgsp-province", DEV_CONSUMER_SECRET),
    ).json()["access_token"]
    incoming = addressed_to(sample(FROM_AXIS), DISTRICT, "UBND Thành phố Bắc Giang")
    posted = httpx.post(
        f"{national}/axis/packages",
        content=incoming,
        headers={"Authorization": f"Bearer {token}", "content-type": codec.MEDIA_TYPE},
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["delivery"] == "pending"

    def delivered() -> dict[str, Any] | None:
        found: dict[str, Any] = httpx.get(f"{national}/axis/packages/{posted.json()['id']}").json()
        return found if found["delivery"] != "pending" else None

    assert until(delivered)["delivery"] == "delivered"
    inbox = gw.get(f"/documents/v1/organs/{DISTRICT}/inbox")
    assert inbox.status_code == 200, inbox.text
    assert [(i["from_organ"], i["status"]) for i in inbox.json()["items"]] == [(VPCP, "01")]


def test_the_demo_consumer_is_subscribed_to_the_national_contexts(platform: Platform) -> None:
    creds = json.loads((platform.data_dir / "demo-client.json").read_text())
    resp = httpx.get(
        f"{platform.gateway}/admin/consumers/{creds['client_id']}",
        headers=admin_headers(platform),
    )
    assert resp.status_code == 200, resp.text
    assert {"ngsp", "dvcqg"} <= set(resp.json()["apis"])
