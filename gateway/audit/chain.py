"""The audit log's hash chain: each record carries the hash of the one before it.

A record's `hash` is SHA-256 over a canonical encoding of its `seq`, its fields and its
`prev_hash` (the previous record's `hash`; 64 zeros for the first record). `seq` counts 1, 2,
3, ... in chain order without gaps. The chain's last link (seq, hash) is kept in the one-row
table `audit_chain_head`; a batch of records is appended in one transaction that holds that
row's lock (`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite the writer's `BEGIN IMMEDIATE`
already holds the database's write lock), so gateway processes writing at once still build
one chain.

Editing a field, removing a record or inserting one shows as a broken link at its `seq`
(`verify`). The hash has no key: whoever can write the database can also rewrite every later
record and the head. Signed checkpoints written outside the database
(`gateway.audit.checkpoint`; `lgsp audit verify --checkpoint FILE`) and heads noted elsewhere
(`--anchor SEQ:HASH`) close that gap.

A missing head, or one that is not the last record, is never rebuilt here: `append` raises
`ChainBroken` and writes nothing, so the writer halts until an operator has looked.

Records of the gateway's own events (`/token`, `/admin` changes) also carry `target` and
`reason`; a record with either set is hashed as version 2, with both after `total_ms`.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import json.encoder
import time
from _json import make_encoder
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, text

from gateway.models import Base
from lgsp_kit.db import Database

TABLE = Base.metadata.tables["audit_record"]
HEAD = Base.metadata.tables["audit_chain_head"]
HEAD_ID = 1
GENESIS = "0" * 64
# Names the encoding; a different encoding would be a new version, chained from the old head.
VERSION = "lgsp-audit-chain-1"
# The hashed fields, in the order they are encoded (and inserted, after `seq`).
FIELDS = (
    "at",
    "request_id",
    "client_id",
    "organ_code",
    "tier",
    "api",
    "method",
    "route",
    "status",
    "request_bytes",
    "response_bytes",
    "upstream_ms",
    "total_ms",
)
# Set on the gateway's own events only (the proxied calls leave them null and keep version 1).
EXTRA_FIELDS = ("target", "reason")
VERSION_2 = "lgsp-audit-chain-2"
INSERT_COLUMNS = ("seq", *FIELDS, *EXTRA_FIELDS, "prev_hash", "hash")
NO_EXTRA = (None,) * len(EXTRA_FIELDS)
# The writer runs in a thread beside the gateway's event loop, and CPython hands the GIL to a
# waiting thread only every 5 ms (`sys.getswitchinterval`). Hashing a batch of 500 records
# holds it for several ms: the writer lets go every PAUSE_EVERY records (hashing them, or
# binding them to one INSERT), so a call waiting on the loop waits well under a millisecond.
PAUSE_EVERY = 64
# Rows per INSERT on SQLite: as many as the smallest variable limit any SQLite build has (999)
# holds. The statement lets go of the GIL while SQLite runs it.
ROWS_PER_INSERT = 999 // len(INSERT_COLUMNS)
ROW_MARKS = "(" + ", ".join("?" * len(INSERT_COLUMNS)) + ")"
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)
# `JSONEncoder.encode` makes a new C encoder on every call, a third of a record's hashing time:
# the same C encoder (the arguments `encode` gives it; no circular check, a record is flat) is
# made once. The text is the same (tests/gateway/test_audit_chain.py).
_chunks = make_encoder(
    None,
    _ENCODER.default,
    json.encoder.encode_basestring_ascii,
    None,
    ":",
    ",",
    False,
    False,
    False,
)


def _encode(value: list[Any]) -> str:
    return "".join(_chunks(value, 0))


def canonical_time(at: datetime) -> str:
    """`2026-11-26T09:45:08.123456+00:00`: UTC, always with microseconds."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def link(seq: int, fields: Sequence[Any], prev_hash: str) -> str:
    """The hash of a record (hex): SHA-256 of the JSON array [VERSION, seq, *fields, prev_hash]
    with `at` as `canonical_time`, integers as integers, times in ms as floats, no spaces,
    non-ASCII escaped. `fields` are the FIELDS values, optionally followed by the EXTRA_FIELDS
    values: when one of those is set the array is [VERSION_2, seq, *fields, target, reason,
    prev_hash]."""
    return _link(seq, canonical_time(fields[0]), fields, prev_hash)


def _link(seq: int, at: str, fields: Sequence[Any], prev_hash: str) -> str:
    """`link` with the record's time already in its canonical text."""
    extra = fields[len(FIELDS) :]
    if extra.count(None) != len(extra):
        payload = _encode([VERSION_2, seq, at, *fields[1:], prev_hash])
    else:
        payload = _encode([VERSION, seq, at, *fields[1 : len(FIELDS)], prev_hash])
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def clean_text(value: str, limit: int) -> str:
    """Text as every backend stores it: no NUL (PostgreSQL refuses it), no lone surrogate
    (not UTF-8), at most the column's length. A path is the caller's to choose."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit]


def _sqlite_time(canonical: str) -> str:
    """A time as `UTCDateTime` stores it on SQLite (naive UTC text with microseconds), from
    its canonical text: `2026-11-26 09:45:08.123456`."""
    return canonical[:10] + " " + canonical[11:26]


@functools.lru_cache(maxsize=4)
def _sqlite_insert(count: int) -> str:
    """One INSERT of `count` rows, not one statement per row (executemany): the writer thread
    lets go of the GIL around each statement and then waits up to the interpreter's switch
    interval to get it back from the event loop; per row, that wait came once per record."""
    names = ", ".join(INSERT_COLUMNS)
    return f"INSERT INTO audit_record ({names}) VALUES " + ", ".join([ROW_MARKS] * count)


class ChainBroken(Exception):
    """The chain head is missing or is not the last record: nothing is appended."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _read_head(conn: Connection) -> tuple[int, str]:
    """The head, locked, after checking that it is the last record. A missing or stale head is
    never rebuilt from the records: that would chain new records onto a truncated log."""
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    row = conn.execute(
        text(f"SELECT seq, hash FROM audit_chain_head WHERE id = :id{lock}"), {"id": HEAD_ID}
    ).first()
    if row is None:
        raise ChainBroken("head_missing", "the table audit_chain_head is empty")
    head = int(row[0]), str(row[1])
    found = conn.execute(
        text("SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1")
    ).first()
    last = (int(found[0]), str(found[1])) if found is not None else (0, GENESIS)
    if last != head:
        raise ChainBroken(
            "head_mismatch",
            f"the chain head says seq {head[0]} hash {_short(head[1])}; the last record is "
            f"seq {last[0]} hash {_short(last[1])}",
        )
    return head


def append(conn: Connection, records: Iterable[Sequence[Any]]) -> tuple[int, str]:
    """Append records (their FIELDS values, `at` aware, then optionally the EXTRA_FIELDS
    values) to the chain in the caller's transaction: lock the head, hash each record onto the
    last, one bulk insert, move the head. Returns the new head (seq, hash); raises
    `ChainBroken` (writing nothing) when the head is missing or stale."""
    seq, prev = _read_head(conn)
    sqlite = conn.dialect.name == "sqlite"
    rows: list[tuple[Any, ...]] = []
    for fields in records:
        seq += 1
        if seq % PAUSE_EVERY == 0:
            time.sleep(0)  # lets the gateway's event loop have the GIL now, not in 5 ms
        canonical = canonical_time(fields[0])
        digest = _link(seq, canonical, fields, prev)
        at = _sqlite_time(canonical) if sqlite else fields[0]
        extra = fields[len(FIELDS) :] or NO_EXTRA
        rows.append((seq, at, *fields[1 : len(FIELDS)], *extra, prev, digest))
        prev = digest
    if not rows:
        return seq, prev
    if sqlite:
        for start in range(0, len(rows), ROWS_PER_INSERT):
            part = rows[start : start + ROWS_PER_INSERT]
            flat = tuple(itertools.chain.from_iterable(part))
            conn.exec_driver_sql(_sqlite_insert(len(part)), flat)
    else:
        raw = conn.connection.driver_connection
        assert raw is not None
        names = ", ".join(INSERT_COLUMNS)
        with raw.cursor() as cursor, cursor.copy(f"COPY audit_record ({names}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
    conn.execute(
        text("UPDATE audit_chain_head SET seq = :seq, hash = :hash WHERE id = :id"),
        {"seq": seq, "hash": prev, "id": HEAD_ID},
    )
    return seq, prev


@dataclass(frozen=True)
class Break:
    """The first broken link: where, and what differs."""

    seq: int | None
    id: int | None
    # gap, unexpected_seq, prev_hash_mismatch, hash_mismatch, beyond_head, head_mismatch,
    # head_missing, anchor_mismatch, checkpoint_mismatch, truncated
    kind: str
    detail: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "the chain head"
        record = f" (id {self.id})" if self.id is not None else ""
        return f"{where}{record}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Verdict:
    records: int
    head_seq: int
    head_hash: str
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _short(digest: str) -> str:
    return digest[:16] + "…"


_NOTED = {"anchor": "noted", "checkpoint": "signed checkpoint's"}


def verify(
    db: Database,
    *,
    anchors: Sequence[tuple[int, str]] = (),
    checkpoints: Sequence[tuple[int, str]] = (),
    batch: int = 5000,
) -> Verdict:
    """Walk the chain in seq order (streamed: constant memory) and check every link against the
    head, each anchor (a (seq, hash) noted earlier) and each checkpoint (a (seq, hash) whose
    signature the caller has checked). Reads one consistent snapshot while gateways go on
    writing. A checkpoint past the chain's end is `truncated` (records were removed, whatever
    the head says); one whose hash differs is `checkpoint_mismatch`."""
    wanted: dict[int, list[tuple[str, str]]] = {}
    for source, given in (("anchor", anchors), ("checkpoint", checkpoints)):
        for seq, h in given:
            wanted.setdefault(seq, []).append((h, source))
    columns = [TABLE.c.id, TABLE.c.seq, *(TABLE.c[n] for n in (*FIELDS, *EXTRA_FIELDS))]
    columns += [TABLE.c.prev_hash, TABLE.c.hash]
    query = select(*columns).order_by(TABLE.c.seq).execution_options(yield_per=batch)
    engine = db.reader
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            head_row = conn.execute(
                select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == HEAD_ID)
            ).first()
            head = (int(head_row[0]), str(head_row[1])) if head_row is not None else None
            count, prev = 0, GENESIS

            def verdict(broken: Break | None) -> Verdict:
                return Verdict(count, count, prev, broken)

            for row in conn.execute(query):
                rid, seq, *fields, prev_hash, digest = row
                expected = count + 1
                if seq < expected:
                    detail = f"seq {seq} where seq {expected} was due"
                    return verdict(Break(seq, rid, "unexpected_seq", detail))
                if seq > expected:
                    return verdict(
                        Break(
                            expected,
                            None,
                            "gap",
                            f"no record with seq {expected}; the next one is seq {seq} (id {rid})",
                        )
                    )
                if head is not None and seq > head[0]:
                    return verdict(
                        Break(
                            seq,
                            rid,
                            "beyond_head",
                            f"the chain head ends at seq {head[0]}; this record is after it",
                        )
                    )
                if prev_hash != prev:
                    return verdict(
                        Break(
                            seq,
                            rid,
                            "prev_hash_mismatch",
                            f"prev_hash {_short(prev_hash)} is not the hash of seq {seq - 1} "
                            f"({_short(prev)})",
                        )
                    )
                computed = link(seq, fields, prev_hash)
                if computed != digest:
                    return verdict(
                        Break(
                            seq,
                            rid,
                            "hash_mismatch",
                            f"the record's fields hash to {_short(computed)}, "
                            f"it says {_short(digest)}",
                        )
                    )
                for noted, source in wanted.pop(seq, ()):
                    if noted != digest:
                        return verdict(
                            Break(
                                seq,
                                rid,
                                f"{source}_mismatch",
                                f"{_NOTED[source]} hash {_short(noted)}, the chain has "
                                f"{_short(digest)}",
                            )
                        )
                count, prev = seq, digest
    beyond = [seq for seq, noted in wanted.items() if any(s == "checkpoint" for _, s in noted)]
    if beyond:
        seq = max(beyond)
        return verdict(
            Break(
                seq,
                None,
                "truncated",
                f"a signed checkpoint has seq {seq}; the chain ends at seq {count}: "
                "records after it were removed",
            )
        )
    if head is None:
        return verdict(Break(None, None, "head_missing", "the table audit_chain_head is empty"))
    if head != (count, prev):
        seq = count + 1 if head[0] > count else count
        return verdict(
            Break(
                seq,
                None,
                "head_mismatch",
                f"the chain head says seq {head[0]} hash {_short(head[1])}; the last record is "
                f"seq {count} hash {_short(prev)}",
            )
        )
    if wanted:
        seq = min(wanted)
        return verdict(
            Break(
                seq,
                None,
                "anchor_mismatch",
                f"noted seq {seq} is not in the chain (it ends at {count})",
            )
        )
    return verdict(None)
