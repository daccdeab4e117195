"""Token attacks, through the gateway and against a service directly.

Every forged, misused or revoked token gets 401 problem+json; the backend is never called
(nor any URL a token names), and the gateway writes an audit record of the refusal.
`test_proxy.py` covers no token, a malformed one, a wrong key under the right key id, `alg:
none` as PyJWT writes it, and an expired token; this file covers the rest.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import update
from sqlmodel import col, select

from gateway.models import SigningKey
from lgsp_kit.app import create_service_app
from lgsp_kit.auth import Caller
from lgsp_kit.settings import AppSettings
from lgsp_kit.tokens import DEFAULT_LEEWAY_SECONDS as LEEWAY
from tests.conftest import TokenMint, serve
from tests.gateway.conftest import Backend, Gateway, gateway_settings, open_gateway

pytestmark = pytest.mark.anyio


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token whose HMAC key is `secret`, written by hand (PyJWT refuses to use a
    public key as an HMAC secret, an attacker does not)."""
    signing_input = f"{segment({'typ': 'JWT', **header, 'alg': 'HS256'})}.{segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def eddsa(header: dict[str, Any], claims: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """An EdDSA token written by hand, for headers PyJWT will not write."""
    signing_input = f"{segment({'typ': 'JWT', **header, 'alg': 'EdDSA'})}.{segment(claims)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    return f"{segment(header)}.{segment(claims)}.{signature}"


def good_claims(subject: str, **change: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "lgsp",
        "aud": "lgsp",
        "sub": subject,
        "organ": "000.00.00.H03",
        "scope": "echo:read echo:write",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(change)
    return {k: v for k, v in claims.items() if v is not None}


@dataclass
class Keys:
    """What an attacker can see (the published key) and have (a key of its own), and, to make
    tokens with bad claims but a good signature, the real signing key."""

    kid: str
    signing: Ed25519PrivateKey
    attacker: Ed25519PrivateKey
    jwks: dict[str, Any]
    elsewhere: str  # a URL an attacker controls (here: the echo backend, which counts calls)

    @property
    def public_raw(self) -> bytes:
        return self.signing.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def public_pem(self) -> bytes:
        return self.signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def attacker_jwk(self, kid: str) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(self.attacker.public_key()))
        return {**jwk, "kid": kid, "alg": "EdDSA", "use": "sig"}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.signing, algorithm="EdDSA", headers={"kid": self.kid, **header}
        )

    def forge(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(claims, self.attacker, algorithm="EdDSA", headers=header)


Attack = tuple[str, Callable[[Keys, str], str], str]
# (name, token for a subject, what the 401's detail says)
ATTACKS: list[Attack] = [
    # alg confusion: HS256 keyed with the published public key in each of its forms.
    (
        "hs256-public-raw",
        lambda k, s: hs256({"kid": k.kid}, good_claims(s), k.public_raw),
        "algorithm",
    ),
    (
        "hs256-public-pem",
        lambda k, s: hs256({"kid": k.kid}, good_claims(s), k.public_pem),
        "algorithm",
    ),
    (
        "hs256-jwk-x",
        lambda k, s: hs256({"kid": k.kid}, good_claims(s), k.jwks["keys"][0]["x"].encode()),
        "algorithm",
    ),
    (
        "hs256-jwks-document",
        lambda k, s: hs256({"kid": k.kid}, good_claims(s), json.dumps(k.jwks).encode()),
        "algorithm",
    ),
    ("hs256-no-kid", lambda k, s: hs256({}, good_claims(s), k.public_pem), "algorithm"),
    # alg none, as hand-written tokens spell it.
    (
        "none-capitalised",
        lambda k, s: unsigned({"alg": "None", "kid": k.kid}, good_claims(s)),
        "algorithm",
    ),
    (
        "none-upper",
        lambda k, s: unsigned({"alg": "NONE", "kid": k.kid}, good_claims(s)),
        "algorithm",
    ),
    (
        "none-with-signature",
        lambda k, s: unsigned({"alg": "none", "kid": k.kid}, good_claims(s), b64url(b"x" * 64)),
        "algorithm",
    ),
    (
        "no-alg",
        lambda k, s: unsigned({"kid": k.kid}, good_claims(s), b64url(b"x" * 64)),
        "algorithm",
    ),
    (
        "alg-lowercase-eddsa",
        lambda k, s: unsigned({"alg": "eddsa", "kid": k.kid}, good_claims(s)),
        "algorithm",
    ),
    # kid naming a key the gateway does not have.
    (
        "kid-unknown",
        lambda k, s: k.forge(good_claims(s), kid="attacker-key"),
        "unknown signing key",
    ),
    ("kid-missing", lambda k, s: k.forge(good_claims(s)), "unknown signing key"),
    (
        "kid-path",
        lambda k, s: k.forge(good_claims(s), kid="../../../../dev/null"),
        "unknown signing key",
    ),
    ("kid-sql", lambda k, s: k.forge(good_claims(s), kid="x' OR '1'='1"), "unknown signing key"),
    ("kid-url", lambda k, s: k.forge(good_claims(s), kid=k.elsewhere), "unknown signing key"),
    ("kid-number", lambda k, s: eddsa({"kid": 7}, good_claims(s), k.attacker), "malformed token"),
    # Headers that name other keys: never fetched, never trusted.
    (
        "jwk-embedded-known-kid",
        lambda k, s: k.forge(good_claims(s), kid=k.kid, jwk=k.attacker_jwk(k.kid)),
        "Signature verification failed",
    ),
    (
        "jwk-embedded-own-kid",
        lambda k, s: k.forge(good_claims(s), kid="mine", jwk=k.attacker_jwk("mine")),
        "unknown signing key",
    ),
    (
        "jku-elsewhere",
        lambda k, s: k.forge(good_claims(s), kid="mine", jku=k.elsewhere),
        "unknown signing key",
    ),
    (
        "jku-elsewhere-known-kid",
        lambda k, s: k.forge(good_claims(s), kid=k.kid, jku=k.elsewhere),
        "Signature verification failed",
    ),
    (
        "x5u-elsewhere",
        lambda k, s: k.forge(good_claims(s), kid=k.kid, x5u=k.elsewhere),
        "Signature verification failed",
    ),
    # Good signature, bad claims.
    # Just past the clock-skew leeway (a second late is still accepted: test_token_leeway.py).
    (
        "expired-just",
        lambda k, s: k.sign(good_claims(s, exp=int(time.time()) - LEEWAY - 1)),
        "expired",
    ),
    (
        "nbf-future",
        lambda k, s: k.sign(good_claims(s, nbf=int(time.time()) + 300)),
        "not yet valid",
    ),
    (
        "iat-future",
        lambda k, s: k.sign(good_claims(s, iat=int(time.time()) + 300)),
        "not yet valid",
    ),
    ("no-exp", lambda k, s: k.sign(good_claims(s, exp=None)), '"exp"'),
    ("no-iat", lambda k, s: k.sign(good_claims(s, iat=None)), '"iat"'),
    ("no-sub", lambda k, s: k.sign(good_claims(s, sub=None)), '"sub"'),
    ("wrong-aud", lambda k, s: k.sign(good_claims(s, aud="dossier")), "Audience"),
    ("aud-list-without-lgsp", lambda k, s: k.sign(good_claims(s, aud=["a", "b"])), "Audience"),
    ("no-aud", lambda k, s: k.sign(good_claims(s, aud=None)), '"aud"'),
    ("wrong-iss", lambda k, s: k.sign(good_claims(s, iss="https://idp.example")), "issuer"),
    ("no-iss", lambda k, s: k.sign(good_claims(s, iss=None)), '"iss"'),
    # The payload of a good token under another signature.
    (
        "payload-swapped",
        lambda k, s: swap_payload(k.sign(good_claims(s)), good_claims("admin")),
        "Signature",
    ),
]


def swap_payload(token: str, claims: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{segment(claims)}.{signature}"


async def signing_keys(gw: Gateway, backend_url: str) -> Keys:
    jwks = (await gw.client.get("/.well-known/jwks.json")).json()
    kid = gw.state.keyring.signing_kid

    def read() -> str:
        with gw.runtime.db.session() as session:
            return session.exec(select(SigningKey).where(SigningKey.kid == kid)).one().private_pem

    passphrase = gw.state.keyring.passphrase
    loaded = serialization.load_pem_private_key(
        (await asyncio.to_thread(read)).encode(), passphrase
    )
    assert isinstance(loaded, Ed25519PrivateKey)
    return Keys(kid, loaded, Ed25519PrivateKey.generate(), jwks, f"{backend_url}/v1/jwks.json")


async def refused(
    gw: Gateway,
    backend: Backend,
    token: str,
    *,
    code: str = "invalid_token",
    client_id: str | None = None,
) -> dict[str, Any]:
    """401 problem+json with the challenge, no call to the backend, one audit record."""
    calls = backend.calls
    request_id = f"attack-{uuid.uuid4().hex[:12]}"
    resp = await gw.client.get(
        "/echo/v1/things", headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id}
    )
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["www-authenticate"].startswith("Bearer")
    problem: dict[str, Any] = resp.json()
    assert (problem["status"], problem["code"]) == (401, code), problem
    assert backend.calls == calls
    records = await gw.audit(request_id=request_id)
    assert [(r["status"], r["client_id"]) for r in records] == [(401, client_id)]
    return problem


async def test_forged_and_misused_tokens_are_refused_at_the_gateway(
    gw: Gateway, backend: tuple[Backend, str]
) -> None:
    echo, url = backend
    created, auth = await gw.bearer(apis=["echo"], tier="Gold")
    keys = await signing_keys(gw, url)
    cid = created["client_id"]
    for name, make, detail in ATTACKS:
        problem = await refused(gw, echo, make(keys, cid))
        assert detail in problem["detail"], (name, problem["detail"])
    # The same real key with good claims passes: the refusals above are the attacks' doing.
    resp = await gw.client.get(
        "/echo/v1/things", headers={"Authorization": f"Bearer {keys.sign(good_claims(cid))}"}
    )
    assert resp.status_code == 200
    assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200
    assert echo.calls == 2


async def test_a_token_stops_at_its_expiry_even_when_remembered(
    gw: Gateway, backend: tuple[Backend, str]
) -> None:
    echo, _ = backend
    created = await gw.consumer(apis=["echo"], tier="Gold")
    keyring = gw.state.keyring
    # At its expiry exactly: without the clock-skew leeway (test_token_leeway.py has that).
    keyring.verifier.leeway = 0
    token = keyring.issue(
        client_id=created["client_id"], organ="000.00.00.H03", scopes=["echo:read"], ttl=1
    )
    ok = await gw.client.get("/echo/v1/things", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    await asyncio.sleep(1.1)
    problem = await refused(gw, echo, token)
    assert problem["detail"] == "token expired"


async def test_a_disabled_consumers_token_replayed_is_refused_here_and_after_a_restart(
    tmp_path: Path, database_url: str, upstreams: dict[str, str], backend: tuple[Backend, str]
) -> None:
    echo, _ = backend
    settings = gateway_settings(tmp_path, database_url, upstreams)
    async with open_gateway(settings) as gw:
        created, auth = await gw.bearer(apis=["echo"], tier="Gold")
        cid = created["client_id"]
        token = auth["Authorization"].removeprefix("Bearer ")
        assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200
        resp = await gw.client.post(f"/admin/consumers/{cid}/disable", headers=gw.admin())
        assert resp.status_code == 200
        for _ in range(3):  # replayed: still refused, and each refusal audited
            await refused(gw, echo, token, code="consumer_disabled", client_id=cid)
        basic = base64.b64encode(f"{cid}:{created['client_secret']}".encode()).decode()
        resp = await gw.client.post(
            "/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert resp.status_code == 401
        assert resp.headers["content-type"] == "application/problem+json"
    # A new gateway process: nothing remembered, the database decides.
    async with open_gateway(settings) as gw:
        await refused(gw, echo, token, code="consumer_disabled", client_id=cid)
    assert echo.calls == 1


async def test_a_rotated_secret_leaves_issued_tokens_valid(
    gw: Gateway, backend: tuple[Backend, str]
) -> None:
    """docs/gateway.md: rotate-secret stops the old secret; tokens already issued stay valid
    until they expire (disable the consumer to stop them at once)."""
    echo, _ = backend
    created, auth = await gw.bearer(apis=["echo"], tier="Gold")
    cid = created["client_id"]
    resp = await gw.client.post(f"/admin/consumers/{cid}/rotate-secret", headers=gw.admin())
    assert resp.status_code == 200
    assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200
    await gw.client.post(f"/admin/consumers/{cid}/disable", headers=gw.admin())
    await refused(
        gw,
        echo,
        auth["Authorization"].removeprefix("Bearer "),
        code="consumer_disabled",
        client_id=cid,
    )


async def test_a_retired_signing_key_stops_its_remembered_tokens(
    tmp_path: Path, database_url: str, upstreams: dict[str, str], backend: tuple[Backend, str]
) -> None:
    """Regression: a token verified once was remembered until its expiry, so retiring its
    signing key (a leaked key) did not stop it in a running gateway."""
    echo, _ = backend
    settings = gateway_settings(tmp_path, database_url, upstreams, key_refresh_seconds=0.1)
    async with open_gateway(settings) as gw:
        created, auth = await gw.bearer(apis=["echo"], tier="Gold")
        old_kid = gw.state.keyring.signing_kid
        assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200
        resp = await gw.client.post("/admin/signing-keys/rotate", headers=gw.admin())
        assert resp.status_code == 201
        gw.admin_token = await gw.token(*_admin_credentials(tmp_path))

        def retire() -> None:
            with gw.runtime.db.session() as session:
                session.execute(
                    update(SigningKey).where(col(SigningKey.kid) == old_kid).values(active=False)
                )

        await asyncio.to_thread(retire)
        for _ in range(100):  # the ring's refresh (every 0.1 s here) drops the key
            if old_kid not in gw.state.keyring.kids:
                break
            await asyncio.sleep(0.05)
        problem = await refused(gw, echo, auth["Authorization"].removeprefix("Bearer "))
        assert problem["detail"] == "unknown signing key"
        jwks = (await gw.client.get("/.well-known/jwks.json")).json()
        assert old_kid not in {k["kid"] for k in jwks["keys"]}
        # The consumer gets a token from the new key and goes on.
        fresh = await gw.token(created["client_id"], created["client_secret"])
        ok = await gw.client.get("/echo/v1/things", headers={"Authorization": f"Bearer {fresh}"})
        assert ok.status_code == 200


def _admin_credentials(data_dir: Path) -> tuple[str, str]:
    saved = json.loads((data_dir / "admin-client.json").read_text())
    return saved["client_id"], saved["client_secret"]


# --- Against a service directly (it verifies with the gateway's JWKS, lgsp_kit.tokens) ---


@dataclass
class Service:
    client: httpx.AsyncClient
    calls: list[str]
    app: Any


@pytest.fixture
async def service(tmp_path: Path, mint: TokenMint) -> AsyncIterator[Service]:
    calls: list[str] = []
    router = APIRouter()

    @router.get("/v1/things")
    async def things(caller: Caller) -> dict[str, str]:
        calls.append(caller.client_id)
        return {"client": caller.client_id}

    settings = AppSettings(
        app_name="echo",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'service.db'}",
        jwks_url=mint.jwks_url,
        migrate_on_start=False,
    )
    app = create_service_app(
        settings,
        title="echo",
        description="a service guarded by the kit",
        routers=[router],
        migrations_dir=tmp_path,
        uses_bus=False,
    )
    async with serve(app) as client:
        yield Service(client, calls, app)


def mint_keys(mint: TokenMint, elsewhere: str) -> Keys:
    jwks = json.loads(Path(mint.jwks_url.removeprefix("file://")).read_text())
    return Keys(mint.kid, mint.key, Ed25519PrivateKey.generate(), jwks, elsewhere)


async def test_forged_and_misused_tokens_are_refused_by_a_service(
    service: Service, mint: TokenMint, backend: tuple[Backend, str]
) -> None:
    echo, url = backend
    keys = mint_keys(mint, f"{url}/v1/jwks.json")
    for name, make, detail in ATTACKS:
        resp = await service.client.get(
            "/v1/things", headers={"Authorization": f"Bearer {make(keys, 'test-client')}"}
        )
        assert resp.status_code == 401, (name, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        problem = resp.json()
        assert problem["code"] == "invalid_token", (name, problem)
        assert detail in problem["detail"], (name, problem["detail"])
    assert service.calls == [] and echo.calls == 0
    resp = await service.client.get("/v1/things", headers=mint.headers(["echo:read"]))
    assert resp.status_code == 200 and service.calls == ["test-client"]


async def test_a_service_drops_a_key_the_gateway_no_longer_publishes(
    service: Service, mint: TokenMint
) -> None:
    """Regression: a service fetched the JWKS again only for an unknown key id, so a retired
    key (and every token it verified once) kept working there."""
    verifier = service.app.state.runtime.verifier
    verifier.max_age = 0.2
    headers = mint.headers(["echo:read"])
    assert (await service.client.get("/v1/things", headers=headers)).status_code == 200
    path = Path(mint.jwks_url.removeprefix("file://"))
    await asyncio.to_thread(path.write_text, json.dumps({"keys": []}))
    deadline = time.monotonic() + 5
    status = 200
    while status == 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        status = (await service.client.get("/v1/things", headers=headers)).status_code
    assert status == 401
