"""A reporting database at head and a consumer applying batches to it (no NATS needed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lgsp_kit import db as dbmod
from lgsp_kit.bus import Bus
from lgsp_kit.consumer import EventConsumer
from services.reporting.main import MIGRATIONS
from services.reporting.models import processed_event
from services.reporting.projections.handlers import make_handler
from tests.reporting.events import VN


@pytest.fixture
def db(database_url: str) -> Iterator[dbmod.Database]:
    dbmod.upgrade(MIGRATIONS, database_url)
    database = dbmod.Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def consumer(db: dbmod.Database) -> EventConsumer:
    """The real consumer; only `apply` is used, so its bus never connects."""
    return EventConsumer(
        db, processed_event, Bus("nats://127.0.0.1:1"), make_handler(VN), durable="test"
    )
