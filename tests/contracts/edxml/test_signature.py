"""Signatures: checked only against certificates the caller trusts; RSA-SHA1 only if allowed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from signxml import DigestAlgorithm, SignatureMethod, XMLSigner
from signxml import methods as signxml_methods

from contracts.edxml import (
    INVALID_CERTIFICATE,
    DocumentPackage,
    EdxmlError,
    check_signature,
    read,
    sign,
    write,
)
from tests.contracts.edxml.conftest import sample

DOCUMENT = "xml_dc0bdef0-c7a3-4aaf-b717-777303442973.edxml"


def _key_and_certificate(organ: str) -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, organ)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def signer() -> tuple[rsa.RSAPrivateKey, str]:
    return _key_and_certificate("000.00.00.G22")


def _unsigned() -> bytes:
    package = read(sample(DOCUMENT))
    assert isinstance(package, DocumentPackage)
    return write(replace(package, signature=None))


def test_a_package_we_sign_verifies_with_the_senders_certificate(
    signer: tuple[rsa.RSAPrivateKey, str],
) -> None:
    key, pem = signer
    signed = sign(_unsigned(), key, pem)
    check = check_signature(signed, [pem])
    assert (check.present, check.algorithm, check.valid) == (True, "rsa-sha256", True)


def test_a_signed_package_survives_a_read_and_a_rewrite(
    signer: tuple[rsa.RSAPrivateKey, str],
) -> None:
    key, pem = signer
    signed = sign(_unsigned(), key, pem)
    assert check_signature(write(read(signed)), [pem]).valid is True


def test_an_altered_package_does_not_verify(signer: tuple[rsa.RSAPrivateKey, str]) -> None:
    key, pem = signer
    signed = sign(_unsigned(), key, pem)
    altered = signed.replace("UBND Tỉnh Nghệ An".encode(), "UBND Tỉnh Nghe An".encode(), 1)
    assert altered != signed
    check = check_signature(altered, [pem])
    assert check.valid is False
    assert check.reason == "the package was altered after it was signed"


def test_another_organs_certificate_does_not_verify(
    signer: tuple[rsa.RSAPrivateKey, str],
) -> None:
    key, _ = signer
    _, other = _key_and_certificate("000.00.00.H41")
    signed = sign(_unsigned(), key, signer[1])
    assert check_signature(signed, [other]).valid is False


def test_without_a_trusted_certificate_a_signature_is_unverifiable(
    signer: tuple[rsa.RSAPrivateKey, str],
) -> None:
    key, pem = signer
    check = check_signature(sign(_unsigned(), key, pem))
    assert (check.present, check.valid) == (True, None)


def _signed_with_sha1(raw: bytes, key: rsa.RSAPrivateKey, pem: str) -> bytes:
    """What a legacy SDK sends (signxml signs SHA-1 only when told its deprecation is known)."""

    class LegacySigner(XMLSigner):
        def check_deprecated_methods(self) -> None:
            pass

    from lxml import etree

    root = etree.fromstring(raw)
    header = root[0][0]
    placeholder = etree.SubElement(
        header,
        "{http://www.w3.org/2000/09/xmldsig#}Signature",
        nsmap={None: "http://www.w3.org/2000/09/xmldsig#"},
    )
    placeholder.set("Id", "placeholder")
    signed = LegacySigner(
        method=signxml_methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA1,
        digest_algorithm=DigestAlgorithm.SHA1,
    ).sign(root, key=key, cert=[pem])
    result: bytes = etree.tostring(signed)
    return result


def test_rsa_sha1_is_valid_only_when_legacy_senders_are_allowed(
    signer: tuple[rsa.RSAPrivateKey, str],
) -> None:
    key, pem = signer
    legacy = _signed_with_sha1(_unsigned(), key, pem)
    refused = check_signature(legacy, [pem])
    assert (refused.algorithm, refused.valid) == ("rsa-sha1", False)
    allowed = check_signature(legacy, [pem], allow_sha1=True)
    assert (allowed.algorithm, allowed.valid) == ("rsa-sha1", True)


def test_the_samples_placeholder_signatures_are_unverifiable(
    signer: tuple[rsa.RSAPrivateKey, str],
) -> None:
    # Present and RSA-SHA1, but in the package's namespace with a truncated certificate.
    check = check_signature(sample(DOCUMENT), [signer[1]], allow_sha1=True)
    assert (check.present, check.algorithm, check.valid) == (True, "rsa-sha1", None)
    status = check_signature(sample("resources_status_inbox_01.edxml"), [signer[1]])
    assert (status.present, status.algorithm, status.valid) == (False, None, None)


def test_a_trusted_certificate_that_is_not_one_is_an_error(
    signer: tuple[rsa.RSAPrivateKey, str],
) -> None:
    key, pem = signer
    with pytest.raises(EdxmlError) as caught:
        check_signature(sign(_unsigned(), key, pem), ["not a certificate"])
    assert caught.value.code == INVALID_CERTIFICATE
