"""Access tokens: EdDSA-signed JWTs with the key id in the header, verified against the key ring."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

AUDIENCE = "lgsp"
ALGORITHM = "EdDSA"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Claims:
    client_id: str
    organ: str
    scopes: frozenset[str]
    expires_at: int
    raw: dict[str, Any]


def new_private_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class KeyRing:
    """Signs with the newest key; verifies with any published key (rotation keeps old tokens)."""

    def __init__(self, keys: list[tuple[str, str]], *, issuer: str) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self.issuer = issuer
        self._private: dict[str, Ed25519PrivateKey] = {}
        self._public: dict[str, Ed25519PublicKey] = {}
        for kid, pem in keys:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
            assert isinstance(key, Ed25519PrivateKey)
            self._private[kid] = key
            self._public[kid] = key.public_key()
        self.signing_kid = keys[-1][0]
        # Verified tokens by their text: a signature is checked once per token, not per call.
        self._verified: dict[str, Claims] = {}

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, pub in self._public.items():
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
        cached = self._verified.get(token)
        now = time.time()
        if cached is not None:
            if cached.expires_at > now:
                return cached
            del self._verified[token]
            raise InvalidToken("token expired")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("unsupported token algorithm")
        key = self._public.get(str(header.get("kid")))
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            raw = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from exc
        claims = Claims(
            client_id=str(raw["sub"]),
            organ=str(raw.get("organ", "")),
            scopes=frozenset(str(raw.get("scope", "")).split()),
            expires_at=int(raw["exp"]),
            raw=raw,
        )
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[token] = claims
        return claims
