"""Signed checkpoints outside the database: written by the gateway (periodically and at
shutdown), checked by `lgsp audit verify --checkpoint`, which finds a truncated chain whose
head was set back and a forged checkpoint."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gateway.audit import chain, checkpoint
from gateway.models import Base
from lgsp.cli import cli
from lgsp_kit import db as dbmod
from tests.gateway.conftest import gateway_settings, open_gateway

pytestmark = pytest.mark.anyio


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def verify_cli(database_url: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "--database-url", database_url, *extra])
    return result.exit_code, result.output


def execute(database_url: str, sql: str, **params: Any) -> None:
    database = dbmod.Database(database_url)
    try:
        with database.session() as session:
            session.connection().execute(text(sql), params)
    finally:
        database.dispose()


def one(database_url: str, sql: str, **params: Any) -> Any:
    database = dbmod.Database(database_url)
    try:
        with database.engine.connect() as conn:
            return conn.execute(text(sql), params).first()
    finally:
        database.dispose()


async def run_gateway(tmp_path: Path, database_url: str, upstreams: dict[str, str]) -> int:
    """A gateway that serves some calls and stops; returns the head it left."""
    settings = gateway_settings(tmp_path, database_url, upstreams, audit_flush_seconds=3600.0)
    async with open_gateway(settings) as gw:
        _, auth = await gw.bearer(apis=["echo"], tier="Gold")
        for _ in range(5):
            assert (await gw.client.get("/echo/v1/things", headers=auth)).status_code == 200
    return int(one(database_url, "SELECT seq FROM audit_chain_head")[0])


async def test_the_gateway_signs_the_head_at_shutdown_in_private_files(
    tmp_path: Path, database_url: str, upstreams: dict[str, str]
) -> None:
    head = await run_gateway(tmp_path, database_url, upstreams)
    assert head == 8  # admin token, consumer registered, token, five calls
    key_file, file = tmp_path / "audit-checkpoint.key", tmp_path / "audit-checkpoints.jsonl"
    assert mode(key_file) == 0o600 and mode(file) == 0o600
    key = key_file.read_bytes().strip()
    signed, forged = checkpoint.read(file, key)
    assert forged is None and signed[-1].seq == head
    line = json.loads(file.read_text().splitlines()[-1])
    assert set(line) == {"seq", "hash", "at", "key", "mac"}
    assert line["hash"] == one(database_url, "SELECT hash FROM audit_chain_head")[0]
    # The key is nowhere in the database.
    dump = json.dumps([list(r) for r in _all_rows(database_url)], default=str, ensure_ascii=False)
    assert key.decode() not in dump

    code, out = verify_cli(
        database_url, "--checkpoint", str(file), "--checkpoint-key-file", str(key_file)
    )
    assert code == 0, out
    assert out.startswith(f"chain intact: {head} records")
    assert f"the newest is seq {head}" in out


def _all_rows(database_url: str) -> list[Any]:
    database = dbmod.Database(database_url)
    try:
        with database.engine.connect() as conn:
            found: list[Any] = []
            for table in Base.metadata.sorted_tables:
                found += list(conn.execute(table.select()))
            assert len(found) > 10
            return found
    finally:
        database.dispose()


async def test_newest_records_and_head_deleted_are_found_with_the_checkpoint(
    tmp_path: Path, database_url: str, upstreams: dict[str, str]
) -> None:
    """Regression: deleting the newest records and the head (set back onto what is left, as
    the writer used to do by itself) left a chain that verified as intact."""
    head = await run_gateway(tmp_path, database_url, upstreams)
    file, key_file = tmp_path / "audit-checkpoints.jsonl", tmp_path / "audit-checkpoint.key"
    args = ("--checkpoint", str(file), "--checkpoint-key-file", str(key_file))
    keep = head - 3
    execute(database_url, "DELETE FROM audit_record WHERE seq > :k", k=keep)
    execute(database_url, "DELETE FROM audit_chain_head")

    code, out = verify_cli(database_url, *args)
    assert code == 1
    assert out.startswith(f"chain broken at seq {head}: truncated: "), out

    # The head rebuilt onto the last record left: without the checkpoint all looks intact.
    last = one(database_url, "SELECT hash FROM audit_record WHERE seq = :k", k=keep)[0]
    execute(
        database_url,
        "INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, :k, :h)",
        k=keep,
        h=last,
    )
    assert verify_cli(database_url)[0] == 0
    code, out = verify_cli(database_url, *args)
    assert code == 1
    assert out.startswith(f"chain broken at seq {head}: truncated: "), out
    assert f"the chain ends at seq {keep}" in out


async def test_a_forged_or_edited_checkpoint_is_refused(
    tmp_path: Path, database_url: str, upstreams: dict[str, str]
) -> None:
    head = await run_gateway(tmp_path, database_url, upstreams)
    file, key_file = tmp_path / "audit-checkpoints.jsonl", tmp_path / "audit-checkpoint.key"
    key = key_file.read_bytes().strip()
    original = file.read_text()
    (good,) = [json.loads(line) for line in original.splitlines()]
    # Someone who deleted the newest records writes a checkpoint that matches what is left.
    keep = head - 2
    kept_hash = one(database_url, "SELECT hash FROM audit_record WHERE seq = :k", k=keep)[0]
    forgeries: dict[str, str] = {
        "edited seq": json.dumps({**good, "seq": keep, "hash": kept_hash}),
        "edited time": json.dumps({**good, "at": "2020-01-01T00:00:00.000000+00:00"}),
        "other key": checkpoint.sign(b"x" * 32, keep, kept_hash).line().strip(),
        "not json": "seq=12 hash=abc",
        "missing mac": json.dumps({k: v for k, v in good.items() if k != "mac"}),
    }
    for name, line in forgeries.items():
        file.write_text(original + line + "\n")
        code, out = verify_cli(
            database_url, "--checkpoint", str(file), "--checkpoint-key-file", str(key_file)
        )
        assert code == 1, (name, out)
        assert out.startswith(f"checkpoint forged: {file} line 2: "), (name, out)
    # The same forgery signed with the right key would pass the HMAC (and then the chain).
    file.write_text(original + checkpoint.sign(key, head, good["hash"]).line())
    code, out = verify_cli(
        database_url, "--checkpoint", str(file), "--checkpoint-key-file", str(key_file)
    )
    assert code == 0, out


async def test_the_key_comes_from_the_setting_when_given(
    tmp_path: Path, database_url: str, upstreams: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s" * 40
    settings = gateway_settings(tmp_path, database_url, upstreams, audit_checkpoint_key=secret)
    async with open_gateway(settings) as gw:
        await gw.consumer(apis=["echo"])
    assert not (tmp_path / "audit-checkpoint.key").exists()
    file = tmp_path / "audit-checkpoints.jsonl"
    signed, forged = checkpoint.read(file, secret.encode())
    assert forged is None and signed
    monkeypatch.setenv("GATEWAY_AUDIT_CHECKPOINT_KEY", secret)
    from gateway.settings import get_settings

    get_settings.cache_clear()
    try:
        code, out = verify_cli(database_url, "--checkpoint", str(file))
        assert code == 0, out
        monkeypatch.setenv("GATEWAY_AUDIT_CHECKPOINT_KEY", "t" * 40)
        get_settings.cache_clear()
        code, out = verify_cli(database_url, "--checkpoint", str(file))
        assert code == 1 and "bad HMAC" in out
    finally:
        get_settings.cache_clear()

    with pytest.raises(checkpoint.CheckpointError, match="at least 32"):
        checkpoint.load_key("short", tmp_path / "k", create=True)


def test_the_cli_refuses_a_missing_checkpoint_file_or_key(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'g.db'}"
    code, out = verify_cli(
        db,
        "--checkpoint",
        str(tmp_path / "none.jsonl"),
        "--checkpoint-key-file",
        str(tmp_path / "nokey"),
    )
    assert code == 2 and "checkpoint key" in out
    (tmp_path / "key").write_text("k" * 64)
    code, out = verify_cli(
        db,
        "--checkpoint",
        str(tmp_path / "none.jsonl"),
        "--checkpoint-key-file",
        str(tmp_path / "key"),
    )
    assert code == 2 and "cannot read" in out
    (tmp_path / "empty.jsonl").write_text("")
    code, out = verify_cli(
        db,
        "--checkpoint",
        str(tmp_path / "empty.jsonl"),
        "--checkpoint-key-file",
        str(tmp_path / "key"),
    )
    assert code == 2 and "no checkpoint" in out


def test_checkpoint_mac_is_hmac_sha256_of_the_documented_text() -> None:
    import hashlib
    import hmac
    from datetime import UTC, datetime

    key = b"k" * 32
    cp = checkpoint.sign(key, 12, "ab" * 32, datetime(2026, 11, 27, 1, 2, 3, tzinfo=UTC))
    assert cp.at == "2026-11-27T01:02:03.000000+00:00"
    message = f"lgsp-audit-checkpoint-1\n12\n{'ab' * 32}\n{cp.at}".encode()
    assert cp.mac == hmac.new(key, message, hashlib.sha256).hexdigest()
    assert cp.key == hashlib.sha256(key).hexdigest()[:16]
    assert chain.GENESIS == "0" * 64
