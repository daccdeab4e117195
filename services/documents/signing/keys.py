"""Signing keys of the organs (chứng thư số): created lazily, kept here, never served.

Each organ that sends an electronic document gets an RSA-3072 key and a self-signed X.509
certificate naming it (UID = its mã định danh). The private key is stored PKCS#8-encrypted
with the service's passphrase; only the certificate leaves the service. An organ whose
documents are signed by another system can have its certificate registered here, so that
packages it sends can be verified on receipt.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from lgsp_kit.db import Database
from services.documents.models import Organ, OrganKey
from services.documents.signing import threads

KEY_BITS = 3072
CERTIFICATE_YEARS = 5

_cache: dict[str, rsa.RSAPrivateKey] = {}
_cache_lock = threading.Lock()
_NEW_KEYS = "documents.new_keys"
_HELD = "documents.organ_keys"
log = logging.getLogger("lgsp.documents.keys")


class CertificateError(ValueError):
    """A certificate that cannot be used to verify an organ's documents."""


@dataclass(frozen=True)
class SigningKey:
    organ_code: str
    private_key: rsa.RSAPrivateKey
    certificate_pem: str
    fingerprint: str


def new_private_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-3072 key (the slow part: about a third of a second)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def make_keys(session: Session, organs: Iterable[Organ]) -> None:
    """Make, side by side, the keys of those `organs` that have none yet, for `signing_key`
    to take in this session: a batch whose senders sign for the first time waits for its
    slowest key rather than for the sum of them (~0.15 s of CPU each)."""
    made: dict[str, rsa.RSAPrivateKey] = session.info.setdefault(_NEW_KEYS, {})
    wanted = {o.code for o in organs}
    held = load_keys(session, wanted)
    missing = sorted(wanted - held.keys() - made.keys())
    if len(missing) < 2:
        return
    # `cryptography` lets go of the GIL while it searches for primes.
    made.update(zip(missing, threads.each(missing, lambda _: new_private_key()), strict=True))


def make_key_apart(db: Database, organ_code: str, passphrase: bytes) -> None:
    """Make the organ's key with no transaction open and no lock held (the slow part), then
    store it in a short transaction of its own, unless a first signature stored one meanwhile:
    run once the organ is connected to document exchange (`after_commit`), so that its first
    send finds a key instead of making one under the write lock. A failure leaves the organ
    as it was; its first signature makes the key."""
    key = new_private_key()
    try:
        with db.session() as session:
            organ = session.get(Organ, organ_code)
            if organ is None:
                return
            session.info[_NEW_KEYS] = {organ_code: key}
            signing_key(session, organ, passphrase)
    except (SQLAlchemyError, CertificateError) as exc:
        log.warning(
            "no key made for %s on its connection (its first send makes it): %s", organ_code, exc
        )


def load_keys(session: Session, codes: Iterable[str]) -> dict[str, OrganKey]:
    """The key rows of these organs that have one, in one query, held for the session's life
    (`certificate_of` then finds them without a query each)."""
    held: dict[str, OrganKey] = session.info.setdefault(_HELD, {})
    wanted = sorted(set(codes) - held.keys())
    if wanted:
        held.update(
            (row.organ_code, row)
            for row in session.exec(select(OrganKey).where(col(OrganKey.organ_code).in_(wanted)))
        )
    return {c: held[c] for c in codes if c in held}


def fingerprint_of(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def self_signed_certificate(
    organ: Organ, key: rsa.RSAPrivateKey, now: datetime
) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organ.name),
            x509.NameAttribute(NameOID.USER_ID, organ.code),
            x509.NameAttribute(NameOID.COMMON_NAME, organ.name),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def signing_key(session: Session, organ: Organ, passphrase: bytes) -> SigningKey:
    """The organ's key, created on its first signature (two concurrent first signatures are
    serialised by the organ row's lock on PostgreSQL, the database write lock on SQLite; the
    lock is taken only when the organ has no key yet, so a signature with a key reads one row).
    The decrypted key is cached by certificate fingerprint."""
    # FOR NO KEY UPDATE: it serialises first signatures without conflicting with the KEY SHARE
    # locks that concurrent sends take on the same organ row through their foreign keys (a plain
    # FOR UPDATE deadlocks two organs sending to each other at once).
    row = certificate_of(session, organ.code)
    if row is None:
        session.execute(
            select(Organ.code).where(col(Organ.code) == organ.code).with_for_update(key_share=True)
        )
        # Another first signature may have made it while this one waited for the lock.
        row = session.get(OrganKey, organ.code, populate_existing=True)
    if row is not None and row.private_key_pem is None:
        raise CertificateError(
            f"{organ.code} signs in another system (only its certificate is registered here)"
        )
    if row is None:
        key = session.info.get(_NEW_KEYS, {}).pop(organ.code, None) or new_private_key()
        now = datetime.now(UTC)
        certificate = self_signed_certificate(organ, key, now)
        row = OrganKey(
            organ_code=organ.code,
            private_key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(passphrase),
            ),
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            fingerprint=fingerprint_of(certificate),
            created_at=now,
        )
        session.add(row)
        session.flush()
        with _cache_lock:
            _cache[row.fingerprint] = key
    assert row.private_key_pem is not None
    return SigningKey(
        organ_code=organ.code,
        private_key=_load_private(row.fingerprint, row.private_key_pem, passphrase),
        certificate_pem=row.certificate_pem,
        fingerprint=row.fingerprint,
    )


def _load_private(fingerprint: str, pem: bytes, passphrase: bytes) -> rsa.RSAPrivateKey:
    with _cache_lock:
        cached = _cache.get(fingerprint)
    if cached is not None:
        return cached
    # The key is this service's own, made by `new_private_key` and stored encrypted: the RSA
    # consistency check on load (~0.14 s for 3,072 bits, most of a "decryption") proves nothing
    # more.
    key = serialization.load_pem_private_key(pem, passphrase, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError("stored key is not an RSA key")
    with _cache_lock:
        _cache[fingerprint] = key
    return key


@dataclass(frozen=True)
class Certificate:
    """An organ's registered certificate, apart from its row: for work done off the session's
    thread (a batch's signatures checked side by side)."""

    fingerprint: str
    pem: str


def certificate(session: Session, organ_code: str) -> Certificate | None:
    row = certificate_of(session, organ_code)
    return None if row is None else Certificate(row.fingerprint, row.certificate_pem)


def certificate_of(session: Session, organ_code: str) -> OrganKey | None:
    """The organ's key row, held for the session's life: the identity map holds rows weakly,
    and a batch signs and verifies for the same organs many times."""
    row = session.get(OrganKey, organ_code)
    if row is not None:
        session.info.setdefault(_HELD, {})[organ_code] = row
    return row


def parse_certificate(pem: str, organ_code: str) -> x509.Certificate:
    """A certificate fit to verify `organ_code`'s documents: RSA ≥ 3072 bits, naming it."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise CertificateError("not a PEM X.509 certificate") from exc
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or public.key_size < KEY_BITS:
        raise CertificateError(f"the certificate must carry an RSA key of {KEY_BITS} bits or more")
    uids = [a.value for a in certificate.subject.get_attributes_for_oid(NameOID.USER_ID)]
    if organ_code not in uids:
        raise CertificateError(f"the certificate's subject UID does not name {organ_code}")
    return certificate


def register_certificate(session: Session, organ: Organ, pem: str) -> OrganKey:
    """Register (or replace) the certificate of an organ that signs in another system."""
    certificate = parse_certificate(pem, organ.code)
    row = session.get(OrganKey, organ.code, with_for_update=True)
    if row is not None and row.private_key_pem is not None:
        raise CertificateError(f"{organ.code}'s key is managed by this service")
    now = datetime.now(UTC)
    normalised = certificate.public_bytes(serialization.Encoding.PEM).decode()
    if row is None:
        row = OrganKey(
            organ_code=organ.code,
            private_key_pem=None,
            certificate_pem=normalised,
            fingerprint=fingerprint_of(certificate),
            created_at=now,
        )
        session.add(row)
    else:
        row.certificate_pem = normalised
        row.fingerprint = fingerprint_of(certificate)
        row.created_at = now
    session.flush()
    return row
