"""`/token`'s client secret check: its cost, its queue and its failure throttling.

Secrets are checked on two dedicated threads, whatever the number of token requests (a legacy
scrypt check takes 16 MiB, which glibc keeps in the arena of the thread that freed it). An
unknown client id costs the same check as a known one (finding 8 of issue 15: the answer time
told them apart); a full queue answers 503 and a client id that failed too often 429, both
with `Retry-After` and without running the check.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from gateway.auth import secrets
from gateway.models import Consumer
from tests.gateway.conftest import Gateway, gateway_settings, open_gateway

pytestmark = pytest.mark.anyio


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def ask(gw: Gateway, client_id: str, secret: str) -> httpx.Response:
    return await gw.client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every secret check, as (thread name, scheme of the hash it checked against)."""
    seen: list[tuple[str, str]] = []
    verify = secrets.verify_secret

    def recording(secret: str, stored: str) -> bool:
        seen.append((threading.current_thread().name, stored.partition("$")[0]))
        return verify(secret, stored)

    monkeypatch.setattr(secrets, "verify_secret", recording)
    return seen


async def test_token_burst_checks_secrets_on_two_threads_only(
    gw: Gateway, checks: list[tuple[str, str]]
) -> None:
    created = await gw.consumer(apis=["echo"])
    tokens = await asyncio.gather(
        *(gw.token(created["client_id"], created["client_secret"]) for _ in range(16))
    )

    assert all(tokens)
    threads = {name for name, _ in checks}
    assert len(checks) == 16
    assert len(threads) <= 2, threads
    assert all(name.startswith("lgsp-secret-check") for name in threads), threads


async def test_an_unknown_client_id_costs_the_same_check_as_a_known_one(
    gw: Gateway, checks: list[tuple[str, str]]
) -> None:
    created = await gw.consumer(apis=["echo"])

    known = await ask(gw, created["client_id"], "not-the-secret")
    known_checks = list(checks)
    checks.clear()
    unknown = await ask(gw, "no-such-client-id-0000000", "not-the-secret")

    # One HMAC-SHA256 either way: the work, hence the time, does not tell the ids apart.
    assert [scheme for _, scheme in known_checks] == [secrets.SCHEME]
    assert [scheme for _, scheme in checks] == [secrets.SCHEME]
    assert known.status_code == unknown.status_code == 401
    assert known.json()["detail"] == unknown.json()["detail"]


def test_the_secret_hash_is_hmac_sha256_and_scrypt_hashes_still_verify() -> None:
    secret = secrets.new_secret()
    stored = secrets.hash_secret(secret)
    assert stored.startswith("hmac-sha256$")
    assert secrets.verify_secret(secret, stored)
    assert not secrets.verify_secret(secret + "x", stored)
    assert not secrets.needs_upgrade(stored)
    legacy = secrets.scrypt_hash(secret)
    assert secrets.verify_secret(secret, legacy)
    assert not secrets.verify_secret(secret + "x", legacy)
    assert secrets.needs_upgrade(legacy)
    for broken in ("", "hmac-sha256$", "hmac-sha256$!!$!!", "scrypt$1$2", "md5$a$b"):
        assert not secrets.verify_secret(secret, broken)


def _stored_hash(gw: Gateway, client_id: str) -> str:
    with gw.runtime.db.session() as session:
        row = session.exec(select(Consumer).where(col(Consumer.client_id) == client_id)).one()
        return row.secret_hash


async def test_a_scrypt_hash_from_before_still_works_and_is_upgraded_on_success(
    gw: Gateway,
) -> None:
    created = await gw.consumer(apis=["echo"])
    cid, secret = created["client_id"], created["client_secret"]
    legacy = secrets.scrypt_hash(secret)

    def set_legacy() -> None:
        with gw.runtime.db.session() as session:
            session.execute(
                update(Consumer).where(col(Consumer.client_id) == cid).values(secret_hash=legacy)
            )

    await asyncio.to_thread(set_legacy)
    assert (await ask(gw, cid, "not-the-secret")).status_code == 401
    assert await asyncio.to_thread(_stored_hash, gw, cid) == legacy  # a failure changes nothing

    assert await gw.token(cid, secret)
    upgraded = await asyncio.to_thread(_stored_hash, gw, cid)
    assert upgraded.startswith("hmac-sha256$") and secrets.verify_secret(secret, upgraded)
    assert await gw.token(cid, secret)


async def test_rotate_secret_stores_the_new_form(gw: Gateway) -> None:
    created = await gw.consumer(apis=["echo"])
    cid = created["client_id"]
    resp = await gw.client.post(f"/admin/consumers/{cid}/rotate-secret", headers=gw.admin())
    assert resp.status_code == 200, resp.text
    assert (await asyncio.to_thread(_stored_hash, gw, cid)).startswith("hmac-sha256$")
    assert await gw.token(cid, resp.json()["client_secret"])
    assert (await ask(gw, cid, created["client_secret"])).status_code == 401


@pytest.fixture
async def small_gw(
    tmp_path: Path, database_url: str, upstreams: dict[str, str]
) -> AsyncIterator[Gateway]:
    settings = gateway_settings(
        tmp_path,
        database_url,
        upstreams,
        token_check_queue_limit=2,
        token_failure_limit=3,
        token_failure_window_seconds=60,
    )
    async with open_gateway(settings) as gateway:
        yield gateway


@dataclass
class HeldChecks:
    """Secret checks that wait until released."""

    started: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    release: threading.Event = field(default_factory=threading.Event)
    count: int = 0

    async def wait_started(self, n: int) -> None:
        for _ in range(n):
            assert await asyncio.to_thread(self.started.acquire, timeout=10)


@pytest.fixture
def held_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldChecks]:
    held = HeldChecks()
    verify = secrets.verify_secret

    def holding(secret: str, stored: str) -> bool:
        held.count += 1
        held.started.release()
        held.release.wait(10)
        return verify(secret, stored)

    monkeypatch.setattr(secrets, "verify_secret", holding)
    try:
        yield held
    finally:
        held.release.set()


async def test_a_full_queue_answers_503_with_retry_after(
    small_gw: Gateway, held_checks: HeldChecks
) -> None:
    gw = small_gw
    created = await gw.consumer(apis=["echo"])
    cid, secret = created["client_id"], created["client_secret"]
    first = [asyncio.create_task(ask(gw, cid, secret)) for _ in range(2)]
    await held_checks.wait_started(2)

    busy = await ask(gw, cid, secret)

    assert busy.status_code == 503, busy.text
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["code"] == "token_service_busy"
    assert held_checks.count == 2  # refused without a check
    held_checks.release.set()
    assert [r.status_code for r in await asyncio.gather(*first)] == [200, 200]
    assert (await ask(gw, cid, secret)).status_code == 200  # the queue drained


@pytest.mark.parametrize("known", [True, False], ids=["known-id", "unknown-id"])
async def test_a_client_id_that_failed_too_often_gets_429_without_a_check(
    small_gw: Gateway, checks: list[tuple[str, str]], known: bool
) -> None:
    gw = small_gw
    created = await gw.consumer(apis=["echo"])
    other = await gw.consumer(apis=["echo"])
    cid = created["client_id"] if known else "made-up-client-id"
    for _ in range(3):
        assert (await ask(gw, cid, "wrong")).status_code == 401
    checked = len(checks)

    refused: list[dict[str, Any]] = []
    for secret in ("wrong", created["client_secret"]):
        resp = await ask(gw, cid, secret)
        assert resp.status_code == 429, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert 1 <= int(resp.headers["retry-after"]) <= 60
        refused.append(resp.json())
    assert len(checks) == checked  # no check ran, not even for the right secret
    assert {p["code"] for p in refused} == {"too_many_failed_attempts"}

    # Other ids are not affected; the id works again once its window has passed.
    assert await gw.token(other["client_id"], other["client_secret"])
    limiter = gw.state.secret_checks
    later = time.monotonic() + 61
    limiter.clock = lambda: later
    if known:
        assert await gw.token(cid, created["client_secret"])
    else:
        assert (await ask(gw, cid, "wrong")).status_code == 401


async def test_a_success_clears_the_failures(small_gw: Gateway) -> None:
    gw = small_gw
    created = await gw.consumer(apis=["echo"])
    cid, secret = created["client_id"], created["client_secret"]
    for _ in range(2):
        assert (await ask(gw, cid, "wrong")).status_code == 401
    assert await gw.token(cid, secret)
    for _ in range(2):
        assert (await ask(gw, cid, "wrong")).status_code == 401
    assert await gw.token(cid, secret)
