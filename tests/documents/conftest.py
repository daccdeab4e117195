"""Fixtures of the documents service tests: the app on real stores, a pool of signing keys."""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts.events import Envelope, parse_event
from services.documents.main import create_app
from services.documents.settings import Settings
from services.documents.signing import keys
from tests.conftest import TokenMint, serve, service_settings

WRITE = ["documents:read", "documents:write"]
PROVINCE = "000.00.00.H03"  # UBND tỉnh
SO_TTTT = "000.00.06.H03"  # Sở Thông tin và Truyền thông
DISTRICT = "000.00.31.H03"  # UBND Thành phố Bắc Giang
DISTRICT_2 = "000.00.32.H03"  # UBND Huyện Yên Thế
COMMUNE = "000.01.31.H03"  # UBND Phường Thọ Xương (under Thành phố Bắc Giang)
PDF = b"%PDF-1.4\n% van ban\n" + bytes(range(256))


@pytest.fixture(scope="session")
def key_pool() -> list[rsa.RSAPrivateKey]:
    """Real RSA-3072 keys, made once per test session: tests sign with many organs' keys but
    should not spend a third of a second making each."""
    return [keys.new_private_key() for _ in range(6)]


@pytest.fixture(autouse=True)
def pooled_keys(
    monkeypatch: pytest.MonkeyPatch, key_pool: list[rsa.RSAPrivateKey]
) -> Iterator[None]:
    cycle = itertools.cycle(key_pool)
    monkeypatch.setattr(keys, "new_private_key", lambda: next(cycle))
    yield


@pytest.fixture
def settings(tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint) -> Settings:
    s: Settings = service_settings(
        Settings,
        tmp_path,
        database_url,
        nats_url,
        mint,
        max_attachment_bytes=4096,
        max_package_bytes=65536,
    )
    return s


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(settings)) as c:
        yield c


@pytest.fixture
def headers(mint: TokenMint) -> dict[str, str]:
    """A consumer registered for the province UBND: every organ is in its scope."""
    return mint.headers(WRITE)


@pytest.fixture
def second_database_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> str:
    """Another empty database on the same backend: a second system's store."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'other.db'}"
    make: Callable[[], str] = request.getfixturevalue("new_database")
    return make()


def attachment(content: bytes = PDF, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "van-ban.pdf",
        "content_type": "application/pdf",
        "content_base64": base64.b64encode(content).decode(),
        **overrides,
    }


def document(from_organ: str, to_organs: list[str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from_organ": from_organ,
        "to_organs": to_organs,
        "code_number": "123",
        "code_notation": "UBND-KGVX",
        "document_type": "CV",
        "subject": "Về việc triển khai liên thông văn bản điện tử bốn cấp",
        "promulgation": {"place": "Bắc Giang", "date": "2023-11-20"},
        "signer": {"full_name": "Trần Văn Bình", "position": "Phó Chủ tịch"},
        "electronic": True,
        "attachments": [attachment()],
        "sent_at": "2023-11-20T08:00:00+07:00",
    }
    body.update(overrides)
    return body


async def connect(
    client: httpx.AsyncClient, headers: dict[str, str], *codes: str, system: str = "qlvb"
) -> None:
    for code in codes:
        resp = await client.post(
            f"/v1/organs/{code}/connections",
            json={"system": system, "connected": True, "at": "2023-01-02T08:00:00+07:00"},
            headers=headers,
        )
        assert resp.status_code == 200, resp.text


async def send(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    resp = await client.post("/v1/documents", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    result: dict[str, Any] = resp.json()
    return result


async def set_status(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    document_id: str,
    organ: str,
    status: str,
    *,
    at: str,
    expect: int = 200,
    **extra: Any,
) -> dict[str, Any]:
    resp = await client.post(
        f"/v1/documents/{document_id}/recipients/{organ}/status",
        json={"status": status, "at": at, **extra},
        headers=headers,
    )
    assert resp.status_code == expect, resp.text
    result: dict[str, Any] = resp.json()
    return result


async def published(
    nats_url: str, done: Callable[[list[Envelope]], bool], within: float = 15.0
) -> list[Envelope]:
    """The documents events on the stream, read until `done` holds (or the time is up)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        events: list[Envelope] = []
        while loop.time() < deadline:
            try:
                await js.stream_info("LGSP")
            except Exception:
                await asyncio.sleep(0.1)
                continue
            sub = await js.pull_subscribe(
                "lgsp.documents.>",
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
            )
            events = []
            while True:
                try:
                    msgs = await sub.fetch(500, timeout=0.3)
                except (TimeoutError, nats.errors.TimeoutError):
                    break
                for msg in msgs:
                    events.append(parse_event(msg.data))
                    await msg.ack()
            await sub.unsubscribe()
            if done(events):
                return events
            await asyncio.sleep(0.2)
        return events
    finally:
        await nc.close()


def of_type(events: list[Envelope], type_: str) -> list[Envelope]:
    return [e for e in events if e.type == type_]
