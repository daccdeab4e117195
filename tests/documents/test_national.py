"""The national organs of the axis: known to the directory, addressable, their packages read."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from contracts import edxml as codec
from contracts import reference
from tests.documents.conftest import PROVINCE, connect, document, send

pytestmark = pytest.mark.anyio

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SAMPLES = SHARED / "edxml-samples"
NGHE_AN = "000.00.00.H41"
CAO_BANG = "000.00.00.H14"
VPCP = "000.00.00.G22"


async def test_directory_follows_the_province_codes() -> None:
    """Every province of ../shared/national/province-codes.md but this one, by its code."""
    text = (SHARED / "national" / "province-codes.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (H\d\d) \| ([^|]+?) \|", text, re.M))
    assert len(rows) == 63
    provinces = {o.code: o for o in reference.national_organs().values() if o.kind == "province"}
    assert set(provinces) == {f"000.00.00.{h}" for h in rows} - {reference.province().organ_code}
    for code, organ in provinces.items():
        assert organ.name.endswith(rows[code[-3:]]), (code, organ.name)
    assert provinces[NGHE_AN].source == provinces[CAO_BANG].source == "confirmed"
    # The organs of the status samples and of the package received from the government office
    # (the other document samples name an organ, 000.00.00.A80, that is no real code).
    names = ["xml_dc0bdef0-c7a3-4aaf-b717-777303442973.edxml"]
    names += [p.name for p in SAMPLES.glob("resources_status*.edxml")]
    for name in names:
        package = codec.read((SAMPLES / name).read_bytes())
        organs = {package.from_.organ_id}
        if isinstance(package, codec.DocumentPackage):
            organs |= {o.organ_id for o in package.to}
        else:
            organs.add(package.response_for.organ_id or "")
        assert organs <= set(reference.national_organs()), name
        assert organs & {VPCP, NGHE_AN, CAO_BANG}, name


async def test_a_document_to_a_national_organ_is_accepted(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE)
    body = document(
        PROVINCE,
        [VPCP, NGHE_AN],
        sent_at="2015-09-20T08:00:00+07:00",
        promulgation={"place": "Bắc Giang", "date": "2015-09-20"},
    )
    doc = await send(client, headers, body)
    assert {r["organ_code"]: r["status"] for r in doc["recipients"]} == {
        VPCP: "01",
        NGHE_AN: "01",
    }
    names = {r["organ_code"]: r["organ_name"] for r in doc["recipients"]}
    assert names[VPCP] == "Văn phòng Chính phủ"

    # Nghệ An answers with the real status sample: only the document it names is this one.
    raw = (SAMPLES / "resources_status_acceptance_03.edxml").read_text(encoding="utf-8")
    raw = raw.replace("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT", doc["edxml_document_id"])
    raw = raw.replace(
        f"<edXML:OrganId>{VPCP}</edXML:OrganId>", f"<edXML:OrganId>{PROVINCE}</edXML:OrganId>"
    )
    resp = await client.post(
        "/v1/status-packages",
        content=raw.encode(),
        headers={**headers, "content-type": "application/xml"},
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["organ_code"], resp.json()["status"]) == (NGHE_AN, "03")
