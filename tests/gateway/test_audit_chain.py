"""The audit log's hash chain: one chain from concurrent writers, every tampering found at its
seq by `verify` and by `lgsp audit verify`, existing records chained by the migration."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from alembic import command
from prometheus_client import CollectorRegistry
from sqlalchemy import Connection, event, insert, text
from typer.testing import CliRunner

from gateway.audit import chain, checkpoint
from gateway.fastpath.audit import AuditLog, AuditMetrics, CallRecord, Checkpoints
from gateway.main import MIGRATIONS
from gateway.models import Base
from lgsp.cli import cli
from lgsp_kit import db as dbmod
from tests.gateway.conftest import Gateway

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def call(n: int, writer: str = "w0") -> CallRecord:
    return CallRecord(
        api="dossier",
        method="POST" if n % 3 else "GET",
        path=f"/dossier/v1/dossiers/{n}",
        request_id=f"{writer}-{n:06d}",
        at=T0 + timedelta(microseconds=1_000_003 * n),
        client_id=None if n % 5 == 0 else "cong-dvc-tinh",
        organ_code="000.00.00.H03",
        tier="Gold",
        route="/dossier/v1/dossiers/{code}",
        status=201 if n % 7 else 401,
        request_bytes=n * 10,
        response_bytes=n * 3,
        upstream_ms=None if n % 4 == 0 else n / 7,
        total_ms=n / 3 + 0.25,
    )


def new_log(database: dbmod.Database, *, batch_size: int = 500) -> AuditLog:
    metrics = AuditMetrics(CollectorRegistry())
    return AuditLog(
        database, metrics, batch_size=batch_size, flush_seconds=60, buffer_limit=1_000_000
    )


@pytest.fixture
def db(database_url: str) -> Iterator[dbmod.Database]:
    dbmod.upgrade(MIGRATIONS, database_url)
    database = dbmod.Database(database_url)
    yield database
    database.dispose()


def execute(database: dbmod.Database, sql: str, **params: Any) -> None:
    with database.session() as session:
        session.connection().execute(text(sql), params)


def rows(database: dbmod.Database, sql: str, **params: Any) -> list[Any]:
    with database.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


async def write(database: dbmod.Database, count: int) -> None:
    log = new_log(database)
    for n in range(1, count + 1):
        log.record(call(n))
    assert await log.flush() == count


def cli_verify(database_url: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "--database-url", database_url, *extra])
    return result.exit_code, result.output


async def test_concurrent_writers_build_one_chain(database_url: str, db: dbmod.Database) -> None:
    # Four gateway processes, each with its own engine and buffer, flushing at the same time.
    writers = 4
    each = 600
    bases = [dbmod.Database(database_url) for _ in range(writers)]
    try:
        logs = [new_log(base, batch_size=40) for base in bases]
        # In rounds: every round, each writer flushes one batch while the others do.
        for start in range(0, each, 40):
            for w, log in enumerate(logs):
                for n in range(start + 1, start + 41):
                    log.record(call(n, f"w{w}"))
            written = await asyncio.gather(*(log.flush() for log in logs))
            assert written == [40] * writers
    finally:
        for base in bases:
            base.dispose()

    verdict = chain.verify(db, batch=250)
    assert verdict.broken is None
    assert verdict.records == writers * each
    listed = rows(db, "SELECT seq, request_id, prev_hash, hash FROM audit_record ORDER BY seq")
    assert [r[0] for r in listed] == list(range(1, writers * each + 1))
    # The writers' batches interleave in the chain (at least writers - 1 owner switches in each
    # round), and each writer's records keep their order.
    owners = [r[1].split("-")[0] for r in listed]
    switches = sum(a != b for a, b in pairwise(owners))
    assert switches >= (writers - 1) * (each // 40)
    for w in range(writers):
        mine = [r[1] for r in listed if r[1].startswith(f"w{w}-")]
        assert mine == [f"w{w}-{n:06d}" for n in range(1, each + 1)]
    assert [r[2] for r in listed[1:]] == [r[3] for r in listed[:-1]]
    head = rows(db, "SELECT seq, hash FROM audit_chain_head")
    assert [tuple(h) for h in head] == [(writers * each, listed[-1][3])]
    assert verdict.head_hash == listed[-1][3]


async def test_a_batch_over_one_statement_is_written_whole(db: dbmod.Database) -> None:
    # SQLite takes a batch as multi-row INSERTs that fit the smallest variable limit any build
    # has (999, set here); the batch is split, in order, in one transaction.
    if db.engine.dialect.name == "sqlite":
        db.engine.dispose()

        @event.listens_for(db.engine, "connect")
        def low_limit(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    log = new_log(db, batch_size=5_000)
    for n in range(1, 4_501):
        log.record(call(n))
    assert await log.flush() == 4_500
    stored = rows(db, "SELECT seq, request_id FROM audit_record ORDER BY seq")
    assert [(seq, rid) for seq, rid in stored] == [(n, f"w0-{n:06d}") for n in range(1, 4_501)]
    assert chain.verify(db).intact


async def test_the_hash_is_sha256_of_the_documented_encoding(db: dbmod.Database) -> None:
    await write(db, 2)
    (first,) = rows(db, "SELECT * FROM audit_record WHERE seq = 1")
    c = call(1)
    payload = [
        "lgsp-audit-chain-1",
        1,
        "2026-11-26T03:00:01.000003+00:00",
        "w0-000001",
        "cong-dvc-tinh",
        "000.00.00.H03",
        "Gold",
        "dossier",
        "POST",
        "/dossier/v1/dossiers/{code}",
        201,
        10,
        3,
        c.upstream_ms,
        c.total_ms,
        "0" * 64,
    ]
    encoded = json.dumps(payload, separators=(",", ":")).encode()
    assert first.prev_hash == "0" * 64
    assert first.hash == hashlib.sha256(encoded).hexdigest()


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        'quote " and back\\slash',
        "Hồ sơ \u0111\u1ea5t đai",
        "tab\tnew\nline\x01",
        "\ufffd",
        "",
    ],
)
@pytest.mark.parametrize("number", [0.0, 1e-07, 123456789.123, 0.1 + 0.2, 2.5e16])
def test_the_hash_matches_the_json_encoder_for_any_value(text: str, number: float) -> None:
    fields = (T0, text, None, text, None, "api", "GET", text, 599, 2**40, 0, None, number)
    payload = ["lgsp-audit-chain-1", 7, "2026-11-26T03:00:00.000000+00:00", *fields[1:], "f" * 64]
    encoded = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
    assert chain.link(7, fields, "f" * 64) == hashlib.sha256(encoded).hexdigest()


def test_the_hash_refuses_what_json_cannot_carry() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            chain.link(1, (T0, "r", None, None, None, "a", "GET", "/", 200, 0, 0, None, bad), "0")


async def test_an_intact_chain_verifies_and_the_cli_exits_0(
    database_url: str, db: dbmod.Database
) -> None:
    code, out = cli_verify(database_url)
    assert (code, out) == (0, f"chain intact: 0 records, head {'0' * 64}\n")
    await write(db, 12)
    (head,) = rows(db, "SELECT hash FROM audit_chain_head")
    code, out = cli_verify(database_url, "--anchor", f"12:{head[0]}")
    assert (code, out) == (0, f"chain intact: 12 records, head {head[0]}\n")


def forged_link(database: dbmod.Database, seq: int, prev: str, **change: Any) -> dict[str, Any]:
    """Values of a record at `seq` that link correctly onto `prev` (a forger who knows the
    encoding), built from call(seq) with `change` applied."""
    c = call(seq)
    for name, value in change.items():
        setattr(c, name, value)
    fields = c.fields()
    return {
        "seq": seq,
        **dict(zip(chain.FIELDS, fields, strict=True)),
        "prev_hash": prev,
        "hash": chain.link(seq, fields, prev),
    }


def insert_record(database: dbmod.Database, values: dict[str, Any]) -> None:
    with database.session() as session:
        session.execute(insert(Base.metadata.tables["audit_record"]), [values])


def hash_of(database: dbmod.Database, seq: int) -> str:
    return str(rows(database, "SELECT hash FROM audit_record WHERE seq = :s", s=seq)[0][0])


def edit_field(database: dbmod.Database) -> None:
    execute(database, "UPDATE audit_record SET status = 200 WHERE seq = 4")


def edit_and_rehash(database: dbmod.Database) -> None:
    # The edited record is made consistent in itself; the next link then breaks.
    values = forged_link(database, 4, hash_of(database, 3), status=200)
    execute(
        database,
        "UPDATE audit_record SET status = :st, hash = :h WHERE seq = 4",
        st=values["status"],
        h=values["hash"],
    )


def edit_time(database: dbmod.Database) -> None:
    with database.session() as session:
        table = Base.metadata.tables["audit_record"]
        session.execute(table.update().where(table.c.seq == 7).values(at=T0 + timedelta(days=-1)))


def edit_prev_hash(database: dbmod.Database) -> None:
    execute(database, "UPDATE audit_record SET prev_hash = :p WHERE seq = 8", p="f" * 64)


def delete_middle(database: dbmod.Database) -> None:
    execute(database, "DELETE FROM audit_record WHERE seq = 6")


def delete_first(database: dbmod.Database) -> None:
    execute(database, "DELETE FROM audit_record WHERE seq = 1")


def delete_last(database: dbmod.Database) -> None:
    execute(database, "DELETE FROM audit_record WHERE seq = 10")


def forge_after_head(database: dbmod.Database) -> None:
    insert_record(database, forged_link(database, 11, hash_of(database, 10)))


def forge_and_move_head(database: dbmod.Database) -> None:
    # A forged record with a garbage hash, and the head moved over it.
    values = forged_link(database, 11, hash_of(database, 10))
    values["hash"] = "a" * 64
    insert_record(database, values)
    execute(database, "UPDATE audit_chain_head SET seq = 11, hash = :h", h="a" * 64)


def forge_before_start(database: dbmod.Database) -> None:
    insert_record(database, forged_link(database, 0, chain.GENESIS))


def replace_in_middle(database: dbmod.Database) -> None:
    # A record swapped for a forged one with the same seq and the right prev_hash.
    values = forged_link(database, 5, hash_of(database, 4), client_id="someone-else")
    execute(database, "DELETE FROM audit_record WHERE seq = 5")
    insert_record(database, values)


def truncate_head(database: dbmod.Database) -> None:
    execute(database, "DELETE FROM audit_chain_head")


TAMPERING: list[tuple[Callable[[dbmod.Database], None], int | None, str]] = [
    (edit_field, 4, "hash_mismatch"),
    (edit_and_rehash, 5, "prev_hash_mismatch"),
    (edit_time, 7, "hash_mismatch"),
    (edit_prev_hash, 8, "prev_hash_mismatch"),
    (delete_middle, 6, "gap"),
    (delete_first, 1, "gap"),
    (delete_last, 10, "head_mismatch"),
    (forge_after_head, 11, "beyond_head"),
    (forge_and_move_head, 11, "hash_mismatch"),
    (forge_before_start, 0, "unexpected_seq"),
    (replace_in_middle, 6, "prev_hash_mismatch"),
    (truncate_head, None, "head_missing"),
]


@pytest.mark.parametrize(
    ("tamper", "seq", "kind"), TAMPERING, ids=[t[0].__name__ for t in TAMPERING]
)
async def test_tampering_is_reported_at_its_seq(
    database_url: str,
    db: dbmod.Database,
    tamper: Callable[[dbmod.Database], None],
    seq: int | None,
    kind: str,
) -> None:
    await write(db, 10)
    assert chain.verify(db).broken is None
    tamper(db)

    broken = chain.verify(db, batch=3).broken
    assert broken is not None
    assert (broken.seq, broken.kind) == (seq, kind), broken

    code, out = cli_verify(database_url)
    assert code == 1, out
    where = f"seq {seq}" if seq is not None else "the chain head"
    assert out.startswith(f"chain broken at {where}"), out
    assert f": {kind}: " in out


async def test_a_rewritten_chain_is_caught_by_a_noted_anchor(
    database_url: str, db: dbmod.Database
) -> None:
    await write(db, 10)
    noted = f"10:{hash_of(db, 10)}"
    # Record 3 edited, then every later record and the head rewritten to match.
    prev = hash_of(db, 2)
    for seq in range(3, 11):
        values = forged_link(db, seq, prev, **({"status": 200} if seq == 3 else {}))
        execute(
            db,
            "UPDATE audit_record SET status = :st, prev_hash = :p, hash = :h WHERE seq = :s",
            st=values["status"],
            p=prev,
            h=values["hash"],
            s=seq,
        )
        prev = values["hash"]
    execute(db, "UPDATE audit_chain_head SET hash = :h", h=prev)
    assert chain.verify(db).broken is None

    code, out = cli_verify(database_url, "--anchor", noted)
    assert code == 1
    assert out.startswith("chain broken at seq 10"), out
    assert "anchor_mismatch" in out
    code, out = cli_verify(database_url, "--anchor", f"11:{'0' * 64}")
    assert code == 1 and "anchor_mismatch" in out


def test_the_cli_refuses_a_bad_anchor_and_a_missing_database(tmp_path: Any) -> None:
    code, out = cli_verify(f"sqlite:///{tmp_path / 'nowhere.db'}")
    assert code == 2 and "no database" in out
    code, out = cli_verify(f"sqlite:///{tmp_path / 'nowhere.db'}", "--anchor", "12:abc")
    assert code == 2 and "SEQ:HASH" in out


async def test_the_migration_chains_records_written_before_it(database_url: str) -> None:
    cfg = dbmod.alembic_config(MIGRATIONS, database_url)
    command.upgrade(cfg, "0002")
    database = dbmod.Database(database_url)
    try:
        old = [call(n) for n in range(1, 2502)]
        with database.engine.begin() as conn:
            legacy_insert(conn, old)
        command.upgrade(cfg, "head")
        verdict = chain.verify(database)
        assert verdict.broken is None and verdict.records == 2501
        ids = rows(database, "SELECT id, seq FROM audit_record ORDER BY id")
        assert all(i == s for i, s in ids)
        # New records go on from the migrated head.
        await write(database, 5)
        verdict = chain.verify(database)
        assert verdict.broken is None and verdict.records == 2506
        execute(database, "UPDATE audit_record SET route = '/x' WHERE seq = 1200")
        broken = chain.verify(database).broken
        assert broken is not None and (broken.seq, broken.kind) == (1200, "hash_mismatch")
    finally:
        database.dispose()


def legacy_insert(conn: Connection, calls: list[CallRecord]) -> None:
    """Rows as the audit log wrote them before the chain (revision 0002's columns only)."""
    table = Base.metadata.tables["audit_record"]
    conn.execute(insert(table), [dict(zip(chain.FIELDS, c.fields(), strict=True)) for c in calls])


async def test_hostile_values_in_a_call_are_stored_and_chained(
    gw: Gateway, database_url: str
) -> None:
    """Regression: a NUL in the path (PostgreSQL refuses NUL in text) or a method longer than
    its column used to fail the whole batch, retried for ever, so nothing more was audited."""
    _, auth = await gw.bearer(apis=["echo"], tier="Gold")
    resp = await gw.client.get("/echo/v1/things/a%00b", headers={**auth, "X-Request-ID": "nul"})
    assert resp.status_code < 500
    resp = await gw.client.request(
        "PROPFINDXXXXXXXXXXXXXXXXXXXX", "/echo/v1/things", headers={"X-Request-ID": "method"}
    )
    assert resp.status_code == 401
    resp = await gw.client.get("/echo/v1/" + "ư" * 600, headers={"X-Request-ID": "long"})
    assert resp.status_code == 401
    resp = await gw.client.get("/echo/v1/things", headers={**auth, "X-Request-ID": "after"})
    assert resp.status_code == 200

    records = {r["request_id"]: r for r in await gw.audit(limit=10)}
    assert set(records) >= {"nul", "method", "long", "after"}
    assert records["nul"]["route"] == "/echo/v1/things/a\ufffdb"
    assert records["method"]["method"] == "PROPFINDXXXXXXXX"
    assert records["long"]["route"] == ("/echo/v1/" + "ư" * 600)[:500]
    verdict = chain.verify(gw.runtime.db)
    assert verdict.broken is None and verdict.records >= 4


def checkpointed_log(database: dbmod.Database, path: Any, key: bytes) -> AuditLog:
    metrics = AuditMetrics(CollectorRegistry())
    return AuditLog(
        database,
        metrics,
        batch_size=500,
        flush_seconds=0.05,
        buffer_limit=1_000_000,
        checkpoints=Checkpoints(path, key, every_seconds=3600),
    )


def chain_broken(log: AuditLog) -> float | None:
    return log.metrics.chain_broken._value.get()


async def test_a_missing_head_halts_the_writer_it_is_not_rebuilt(
    db: dbmod.Database, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: the writer rebuilt a missing head from the last record left, so deleting
    the newest records and the head went unnoticed and later records chained on."""
    key = b"k" * 32
    log = checkpointed_log(db, tmp_path / "cp.jsonl", key)
    for n in range(1, 11):
        log.record(call(n))
    await log.flush()
    assert chain_broken(log) == 0
    execute(db, "DELETE FROM audit_record WHERE seq > 7")
    execute(db, "DELETE FROM audit_chain_head")

    for n in range(11, 14):
        log.record(call(n))
    with pytest.raises(chain.ChainBroken) as caught:
        await log.flush()
    assert caught.value.kind == "head_missing"
    assert chain_broken(log) == 1
    assert "audit writer is halted" in caplog.text
    # Nothing written, nothing rebuilt; the records wait in memory.
    assert rows(db, "SELECT count(*) FROM audit_chain_head")[0][0] == 0
    assert rows(db, "SELECT max(seq) FROM audit_record")[0][0] == 7
    assert len(log._buffer) == 3

    # The background writer keeps trying and keeps writing nothing.
    log.start()
    await asyncio.sleep(0.3)
    assert rows(db, "SELECT max(seq) FROM audit_record")[0][0] == 7
    assert chain_broken(log) == 1

    # The operator puts the head back where the records end (after looking): the writer goes on.
    execute(
        db,
        "INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 7, :h)",
        h=hash_of(db, 7),
    )
    for _ in range(40):
        await asyncio.sleep(0.05)
        if not log._buffer:
            break
    await log.stop()
    assert chain_broken(log) == 0
    assert rows(db, "SELECT max(seq) FROM audit_record")[0][0] == 10
    # The chain is whole again, but the signed checkpoint still tells of the seq 10 before.
    assert chain.verify(db).intact
    signed, forged = checkpoint.read(tmp_path / "cp.jsonl", key)
    assert forged is None and [c.seq for c in signed] == [10, 10]
    broken = chain.verify(db, checkpoints=[(c.seq, c.hash) for c in signed]).broken
    assert broken is not None and (broken.seq, broken.kind) == (10, "checkpoint_mismatch")


async def test_a_head_that_is_not_the_last_record_halts_the_writer(db: dbmod.Database) -> None:
    await write(db, 10)
    execute(db, "DELETE FROM audit_record WHERE seq > 8")
    log = new_log(db)
    log.record(call(11))
    with pytest.raises(chain.ChainBroken) as caught:
        await log.flush()
    assert caught.value.kind == "head_mismatch"
    assert chain_broken(log) == 1
    assert rows(db, "SELECT max(seq) FROM audit_record")[0][0] == 8
