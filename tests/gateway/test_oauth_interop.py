"""The gateway as other people's OAuth tools see it: RFC 8414 metadata, Authlib's client
credentials flow (both client authentication methods), PyJWT verifying through the JWKS, and
tokens signed with EdDSA, RS256 or ES256 as GATEWAY_TOKEN_ALGORITHM says, verified by a service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from lgsp_kit.tokens import JwksVerifier
from tests.gateway.conftest import Gateway, gateway_settings, open_gateway

pytestmark = pytest.mark.anyio

ALGORITHMS = ["EdDSA", "RS256", "ES256"]
KEY_TYPES = {"EdDSA": ("OKP", "Ed25519"), "RS256": ("RSA", None), "ES256": ("EC", "P-256")}


async def metadata(gw: Gateway) -> dict[str, Any]:
    resp = await gw.client.get("/.well-known/oauth-authorization-server")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def authlib_token(gw: Gateway, creds: dict[str, Any], method: str) -> dict[str, Any]:
    """Authlib configured from the metadata alone, as a client library does."""
    meta = await metadata(gw)
    assert method in meta["token_endpoint_auth_methods_supported"]
    async with AsyncOAuth2Client(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        token_endpoint=meta["token_endpoint"],
        token_endpoint_auth_method=method,
        grant_type="client_credentials",
        transport=gw.client._transport,
    ) as client:
        token: dict[str, Any] = await client.fetch_token()
        return token


async def test_metadata_describes_the_token_endpoint(tmp_path: Path, database_url: str) -> None:
    settings = gateway_settings(tmp_path, database_url, {"dossier": "http://127.0.0.1:9"})
    async with open_gateway(settings) as gw:
        meta = await metadata(gw)
        assert meta["issuer"] == "lgsp"
        assert meta["token_endpoint"] == "http://test/token"
        assert meta["jwks_uri"] == "http://test/.well-known/jwks.json"
        assert meta["grant_types_supported"] == ["client_credentials"]
        assert meta["token_endpoint_auth_methods_supported"] == [
            "client_secret_basic",
            "client_secret_post",
        ]
        assert meta["access_token_signing_alg_values_supported"] == ["EdDSA"]
        assert {"dossier:read", "dossier:write", "dossier:catalogue", "lgsp:admin"} <= set(
            meta["scopes_supported"]
        )
        jwks = await gw.client.get(meta["jwks_uri"].removeprefix("http://test"))
        assert jwks.status_code == 200

    public = gateway_settings(
        tmp_path, database_url, {"dossier": "http://127.0.0.1:9"}, public_url="https://lgsp.test/"
    )
    async with open_gateway(public) as gw:
        meta = await metadata(gw)
        assert meta["token_endpoint"] == "https://lgsp.test/token"
        assert meta["jwks_uri"] == "https://lgsp.test/.well-known/jwks.json"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_tokens_of_each_algorithm_verify_with_other_peoples_tools(
    tmp_path: Path, database_url: str, algorithm: str
) -> None:
    settings = gateway_settings(
        tmp_path, database_url, {"dossier": "http://127.0.0.1:9"}, token_algorithm=algorithm
    )
    async with open_gateway(settings) as gw:
        creds = await gw.consumer(apis=["dossier"])
        assert (await metadata(gw))["access_token_signing_alg_values_supported"] == [algorithm]
        jwks = (await gw.client.get("/.well-known/jwks.json")).json()
        [jwk] = jwks["keys"]
        assert (jwk["kty"], jwk.get("crv"), jwk["alg"]) == (*KEY_TYPES[algorithm], algorithm)

        for method in ("client_secret_basic", "client_secret_post"):
            token = await authlib_token(gw, creds, method)
            assert token["token_type"] == "Bearer"
            access = token["access_token"]
            assert jwt.get_unverified_header(access)["alg"] == algorithm

            # PyJWT, through the published key set.
            key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(access)["kid"]]
            claims = jwt.decode(
                access, key.key, algorithms=[algorithm], audience="lgsp", issuer="lgsp"
            )
            assert (claims["sub"], claims["organ"]) == (creds["client_id"], "000.00.00.H03")

        # A service verifies it through the JWKS it reads (here a copy in a file).
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps(jwks))
        verifier = JwksVerifier(path.resolve().as_uri(), issuer="lgsp")
        verified = await verifier.check(access)
        assert verified.client_id == creds["client_id"]
        assert "dossier:write" in verified.scopes

        # The token's alg must be its key's: an HMAC token keyed with the published key is
        # refused, and so is one claiming another of the algorithms accepted.
        forged = jwt.encode(
            {"sub": "x", "iss": "lgsp", "aud": "lgsp", "exp": 2**31, "iat": 0},
            "secret",
            algorithm="HS256",
            headers={"kid": jwk["kid"]},
        )
        other = next(a for a in ALGORITHMS if a != algorithm)
        header, rest = access.split(".", 1)
        head = json.loads(jwt.utils.base64url_decode(header))
        lying = jwt.utils.base64url_encode(json.dumps({**head, "alg": other}).encode()).decode()
        for bad in (forged, f"{lying}.{rest}"):
            resp = await gw.client.get(
                "/admin/consumers", headers={"Authorization": f"Bearer {bad}"}
            )
            assert resp.status_code == 401, resp.text


async def test_changing_the_algorithm_rotates_and_keeps_old_tokens(
    tmp_path: Path, database_url: str
) -> None:
    upstreams = {"dossier": "http://127.0.0.1:9"}
    async with open_gateway(gateway_settings(tmp_path, database_url, upstreams)) as gw:
        creds = await gw.consumer(apis=["dossier"])
        old = await gw.token(creds["client_id"], creds["client_secret"])
    rs256 = gateway_settings(tmp_path, database_url, upstreams, token_algorithm="RS256")
    async with open_gateway(rs256) as gw:
        meta = await metadata(gw)
        assert meta["access_token_signing_alg_values_supported"] == ["RS256", "EdDSA"]
        new = await gw.token(creds["client_id"], creds["client_secret"])
        assert jwt.get_unverified_header(new)["alg"] == "RS256"
        assert jwt.get_unverified_header(old)["alg"] == "EdDSA"
        for token in (old, new):
            resp = await gw.client.get(
                "/admin/consumers", headers={"Authorization": f"Bearer {token}"}
            )
            # Verified (not 401): the consumer has no admin scope.
            assert resp.status_code == 403, resp.text
        async with httpx.AsyncClient(transport=gw.client._transport, base_url="http://test") as c:
            assert len((await c.get("/.well-known/jwks.json")).json()["keys"]) == 2
