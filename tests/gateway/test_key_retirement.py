"""Retiring a token signing key (`POST /admin/signing-keys/{kid}/retire`): out of the JWKS, its
tokens refused at once in the process that retired it and within the key refresh elsewhere."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlmodel import select

from gateway.auth.tokens import KeyRing, new_private_pem
from gateway.models import SigningKey
from tests.gateway.conftest import Backend, Gateway, gateway_settings, open_gateway

pytestmark = pytest.mark.anyio


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _admin_credentials(data_dir: Path) -> tuple[str, str]:
    saved = json.loads((data_dir / "admin-client.json").read_text())
    return saved["client_id"], saved["client_secret"]


async def _published(gw: Gateway) -> set[str]:
    jwks = (await gw.client.get("/.well-known/jwks.json")).json()
    return {k["kid"] for k in jwks["keys"]}


async def _rotate(gw: Gateway) -> str:
    """A new signing key, and an admin token signed by it (the old one may be retired next)."""
    resp = await gw.client.post("/admin/signing-keys/rotate", headers=gw.admin())
    assert resp.status_code == 201, resp.text
    gw.admin_token = await gw.token(*_admin_credentials(gw.data_dir))
    kid: str = resp.json()["kid"]
    return kid


def _active(gw: Gateway) -> dict[str, bool]:
    with gw.runtime.db.session() as session:
        return {k.kid: k.active for k in session.exec(select(SigningKey))}


async def _refused(gw: Gateway, backend: Backend, token: str) -> dict[str, Any]:
    calls = backend.calls
    resp = await gw.client.get("/echo/v1/things", headers=_bearer(token))
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert backend.calls == calls
    problem: dict[str, Any] = resp.json()
    return problem


async def test_retire_drops_the_key_and_its_tokens_at_once(
    gw: Gateway, backend: tuple[Backend, str]
) -> None:
    echo, _ = backend
    created, auth = await gw.bearer(apis=["echo"], tier="Gold")
    old_token = auth["Authorization"].removeprefix("Bearer ")
    old_admin = gw.admin_token
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    # Verified once, so the ring remembers it: retiring must forget it too.
    assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200
    new_kid = await _rotate(gw)
    assert await _published(gw) == {old_kid, new_kid}

    resp = await gw.client.post(f"/admin/signing-keys/{old_kid}/retire", headers=gw.admin())
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert (answer["kid"], answer["signing"], answer["retired"]) == (old_kid, False, True)
    assert answer["created_at"].endswith("+07:00")
    assert _active(gw) == {old_kid: False, new_kid: True}

    problem = await _refused(gw, echo, old_token)
    assert (problem["code"], problem["detail"]) == ("invalid_token", "unknown signing key")
    assert await _published(gw) == {new_kid}
    keys = (await gw.client.get("/admin/signing-keys", headers=gw.admin())).json()["items"]
    assert [(k["kid"], k["signing"]) for k in keys] == [(new_kid, True)]
    # The admin API refuses the old key's tokens as well.
    resp = await gw.client.get("/admin/signing-keys", headers=_bearer(old_admin))
    assert resp.status_code == 401 and resp.json()["code"] == "invalid_token"

    fresh = await gw.token(created["client_id"], created["client_secret"])
    assert jwt.get_unverified_header(fresh)["kid"] == new_kid
    calls = echo.calls
    assert (await gw.client.get("/echo/v1/things", headers=_bearer(fresh))).status_code == 200
    assert echo.calls == calls + 1

    # Retiring it again changes nothing and tells the same.
    again = await gw.client.post(f"/admin/signing-keys/{old_kid}/retire", headers=gw.admin())
    assert again.status_code == 200
    assert again.json() == answer
    assert _active(gw) == {old_kid: False, new_kid: True}


async def test_the_signing_key_cannot_be_retired(gw: Gateway) -> None:
    _, auth = await gw.bearer(apis=["echo"], tier="Gold")
    kid = gw.state.keyring.signing_kid
    resp = await gw.client.post(f"/admin/signing-keys/{kid}/retire", headers=gw.admin())
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "signing_key_in_use"
    assert "rotate first" in resp.json()["detail"]
    assert _active(gw) == {kid: True}
    assert await _published(gw) == {kid}
    assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200

    # Once rotated, the newest key is the one that cannot go.
    new_kid = await _rotate(gw)
    resp = await gw.client.post(f"/admin/signing-keys/{new_kid}/retire", headers=gw.admin())
    assert resp.status_code == 409
    resp = await gw.client.post(f"/admin/signing-keys/{kid}/retire", headers=gw.admin())
    assert resp.status_code == 200
    assert _active(gw) == {kid: False, new_kid: True}


async def test_unknown_and_malformed_key_ids(gw: Gateway) -> None:
    kid = gw.state.keyring.signing_kid
    resp = await gw.client.post("/admin/signing-keys/0123456789abcdef/retire", headers=gw.admin())
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "signing_key_not_found"
    for bad in ("0123", "0123456789ABCDEF", "0123456789abcdef0", "0123456789abcdeg", "x" * 200):
        resp = await gw.client.post(f"/admin/signing-keys/{bad}/retire", headers=gw.admin())
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.json()["code"] == "validation_failed"
    assert _active(gw) == {kid: True}


async def test_retiring_needs_an_admin(gw: Gateway) -> None:
    old_kid = gw.state.keyring.signing_kid
    new_kid = await _rotate(gw)
    path = f"/admin/signing-keys/{old_kid}/retire"
    _, auth = await gw.bearer(apis=["echo"])
    resp = await gw.client.post(path, headers=auth)
    assert resp.status_code == 403 and resp.json()["code"] == "insufficient_scope"
    resp = await gw.client.post(path)
    assert resp.status_code == 401 and resp.json()["code"] == "missing_token"
    assert _active(gw) == {old_kid: True, new_kid: True}
    assert await _published(gw) == {old_kid, new_kid}


async def test_another_gateway_process_drops_the_key_on_its_refresh(
    tmp_path: Path, database_url: str, upstreams: dict[str, str], backend: tuple[Backend, str]
) -> None:
    """Two gateways on one database, each with its own key ring: the one that did not retire
    the key drops it (JWKS and remembered tokens) on its next key refresh."""
    echo, _ = backend
    first_settings = gateway_settings(tmp_path, database_url, upstreams)
    other_settings = gateway_settings(tmp_path, database_url, upstreams, key_refresh_seconds=0.2)
    async with open_gateway(first_settings) as first, open_gateway(other_settings) as other:
        created, auth = await first.bearer(apis=["echo"], tier="Gold")
        old_kid = first.state.keyring.signing_kid
        assert (await other.client.get("/echo/v1/things", headers=auth)).status_code == 200
        new_kid = await _rotate(first)
        resp = await first.client.post(
            f"/admin/signing-keys/{old_kid}/retire", headers=first.admin()
        )
        assert resp.status_code == 200, resp.text

        ring = other.state.keyring
        for _ in range(100):
            if old_kid not in ring.kids:
                break
            await asyncio.sleep(0.05)
        assert ring.kids == [new_kid] and ring.signing_kid == new_kid
        problem = await _refused(other, echo, auth["Authorization"].removeprefix("Bearer "))
        assert problem["detail"] == "unknown signing key"
        assert await _published(other) == {new_kid}
        fresh = await other.token(created["client_id"], created["client_secret"])
        assert jwt.get_unverified_header(fresh)["kid"] == new_kid
        resp = await other.client.get("/echo/v1/things", headers=_bearer(fresh))
        assert resp.status_code == 200


def test_a_key_read_begun_before_a_rotation_does_not_undo_it() -> None:
    # The periodic refresh reads the keys in a thread; a rotation in this process may land
    # while it reads. The stale read must not put the old key back in charge of signing.
    old, new = ("k-old", new_private_pem()), ("k-new", new_private_pem())
    ring = KeyRing([old], issuer="lgsp")
    seen = ring.generation  # the refresh starts reading: it will see only the old key
    assert ring.load([old, new])  # the rotation
    assert not ring.load([old], read_at=seen)  # the refresh's stale answer lands
    assert ring.signing_kid == "k-new"
    assert ring.kids == ["k-old", "k-new"]
    assert ring.load([new], read_at=ring.generation)  # the next refresh is taken
    assert ring.kids == ["k-new"]
