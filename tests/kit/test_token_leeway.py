"""Clock skew between the gateway and the services: `exp`, `nbf` and `iat` are checked with a
leeway (`token_leeway_seconds`, 30 s by default). The gateway stamps `nbf = iat = now` on its
clock; a service a second behind refused the token it had just been handed."""

from __future__ import annotations

import time

import pytest

from lgsp_kit.settings import AppSettings
from lgsp_kit.tokens import DEFAULT_LEEWAY_SECONDS, InvalidToken, TokenVerifier
from tests.conftest import TokenMint


def _verifier(mint: TokenMint, leeway: float = DEFAULT_LEEWAY_SECONDS) -> TokenVerifier:
    return TokenVerifier({mint.kid: mint.key.public_key()}, issuer="lgsp", leeway=leeway)


def test_a_token_from_a_clock_a_few_seconds_ahead_is_accepted(mint: TokenMint) -> None:
    ahead = int(time.time()) + 5
    token = mint.token(["dossier:read"], iat=ahead, nbf=ahead)
    assert _verifier(mint).verify(token).client_id == "test-client"
    with pytest.raises(InvalidToken, match="not yet valid"):
        _verifier(mint, leeway=0).verify(token)


def test_beyond_the_leeway_a_token_is_refused(mint: TokenMint) -> None:
    now = int(time.time())
    late = now + DEFAULT_LEEWAY_SECONDS + 60
    with pytest.raises(InvalidToken, match="not yet valid"):
        _verifier(mint).verify(mint.token(["dossier:read"], iat=late, nbf=now))
    with pytest.raises(InvalidToken, match="not yet valid"):
        _verifier(mint).verify(mint.token(["dossier:read"], iat=now, nbf=late))
    expired = mint.token(["dossier:read"], exp=now - DEFAULT_LEEWAY_SECONDS - 5)
    with pytest.raises(InvalidToken, match="expired"):
        _verifier(mint).verify(expired)


def test_a_token_just_expired_on_a_clock_behind_is_accepted_remembered_too(
    mint: TokenMint,
) -> None:
    verifier = _verifier(mint)
    token = mint.token(["dossier:read"], exp=int(time.time()) - 5)
    assert verifier.verify(token).client_id == "test-client"
    assert verifier.verify(token).client_id == "test-client"  # from what it remembers


def test_the_leeway_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AppSettings().token_leeway_seconds == DEFAULT_LEEWAY_SECONDS == 30
    monkeypatch.setenv("LGSP_TOKEN_LEEWAY_SECONDS", "5")
    assert AppSettings().token_leeway_seconds == 5
