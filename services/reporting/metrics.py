"""Reporting's Prometheus metrics, read from the projections at scrape time.

Reading the counts from the database (not from process memory) keeps the counters exact across
restarts and identical on every replica. Labels are bounded: service mode, channel, method,
level, system, event type and indicator code; never an organ or a dossier code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel import Session

from lgsp_kit.db import Database
from services.reporting import repository as repo
from services.reporting import service
from services.reporting.indicators import INDICATORS
from services.reporting.periods import current_year

CHANNEL_LABEL = {1: "direct", 2: "online", 3: "postal"}
LEVELS = ("province", "province_organ", "district", "commune")
log = logging.getLogger("lgsp.reporting.metrics")


class ProjectionCollector(Collector):
    def __init__(self, db: Database, lag_seconds: Callable[[], float], tz: ZoneInfo) -> None:
        self.db = db
        self.lag_seconds = lag_seconds
        self.tz = tz

    def collect(self) -> Iterator[Metric]:
        try:
            metrics = self._from_projections()
        except Exception:  # the database is down: say nothing rather than fail the scrape
            log.exception("reading the projections for /metrics")
            metrics = []
        yield from metrics
        lag = GaugeMetricFamily(
            "lgsp_projection_lag_seconds",
            "Seconds the last applied batch of events waited in JetStream",
        )
        lag.add_metric([], self.lag_seconds())
        yield lag

    def _from_projections(self) -> list[Metric]:
        received = CounterMetricFamily(
            "lgsp_dossiers_received",
            "Dossiers (hồ sơ TTHC) received (status 2), by service mode and channel",
            labels=["service_mode", "channel"],
        )
        paid = CounterMetricFamily(
            "lgsp_dossier_payments", "Fee payments (lệ phí) recorded, by method", labels=["method"]
        )
        sent = CounterMetricFamily(
            "lgsp_documents_sent",
            "Documents (văn bản) sent, by sender level and fully electronic or not",
            labels=["sender_level", "electronic"],
        )
        connected = GaugeMetricFamily(
            "lgsp_organs_connected",
            "Organs connected to a system (qlvb, motcua) now, by level",
            labels=["level", "system"],
        )
        registered = GaugeMetricFamily(
            "lgsp_organs_registered", "Organs in the directory now, by level", labels=["level"]
        )
        ratio = GaugeMetricFamily(
            "lgsp_indicator_ratio",
            "Phụ lục II ratios for the current year, 0 to 1",
            labels=["code"],
        )
        consumed = CounterMetricFamily(
            "lgsp_events_consumed", "Events applied to the projections, by type", labels=["type"]
        )
        synced = CounterMetricFamily(
            "lgsp_dvcqg_dossiers_synced",
            "Dossiers received (status 2) that DVCQG, the national public-service portal, holds",
        )
        synced_ratio = GaugeMetricFamily(
            "lgsp_dvcqg_sync_ratio",
            "Dossiers received in the current year that DVCQG holds, 0 to 1",
        )
        # A read-only snapshot that, on SQLite, waits for no writer (see Database.reader).
        with Session(self.db.reader) as session:
            conn = session.connection()
            for (mode, channel), n in sorted(repo.receptions(conn, None, repo.Scope()).items()):
                received.add_metric([mode, CHANNEL_LABEL.get(channel, "other")], n)
            for method, n in sorted(repo.payments(conn).items()):
                paid.add_metric([method], n)
            for (level, electronic), n in sorted(repo.documents(conn, None, repo.Scope()).items()):
                sent.add_metric([level, str(electronic).lower()], n)
            states = repo.organs(conn, datetime.now(self.tz))
            for level in LEVELS:
                of_level = [s for s in states if s.level == level]
                registered.add_metric([level], len(of_level))
                for system in ("qlvb", "motcua"):
                    n = sum(1 for s in of_level if getattr(s, system))
                    connected.add_metric([level, system], n)
            report = service.build_report(session, current_year(self.tz), tz=self.tz)
            ratio_rows = {i.stt for i in INDICATORS if i.kind == "ratio"}
            for row in report.rows:
                if row.stt in ratio_rows and row.denominator:
                    ratio.add_metric([row.stt], (row.numerator or 0) / row.denominator)
            for type_, n, _ in repo.event_types(conn):
                consumed.add_metric([type_], n)
            synced.add_metric([], repo.dvcqg_dossiers(conn, None, repo.Scope()))
            year = current_year(self.tz)
            of_year = sum(repo.receptions(conn, year, repo.Scope()).values())
            if of_year:
                synced_ratio.add_metric([], repo.dvcqg_dossiers(conn, year, repo.Scope()) / of_year)
        return [received, paid, sent, connected, registered, ratio, consumed, synced, synced_ratio]
