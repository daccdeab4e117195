"""Business operations arriving as packages (POST /v1/documents:import): the real update and
revocation samples of ../shared/edxml-samples, sent by the government office (000.00.00.G22)
to two province organs, act on the documents they name only when the office's signature
verifies here."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from contracts import edxml as codec
from services.documents.models import Organ
from services.documents.signing import keys
from tests.documents.conftest import DISTRICT, DISTRICT_2, connect
from tests.documents.samples import FROM_AXIS, SAMPLES, sample
from tests.documents.test_business import PACKAGE_ID, UPDATED_ID, read_back, statuses

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"the edXML samples are not at {SAMPLES}"),
]

IMPORT = "/v1/documents:import"
XML = {"content-type": "application/xml"}
OFFICE = "000.00.00.G22"  # Văn phòng Chính phủ, in the directory of national organs


def office_certificate(key: rsa.RSAPrivateKey) -> str:
    organ = Organ(code=OFFICE, name="Văn phòng Chính phủ", level="national")
    certificate = keys.self_signed_certificate(organ, key, datetime.now(UTC))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def to_districts(name: str, **changes: Any) -> codec.DocumentPackage:
    """A sample sent by the office to DISTRICT and DISTRICT_2 (its H41 and H14 rewritten),
    without its attachments (the test service's limit is 4 KiB)."""
    text = sample(name).decode()
    text = text.replace("000.00.00.H41", DISTRICT).replace("000.00.00.H14", DISTRICT_2)
    package = codec.read(text.encode())
    assert isinstance(package, codec.DocumentPackage)
    to = tuple(o for o in package.to if o.organ_id in (DISTRICT, DISTRICT_2))
    return dataclasses.replace(package, to=to, signature=None, attachments=(), **changes)


def signed(package: codec.DocumentPackage, key: rsa.RSAPrivateKey, pem: str) -> bytes:
    return codec.sign(codec.write(package), key, pem)


async def test_update_and_revocation_act_when_the_sender_signature_verifies(
    client: httpx.AsyncClient, headers: dict[str, str], key_pool: list[rsa.RSAPrivateKey]
) -> None:
    key, stranger = key_pool[-1], key_pool[-2]
    pem = office_certificate(key)
    registered = await client.put(
        f"/v1/organs/{OFFICE}/certificate", json={"certificate_pem": pem}, headers=headers
    )
    assert registered.status_code == 200, registered.text
    await connect(client, headers, DISTRICT, DISTRICT_2)

    async def imported(raw: bytes, status: int = 201) -> dict[str, Any]:
        resp = await client.post(IMPORT, content=raw, headers={**headers, **XML})
        assert resp.status_code == status, resp.text
        body: dict[str, Any] = resp.json()
        return body

    # The document the update names, as the office sent it earlier.
    old = await imported(
        signed(to_districts(FROM_AXIS, document_id=UPDATED_ID, business=None), key, pem)
    )
    assert (old["verification"], old["edxml_document_id"]) == ("verified", UPDATED_ID)
    assert statuses(old) == {DISTRICT: "01", DISTRICT_2: "01"}

    # An update whose signature is not the office's is stored, refused (02), and acts on
    # nothing: the reason says why.
    forged_id = PACKAGE_ID.replace("7816", "7817")
    forged = await imported(
        signed(to_districts("resources_edoc_update.edxml", document_id=forged_id), stranger, pem)
    )
    assert forged["verification"] == "refused"
    assert forged["supersedes"] is None
    assert all("not applied" in r["reason"] for r in forged["recipients"])
    unchanged = await read_back(client, headers, old["id"])
    assert unchanged["business_state"] is None
    assert statuses(unchanged) == {DISTRICT: "01", DISTRICT_2: "01"}

    # The update signed by the office: a new document, the old one's copies asked back (13).
    update = await imported(signed(to_districts("resources_edoc_update.edxml"), key, pem))
    assert (update["verification"], update["edxml_document_id"]) == ("verified", PACKAGE_ID)
    assert update["supersedes"] == old["id"]
    assert statuses(update) == {DISTRICT: "01", DISTRICT_2: "01"}
    old_now = await read_back(client, headers, old["id"])
    assert (old_now["business_state"], old_now["superseded_by"]) == ("updated", update["id"])
    assert statuses(old_now) == {DISTRICT: "13", DISTRICT_2: "13"}

    # A revocation of the update (the sample's own DocumentId is the update's): unsigned, it is
    # refused and changes nothing; signed by the office, it acts and answers the document.
    revocation = to_districts("resources_edoc_revocation.edxml")
    assert revocation.document_id == PACKAGE_ID
    unsigned = await imported(codec.write(revocation), status=422)
    assert unsigned["code"] == "business_not_verified"
    assert "not signed" in unsigned["detail"]
    assert statuses(await read_back(client, headers, update["id"])) == {
        DISTRICT: "01",
        DISTRICT_2: "01",
    }

    revoked = await imported(signed(revocation, key, pem), status=200)
    assert revoked["id"] == update["id"]
    assert revoked["business_state"] == "revoked"
    assert statuses(revoked) == {DISTRICT: "13", DISTRICT_2: "13"}
    recall = [t for t in revoked["trace"] if t["to_status"] == "13"]
    assert {t["organ_code"] for t in recall} == {OFFICE}
    assert revocation.business is not None
    assert recall[0]["note"] == revocation.business.reason

    # A recipient's system agrees (15) as it would after any request to give back.
    agreed = await client.post(
        f"/v1/documents/{update['id']}/recipients/{DISTRICT}/status",
        json={"status": "15"},
        headers=headers,
    )
    assert agreed.status_code == 200, agreed.text


async def test_a_revocation_of_an_unknown_document_is_404(
    client: httpx.AsyncClient, headers: dict[str, str], key_pool: list[rsa.RSAPrivateKey]
) -> None:
    key = key_pool[-1]
    pem = office_certificate(key)
    await client.put(
        f"/v1/organs/{OFFICE}/certificate", json={"certificate_pem": pem}, headers=headers
    )
    await connect(client, headers, DISTRICT, DISTRICT_2)
    resp = await client.post(
        IMPORT,
        content=signed(to_districts("resources_edoc_revocation.edxml"), key, pem),
        headers={**headers, **XML},
    )
    assert resp.status_code == 404, resp.text
    assert resp.json()["code"] == "document_not_found"
