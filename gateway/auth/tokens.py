"""Access tokens: JWTs signed with the newest key of the ring (EdDSA by default, RS256 or ES256
by `GATEWAY_TOKEN_ALGORITHM`), the key id in the header, verified against the key ring.

The private keys are stored PKCS#8-encrypted with `GATEWAY_KEY_PASSPHRASE` (best available
encryption, as the documents service keeps the organs' keys); keys stored before in plain text
are encrypted at the gateway's start (`gateway.consumers.service.encrypt_plain_keys`)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lgsp_kit.tokens import (
    ALGORITHM,
    AUDIENCE,
    DEFAULT_LEEWAY_SECONDS,
    Claims,
    InvalidToken,
    TokenVerifier,
    algorithm_of,
    jwk_of,
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
PrivateKey = Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class ConsumerDisabled(InvalidToken):
    """A token that verifies, of a consumer since disabled or removed."""

    code = "consumer_disabled"

    def __init__(self) -> None:
        super().__init__("the consumer of this token is disabled or unknown")


class KeyPassphraseError(ValueError):
    """A stored signing key that the passphrase given does not decrypt."""


def _pem(key: PrivateKey, passphrase: bytes | None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase is not None
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def new_private_key(algorithm: str = ALGORITHM) -> PrivateKey:
    """A new key for `algorithm`: Ed25519 (EdDSA), RSA-2048 (RS256) or P-256 (ES256)."""
    if algorithm == "EdDSA":
        return Ed25519PrivateKey.generate()
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unsupported token algorithm {algorithm!r}")


def new_private_pem(passphrase: bytes | None = None, algorithm: str = ALGORITHM) -> str:
    """A new key for `algorithm` as PKCS#8 PEM, encrypted with `passphrase` when one is given."""
    return _pem(new_private_key(algorithm), passphrase)


def is_encrypted(pem: str) -> bool:
    return pem.lstrip().startswith(ENCRYPTED_PEM_HEADER)


def load_private_pem(pem: str, passphrase: bytes | None, kid: str = "") -> PrivateKey:
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
    if not isinstance(loaded, Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyPassphraseError(f"the signing key {kid!r} is not an Ed25519, RSA or EC key")
    algorithm_of(loaded.public_key())  # an EC key on another curve than P-256 signs nothing here
    return loaded


def algorithm_of_pem(pem: str, passphrase: bytes | None, kid: str = "") -> str:
    return algorithm_of(load_private_pem(pem, passphrase, kid).public_key())


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
        new_key_algorithm: str = ALGORITHM,
    ) -> None:
        self.issuer = issuer
        # The algorithm of the keys a rotation makes (GATEWAY_TOKEN_ALGORITHM).
        self.new_key_algorithm = new_key_algorithm
        # Decrypts the stored keys; `gateway.consumers.service` encrypts new ones with it.
        self.passphrase = passphrase
        self.verifier = TokenVerifier({}, issuer=issuer, leeway=leeway)
        self._private: dict[str, PrivateKey] = {}
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
        private: dict[str, PrivateKey] = {}
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

    @property
    def algorithm(self) -> str:
        """The algorithm of the key that signs now."""
        return algorithm_of(self.verifier.keys[self.signing_kid])

    @property
    def algorithms(self) -> list[str]:
        """The algorithms of every published key (a rotation to another algorithm keeps the
        old key's tokens valid until it is retired)."""
        return list(dict.fromkeys(algorithm_of(k) for k in self.verifier.keys.values()))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [jwk_of(kid, pub) for kid, pub in self.verifier.keys.items()]}

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
            algorithm=self.algorithm,
            headers={"kid": self.signing_kid},
        )

    def verify(self, token: str) -> Claims:
        return self.verifier.verify(token)
