"""The transactional outbox: events are written with the state change, published after commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table, insert
from sqlalchemy.orm import Session

from contracts.events import Envelope
from lgsp_kit.db import UTCDateTime

OUTBOX_TABLE = "outbox"
PROCESSED_TABLE = "processed_event"


def define_outbox(metadata: MetaData) -> Table:
    """Events waiting for the relay; a row is deleted once JetStream acknowledged it."""
    return Table(
        OUTBOX_TABLE,
        metadata,
        Column(
            "seq",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    )


def define_processed(metadata: MetaData) -> Table:
    """Ids of events a consumer has applied, written in the same transaction as its effect."""
    return Table(
        PROCESSED_TABLE,
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("type", String(200), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
    )


def outbox_rows(events: Iterable[Envelope]) -> list[dict[str, object]]:
    """The outbox rows of events, for a caller that inserts them in a statement of its own
    (with the state change, in one round trip)."""
    now = datetime.now(UTC)
    return [
        {
            "event_id": e.id,
            "subject": e.nats_subject,
            "payload": e.model_dump_json().encode(),
            "created_at": now,
        }
        for e in events
    ]


def add_events(session: Session, outbox: Table, events: Iterable[Envelope]) -> int:
    """Stage events in the caller's transaction; they are published only if it commits."""
    rows = outbox_rows(events)
    if rows:
        session.execute(insert(outbox), rows)
    return len(rows)
