"""The package's XML-DSig signature: its algorithm, checking it, signing a package.

Policy (see docs/edxml.md): a signature is valid only when it verifies with a certificate
the caller trusts; RSA-SHA256 is accepted, RSA-SHA1 (legacy SDKs) only when the caller
allows it. Without a trusted certificate, or when the signature is not in the XML-DSig
namespace (some SDKs put it in the package's namespace), the result is None: unverifiable,
which is not the same as invalid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLSigner, XMLVerifier
from signxml import methods as signxml_methods
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature

from contracts.edxml._errors import INVALID_CERTIFICATE, MISSING_ELEMENT, EdxmlError
from contracts.edxml._names import DS, q
from contracts.edxml._reader import parse_root, parser
from contracts.edxml._writer import place_at_header_end

_SIGNATURE_TAGS = (f"{{{DS}}}Signature", q("Signature"), "Signature")
_METHODS = {
    "rsa-sha256": (SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256),
    "rsa-sha1": (SignatureMethod.RSA_SHA1, DigestAlgorithm.SHA1),
}


@dataclass(frozen=True)
class SignatureCheck:
    """`valid` is True or False when checked, None when it cannot be (`reason` says why)."""

    present: bool
    algorithm: str | None
    valid: bool | None
    reason: str | None = None


def algorithm_of(signature_xml: bytes) -> str | None:
    """The short name of `SignatureMethod/@Algorithm` (`rsa-sha1`, `rsa-sha256`, …)."""
    node = etree.fromstring(signature_xml, parser=parser())
    for element in node.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname == "SignatureMethod":
            uri = (element.get("Algorithm") or "").strip()
            return uri.rsplit("#", 1)[-1] if uri else None
    return None


def _signature_node(root: etree._Element) -> etree._Element | None:
    header = root.find(f"{q('edXMLEnvelope')}/{q('edXMLHeader')}")
    if header is None:
        return None
    for child in header:
        if isinstance(child.tag, str) and child.tag in _SIGNATURE_TAGS:
            return child
    return None


def check_signature(
    raw: bytes, trusted_certificates: Sequence[str] = (), *, allow_sha1: bool = False
) -> SignatureCheck:
    """Check the package's signature against PEM certificates the caller trusts."""
    root = parse_root(raw)
    node = _signature_node(root)
    if node is None:
        return SignatureCheck(present=False, algorithm=None, valid=None, reason="not signed")
    algorithm = algorithm_of(etree.tostring(node))
    if node.tag != f"{{{DS}}}Signature":
        return SignatureCheck(
            True, algorithm, None, "the Signature is not in the XML-DSig namespace"
        )
    if not trusted_certificates:
        return SignatureCheck(True, algorithm, None, "no trusted certificate for the sender")
    accepted = {SignatureMethod.RSA_SHA256}
    digests = {DigestAlgorithm.SHA256}
    if allow_sha1:
        accepted.add(SignatureMethod.RSA_SHA1)
        digests.add(DigestAlgorithm.SHA1)
    config = SignatureConfiguration(
        signature_methods=frozenset(accepted),
        digest_algorithms=frozenset(digests),
        expect_references=1,
    )
    reason = "no trusted certificate verifies the signature"
    for pem in trusted_certificates:
        try:
            XMLVerifier().verify(raw, x509_cert=pem, expect_config=config, parser=parser())
        except InvalidDigest:
            reason = "the package was altered after it was signed"
        except (InvalidSignature, InvalidCertificate):
            reason = "the signature does not verify with the trusted certificate"
        except InvalidInput as exc:
            reason = f"the signature cannot be accepted: {exc}"
        except ValueError as exc:  # a trusted "certificate" that is not one (cryptography)
            raise EdxmlError(
                INVALID_CERTIFICATE, f"a trusted certificate is unusable: {exc}"
            ) from exc
        else:
            return SignatureCheck(True, algorithm, True)
    return SignatureCheck(True, algorithm, False, reason)


def sign(
    raw: bytes, key: rsa.RSAPrivateKey, certificate_pem: str, *, algorithm: str = "rsa-sha256"
) -> bytes:
    """The package signed (enveloped, `Reference URI=""`), the Signature at the end of
    `edXMLHeader` where the standard puts it, replacing any signature it had."""
    method, digest = _METHODS[algorithm]
    root = parse_root(raw)
    header = root.find(f"{q('edXMLEnvelope')}/{q('edXMLHeader')}")
    if header is None:
        raise EdxmlError(MISSING_ELEMENT, "<edXMLEnvelope/edXMLHeader> is missing", root.sourceline)
    old = _signature_node(root)
    if old is not None:
        previous = old.getprevious()
        if previous is not None:
            previous.tail = old.tail
        header.remove(old)
    placeholder = etree.Element(f"{{{DS}}}Signature", nsmap={None: DS})
    placeholder.set("Id", "placeholder")
    place_at_header_end(header, placeholder)
    signer = XMLSigner(
        method=signxml_methods.enveloped, signature_algorithm=method, digest_algorithm=digest
    )
    signed = signer.sign(root, key=key, cert=[certificate_pem])
    result: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return result
