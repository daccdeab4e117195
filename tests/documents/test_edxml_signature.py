"""edXML import binds what is stored to what was signed: one enveloped signature over the whole
package, in its header, or a 422 and nothing stored (signature wrapping and its relatives)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod, XMLSigner
from signxml import methods as signxml_methods

from services.documents.documents import edxml
from services.documents.models import Organ
from services.documents.signing import keys
from tests.documents.conftest import (
    COMMUNE,
    DISTRICT,
    DISTRICT_2,
    PDF,
    PROVINCE,
    attachment,
    connect,
    document,
    send,
)

pytestmark = pytest.mark.anyio

E = edxml.NS
DS = edxml.DS
XML = {"content-type": "application/xml"}
IMPORT = "/v1/documents:import"
EXCLUSIVE_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


def q(path: str) -> str:
    """`a/b` in the edXML namespace, for lxml's find."""
    return "/".join(f"{{{E}}}{step}" for step in path.split("/"))


async def exported(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> bytes:
    """A real package: province → district, sent here and exported."""
    await connect(client, headers, PROVINCE, DISTRICT, DISTRICT_2)
    doc = await send(client, headers, document(PROVINCE, [DISTRICT], **overrides))
    export = await client.get(f"/v1/documents/{doc['id']}/edxml", headers=headers)
    assert export.status_code == 200, export.text
    return export.content


async def foreign_signer(
    client: httpx.AsyncClient, headers: dict[str, str], key: rsa.RSAPrivateKey
) -> str:
    """COMMUNE signs in another system: its certificate is registered here, the key is ours."""
    organ = Organ(code=COMMUNE, name="UBND Phường Thọ Xương", level="commune")
    pem = (
        keys.self_signed_certificate(organ, key, datetime.now(UTC))
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    resp = await client.put(
        f"/v1/organs/{COMMUNE}/certificate", json={"certificate_pem": pem}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    return pem


def unsigned(package: bytes, *, from_organ: str, to_organs: list[str]) -> etree._Element:
    """The package's content under a new exchange id, From and To, without its signature."""
    root = etree.fromstring(package)
    for signature in root.iter(f"{{{DS}}}Signature"):
        parent = signature.getparent()
        assert parent is not None
        parent.remove(signature)
    message = root.find(q("edXMLEnvelope/edXMLHeader/MessageHeader"))
    assert message is not None
    from_id = message.find(q("From/OrganId"))
    assert from_id is not None
    from_id.text = from_organ
    old_to = message.findall(q("To"))
    at = message.index(old_to[0])
    for node in old_to:
        message.remove(node)
    for i, code in enumerate(to_organs):
        node = etree.Element(f"{{{E}}}To")
        etree.SubElement(node, f"{{{E}}}OrganId").text = code
        etree.SubElement(node, f"{{{E}}}OrganName").text = code
        message.insert(at + i, node)
    exchange = message.find(q("OtherInfo/ExchangeId"))
    assert exchange is not None
    exchange.text = str(uuid.uuid4())
    return root


def exchange_id(root: etree._Element) -> str:
    return root.findtext(q("edXMLEnvelope/edXMLHeader/MessageHeader/OtherInfo/ExchangeId")) or ""


def placeholder(parent: etree._Element) -> None:
    node = etree.SubElement(parent, f"{{{DS}}}Signature", nsmap={None: DS})
    node.set("Id", "placeholder")


def sign(
    root: etree._Element, key: rsa.RSAPrivateKey, pem: str, reference_uri: Any = None
) -> etree._Element:
    """Sign where the placeholder is (put one in the header first if there is none)."""
    if root.find(f".//{{{DS}}}Signature") is None:
        header = root.find(q("edXMLEnvelope/edXMLHeader"))
        assert header is not None
        placeholder(header)
    signer = XMLSigner(
        method=signxml_methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
    )
    signed: etree._Element = signer.sign(root, key=key, cert=[pem], reference_uri=reference_uri)
    return signed


def to_bytes(root: etree._Element) -> bytes:
    raw: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return raw


async def stored(client: httpx.AsyncClient, headers: dict[str, str], *roots: Any) -> list[int]:
    return [
        (await client.get(f"/v1/documents/{exchange_id(r)}", headers=headers)).status_code
        for r in roots
    ]


async def test_a_wrapped_package_naming_the_province_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, headers: dict[str, str], key_pool: list[rsa.RSAPrivateKey]
) -> None:
    package = await exported(client, headers)
    attacker = key_pool[-1]  # not a key this system signs with: the province's is another
    pem = await foreign_signer(client, headers, attacker)

    # The element the signature covers: the province's name as From, another organ as To.
    forged = unsigned(package, from_organ=PROVINCE, to_organs=[DISTRICT_2])
    forged.set("Id", "forged")
    detached = XMLSigner(
        method=signxml_methods.detached,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=EXCLUSIVE_C14N,  # the same bytes wherever the elements are moved to
    ).sign(forged, key=attacker, cert=[pem], reference_uri="#forged")
    # The package around it: the attacker's own organ as From, the signature in its header,
    # the forged element tucked into the body.
    outer = unsigned(package, from_organ=COMMUNE, to_organs=[DISTRICT])
    header = outer.find(q("edXMLEnvelope/edXMLHeader"))
    body = outer.find(q("edXMLEnvelope/edXMLBody"))
    assert header is not None and body is not None
    header.append(detached)
    body.append(forged)
    raw = to_bytes(outer)

    resp = await client.post(IMPORT, content=raw, headers={**headers, **XML})
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "signature_not_enveloped"
    assert "#forged" in problem["detail"]
    assert await stored(client, headers, forged, outer) == [404, 404]
    inbox = await client.get(f"/v1/organs/{DISTRICT_2}/inbox", headers=headers)
    assert inbox.json()["items"] == []

    # Signed as a whole by the attacker, the same content names the province as From: it is
    # checked with the province's certificate, so it is refused (02), never verified.
    whole = sign(unsigned(package, from_organ=PROVINCE, to_organs=[DISTRICT_2]), attacker, pem)
    refused = await client.post(IMPORT, content=to_bytes(whole), headers={**headers, **XML})
    assert refused.status_code == 201, refused.text
    assert refused.json()["verified"] is False
    assert refused.json()["recipients"][0]["status"] == "02"
    assert "does not verify" in refused.json()["recipients"][0]["reason"]

    # And the attacker's own package, signed as a whole, is received as the attacker's.
    own = sign(unsigned(package, from_organ=COMMUNE, to_organs=[DISTRICT_2]), attacker, pem)
    received = await client.post(IMPORT, content=to_bytes(own), headers={**headers, **XML})
    assert received.status_code == 201, received.text
    assert received.json()["verified"] is True
    assert received.json()["from_organ"] == COMMUNE


def two_references(root: etree._Element, key: rsa.RSAPrivateKey, pem: str) -> etree._Element:
    body = root.find(q("edXMLEnvelope/edXMLBody"))
    assert body is not None
    body.set("Id", "body")
    root.set("Id", "whole")
    return sign(root, key, pem, reference_uri=["#whole", "#body"])


def reference_by_id(root: etree._Element, key: rsa.RSAPrivateKey, pem: str) -> etree._Element:
    root.set("Id", "whole")  # the same element, but not by the one URI read
    return sign(root, key, pem, reference_uri="#whole")


def signature_in_body(root: etree._Element, key: rsa.RSAPrivateKey, pem: str) -> etree._Element:
    body = root.find(q("edXMLEnvelope/edXMLBody"))
    assert body is not None
    placeholder(body)
    return sign(root, key, pem)


def signature_twice(root: etree._Element, key: rsa.RSAPrivateKey, pem: str) -> etree._Element:
    signed = sign(root, key, pem)
    body = signed.find(q("edXMLEnvelope/edXMLBody"))
    signature = signed.find(f"{q('edXMLEnvelope/edXMLHeader')}/{{{DS}}}Signature")
    assert body is not None and signature is not None
    body.append(copy.deepcopy(signature))
    return signed


def signature_in_message(root: etree._Element, key: rsa.RSAPrivateKey, pem: str) -> etree._Element:
    message = root.find(q("edXMLEnvelope/edXMLHeader/MessageHeader"))
    assert message is not None
    placeholder(message)
    return sign(root, key, pem)


def signature_with_object(root: etree._Element, key: rsa.RSAPrivateKey, pem: str) -> etree._Element:
    signed = sign(root, key, pem)
    signature = signed.find(f"{q('edXMLEnvelope/edXMLHeader')}/{{{DS}}}Signature")
    assert signature is not None
    unsigned_object = etree.SubElement(signature, f"{{{DS}}}Object")
    unsigned_object.append(copy.deepcopy(signed.find(q("edXMLEnvelope/edXMLHeader/MessageHeader"))))
    return signed


@pytest.mark.parametrize(
    ("shape", "code"),
    [
        (two_references, "signature_not_enveloped"),
        (reference_by_id, "signature_not_enveloped"),
        (signature_in_body, "signature_misplaced"),
        (signature_in_message, "signature_misplaced"),
        (signature_twice, "signature_misplaced"),
        (signature_with_object, "signature_not_enveloped"),
    ],
)
async def test_a_signature_of_any_other_shape_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    key_pool: list[rsa.RSAPrivateKey],
    shape: Any,
    code: str,
) -> None:
    package = await exported(client, headers)
    pem = await foreign_signer(client, headers, key_pool[-1])
    root = shape(unsigned(package, from_organ=COMMUNE, to_organs=[DISTRICT_2]), key_pool[-1], pem)

    resp = await client.post(IMPORT, content=to_bytes(root), headers={**headers, **XML})
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == code
    assert await stored(client, headers, root) == [404]
    assert (await client.get(f"/v1/organs/{DISTRICT_2}/inbox", headers=headers)).json()[
        "items"
    ] == []


async def test_import_applies_the_attachment_limits_of_send(
    client: httpx.AsyncClient, headers: dict[str, str], key_pool: list[rsa.RSAPrivateKey]
) -> None:
    package = await exported(client, headers)
    pem = await foreign_signer(client, headers, key_pool[-1])

    def with_attachments(count: int, content_type: str = "application/pdf") -> etree._Element:
        root = unsigned(package, from_organ=COMMUNE, to_organs=[DISTRICT_2])
        encoded = root.find(q("AttachmentEncoded"))
        assert encoded is not None
        first = encoded[0]
        first.find(q("ContentType")).text = content_type
        for i in range(1, count):
            extra = copy.deepcopy(first)
            extra.find(q("ContentId")).text = f"att-{i}"
            encoded.append(extra)
        return sign(root, key_pool[-1], pem)

    too_many = with_attachments(21)  # POST /v1/documents allows 20
    resp = await client.post(IMPORT, content=to_bytes(too_many), headers={**headers, **XML})
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "too_many_attachments"
    assert await stored(client, headers, too_many) == [404]

    exe = with_attachments(1, "application/x-msdownload")
    resp = await client.post(IMPORT, content=to_bytes(exe), headers={**headers, **XML})
    assert resp.status_code == 415, resp.text
    assert resp.json()["code"] == "unsupported_content_type"

    twenty = with_attachments(20)
    resp = await client.post(IMPORT, content=to_bytes(twenty), headers={**headers, **XML})
    assert resp.status_code == 201, resp.text
    assert resp.json()["verified"] is True
    assert len(resp.json()["attachments"]) == 20


async def test_a_comment_inside_signed_text_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str], key_pool: list[rsa.RSAPrivateKey]
) -> None:
    """The digest leaves comments out, so one can be slipped into a signed package; the raw
    package (kept, exported) would then read differently from what was signed."""
    package = await exported(client, headers, attachments=[attachment(PDF)])
    pem = await foreign_signer(client, headers, key_pool[-1])
    signed = to_bytes(
        sign(unsigned(package, from_organ=COMMUNE, to_organs=[DISTRICT_2]), key_pool[-1], pem)
    )
    subject = "Về việc triển khai".encode()
    assert subject in signed
    slipped = signed.replace(subject, "Về việc <!-- -->triển khai".encode(), 1)

    resp = await client.post(IMPORT, content=slipped, headers={**headers, **XML})
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "signed_content_mismatch"
    resp = await client.post(IMPORT, content=signed, headers={**headers, **XML})
    assert resp.status_code == 201, resp.text
    assert resp.json()["verified"] is True


async def test_a_package_with_a_doctype_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str], key_pool: list[rsa.RSAPrivateKey]
) -> None:
    package = await exported(client, headers)
    pem = await foreign_signer(client, headers, key_pool[-1])
    root = unsigned(package, from_organ=COMMUNE, to_organs=[DISTRICT_2])
    raw = to_bytes(sign(root, key_pool[-1], pem))
    with_dtd = raw.replace(
        b"?>", b'?>\n<!DOCTYPE edXMLEnvelope [<!ENTITY organ "000.00.00.H03">]>', 1
    )
    resp = await client.post(IMPORT, content=with_dtd, headers={**headers, **XML})
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "invalid_package"
    assert "DTD" in resp.json()["detail"]
    assert resp.json()["reason"] == "not_edxml"
    assert await stored(client, headers, root) == [404]
