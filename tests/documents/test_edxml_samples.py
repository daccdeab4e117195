"""The documents service on real QCVN 102 packages (../shared/edxml-samples): import, the
signature policy (RSA-SHA1 setting, unverified), the shape rules on the real layout."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import XMLSigner

from contracts import edxml as codec
from services.documents.main import create_app
from services.documents.models import Organ
from services.documents.settings import Settings
from services.documents.signing import keys
from tests.conftest import TokenMint, serve, service_settings
from tests.documents.conftest import COMMUNE, DISTRICT, DISTRICT_2, connect
from tests.documents.samples import (
    FROM_AXIS,
    NS,
    SAMPLES,
    addressed_to,
    attachments_of,
    header_text,
    sample,
)

pytestmark = pytest.mark.anyio

XML = {"content-type": "application/xml"}
IMPORT = "/v1/documents:import"
E = NS["e"]


@pytest.fixture(autouse=True)
def _samples_present() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"the edXML samples are not at {SAMPLES} (../shared beside the repository)")


@pytest.fixture
async def roomy(
    tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint
) -> AsyncIterator[httpx.AsyncClient]:
    """The service with the default attachment limits (the samples' files are larger than the
    tests' 4 KiB); RSA-SHA1 not allowed (the default)."""
    s = service_settings(Settings, tmp_path, database_url, nats_url, mint)
    async with serve(create_app(s)) as c:
        yield c


async def test_a_package_from_the_axis_addressed_to_a_province_organ_lands_in_its_inbox(
    roomy: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    raw = addressed_to(sample(FROM_AXIS), DISTRICT, "UBND Thành phố Bắc Giang")
    await connect(roomy, headers, DISTRICT)

    resp = await roomy.post(IMPORT, content=raw, headers={**headers, **XML})
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    sender = header_text(raw, "MessageHeader/From/OrganId")
    assert sender == "000.00.00.G22"
    assert doc["from_organ"] == sender
    # The government office is in the national directory (contracts/reference).
    assert doc["sender_level"] == "national"
    assert doc["to_organs"] == [DISTRICT]
    assert doc["edxml_document_id"] == header_text(raw, "MessageHeader/DocumentId")
    assert doc["code_number"] == header_text(raw, "MessageHeader/Code/CodeNumber")
    assert doc["code_notation"] == header_text(raw, "MessageHeader/Code/CodeNotation")
    assert doc["subject"] == header_text(raw, "MessageHeader/Subject")
    assert doc["promulgation"] == {"place": "Hà Nội", "date": "2019-04-11"}  # 2019/04/11
    assert doc["due_date"] == "2019-04-11"
    assert doc["signer"]["competence"] == header_text(raw, "MessageHeader/SignerInfo/Competence")
    assert doc["steering_type"] == 1
    assert doc["sent_at"] == "2019-04-11T00:00:00+07:00"  # TraceHeader 2019/04/11 00:00:00
    # DocumentType as the standard numbers it: Type 1, TypeDetail 0, "Công văn".
    assert doc["edxml_document_type"] == {
        "type": int(header_text(raw, "MessageHeader/DocumentType/Type") or ""),
        "detail": int(header_text(raw, "MessageHeader/DocumentType/TypeDetail") or ""),
        "name": header_text(raw, "MessageHeader/DocumentType/TypeName"),
    }
    assert doc["document_type"] == "CV" and doc["document_type_name"] == "Công văn"
    assert [(a["name"], a["content_type"], a["size"]) for a in doc["attachments"]] == (
        attachments_of(raw)
    )
    # Its RSA-SHA1 signature sits in the package's namespace: it cannot be checked, so the
    # document arrives (01) stored as unverified, and the recipient's reason says so.
    assert doc["verification"] == "unverified" and doc["verified"] is False
    assert doc["signature_algorithm"] == "rsa-sha1"
    [recipient] = doc["recipients"]
    assert recipient["status"] == "01"
    assert recipient["reason"].startswith("unverified: the Signature is in the package's")

    inbox = (await roomy.get(f"/v1/organs/{DISTRICT}/inbox", headers=headers)).json()["items"]
    assert [(i["id"], i["document_type"], i["from_organ_name"]) for i in inbox] == [
        (doc["id"], "CV", "Văn phòng Chính phủ")
    ]
    # The package is kept byte for byte; the same package again changes nothing.
    export = await roomy.get(f"/v1/documents/{doc['id']}/edxml", headers=headers)
    assert export.content == raw
    again = await roomy.post(IMPORT, content=raw, headers={**headers, **XML})
    assert again.status_code == 200 and again.json()["id"] == doc["id"]
    # The sender is a national organ: listed, but not the province's to connect.
    organ = (await roomy.get(f"/v1/organs/{sender}", headers=headers)).json()
    assert (organ["level"], organ["name"]) == ("national", "Văn phòng Chính phủ")
    refused = await roomy.post(
        f"/v1/organs/{sender}/connections",
        json={"system": "qlvb", "connected": True},
        headers=headers,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "external_organ"


async def test_a_sender_in_neither_directory_is_recorded_as_external(
    roomy: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    raw = addressed_to(sample(FROM_AXIS), DISTRICT, "UBND Thành phố Bắc Giang")
    stranger = "000.00.99.G99"  # neither the province's nor the national directory's
    raw = raw.replace(
        b"<edXML:OrganId>000.00.00.G22</edXML:OrganId>",
        f"<edXML:OrganId>{stranger}</edXML:OrganId>".encode(),
        1,
    )
    assert header_text(raw, "MessageHeader/From/OrganId") == stranger
    await connect(roomy, headers, DISTRICT)
    resp = await roomy.post(IMPORT, content=raw, headers={**headers, **XML})
    assert resp.status_code == 201, resp.text
    assert resp.json()["sender_level"] == "external"
    organ = (await roomy.get(f"/v1/organs/{stranger}", headers=headers)).json()
    assert organ["level"] == "external"
    assert organ["name"] == header_text(raw, "MessageHeader/From/OrganName")


async def test_a_malformed_or_status_package_is_refused_naming_the_line(
    roomy: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    resp = await roomy.post(
        IMPORT, content=sample("resources_edoc.edxml"), headers={**headers, **XML}
    )
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert (problem["code"], problem["reason"], problem["line"]) == (
        "invalid_package",
        "not_well_formed",
        74,  # the unclosed <edXML:From> of line 7 is found at </edXML:MessageHeader>
    )
    assert "line 74" in problem["detail"]

    status = await roomy.post(
        IMPORT, content=sample("resources_status_inbox_01.edxml"), headers={**headers, **XML}
    )
    assert status.status_code == 422, status.text
    assert status.json()["code"] == "not_a_document"
    inbox = await roomy.get(f"/v1/organs/{DISTRICT}/inbox", headers=headers)
    assert inbox.json()["items"] == []


def commune_certificate(key: rsa.RSAPrivateKey) -> str:
    organ = Organ(code=COMMUNE, name="UBND Phường Thọ Xương", level="commune")
    certificate = keys.self_signed_certificate(organ, key, datetime.now(UTC))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def commune_package(key: rsa.RSAPrivateKey, pem: str, algorithm: str, code: str) -> bytes:
    """The axis sample as COMMUNE would send it to DISTRICT_2, signed in XML-DSig."""
    read = codec.read(addressed_to(sample(FROM_AXIS), DISTRICT_2, "UBND Huyện Yên Thế"))
    assert isinstance(read, codec.DocumentPackage)
    package = dataclasses.replace(
        read,
        from_=codec.Organ(COMMUNE, "UBND Phường Thọ Xương"),
        document_id=f"{COMMUNE},2019/04/11,{code}/UBND",
        code=codec.Code(code, "UBND"),
        signature=None,
    )
    with pytest.MonkeyPatch.context() as patch:  # signxml signs SHA-1 only when told to
        patch.setattr(XMLSigner, "check_deprecated_methods", lambda self: None)
        return codec.sign(codec.write(package), key, pem, algorithm=algorithm)


@pytest.mark.parametrize("allow_sha1", [False, True])
async def test_rsa_sha1_is_accepted_only_when_the_setting_allows_it(
    tmp_path: Path,
    database_url: str,
    nats_url: str,
    mint: TokenMint,
    headers: dict[str, str],
    key_pool: list[rsa.RSAPrivateKey],
    allow_sha1: bool,
) -> None:
    s = service_settings(
        Settings, tmp_path, database_url, nats_url, mint, allow_sha1_signatures=allow_sha1
    )
    async with serve(create_app(s)) as client:
        await connect(client, headers, DISTRICT_2)
        pem = commune_certificate(key_pool[-1])
        registered = await client.put(
            f"/v1/organs/{COMMUNE}/certificate", json={"certificate_pem": pem}, headers=headers
        )
        assert registered.status_code == 200, registered.text

        async def receive(raw: bytes) -> dict[str, Any]:
            resp = await client.post(IMPORT, content=raw, headers={**headers, **XML})
            assert resp.status_code == 201, resp.text
            body: dict[str, Any] = resp.json()
            return body

        sha256 = await receive(commune_package(key_pool[-1], pem, "rsa-sha256", "11"))
        assert (sha256["verification"], sha256["signature_algorithm"]) == ("verified", "rsa-sha256")
        assert sha256["recipients"][0]["status"] == "01"
        assert sha256["recipients"][0]["reason"] is None

        sha1 = await receive(commune_package(key_pool[-1], pem, "rsa-sha1", "12"))
        assert sha1["signature_algorithm"] == "rsa-sha1"
        if allow_sha1:
            assert sha1["verification"] == "verified" and sha1["verified"] is True
            assert sha1["recipients"][0]["status"] == "01"
        else:
            assert sha1["verification"] == "refused" and sha1["verified"] is False
            assert sha1["recipients"][0]["status"] == "02"
            assert "DOCUMENTS_ALLOW_SHA1_SIGNATURES" in sha1["recipients"][0]["reason"]
        # Altered after signing: refused whatever the setting.
        altered = commune_package(key_pool[-1], pem, "rsa-sha1", "13").replace(
            "V/v kết nối".encode(), "V/v ngắt kết nối".encode(), 1
        )
        assert (await receive(altered))["recipients"][0]["status"] == "02"


def sdk_signature(raw: bytes) -> etree._Element:
    """The sample's Signature element (in the package's namespace, as the VNPT SDK writes it)."""
    root = etree.fromstring(raw)
    node = root.find("e:edXMLEnvelope/e:edXMLHeader/e:Signature", NS)
    assert node is not None
    return node


def twice(root: etree._Element) -> None:
    root.append(copy.deepcopy(sdk_signature(etree.tostring(root))))


def in_message(root: etree._Element) -> None:
    signature = root.find("e:edXMLEnvelope/e:edXMLHeader/e:Signature", NS)
    message = root.find("e:edXMLEnvelope/e:edXMLHeader/e:MessageHeader", NS)
    assert signature is not None and message is not None
    message.append(signature)


def by_id(root: etree._Element) -> None:
    reference = root.find("e:edXMLEnvelope/e:edXMLHeader/e:Signature/e:SignedInfo/e:Reference", NS)
    assert reference is not None
    reference.set("URI", "#envelope")


def with_object(root: etree._Element) -> None:
    signature = root.find("e:edXMLEnvelope/e:edXMLHeader/e:Signature", NS)
    assert signature is not None
    etree.SubElement(signature, f"{{{E}}}Object").text = "unsigned"


def comments_kept(root: etree._Element) -> None:
    transform = root.find(
        "e:edXMLEnvelope/e:edXMLHeader/e:Signature/e:SignedInfo/e:Reference/e:Transforms/"
        "e:Transform[2]",
        NS,
    )
    assert transform is not None
    transform.set("Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments")


@pytest.mark.parametrize(
    ("shape", "code"),
    [
        (twice, "signature_misplaced"),
        (in_message, "signature_misplaced"),
        (by_id, "signature_not_enveloped"),
        (with_object, "signature_not_enveloped"),
        (comments_kept, "signature_not_enveloped"),
    ],
)
async def test_the_sdk_signature_shape_is_held_to_the_enveloped_rules(
    roomy: httpx.AsyncClient, headers: dict[str, str], shape: Any, code: str
) -> None:
    """The samples' own shape (QCVN namespace, the SDK's exclusive C14N URI) is accepted, as
    the import test shows; moved, duplicated or widened it is refused and nothing is stored."""
    await connect(roomy, headers, DISTRICT)
    root = etree.fromstring(addressed_to(sample(FROM_AXIS), DISTRICT, "UBND Thành phố Bắc Giang"))
    shape(root)
    raw = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    resp = await roomy.post(IMPORT, content=raw, headers={**headers, **XML})
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == code
    assert (await roomy.get(f"/v1/organs/{DISTRICT}/inbox", headers=headers)).json()["items"] == []
