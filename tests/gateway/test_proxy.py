"""The published-API path: tokens, subscriptions, scopes, headers, errors, each audited."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update

from gateway.models import Consumer
from lgsp_kit.db import make_engine
from lgsp_kit.natsserver import free_port
from tests.gateway.conftest import Backend, Gateway

pytestmark = pytest.mark.anyio


def rid() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


async def assert_problem(
    gw: Gateway, resp: Any, status: int, code: str, *, client_id: str | None = None
) -> dict[str, Any]:
    """The answer is problem+json with this status and code, and one audit record says so."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = resp.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["request_id"] == resp.headers["x-request-id"]
    records = await gw.audit(request_id=resp.headers["x-request-id"])
    assert len(records) == 1
    assert records[0]["status"] == status
    assert records[0]["client_id"] == client_id
    return problem


def claims(client_id: str, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "lgsp",
        "aud": "lgsp",
        "sub": client_id,
        "organ": "000.00.00.H03",
        "scope": "echo:read echo:write",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **extra,
    }


async def test_a_valid_call_is_forwarded_with_identity_and_audited(
    gw: Gateway, backend: tuple[Backend, str]
) -> None:
    created, auth = await gw.bearer(apis=["echo"], tier="Gold")
    request_id = rid()
    resp = await gw.client.get(
        "/echo/v1/things/42?x=1",
        headers={
            **auth,
            "X-Request-ID": request_id,
            "X-LGSP-Client": "spoofed-client",
            "X-LGSP-Organ": "000.00.00.H99",
            "Connection": "keep-alive, X-Hop-Secret",
            "X-Hop-Secret": "named in Connection",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-request-id"] == request_id
    seen = resp.json()
    assert seen["path"] == "/v1/things/42?x=1"
    headers: dict[str, list[str]] = {}
    for name, value in seen["headers"]:
        headers.setdefault(name, []).append(value)
    # Identity comes from the token, never from the caller.
    assert headers["x-lgsp-client"] == [created["client_id"]]
    assert headers["x-lgsp-organ"] == ["000.00.00.H03"]
    assert headers["x-request-id"] == [request_id]
    for hop in ("x-hop-secret", "keep-alive", "te", "proxy-authorization"):
        assert hop not in headers
    assert headers["authorization"] == [auth["Authorization"]]
    # Hop-by-hop headers of the backend's answer (also those it named in Connection) stay here.
    assert "x-upstream-hop" not in resp.headers
    assert resp.headers["x-upstream-kept"] == "yes"
    # Gold tier: the rate-limit headers come with every answer.
    assert resp.headers["ratelimit-limit"] == "100000"
    assert resp.headers["ratelimit-remaining"] == "99999"
    assert 1 <= int(resp.headers["ratelimit-reset"]) <= 60

    [record] = await gw.audit(request_id=request_id)
    assert record["client_id"] == created["client_id"]
    assert record["organ_code"] == "000.00.00.H03"
    assert record["api"] == "echo"
    assert record["method"] == "GET"
    assert record["status"] == 200
    assert record["tier"] == "Gold"
    assert record["response_bytes"] == len(resp.content)
    assert record["upstream_ms"] is not None
    assert record["total_ms"] >= record["upstream_ms"]
    assert record["route"] in ("/echo/v1/things/{thing_id}", "/echo/v1/things/42")


async def test_a_generated_request_id_is_echoed_and_forwarded(gw: Gateway) -> None:
    _, auth = await gw.bearer(apis=["echo"])
    resp = await gw.client.get("/echo/v1/things", headers={**auth, "X-Request-ID": "bad id!"})
    assert resp.status_code == 200
    generated = resp.headers["x-request-id"]
    assert generated != "bad id!"
    forwarded = [v for k, v in resp.json()["headers"] if k == "x-request-id"]
    assert forwarded == [generated]
    assert len(await gw.audit(request_id=generated)) == 1


async def test_missing_and_bad_tokens_are_refused_with_401(gw: Gateway) -> None:
    created, auth = await gw.bearer(apis=["echo"], tier="Gold")
    cid = created["client_id"]
    keyring = gw.state.keyring

    resp = await gw.client.get("/echo/v1/things", headers={"X-Request-ID": rid()})
    await assert_problem(gw, resp, 401, "missing_token")
    assert resp.headers["www-authenticate"].startswith("Bearer")

    resp = await gw.client.get(
        "/echo/v1/things", headers={"Authorization": "Bearer not.a.jwt", "X-Request-ID": rid()}
    )
    problem = await assert_problem(gw, resp, 401, "invalid_token")
    assert problem["detail"] == "malformed token"

    # Right key id, wrong key.
    forged = jwt.encode(
        claims(cid),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": keyring.signing_kid},
    )
    resp = await gw.client.get(
        "/echo/v1/things", headers={"Authorization": f"Bearer {forged}", "X-Request-ID": rid()}
    )
    await assert_problem(gw, resp, 401, "invalid_token")

    unsigned = jwt.encode(claims(cid), "", algorithm="none", headers={"kid": keyring.signing_kid})
    resp = await gw.client.get(
        "/echo/v1/things", headers={"Authorization": f"Bearer {unsigned}", "X-Request-ID": rid()}
    )
    problem = await assert_problem(gw, resp, 401, "invalid_token")
    assert problem["detail"] == "unsupported token algorithm"

    expired = keyring.issue(client_id=cid, organ="000.00.00.H03", scopes=["echo:read"], ttl=-30)
    resp = await gw.client.get(
        "/echo/v1/things", headers={"Authorization": f"Bearer {expired}", "X-Request-ID": rid()}
    )
    problem = await assert_problem(gw, resp, 401, "invalid_token")
    assert problem["detail"] == "token expired"

    # The same consumer's good token still works.
    assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200


async def test_a_disabled_consumer_is_refused_at_once_here_and_within_the_cache_time(
    gw: Gateway,
) -> None:
    created, auth = await gw.bearer(apis=["echo"], tier="Gold")
    cid = created["client_id"]
    assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200

    resp = await gw.client.post(f"/admin/consumers/{cid}/disable", headers=gw.admin())
    assert resp.status_code == 200 and resp.json()["enabled"] is False
    resp = await gw.client.get("/echo/v1/things", headers={**auth, "X-Request-ID": rid()})
    await assert_problem(gw, resp, 401, "consumer_disabled", client_id=cid)

    resp = await gw.client.post(f"/admin/consumers/{cid}/enable", headers=gw.admin())
    assert resp.json()["enabled"] is True
    assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200

    # Disabled by another gateway process (straight in the database): bites after the cache
    # time (0.3 s in these tests).
    def disable() -> None:
        with gw.runtime.db.session() as session:
            session.execute(update(Consumer).where(Consumer.client_id == cid).values(enabled=False))

    disable()
    deadline = time.monotonic() + 3
    status = 200
    while status == 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        status = (await gw.client.get("/echo/v1/things", headers=auth)).status_code
    assert status == 401


async def test_subscription_and_scope_are_enforced_with_403(gw: Gateway) -> None:
    created, auth = await gw.bearer(apis=["echo"], scopes=["echo:read"])
    cid = created["client_id"]
    resp = await gw.client.get("/down/v1/anything", headers={**auth, "X-Request-ID": rid()})
    await assert_problem(gw, resp, 403, "not_subscribed", client_id=cid)
    resp = await gw.client.post(
        "/echo/v1/things", json={"a": 1}, headers={**auth, "X-Request-ID": rid()}
    )
    problem = await assert_problem(gw, resp, 403, "insufficient_scope", client_id=cid)
    assert "echo:write" in problem["detail"]
    resp = await gw.client.get("/echo/v2/things", headers={**auth, "X-Request-ID": rid()})
    await assert_problem(gw, resp, 404, "unknown_version")


async def test_throttled_calls_get_429_with_retry_after_and_ratelimit_headers(
    gw: Gateway,
) -> None:
    created, auth = await gw.bearer(apis=["echo"], tier="Bronze")  # 3 calls per window here
    remaining = []
    for _ in range(3):
        resp = await gw.client.get("/echo/v1/things", headers=auth)
        assert resp.status_code == 200
        remaining.append(resp.headers["ratelimit-remaining"])
    assert remaining == ["2", "1", "0"]
    resp = await gw.client.get("/echo/v1/things", headers={**auth, "X-Request-ID": rid()})
    await assert_problem(gw, resp, 429, "throttled", client_id=created["client_id"])
    assert resp.headers["ratelimit-limit"] == "3"
    assert resp.headers["ratelimit-remaining"] == "0"
    reset = int(resp.headers["ratelimit-reset"])
    assert 1 <= reset <= 60
    assert resp.headers["retry-after"] == str(reset)
    # Another consumer of the same tier has its own budget.
    _, other = await gw.bearer(apis=["echo"], tier="Bronze")
    assert (await gw.client.get("/echo/v1/things", headers=other)).status_code == 200
    # Unlimited: no limit, no headers.
    _, free = await gw.bearer(apis=["echo"], tier="Unlimited")
    resp = await gw.client.get("/echo/v1/things", headers=free)
    assert resp.status_code == 200 and "ratelimit-limit" not in resp.headers


async def test_bodies_stream_through_and_oversized_ones_get_413(
    gw: Gateway, backend: tuple[Backend, str]
) -> None:
    created, auth = await gw.bearer(apis=["echo"], tier="Gold")
    cid = created["client_id"]
    body = bytes(range(256)) * 1000  # 256,000 bytes, under the 256 KiB limit

    async def chunks(data: bytes, size: int = 16384) -> Any:
        for i in range(0, len(data), size):
            yield data[i : i + size]

    resp = await gw.client.put("/echo/v1/things/1", content=chunks(body), headers=auth)
    assert resp.status_code == 200, resp.text
    assert resp.json()["body_bytes"] == len(body)
    assert resp.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
    resp = await gw.client.put("/echo/v1/things/1", content=body, headers=auth)
    assert resp.json()["body_bytes"] == len(body)

    calls = backend[0].calls
    too_big = body + bytes(300 * 1024)
    # Declared up front: refused before the backend is called.
    resp = await gw.client.put(
        "/echo/v1/things/1", content=too_big, headers={**auth, "X-Request-ID": rid()}
    )
    await assert_problem(gw, resp, 413, "body_too_large", client_id=cid)
    assert backend[0].calls == calls
    # Streamed without a length: refused once the count goes over.
    resp = await gw.client.put(
        "/echo/v1/things/1", content=chunks(too_big), headers={**auth, "X-Request-ID": rid()}
    )
    await assert_problem(gw, resp, 413, "body_too_large", client_id=cid)
    [record] = await gw.audit(request_id=resp.headers["x-request-id"])
    assert 256 * 1024 < record["request_bytes"] <= 256 * 1024 + 16384


async def test_backend_down_slow_or_broken_is_problem_json_never_a_hang(gw: Gateway) -> None:
    created, auth = await gw.bearer(apis=["echo", "down", "broken"])
    cid = created["client_id"]
    start = time.monotonic()
    resp = await gw.client.get("/down/v1/things", headers={**auth, "X-Request-ID": rid()})
    await assert_problem(gw, resp, 503, "service_unavailable", client_id=cid)
    resp = await gw.client.get("/broken/v1/things", headers={**auth, "X-Request-ID": rid()})
    await assert_problem(gw, resp, 502, "bad_gateway", client_id=cid)
    resp = await gw.client.get("/echo/v1/slow", headers={**auth, "X-Request-ID": rid()})
    await assert_problem(gw, resp, 504, "gateway_timeout", client_id=cid)
    assert time.monotonic() - start < 1.4  # the timeout is 0.5 s; the slow backend takes 1.5 s

    metrics = (await gw.client.get("/metrics")).text
    assert 'lgsp_gateway_upstream_errors_total{api="down",kind="connect"} 1.0' in metrics
    assert 'lgsp_gateway_upstream_errors_total{api="echo",kind="timeout"} 1.0' in metrics
    assert 'lgsp_gateway_upstream_errors_total{api="broken",kind="protocol"} 1.0' in metrics


async def test_a_database_restarting_is_503_with_retry_after(
    gw: Gateway, backend: tuple[Backend, str]
) -> None:
    # Found by the PostgreSQL drill (bench/drills.py): reading the consumer while the server
    # restarted escaped the proxy as a bare 500 and the simulator gave up.
    created, auth = await gw.bearer(apis=["echo"])
    proxy = gw.state.proxy
    dead = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")

    async def unreachable(client_id: str) -> None:
        with dead.connect():
            return None

    proxy.load_consumer, working = unreachable, proxy.load_consumer
    proxy.forget(created["client_id"])
    resp = await gw.client.get("/echo/v1/things/1", headers={**auth, "X-Request-ID": rid()})
    await assert_problem(gw, resp, 503, "database_unavailable", client_id=created["client_id"])
    assert resp.headers["retry-after"] == "1"
    # The database back, the same call goes through.
    proxy.load_consumer = working
    assert (await gw.client.get("/echo/v1/things/1", headers=auth)).status_code == 200
