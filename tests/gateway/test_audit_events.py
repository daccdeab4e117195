"""`/token` and every `/admin` change go into the audit chain: who, what, target, outcome, and
never a secret or a token."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from gateway.audit import chain
from gateway.audit.events import CHANGES, AdminAuditedRoute, TokenAuditedRoute
from tests.gateway.conftest import Gateway

pytestmark = pytest.mark.anyio


async def stored(gw: Gateway, api: str) -> list[dict[str, Any]]:
    """Every column of the stored records of `api`, in chain order."""
    await gw.audit_log.flush()
    with gw.runtime.db.engine.connect() as conn:
        result = conn.execute(
            text("SELECT * FROM audit_record WHERE api = :api ORDER BY seq"), {"api": api}
        )
        return [dict(row._mapping) for row in result]


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def test_token_requests_are_audited_without_secret_or_token(gw: Gateway) -> None:
    created = await gw.consumer(apis=["echo"])
    cid, secret = created["client_id"], created["client_secret"]
    before = len(await stored(gw, "gateway:token"))
    grant = {"grant_type": "client_credentials"}
    asks: list[tuple[dict[str, str], dict[str, str], int, str, str | None]] = [
        (grant, basic(cid, secret), 200, "issued", cid),
        ({**grant, "client_id": cid, "client_secret": secret}, {}, 200, "issued", cid),
        (grant, basic(cid, secret + "x"), 401, "invalid_client", cid),
        (grant, basic("nobody-at-all", secret), 401, "invalid_client", "nobody-at-all"),
        ({**grant, "scope": "down:read"}, basic(cid, secret), 400, "invalid_scope", cid),
        ({"grant_type": "password"}, basic(cid, secret), 400, "unsupported_grant_type", cid),
        (grant, {}, 401, "invalid_client", None),
        ({}, basic(cid, secret), 422, "validation_failed", cid),
    ]
    tokens = []
    for form, headers, status, _, _ in asks:
        resp = await gw.client.post("/token", data=form, headers=headers)
        assert resp.status_code == status, resp.text
        if status == 200:
            tokens.append(resp.json()["access_token"])

    records = (await stored(gw, "gateway:token"))[before:]
    seen = [(r["status"], r["reason"], r["client_id"]) for r in records]
    assert seen == [(status, reason, who) for _, _, status, reason, who in asks]
    for r in records:
        assert (r["method"], r["route"], r["target"]) == ("POST", "/token", None)
        assert r["request_id"]
        for value in r.values():
            if isinstance(value, str):
                assert secret not in value
                assert all(token not in value for token in tokens)
    assert chain.verify(gw.runtime.db).intact


async def test_admin_changes_are_audited_with_who_what_target_and_outcome(gw: Gateway) -> None:
    admin_id = gw.state.keyring.verify(gw.admin_token).client_id
    before = len(await stored(gw, "gateway:admin"))
    created = await gw.consumer(apis=["echo"])
    cid = created["client_id"]
    calls: list[tuple[str, dict[str, str], int]] = [
        (f"/admin/consumers/{cid}/rotate-secret", gw.admin(), 200),
        (f"/admin/consumers/{cid}/disable", gw.admin(), 200),
        ("/admin/consumers/nobody/enable", gw.admin(), 404),
        (f"/admin/consumers/{cid}/enable", {}, 401),
        ("/admin/signing-keys/rotate", gw.admin(), 201),
    ]
    answers = []
    for path, headers, status in calls:
        resp = await gw.client.post(path, headers=headers)
        assert resp.status_code == status, resp.text
        answers.append(resp.json())
    # Reading is not a change: not audited.
    assert (await gw.client.get("/admin/consumers", headers=gw.admin())).status_code == 200
    assert (await gw.client.get("/admin/audit", headers=gw.admin())).status_code == 200

    records = (await stored(gw, "gateway:admin"))[before:]
    new_kid = answers[-1]["kid"]
    got = [
        (r["client_id"], r["method"], r["route"], r["target"], r["status"], r["reason"])
        for r in records
    ]
    assert got == [
        (admin_id, "POST", "/admin/consumers", cid, 201, "ok"),
        (admin_id, "POST", "/admin/consumers/{client_id}/rotate-secret", cid, 200, "ok"),
        (admin_id, "POST", "/admin/consumers/{client_id}/disable", cid, 200, "ok"),
        (
            admin_id,
            "POST",
            "/admin/consumers/{client_id}/enable",
            "nobody",
            404,
            "consumer_not_found",
        ),
        (None, "POST", "/admin/consumers/{client_id}/enable", cid, 401, "missing_token"),
        (admin_id, "POST", "/admin/signing-keys/rotate", new_kid, 201, "ok"),
    ]
    assert records[0]["organ_code"] == "000.00.00.H03"
    secrets = [created["client_secret"], answers[0]["client_secret"]]
    for r in records:
        for value in r.values():
            assert not (isinstance(value, str) and any(s in value for s in secrets))
    # The admin API shows them, filtered like any API.
    listed = await gw.audit(api="gateway:admin", limit=3)
    assert [(i["route"], i["target"], i["reason"]) for i in listed] == [
        (r["route"], r["target"], r["reason"]) for r in reversed(records[-3:])
    ]
    assert chain.verify(gw.runtime.db).intact


async def test_an_edited_event_field_breaks_the_chain(gw: Gateway) -> None:
    created = await gw.consumer(apis=["echo"])
    await gw.client.post(f"/admin/consumers/{created['client_id']}/disable", headers=gw.admin())
    (record,) = [r for r in await stored(gw, "gateway:admin") if r["route"].endswith("/disable")]
    with gw.runtime.db.session() as session:
        session.connection().execute(
            text("UPDATE audit_record SET target = 'someone-else' WHERE seq = :s"),
            {"s": record["seq"]},
        )
    broken = chain.verify(gw.runtime.db).broken
    assert broken is not None and (broken.seq, broken.kind) == (record["seq"], "hash_mismatch")


def walk(routes: list[Any]) -> Iterator[Any]:
    """Routes, those of included routers too (FastAPI keeps those in the router included)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from walk(included.routes)
        else:
            yield route


async def test_every_change_under_admin_and_the_token_route_are_audited(gw: Gateway) -> None:
    """A route added later to another router is caught here, not left out of the audit."""
    routes = [r for r in walk(gw.app.api.routes) if isinstance(r, APIRoute)]
    changes = [r for r in routes if (r.methods or set()) & CHANGES]
    admin = [r for r in changes if r.path.startswith("/admin")]
    assert len(admin) >= 6
    for route in admin:
        assert isinstance(route, AdminAuditedRoute), route.path
    (token,) = [r for r in changes if r.path == "/token"]
    assert isinstance(token, TokenAuditedRoute)
