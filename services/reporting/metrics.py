"""Reporting's Prometheus metrics, read from the projections at scrape time.

Reading the counts from the database (not from process memory) keeps the counters exact across
restarts and identical on every replica.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from lgsp_kit.db import Database
from services.reporting.models import DossierDayCount, EventTypeCount

CHANNEL_LABEL = {1: "direct", 2: "online", 3: "postal"}


class ProjectionCollector(Collector):
    def __init__(self, db: Database, lag_seconds: Callable[[], float]) -> None:
        self.db = db
        self.lag_seconds = lag_seconds

    def collect(self) -> Iterator[Metric]:
        received = CounterMetricFamily(
            "lgsp_dossiers_received",
            "Dossiers (hồ sơ TTHC) received, by service mode and channel (KenhThucHien)",
            labels=["service_mode", "channel"],
        )
        consumed = CounterMetricFamily(
            "lgsp_events_consumed", "Events applied to the projections, by type", labels=["type"]
        )
        with self.db.engine.connect() as conn:
            t = DossierDayCount.__table__  # type: ignore[attr-defined]
            rows = conn.execute(
                select(t.c.service_mode, t.c.channel, func.sum(t.c.submitted)).group_by(
                    t.c.service_mode, t.c.channel
                )
            ).all()
            for mode, channel, n in rows:
                received.add_metric([mode, CHANNEL_LABEL.get(channel, str(channel))], int(n))
            e = EventTypeCount.__table__  # type: ignore[attr-defined]
            for type_, n in conn.execute(select(e.c.type, e.c.consumed)).all():
                consumed.add_metric([type_], int(n))
        yield received
        yield consumed
        lag = GaugeMetricFamily(
            "lgsp_projection_lag_seconds",
            "Seconds between an event being stored in JetStream and being applied",
        )
        lag.add_metric([], self.lag_seconds())
        yield lag
