"""`rebuild`: drop the projections and replay the whole JetStream stream into them.

Run it with the reporting service stopped (`python -m services.reporting.rebuild`). Declared
values are not projections and are kept. Replayed events are recorded as processed, so when the
service starts again its durable consumer skips those it had not acknowledged yet and goes on
from there: the numbers end the same as if nothing had been dropped.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import nats
import typer
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import delete

from lgsp_kit import db as dbmod
from lgsp_kit.bus import Bus, connect_options
from lgsp_kit.consumer import EventConsumer
from services.reporting.main import MIGRATIONS
from services.reporting.models import Base, DeclaredValue, processed_event
from services.reporting.projections.handlers import make_handler
from services.reporting.projections.sources import PRODUCER_SOURCES
from services.reporting.settings import Settings, get_settings

log = logging.getLogger("lgsp.reporting.rebuild")
KEEP = {DeclaredValue.__tablename__}


def clear_projections(db: dbmod.Database) -> None:
    """Empty every projection table and the processed ids, in one transaction."""
    with db.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEEP:
                session.execute(delete(table))


async def rebuild(settings: Settings, *, batch_size: int = 1000) -> int:
    """Replay the stream from its first message; returns how many events were applied."""
    url = settings.resolved_database_url()
    await asyncio.to_thread(dbmod.upgrade, MIGRATIONS, url)
    db = dbmod.Database(url)
    nc = await nats.connect(
        settings.nats_url,
        connect_timeout=5,
        **connect_options(
            settings.nats_user, settings.nats_password.get_secret_value(), settings.nats_tls_ca
        ),
    )
    name = f"{settings.durable_name}-rebuild-{uuid.uuid4().hex[:8]}"
    js = nc.jetstream()
    applier = EventConsumer(
        db,
        processed_event,
        Bus(settings.nats_url, stream=settings.stream_name),
        make_handler(settings.zone),
        durable=name,
        sources=PRODUCER_SOURCES,
    )
    applied = 0
    try:
        await asyncio.to_thread(clear_projections, db)
        sub = await js.pull_subscribe(
            "lgsp.>",
            durable=name,
            stream=settings.stream_name,
            config=ConsumerConfig(
                durable_name=name,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                max_ack_pending=batch_size * 2,
            ),
        )
        while True:
            try:
                msgs = await sub.fetch(batch_size, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                msgs = []
            if msgs:
                applied += await asyncio.to_thread(
                    applier.apply, [m.data for m in msgs], [m.subject for m in msgs]
                )
                await asyncio.gather(*(m.ack() for m in msgs))
                continue
            info = await js.consumer_info(settings.stream_name, name)
            if not info.num_pending and not info.num_ack_pending:
                break
    finally:
        try:
            await js.delete_consumer(settings.stream_name, name)
        except Exception as exc:  # the stream is gone or NATS is down: nothing to clean
            log.warning("could not delete the replay consumer %s: %s", name, exc)
        await nc.close()
        db.dispose()
    return applied


cli = typer.Typer(help="Reporting projections.", no_args_is_help=True)


@cli.command("rebuild")
def rebuild_command() -> None:
    """Drop the projections and replay the stream from the start (service stopped)."""
    applied = asyncio.run(rebuild(get_settings()))
    typer.echo(f"reporting: {applied} events replayed into the projections")


if __name__ == "__main__":
    cli()
