"""edXML packages: the export verifies with signxml, imports verify on receipt, round trips."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import InvalidDigest, InvalidSignature

from contracts import edxml as codec
from services.documents.main import create_app
from services.documents.models import Organ
from services.documents.settings import Settings
from services.documents.signing import keys
from tests.conftest import TokenMint, serve, service_settings
from tests.documents.conftest import (
    COMMUNE,
    DISTRICT,
    PDF,
    PROVINCE,
    attachment,
    connect,
    document,
    send,
)

pytestmark = pytest.mark.anyio

NS = {"e": "http://www.mic.gov.vn/TBT/QCVN_102_2016", "ds": "http://www.w3.org/2000/09/xmldsig#"}
XML = {"content-type": "application/xml"}
SECOND_FILE = b"PK\x03\x04 bao cao" * 20


@asynccontextmanager
async def other_system(
    tmp_path: Path, url: str, nats_url: str, mint: TokenMint
) -> AsyncIterator[httpx.AsyncClient]:
    """A second QLVB system with a store of its own, receiving what the first one sends."""
    s = service_settings(Settings, tmp_path, url, nats_url, mint, max_package_bytes=65536)
    async with serve(create_app(s)) as client:
        yield client


async def sent_package(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> tuple[dict[str, Any], bytes, str]:
    """Send province → district electronically; the document, its export, the certificate."""
    await connect(client, headers, PROVINCE, DISTRICT)
    files = [
        attachment(),
        attachment(SECOND_FILE, name="phu-luc.zip", content_type="application/zip"),
    ]
    doc = await send(
        client, headers, document(PROVINCE, [DISTRICT], attachments=files, **overrides)
    )
    export = await client.get(f"/v1/documents/{doc['id']}/edxml", headers=headers)
    assert export.status_code == 200, export.text
    cert = await client.get(f"/v1/organs/{PROVINCE}/certificate", headers=headers)
    assert cert.status_code == 200
    return doc, export.content, cert.json()["certificate_pem"]


def wrong_certificate(key: rsa.RSAPrivateKey) -> str:
    """A certificate naming the province UBND, on a key that is not the one it signs with."""
    organ = Organ(code=PROVINCE, name="Ủy ban nhân dân tỉnh Bắc Giang", level="province")
    certificate = keys.self_signed_certificate(organ, key, datetime.now(UTC))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


async def test_export_is_an_edxml_package_whose_signature_verifies_with_signxml(
    client: httpx.AsyncClient, headers: dict[str, str], key_pool: list[rsa.RSAPrivateKey]
) -> None:
    nothing_yet = await client.get(f"/v1/organs/{COMMUNE}/certificate", headers=headers)
    assert nothing_yet.status_code == 404
    doc, package, pem = await sent_package(client, headers, due_date="2023-12-01", priority=1)
    certificate = x509.load_pem_x509_certificate(pem.encode())
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 3072
    assert b"PRIVATE" not in package

    verified = XMLVerifier().verify(package, x509_cert=pem)
    signed = verified.signed_xml  # type: ignore[union-attr]
    assert signed is not None
    root = etree.fromstring(package)
    assert root.tag == f"{{{NS['e']}}}edXML"
    header = root.find("e:edXMLEnvelope/e:edXMLHeader/e:MessageHeader", NS)
    assert header is not None

    def text(path: str) -> str | None:
        return header.findtext(path, namespaces=NS)

    assert text("e:From/e:OrganId") == PROVINCE
    assert [t.text for t in header.findall("e:To/e:OrganId", NS)] == [DISTRICT]
    assert text("e:Code/e:CodeNumber") == "123"
    assert text("e:Code/e:CodeNotation") == "UBND-KGVX"
    assert text("e:DocumentId") == f"{PROVINCE},2023/11/20,123/UBND-KGVX"
    assert text("e:PromulgationInfo/e:Place") == "Bắc Giang"
    assert text("e:DocumentType/e:Type") == "1"  # văn bản hành chính, as the samples have it
    assert text("e:DocumentType/e:TypeName") == "Công văn"
    assert text("e:PromulgationInfo/e:PromulgationDate") == "2023/11/20"
    assert text("e:Subject") == doc["subject"]
    assert text("e:SignerInfo/e:FullName") == "Trần Văn Bình"
    assert text("e:DueDate") == "2023/12/01"
    assert text("e:OtherInfo/e:Priority") == "1"
    assert text("e:OtherInfo/e:ExchangeId") == doc["id"]
    envelope = "e:edXMLEnvelope/e:edXMLHeader"
    assert root.findtext(
        f"{envelope}/e:TraceHeaderList/e:TraceHeader/e:Timestamp", namespaces=NS
    ) == ("2023/11/20 08:00:00")
    assert root.findtext(
        f"{envelope}/e:TraceHeaderList/e:Bussiness/e:BussinessDocType", namespaces=NS
    ) == ("0")
    assert root.find(f"{envelope}/ds:Signature", NS) is not None
    assert root.find(f"{envelope}/ds:Signature/ds:SignedInfo/ds:SignatureMethod", NS).get(
        "Algorithm"
    ) == ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    manifest = root.findall("e:edXMLEnvelope/e:edXMLBody/e:edXMLManifest/e:Reference", NS)
    assert [m.findtext("e:AttachmentName", namespaces=NS) for m in manifest] == [
        "van-ban.pdf",
        "phu-luc.zip",
    ]
    values = root.findall("e:AttachmentEncoded/e:Attachment/e:ContentTransferEncoded", NS)
    assert [base64.b64decode(v.text or "") for v in values] == [PDF, SECOND_FILE]

    # The codec reads it back field for field.
    read = codec.read(package)
    assert isinstance(read, codec.DocumentPackage)
    assert read.from_.organ_id == PROVINCE and [o.organ_id for o in read.to] == [DISTRICT]
    assert read.document_type == codec.DocumentType(1, None, "Công văn")
    assert read.promulgation_info == codec.PromulgationInfo("Bắc Giang", date(2023, 11, 20))
    assert read.due_date == date(2023, 12, 1)
    assert read.trace_headers[0].timestamp == datetime.fromisoformat("2023-11-20T08:00:00+07:00")
    assert [(a.name, a.content_type, a.content) for a in read.attachments] == [
        ("van-ban.pdf", "application/pdf", PDF),
        ("phu-luc.zip", "application/zip", SECOND_FILE),
    ]
    assert codec.check_signature(package, [pem]) == codec.SignatureCheck(True, "rsa-sha256", True)

    again = await client.get(f"/v1/documents/{doc['id']}/edxml", headers=headers)
    assert again.content == package

    altered_subject = package.replace(
        "liên thông văn bản".encode(), "liên thông văn bản (sửa)".encode()
    )
    with pytest.raises(InvalidDigest):
        XMLVerifier().verify(altered_subject, x509_cert=pem)
    with pytest.raises(InvalidDigest):
        XMLVerifier().verify(flip_attachment(package), x509_cert=pem)
    with pytest.raises(InvalidSignature):
        XMLVerifier().verify(package, x509_cert=wrong_certificate(key_pool[-1]))


def flip_attachment(package: bytes) -> bytes:
    """The same package with one byte of its first attachment changed."""
    value = re.search(rb"ContentTransferEncoded[^>]*>([^<]+)<", package)
    assert value is not None
    content = bytearray(base64.b64decode(value.group(1)))
    content[10] ^= 0xFF
    return package.replace(value.group(1), base64.b64encode(bytes(content)), 1)


async def test_a_package_round_trips_through_import_unchanged(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    tmp_path: Path,
    second_database_url: str,
    nats_url: str,
    mint: TokenMint,
) -> None:
    doc, package, pem = await sent_package(client, headers)

    same_system = await client.post(
        "/v1/documents:import", content=package, headers={**headers, **XML}
    )
    assert same_system.status_code == 200, same_system.text
    assert (
        same_system.json()
        == (await client.get(f"/v1/documents/{doc['id']}", headers=headers)).json()
    )

    async with other_system(tmp_path, second_database_url, nats_url, mint) as other:
        await connect(other, headers, DISTRICT)
        registered = await other.put(
            f"/v1/organs/{PROVINCE}/certificate", json={"certificate_pem": pem}, headers=headers
        )
        assert registered.status_code == 200, registered.text
        assert registered.json()["managed_here"] is False

        received = await other.post(
            "/v1/documents:import", content=package, headers={**headers, **XML}
        )
        assert received.status_code == 201, received.text
        copy = received.json()
        assert copy["origin"] == "imported" and copy["verified"] is True
        assert (copy["verification"], copy["signature_algorithm"]) == ("verified", "rsa-sha256")
        assert [(r["organ_code"], r["status"]) for r in copy["recipients"]] == [(DISTRICT, "01")]
        same_fields = (
            "id",
            "edxml_document_id",
            "from_organ",
            "sender_level",
            "to_organs",
            "code_number",
            "code_notation",
            "document_type",
            "document_type_name",
            "edxml_document_type",
            "subject",
            "content",
            "promulgation",
            "signer",
            "due_date",
            "steering_type",
            "priority",
            "electronic",
            "sent_at",
            "attachments",
        )
        assert {k: copy[k] for k in same_fields} == {k: doc[k] for k in same_fields}

        exported = await other.get(f"/v1/documents/{doc['id']}/edxml", headers=headers)
        assert exported.content == package
        XMLVerifier().verify(exported.content, x509_cert=pem)

        again = await other.post(
            "/v1/documents:import", content=package, headers={**headers, **XML}
        )
        assert again.status_code == 200
        assert again.json() == copy

        # The same id with other content is not a new version of it.
        place = "Bắc Giang</edXML:Place>".encode()
        assert place in package
        altered = package.replace(place, "Hà Nội</edXML:Place>".encode())
        conflict = await other.post(
            "/v1/documents:import", content=altered, headers={**headers, **XML}
        )
        assert conflict.status_code == 409
        assert conflict.json()["code"] == "document_exists"


async def test_a_failing_signature_is_refused_with_02_an_uncheckable_one_arrives_unverified(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    tmp_path: Path,
    second_database_url: str,
    nats_url: str,
    mint: TokenMint,
    key_pool: list[rsa.RSAPrivateKey],
) -> None:
    _, tampered_source, pem = await sent_package(client, headers)
    _, second, _ = await sent_package(client, headers, code_number="124")
    _, unknown_sender, _ = await sent_package(client, headers, code_number="125")
    tampered = flip_attachment(tampered_source)

    async with other_system(tmp_path, second_database_url, nats_url, mint) as other:
        await connect(other, headers, DISTRICT)

        async def receive(package: bytes, status: str = "02") -> dict[str, Any]:
            resp = await other.post(
                "/v1/documents:import", content=package, headers={**headers, **XML}
            )
            assert resp.status_code == 201, resp.text
            body: dict[str, Any] = resp.json()
            assert body["verified"] is False
            assert body["signature_algorithm"] == "rsa-sha256"
            assert [r["status"] for r in body["recipients"]] == [status]
            return body

        # No certificate of the province here: it cannot be checked, so it arrives (01),
        # stored as unverified, the recipient's reason saying so.
        unknown = await receive(unknown_sender, "01")
        assert unknown["verification"] == "unverified"
        assert unknown["recipients"][0]["reason"] == (
            f"unverified: no trusted certificate of {PROVINCE} is known to this system"
        )
        unverified = (
            await other.get(
                f"/v1/organs/{DISTRICT}/inbox", params={"status": "01"}, headers=headers
            )
        ).json()["items"]
        assert [(i["id"], i["reason"]) for i in unverified] == [
            (unknown["id"], unknown["recipients"][0]["reason"])
        ]

        await other.put(
            f"/v1/organs/{PROVINCE}/certificate", json={"certificate_pem": pem}, headers=headers
        )
        refused = await receive(tampered)
        assert refused["verification"] == "refused"
        assert "altered" in refused["recipients"][0]["reason"]
        assert refused["recipients"][0]["status_name"] == "Từ chối tiếp nhận"
        assert refused["recipients"][0]["allowed_next"] == []

        await other.put(
            f"/v1/organs/{PROVINCE}/certificate",
            json={"certificate_pem": wrong_certificate(key_pool[-1])},
            headers=headers,
        )
        wrong_key = await receive(second)
        assert "does not verify" in wrong_key["recipients"][0]["reason"]

        inbox = (
            await other.get(
                f"/v1/organs/{DISTRICT}/inbox", params={"status": "02"}, headers=headers
            )
        ).json()
        assert {i["id"] for i in inbox["items"]} == {refused["id"], wrong_key["id"]}
        assert all(i["reason"] for i in inbox["items"])


async def test_import_and_certificate_input_is_checked(
    client: httpx.AsyncClient, headers: dict[str, str], key_pool: list[rsa.RSAPrivateKey]
) -> None:
    doc, package, pem = await sent_package(client, headers)
    url = "/v1/documents:import"
    as_json = await client.post(
        url, content=package, headers={**headers, "content-type": "application/json"}
    )
    assert as_json.status_code == 415
    for body in (
        b"not xml at all",
        b"<edXMLEnvelope/>",
        b"<?xml version='1.0'?><x:a xmlns:x='urn:x'/>",
    ):
        resp = await client.post(url, content=body, headers={**headers, **XML})
        assert resp.status_code == 422, body
        assert resp.json()["code"] == "invalid_package"
    too_big = await client.post(url, content=b" " * 70_000 + package, headers={**headers, **XML})
    assert too_big.status_code == 413
    recipient = f"<edXML:OrganId>{DISTRICT}</edXML:OrganId>".encode()
    assert recipient in package
    unknown = package.replace(recipient, b"<edXML:OrganId>000.99.99.H03</edXML:OrganId>")
    assert (await client.post(url, content=unknown, headers={**headers, **XML})).json()["code"] == (
        "unknown_organ"
    )

    cert_url = f"/v1/organs/{PROVINCE}/certificate"
    managed = await client.put(cert_url, json={"certificate_pem": pem}, headers=headers)
    assert managed.status_code == 409
    assert managed.json()["code"] == "key_managed_here"
    other_organ = f"/v1/organs/{COMMUNE}/certificate"
    for bad in ("not a certificate", wrong_certificate(key_pool[-1])):  # the second names PROVINCE
        resp = await client.put(other_organ, json={"certificate_pem": bad}, headers=headers)
        assert resp.status_code == 422
        assert resp.json()["code"] == "invalid_certificate"
    assert (
        doc["signature"]["certificate_fingerprint"]
        == (await client.get(cert_url, headers=headers)).json()["fingerprint_sha256"]
    )
