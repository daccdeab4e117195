"""Access tokens: EdDSA-signed JWTs with the key id in the header, verified against the key ring."""

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

__all__ = ["Claims", "InvalidToken", "KeyRing", "new_private_pem"]


def new_private_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class KeyRing:
    """Signs with the newest key; verifies with any published key (rotation keeps old tokens)."""

    def __init__(
        self,
        keys: list[tuple[str, str]],
        *,
        issuer: str,
        leeway: float = DEFAULT_LEEWAY_SECONDS,
    ) -> None:
        self.issuer = issuer
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
                loaded = serialization.load_pem_private_key(pem.encode(), password=None)
                assert isinstance(loaded, Ed25519PrivateKey)
                key = loaded
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
