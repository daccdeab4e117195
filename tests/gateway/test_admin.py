"""The administration API: consumers, secrets, signing keys and the audit log."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from gateway.models import AuditRecord
from tests.gateway.conftest import Gateway, gateway_settings, open_gateway

pytestmark = pytest.mark.anyio


async def test_admin_api_needs_an_admin_token(gw: Gateway) -> None:
    resp = await gw.client.get("/admin/consumers")
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    resp = await gw.client.get("/admin/consumers", headers={"Authorization": "Bearer x.y.z"})
    assert resp.json()["code"] == "invalid_token"
    _, auth = await gw.bearer(apis=["echo"])
    for path in ("/admin/consumers", "/admin/audit", "/admin/signing-keys"):
        resp = await gw.client.get(path, headers=auth)
        assert resp.status_code == 403
        assert resp.json()["code"] == "insufficient_scope"


async def test_register_list_get_and_refuse_bad_input(gw: Gateway) -> None:
    created = await gw.consumer(apis=["echo", "down"], tier="Silver")
    assert created["scopes"] == ["echo:read", "echo:write", "down:read", "down:write"]
    assert created["client_secret"]
    resp = await gw.client.get(f"/admin/consumers/{created['client_id']}", headers=gw.admin())
    assert resp.status_code == 200
    shown = resp.json()
    assert "client_secret" not in shown and shown["tier"] == "Silver"
    assert shown["created_at"].endswith("+07:00")

    cases: list[tuple[dict[str, Any], str]] = [
        ({"apis": ["nope"]}, "unknown_api"),
        ({"apis": ["echo"], "scopes": ["down:read"]}, "scope_not_grantable"),
        ({"apis": ["echo"], "organ_code": "H03"}, "validation_failed"),
        ({"apis": ["echo"], "tier": "Platinum"}, "validation_failed"),
        ({"apis": ["echo"], "name": "   "}, "validation_failed"),
        ({"apis": "echo"}, "validation_failed"),
        ({"apis": ["echo"], "extra": 1}, "validation_failed"),
    ]
    for bad, code in cases:
        body = {"name": "x", "organ_code": "000.00.00.H03", **bad}
        resp = await gw.client.post("/admin/consumers", json=body, headers=gw.admin())
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.json()["code"] == code

    resp = await gw.client.get("/admin/consumers/nobody", headers=gw.admin())
    assert resp.status_code == 404 and resp.json()["code"] == "consumer_not_found"

    # demo, admin, the one above, and two more, paged two at a time.
    await gw.consumer(apis=["echo"])
    await gw.consumer(apis=["echo"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await gw.client.get("/admin/consumers", params=params, headers=gw.admin())).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen[:2] == ["demo", "admin"]


async def test_rotate_secret_and_self_disable(gw: Gateway) -> None:
    created = await gw.consumer(apis=["echo"])
    cid = created["client_id"]
    resp = await gw.client.post(f"/admin/consumers/{cid}/rotate-secret", headers=gw.admin())
    assert resp.status_code == 200
    new = resp.json()["client_secret"]
    assert new != created["client_secret"]
    old = base64.b64encode(f"{cid}:{created['client_secret']}".encode()).decode()
    resp = await gw.client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {old}"},
    )
    assert resp.status_code == 401
    assert await gw.token(cid, new)

    me = gw.state.keyring.verify(gw.admin_token).client_id
    resp = await gw.client.post(f"/admin/consumers/{me}/disable", headers=gw.admin())
    assert resp.status_code == 409 and resp.json()["code"] == "cannot_disable_self"

    await gw.client.post(f"/admin/consumers/{cid}/disable", headers=gw.admin())
    resp = await gw.client.post(f"/admin/consumers/{cid}/rotate-secret", headers=gw.admin())
    assert resp.status_code == 409
    basic = base64.b64encode(f"{cid}:{new}".encode()).decode()
    resp = await gw.client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert resp.status_code == 401


async def test_signing_key_rotation_keeps_issued_tokens_working(gw: Gateway) -> None:
    created, before = await gw.bearer(apis=["echo"], tier="Gold")
    old_kid = gw.state.keyring.signing_kid
    resp = await gw.client.post("/admin/signing-keys/rotate", headers=gw.admin())
    assert resp.status_code == 201
    new_kid = resp.json()["kid"]
    assert new_kid != old_kid
    keys = (await gw.client.get("/admin/signing-keys", headers=gw.admin())).json()["items"]
    assert [(k["kid"], k["signing"]) for k in keys] == [(old_kid, False), (new_kid, True)]
    jwks = (await gw.client.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}

    after = await gw.token(created["client_id"], created["client_secret"])
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    for auth in (before, {"Authorization": f"Bearer {after}"}):
        assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200


async def test_audit_filters_and_paging(gw: Gateway) -> None:
    a, auth_a = await gw.bearer(apis=["echo"], tier="Gold")
    _, auth_b = await gw.bearer(apis=["echo"], tier="Gold")
    for _ in range(3):
        await gw.client.get("/echo/v1/things", headers=auth_a)
    await gw.client.get("/echo/v1/things", headers=auth_b)
    await gw.client.get("/echo/v1/things")
    mine = await gw.audit(client_id=a["client_id"], api="echo")
    assert len(mine) == 3 and all(r["status"] == 200 for r in mine)
    # Its token request is in the log too.
    (token,) = await gw.audit(client_id=a["client_id"], api="gateway:token")
    assert (token["status"], token["reason"]) == (200, "issued")
    assert len(await gw.audit(status=401)) == 1
    assert len(await gw.audit(api="echo")) == 5
    assert await gw.audit(api="down") == []
    assert len(await gw.audit(since="2000-01-01T00:00:00+07:00", api="echo")) == 5
    assert await gw.audit(until="2000-01-01T00:00:00Z") == []
    resp = await gw.client.get(
        "/admin/audit", params={"since": "2000-01-01T00:00:00"}, headers=gw.admin()
    )
    assert resp.status_code == 422
    resp = await gw.client.get("/admin/audit", params={"cursor": "abc"}, headers=gw.admin())
    assert resp.status_code == 422

    only: dict[str, str | int] = {"api": "echo", "limit": 3}
    first = (await gw.client.get("/admin/audit", params=only, headers=gw.admin())).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = (
        await gw.client.get(
            "/admin/audit", params={**only, "cursor": first["next_cursor"]}, headers=gw.admin()
        )
    ).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    ids = [r["id"] for r in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5


async def test_buffered_audit_records_are_written_on_clean_shutdown(
    tmp_path: Path, database_url: str, upstreams: dict[str, str]
) -> None:
    settings = gateway_settings(tmp_path, database_url, upstreams, audit_flush_seconds=3600.0)
    async with open_gateway(settings) as gw:
        _, auth = await gw.bearer(apis=["echo"], tier="Gold")
        for _ in range(7):
            assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200
        await gw.client.get("/echo/v1/things")
        db = gw.runtime.db
        with db.engine.connect() as conn:
            # Nothing written yet: the writer waits for its batch or its hour.
            assert conn.execute(select(func.count()).select_from(AuditRecord)).scalar_one() == 0
        url = settings.resolved_database_url()
    from lgsp_kit.db import Database

    after = Database(url)
    try:
        with after.engine.connect() as conn:
            # The 8 calls, and the gateway's own events: the admin's and the consumer's tokens
            # and the consumer's registration.
            apis = conn.execute(select(col(AuditRecord.api))).scalars().all()
            assert sorted(apis) == ["echo"] * 8 + ["gateway:admin"] + ["gateway:token"] * 2
    finally:
        after.dispose()


async def test_finer_scopes_are_granted_only_when_named(
    tmp_path: Path, database_url: str, backend: Any
) -> None:
    """`dossier:catalogue` and `reporting:declare` go with their API's subscription, never by
    default; the demo consumer (the simulator's) holds them."""
    upstreams = {"dossier": backend[1], "reporting": backend[1], "echo": backend[1]}
    async with open_gateway(gateway_settings(tmp_path, database_url, upstreams)) as gw:
        plain = await gw.consumer(organ_code="000.00.31.H03", apis=["dossier", "reporting"])
        assert plain["scopes"] == [
            "dossier:read",
            "dossier:write",
            "reporting:read",
            "reporting:write",
        ]
        token = await gw.token(plain["client_id"], plain["client_secret"])
        assert (
            "dossier:catalogue"
            not in jwt.decode(token, options={"verify_signature": False})["scope"].split()
        )
        named = await gw.consumer(
            apis=["dossier", "reporting"],
            scopes=["dossier:read", "dossier:write", "dossier:catalogue", "reporting:declare"],
        )
        assert "dossier:catalogue" in named["scopes"] and "reporting:declare" in named["scopes"]
        for body in (
            {"apis": ["echo"], "scopes": ["dossier:catalogue"]},
            {"apis": ["dossier"], "scopes": ["reporting:declare"]},
            {"apis": ["dossier"], "scopes": ["dossier:everything"]},
            {"apis": ["echo"], "scopes": ["echo:catalogue"]},
        ):
            resp = await gw.client.post(
                "/admin/consumers",
                json={"name": "x", "organ_code": "000.00.31.H03", **body},
                headers=gw.admin(),
            )
            assert resp.status_code == 422, (body, resp.text)
            assert resp.json()["code"] == "scope_not_grantable"
        demo = await gw.client.get("/admin/consumers", params={"limit": 1}, headers=gw.admin())
        first = demo.json()["items"][0]
        assert first["name"] == "demo" and first["organ_code"] == "000.00.00.H03"
        assert {"dossier:catalogue", "reporting:declare"} <= set(first["scopes"])
