"""The national document axis from the province's side: a document to an organ outside the
province waits in the axis outbox as its signed QCVN 102 package until the axis takes it, and a
package from the axis delivers only the province's own organs' copies."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from contracts import edxml as codec
from tests.conftest import TokenMint
from tests.documents.conftest import DISTRICT, DISTRICT_2, PROVINCE, WRITE, connect, document, send
from tests.documents.samples import FROM_AXIS, SAMPLES, sample

pytestmark = pytest.mark.anyio

OUTBOX = "/v1/axis/outbox"
VPCP = "000.00.00.G22"  # Văn phòng Chính phủ
MOC = "000.00.00.G17"  # Bộ Xây dựng, another national organ of the directory


@pytest.fixture
def axis(mint: TokenMint) -> dict[str, str]:
    """The axis's own registration: the province organ with the scope `documents:axis`."""
    return mint.headers([*WRITE, "documents:axis"])


async def test_a_document_to_a_national_organ_waits_for_the_axis(
    client: httpx.AsyncClient, headers: dict[str, str], axis: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT)
    local = await send(client, headers, document(PROVINCE, [DISTRICT], code_number="1"))
    doc = await send(client, headers, document(PROVINCE, [DISTRICT, VPCP], code_number="2"))

    refused = await client.get(OUTBOX, headers=headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "insufficient_scope"

    waiting = await client.get(OUTBOX, headers=axis)
    assert waiting.status_code == 200, waiting.text
    [item] = waiting.json()["items"]
    assert waiting.json()["more"] is False
    assert (item["document_id"], item["to_organs"], item["taken_at"]) == (doc["id"], [VPCP], None)
    assert item["edxml_document_id"] == doc["edxml_document_id"]
    assert item["from_organ"] == PROVINCE

    # The package is the whole document, signed by its sender: the axis delivers VPCP's copy.
    package = await client.get(f"{OUTBOX}/{doc['id']}", headers=axis)
    assert package.status_code == 200, package.text
    assert package.headers["content-type"].startswith("application/xml")
    exported = await client.get(f"/v1/documents/{doc['id']}/edxml", headers=headers)
    assert package.content == exported.content
    read = codec.read(package.content)
    assert isinstance(read, codec.DocumentPackage)
    assert read.from_.organ_id == PROVINCE
    assert [o.organ_id for o in read.to] == [DISTRICT, VPCP]
    certificate = await client.get(f"/v1/organs/{PROVINCE}/certificate", headers=headers)
    check = codec.check_signature(package.content, [certificate.json()["certificate_pem"]])
    assert (check.algorithm, check.valid) == ("rsa-sha256", True)

    taken = await client.delete(f"{OUTBOX}/{doc['id']}", headers=axis)
    assert taken.status_code == 200, taken.text
    assert taken.json()["taken_at"] is not None
    again = await client.delete(f"{OUTBOX}/{doc['id']}", headers=axis)
    assert again.json() == taken.json()
    assert (await client.get(OUTBOX, headers=axis)).json() == {"items": [], "more": False}

    for path in (f"{OUTBOX}/{local['id']}", f"{OUTBOX}/no-such-document"):
        missing = await client.get(path, headers=axis)
        assert missing.status_code == 404, missing.text
        assert missing.json()["code"] == "not_in_axis_outbox"


async def test_the_outbox_pages_oldest_first(
    client: httpx.AsyncClient, headers: dict[str, str], axis: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE)
    sent = [
        await send(
            client,
            headers,
            document(PROVINCE, [VPCP], code_number=str(n), sent_at=f"2023-11-2{n}T08:00:00+07:00"),
        )
        for n in (3, 1, 2)
    ]
    first = (await client.get(OUTBOX, params={"limit": 2}, headers=axis)).json()
    assert [i["document_id"] for i in first["items"]] == [sent[1]["id"], sent[2]["id"]]
    assert first["more"] is True
    bad = await client.get(OUTBOX, params={"limit": 0}, headers=axis)
    assert bad.status_code == 422, bad.text


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"the edXML samples are not at {SAMPLES}")
async def test_a_package_from_the_axis_delivers_only_the_province_copies(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, DISTRICT, DISTRICT_2)
    read = codec.read(sample(FROM_AXIS))
    assert isinstance(read, codec.DocumentPackage)
    to = (codec.Organ(DISTRICT, "UBND Thành phố Bắc Giang"), codec.Organ(MOC, "Bộ Xây dựng"))
    package = dataclasses.replace(read, to=to, attachments=(), signature=None)
    xml = {**headers, "content-type": "application/xml"}

    resp = await client.post("/v1/documents:import", content=codec.write(package), headers=xml)
    assert resp.status_code == 201, resp.text
    assert [r["organ_code"] for r in resp.json()["recipients"]] == [DISTRICT]

    elsewhere = dataclasses.replace(package, to=(to[1],), document_id=None)
    resp = await client.post("/v1/documents:import", content=codec.write(elsewhere), headers=xml)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "no_recipient_here"
