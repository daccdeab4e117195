"""The one bearer-token check (`lgsp_kit.tokens`): its refusals are typed, a key id not in hand
reloads the keys once (spaced), and the header is read as FastAPI's `HTTPBearer` reads it."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.security import HTTPBearer
from starlette.requests import Request

from lgsp_kit.errors import ProblemError, render_error
from lgsp_kit.server import refusal
from lgsp_kit.tokens import (
    InsufficientScope,
    InvalidToken,
    MissingToken,
    TokenVerifier,
    UnknownSigningKey,
    bearer_claims,
    bearer_token,
    require_scope,
)
from tests.conftest import TokenMint


def test_a_key_id_not_in_hand_reloads_the_keys_once_then_verifies(mint: TokenMint) -> None:
    reloads = 0

    async def reload() -> None:
        nonlocal reloads
        reloads += 1
        verifier.keys = {mint.kid: mint.key.public_key()}

    verifier = TokenVerifier({}, issuer="lgsp", reload=reload, reload_every=60)
    token = mint.token(["dossier:read"])
    with pytest.raises(UnknownSigningKey):
        verifier.verify(token)
    assert asyncio.run(verifier.check(token)).client_id == "test-client"
    assert reloads == 1


def test_reloads_are_spaced(mint: TokenMint) -> None:
    reloads = 0

    async def reload() -> None:
        nonlocal reloads
        reloads += 1

    verifier = TokenVerifier({}, issuer="lgsp", reload=reload, reload_every=60)
    token = mint.token(["dossier:read"])
    for _ in range(3):
        with pytest.raises(UnknownSigningKey) as refused:
            asyncio.run(verifier.check(token))
    assert reloads == 1
    # Typed, and still what callers that know only InvalidToken expect: 401 invalid_token.
    assert isinstance(refused.value, InvalidToken)
    assert (refused.value.status, refused.value.code) == (401, "invalid_token")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer   ",
        "bearer abc",
        "BEARER  abc ",
        "Basic abc",
        "Bearer\tabc",
        " Bearer abc",
        "Bearerabc",
        "Bearer a b",
    ],
)
def test_the_header_is_read_as_fastapi_reads_it(value: str | None) -> None:
    headers = [] if value is None else [(b"authorization", value.encode())]
    request = Request({"type": "http", "headers": headers})
    credentials = asyncio.run(HTTPBearer(auto_error=False)(request))
    if credentials is None:
        with pytest.raises(MissingToken):
            bearer_token(value)
    else:
        assert bearer_token(value) == credentials.credentials


def test_the_refusals_carry_their_status_code_and_challenge(mint: TokenMint) -> None:
    verifier = TokenVerifier({mint.kid: mint.key.public_key()}, issuer="lgsp")
    with pytest.raises(MissingToken) as missing:
        asyncio.run(bearer_claims(verifier, None))
    assert (missing.value.status, missing.value.code) == (401, "missing_token")
    assert missing.value.headers == {"WWW-Authenticate": 'Bearer realm="lgsp"'}
    claims = asyncio.run(bearer_claims(verifier, f"Bearer {mint.token(['dossier:read'])}"))
    with pytest.raises(InsufficientScope) as scope:
        require_scope(claims, "dossier:write")
    assert (scope.value.status, scope.value.code) == (403, "insufficient_scope")
    assert scope.value.detail == "the token lacks the scope dossier:write"


def test_one_renderer_writes_every_layers_problem() -> None:
    body, headers = render_error(
        ProblemError("the request did not arrive in time", status=408, code="http_408")
    )
    assert headers[:2] == [
        (b"content-type", b"application/problem+json"),
        (b"content-length", b"%d" % len(body)),
    ]
    # The guarded protocol's refusal is that rendering, on a status line, closing.
    wire = refusal(408)
    assert wire.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"connection: close\r\n" in wire
    assert wire.endswith(b"\r\n\r\n" + body)
