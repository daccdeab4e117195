"""Secrets at rest (finding 7 of issue 15): the token-signing keys are stored PKCS#8-encrypted
with `GATEWAY_KEY_PASSPHRASE`, and the data dir and what the gateway writes there are the
owner's only (0700 / 0600)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import select

from gateway.auth.tokens import KeyPassphraseError, new_private_pem
from gateway.main import MIGRATIONS
from gateway.models import SigningKey
from gateway.settings import DEV_KEY_PASSPHRASE, Settings
from lgsp_kit import db as dbmod
from tests.conftest import modes
from tests.gateway.conftest import Gateway, gateway_settings, open_gateway

pytestmark = pytest.mark.anyio

ENCRYPTED = "-----BEGIN ENCRYPTED PRIVATE KEY-----"


def stored_keys(gw: Gateway) -> dict[str, str]:
    with gw.runtime.db.session() as session:
        return {k.kid: k.private_pem for k in session.exec(select(SigningKey))}


async def test_signing_keys_are_stored_encrypted(gw: Gateway) -> None:
    first = await asyncio.to_thread(stored_keys, gw)
    resp = await gw.client.post("/admin/signing-keys/rotate", headers=gw.admin())
    assert resp.status_code == 201, resp.text
    keys = await asyncio.to_thread(stored_keys, gw)

    assert len(first) == 1 and len(keys) == 2
    for kid, pem in keys.items():
        assert pem.startswith(ENCRYPTED), kid
        assert "BEGIN PRIVATE KEY" not in pem
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(pem.encode(), None)
        key = serialization.load_pem_private_key(pem.encode(), DEV_KEY_PASSPHRASE.encode())
        assert isinstance(key, Ed25519PrivateKey)
    # The ring signs with the stored (encrypted) key: its public half is published.
    token = await gw.token(*(await _demo(gw)))
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid == resp.json()["kid"]


async def _demo(gw: Gateway) -> tuple[str, str]:
    created = await gw.consumer(apis=["echo"])
    return created["client_id"], created["client_secret"]


def _plain_key_database(url: str) -> tuple[str, str]:
    """A database as a gateway before encryption at rest left it: one plain-text key."""
    dbmod.upgrade(MIGRATIONS, url)
    database = dbmod.Database(url)
    try:
        pem = new_private_pem()
        with database.session() as session:
            session.add(
                SigningKey(kid="plain-old-key", private_pem=pem, created_at=datetime.now(UTC))
            )
        return "plain-old-key", pem
    finally:
        database.dispose()


async def test_a_plain_text_key_from_before_is_encrypted_at_start(
    tmp_path: Path, database_url: str, upstreams: dict[str, str]
) -> None:
    kid, plain = await asyncio.to_thread(_plain_key_database, database_url)
    settings = gateway_settings(tmp_path, database_url, upstreams, key_passphrase="s3cret-pass")
    async with open_gateway(settings) as gw:
        keys = await asyncio.to_thread(stored_keys, gw)
        assert list(keys) == [kid]
        assert keys[kid].startswith(ENCRYPTED)
        key = serialization.load_pem_private_key(keys[kid].encode(), b"s3cret-pass")
        old = serialization.load_pem_private_key(plain.encode(), None)
        assert isinstance(key, Ed25519PrivateKey) and isinstance(old, Ed25519PrivateKey)
        assert key.private_bytes_raw() == old.private_bytes_raw()  # the same key, kept
        # Still the signing key: tokens issued before keep verifying.
        assert jwt.get_unverified_header(gw.admin_token)["kid"] == kid


async def test_a_wrong_passphrase_stops_the_start(
    tmp_path: Path, database_url: str, upstreams: dict[str, str]
) -> None:
    async with open_gateway(gateway_settings(tmp_path, database_url, upstreams)):
        pass
    settings = gateway_settings(tmp_path, database_url, upstreams, key_passphrase="other-one")
    with pytest.raises(KeyPassphraseError, match="GATEWAY_KEY_PASSPHRASE"):
        async with open_gateway(settings):
            pass


def test_the_dev_passphrase_is_refused_outside_dev(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="GATEWAY_KEY_PASSPHRASE"):
        Settings(data_dir=tmp_path, environment="production")
    with pytest.raises(ValueError, match="GATEWAY_KEY_PASSPHRASE"):
        Settings(data_dir=tmp_path, key_passphrase="")
    assert Settings(
        data_dir=tmp_path, environment="production", key_passphrase="q7Vd-3kLp-Zr9w-Tx2m-Hc4n"
    )


async def test_the_data_dir_is_0700_and_its_files_0600(
    tmp_path: Path, upstreams: dict[str, str], usual_umask: None
) -> None:
    data = tmp_path / "var"
    settings = gateway_settings(data, "", upstreams)  # the embedded default: SQLite in var/
    async with open_gateway(settings) as gw:
        await gw.token(*(await _demo(gw)))  # a write: the WAL is in use
        found = modes(data)

    assert {"gateway.db", "gateway.db-wal", "gateway.db-shm"} <= set(found), found
    assert {"demo-client.json", "admin-client.json", "gateway.startup.lock"} <= set(found)
    assert found.pop(".") == 0o700
    assert found == dict.fromkeys(found, 0o600)


async def test_existing_files_are_made_owner_only(
    tmp_path: Path, upstreams: dict[str, str], usual_umask: None
) -> None:
    data = tmp_path / "var"
    async with open_gateway(gateway_settings(data, "", upstreams)):
        pass
    # As an older version left them.
    data.chmod(0o755)
    for path in data.iterdir():
        path.chmod(0o644)
    async with open_gateway(gateway_settings(data, "", upstreams)) as gw:
        await gw.token(*(await _demo(gw)))
        found = modes(data)

    assert found.pop(".") == 0o700
    assert found == dict.fromkeys(found, 0o600)
