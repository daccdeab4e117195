"""Access-token verification shared by the gateway and the services (defence in depth).

Tokens are EdDSA (Ed25519) JWTs with the key id in the header. Only `EdDSA` is accepted, the
key is chosen by `kid` among the published keys, and `iss`, `aud`, `exp` are required.

`exp`, `nbf` and `iat` are checked with a leeway (`token_leeway_seconds`, 30 s by default):
the gateway stamps `nbf = iat = now` on its clock, and a service whose clock runs a second
behind would otherwise refuse a token it has just been handed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

log = logging.getLogger("lgsp.tokens")
AUDIENCE = "lgsp"
ALGORITHM = "EdDSA"
DEFAULT_LEEWAY_SECONDS = 30


class InvalidToken(Exception):
    pass


class KeysUnavailable(Exception):
    """The published keys could not be fetched, so no token can be checked now."""


@dataclass(frozen=True)
class Claims:
    client_id: str
    organ: str
    scopes: frozenset[str]
    expires_at: int
    raw: dict[str, Any]


def public_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    key = OKPAlgorithm.from_jwk(json.dumps(jwk))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


class TokenVerifier:
    """Verifies tokens against a set of public keys; a verified token is remembered until it
    expires, so a signature is checked once per token rather than once per call."""

    def __init__(
        self,
        keys: dict[str, Ed25519PublicKey],
        *,
        issuer: str,
        leeway: float = DEFAULT_LEEWAY_SECONDS,
    ) -> None:
        self.keys = dict(keys)
        self.issuer = issuer
        self.leeway = leeway
        # token -> (its key id, its claims)
        self._verified: dict[str, tuple[str, Claims]] = {}

    def forget(self) -> None:
        self._verified.clear()

    def verify(self, token: str) -> Claims:
        now = time.time() - self.leeway
        cached = self._verified.get(token)
        if cached is not None:
            kid, claims = cached
            # A key taken out of the set (retired) takes its remembered tokens with it.
            if claims.expires_at > now and kid in self.keys:
                return claims
            del self._verified[token]
            if claims.expires_at <= now:
                raise InvalidToken("token expired")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("unsupported token algorithm")
        kid = str(header.get("kid"))
        key = self.keys.get(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            raw = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                leeway=self.leeway,
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
        self._verified[token] = (kid, claims)
        return claims


class JwksVerifier:
    """A verifier whose keys come from the gateway's JWKS (`http(s)://` or `file://`), fetched
    again when a token names a key it does not know (key rotation), at most every 10 s, and in
    the background once the keys are `max_age` seconds old (a key the gateway no longer
    publishes stops verifying, remembered tokens included)."""

    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        max_age: float = 300.0,
        leeway: float = DEFAULT_LEEWAY_SECONDS,
    ) -> None:
        self.jwks_url = jwks_url
        self.verifier = TokenVerifier({}, issuer=issuer, leeway=leeway)
        self.max_age = max_age
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    def _fetch(self) -> dict[str, Ed25519PublicKey]:
        with urllib.request.urlopen(self.jwks_url, timeout=5) as resp:
            doc = json.load(resp)
        return {
            str(k["kid"]): public_key_from_jwk(k)
            for k in doc.get("keys", [])
            if k.get("kty") == "OKP" and k.get("crv") == "Ed25519" and "kid" in k
        }

    async def refresh(self, *, at_most_every: float = 10.0) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < at_most_every and self.verifier.keys:
                return
            keys = await asyncio.to_thread(self._fetch)
            self._fetched_at = time.monotonic()
            self.verifier.keys = keys

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh(at_most_every=min(10.0, self.max_age))
        except (OSError, ValueError) as exc:
            # Keep the keys we have; try again in 30 s.
            log.warning("cannot refresh the token keys from %s: %s", self.jwks_url, exc)
            self._fetched_at = time.monotonic() - self.max_age + 30.0
        finally:
            self._background = None

    async def verify(self, token: str) -> Claims:
        if (
            self._background is None
            and self.verifier.keys
            and time.monotonic() - self._fetched_at > self.max_age
        ):
            self._background = asyncio.create_task(self._refresh_quietly())
        try:
            return self.verifier.verify(token)
        except InvalidToken as exc:
            if str(exc) != "unknown signing key":
                raise
        try:
            await self.refresh()
        except (OSError, ValueError) as exc:
            raise KeysUnavailable(f"cannot fetch {self.jwks_url}: {exc}") from exc
        return self.verifier.verify(token)
