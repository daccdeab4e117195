"""Access tokens: EdDSA-signed JWTs with the key id in the header, verified against the key ring.

The private keys are stored PKCS#8-encrypted with `GATEWAY_KEY_PASSPHRASE` (best available
encryption, as the documents service keeps the organs' keys); keys stored before in plain text
are encrypted at the gateway's start (`gateway.consumers.service.encrypt_plain_keys`)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from lgsp_kit.tokens import (
    ALGORITHM,
    AUDIENCE,
    DEFAULT_LEEWAY_SECONDS,
    Claims,
    InvalidToken,
    TokenVerifier,
)

__all__ = [
    "Claims",
    "ConsumerDisabled",
    "InvalidToken",
    "KeyPassphraseError",
    "KeyRing",
    "encrypt_pem",
    "is_encrypted",
    "new_private_pem",
]

ENCRYPTED_PEM_HEADER = "-----BEGIN ENCRYPTED PRIVATE KEY-----"


class ConsumerDisabled(InvalidToken):
    """A token that verifies, of a consumer since disabled or removed."""

    code = "consumer_disabled"

    def __init__(self) -> None:
        super().__init__("the consumer of this token is disabled or unknown")


class KeyPassphraseError(ValueError):
    """A stored signing key that the passphrase given does not decrypt."""


def _pem(key: Ed25519PrivateKey, passphrase: bytes | None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase is not None
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def new_private_pem(passphrase: bytes | None = None) -> str:
    """A new Ed25519 key as PKCS#8 PEM, encrypted with `passphrase` when one is given."""
    return _pem(Ed25519PrivateKey.generate(), passphrase)


def is_encrypted(pem: str) -> bool:
    return pem.lstrip().startswith(ENCRYPTED_PEM_HEADER)


def load_private_pem(pem: str, passphrase: bytes | None, kid: str = "") -> Ed25519PrivateKey:
    """The key of a stored PEM, encrypted or (written before encryption at rest) plain."""
    try:
        loaded = serialization.load_pem_private_key(
            pem.encode(), password=passphrase if is_encrypted(pem) else None
        )
    except (ValueError, TypeError) as exc:
        raise KeyPassphraseError(
            f"the signing key {kid!r} cannot be read: is GATEWAY_KEY_PASSPHRASE the one it "
            f"was encrypted with? ({exc})"
        ) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyPassphraseError(f"the signing key {kid!r} is not an Ed25519 key")
    return loaded


def encrypt_pem(pem: str, passphrase: bytes) -> str:
    """A plain-text PKCS#8 PEM encrypted with `passphrase` (an encrypted one is returned as is)."""
    if is_encrypted(pem):
        return pem
    return _pem(load_private_pem(pem, None), passphrase)


class KeyRing:
    """Signs with the newest key; verifies with any published key (rotation keeps old tokens)."""

    def __init__(
        self,
        keys: list[tuple[str, str]],
        *,
        issuer: str,
        passphrase: bytes | None = None,
        leeway: float = DEFAULT_LEEWAY_SECONDS,
    ) -> None:
        self.issuer = issuer
        # Decrypts the stored keys; `gateway.consumers.service` encrypts new ones with it.
        self.passphrase = passphrase
        self.verifier = TokenVerifier({}, issuer=issuer, leeway=leeway)
        self._private: dict[str, Ed25519PrivateKey] = {}
        self.signing_kid = ""
        self.generation = 0
        self.load(keys)

    def load(self, keys: list[tuple[str, str]], *, read_at: int | None = None) -> bool:
        """Take the active keys (oldest first) in place: the newest signs, all verify.

        `read_at` is the `generation` seen before the keys were read: when the ring was loaded
        since (a rotation or retirement in this process), the keys read may predate it and
        are not taken (False); the next refresh reads again."""
        if read_at is not None and read_at != self.generation:
            return False
        if not keys:
            raise ValueError("a key ring needs at least one key")
        private: dict[str, Ed25519PrivateKey] = {}
        for kid, pem in keys:
            key = self._private.get(kid)
            if key is None:
                key = load_private_pem(pem, self.passphrase, kid)
            private[kid] = key
        self._private = private
        self.signing_kid = keys[-1][0]
        self.verifier.keys = {kid: k.public_key() for kid, k in private.items()}
        self.generation += 1
        return True

    @property
    def kids(self) -> list[str]:
        return list(self._private)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, pub in self.verifier.keys.items():
            jwk = json.loads(OKPAlgorithm.to_jwk(pub))
            jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
            keys.append(jwk)
        return {"keys": keys}

    def issue(self, *, client_id: str, organ: str, scopes: list[str], ttl: int) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": client_id,
            "organ": organ,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims,
            self._private[self.signing_kid],
            algorithm=ALGORITHM,
            headers={"kid": self.signing_kid},
        )

    def verify(self, token: str) -> Claims:
        return self.verifier.verify(token)
