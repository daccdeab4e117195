"""Reporting applies an event only from the producer of its subject.

Anyone who could publish on `lgsp.dossier.*` (a leaked NATS password, an open server) must not
be able to move the official Phụ lục II figures by claiming to be the dossier service, nor may
the documents service speak for the dossier service. A refused event is acknowledged (not
redelivered forever), not applied, counted in `lgsp_events_refused_total` and logged.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import nats
import pytest

from contracts.events import Envelope
from lgsp_kit import db as dbmod
from lgsp_kit.bus import Bus
from lgsp_kit.consumer import EventConsumer
from services.reporting.main import create_app
from services.reporting.models import processed_event
from services.reporting.projections.handlers import make_handler
from services.reporting.projections.sources import PRODUCER_SOURCES
from services.reporting.settings import Settings
from tests.conftest import TokenMint, serve, service_settings
from tests.reporting.events import VN, document, received
from tests.reporting.test_router import check_exposition

pytestmark = pytest.mark.anyio

READ = ["reporting:read"]


def spoofed(event: Envelope, source: str) -> Envelope:
    return event.model_copy(update={"source": source})


def refused_events() -> list[tuple[str, Envelope]]:
    """(subject, event): what an intruder or a confused producer might publish."""
    dossier = received("2023-05-02T08:00", procedure_code="P1", organ_code="D1", channel=2)
    sent = document("2023-05-02T09:00", sender="D1", level="district", electronic=True)
    return [
        # An outsider on the dossier subjects, claiming some source of its own.
        (dossier.nats_subject, spoofed(dossier, "/attacker")),
        # The documents service claiming to be the dossier service, or the reverse.
        (dossier.nats_subject, spoofed(dossier, "/lgsp/documents")),
        (sent.nats_subject, spoofed(sent, "/lgsp/dossier")),
        # A documents event slipped in under a dossier subject (with the right source).
        (dossier.nats_subject, sent),
    ]


@pytest.fixture
def consumer(db: dbmod.Database) -> EventConsumer:
    return EventConsumer(
        db,
        processed_event,
        Bus("nats://127.0.0.1:1"),
        make_handler(VN),
        durable="test",
        sources=PRODUCER_SOURCES,
    )


def test_only_the_subjects_producer_is_applied(
    consumer: EventConsumer, caplog: pytest.LogCaptureFixture
) -> None:
    bad = refused_events()
    good = received("2023-05-03T08:00", procedure_code="P1", organ_code="D1", channel=2)
    subjects = [s for s, _ in bad] + [good.nats_subject]
    payloads = [e.model_dump_json().encode() for _, e in bad] + [good.model_dump_json().encode()]
    with caplog.at_level(logging.WARNING, logger="lgsp.consumer"):
        assert consumer.apply(payloads, subjects) == 1
    assert consumer.refused == {"source_mismatch": 3, "type_mismatch": 1}
    assert "'/attacker'" in caplog.text
    # Without the subject (a replay of stored payloads) the type's producer still decides.
    assert consumer.apply([spoofed(good, "/attacker").model_dump_json().encode()]) == 0
    assert consumer.refused["source_mismatch"] == 4


async def test_a_spoofed_event_on_nats_is_acked_counted_and_not_applied(
    tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint
) -> None:
    settings: Settings = service_settings(Settings, tmp_path, database_url, nats_url, mint)
    app = create_app(settings)
    good = received("2023-05-03T08:00", procedure_code="P1", organ_code="D1", channel=2)
    async with serve(app) as client:
        runtime = app.state.runtime
        await runtime.bus.wait_ready()
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            for subject, event in refused_events():
                await js.publish(subject, event.model_dump_json().encode())
            await js.publish(good.nats_subject, good.model_dump_json().encode())
        finally:
            await nc.close()
        h = mint.headers(READ)
        for _ in range(150):
            if (await client.get("/v1/status", headers=h)).json()["events_consumed_total"] >= 1:
                break
            await asyncio.sleep(0.1)
        for _ in range(100):  # all five acknowledged: none waits for a redelivery
            if await runtime.consumer.pending() == 0:
                break
            await asyncio.sleep(0.1)
        assert await runtime.consumer.pending() == 0
        assert (await client.get("/v1/status", headers=h)).json()["events_consumed_total"] == 1
        m = check_exposition((await client.get("/metrics")).text)
        refused = m["lgsp_events_refused_total"]
        assert refused[(("app", "reporting"), ("reason", "source_mismatch"))] == 3
        assert refused[(("app", "reporting"), ("reason", "type_mismatch"))] == 1
        online_full = (("channel", "online"), ("service_mode", "full"))
        assert m["lgsp_dossiers_received_total"][online_full] == 1
