"""Reporting's view of the sync to DVCQG, on both backends: the dossiers of a period DVCQG
holds (each counted once, however often the dossier service tells it), of those received, and
the sync's backlog (the newest reading stands); the JSON endpoint, its errors, the live page
and the metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.events import DvcqgAccepted, DvcqgBacklog, Envelope
from contracts.events.dossier import DvcqgAcceptedData, DvcqgBacklogData, DvcqgDossier
from services.reporting.main import create_app
from services.reporting.settings import Settings
from tests.conftest import TokenMint, serve, service_settings
from tests.reporting.events import at, organ, raw, received
from tests.reporting.test_router import check_exposition

pytestmark = pytest.mark.anyio

READ = ["reporting:read"]
URL = "/v1/reports/dvcqg-sync"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint) -> Settings:
    s: Settings = service_settings(Settings, tmp_path, database_url, nats_url, mint)
    return s


def accepted(*dossiers: tuple[str, str, str, str | None]) -> DvcqgAccepted:
    now = datetime.now(UTC)
    return DvcqgAccepted(
        source="/lgsp/dossier",
        time=now,
        data=DvcqgAcceptedData(
            accepted_at=now,
            dossiers=[
                DvcqgDossier(
                    code=code,
                    organ_code=organ_code,
                    organ_level=level,
                    received_at=at(when) if when else None,
                )
                for code, organ_code, level, when in dossiers
            ],
        ),
    )


def backlog(read: datetime, pending: int, refused: int, oldest: datetime | None) -> DvcqgBacklog:
    return DvcqgBacklog(
        source="/lgsp/dossier",
        time=read,
        data=DvcqgBacklogData(at=read, pending=pending, refused=refused, oldest_change_at=oldest),
    )


def events(now: datetime) -> list[Envelope]:
    """Five dossiers received in 2023 (three in March: two of D1, one of its commune C1; two
    in July, of D2); DVCQG holds four of them, one of which is told twice, plus one refused at
    reception; a 2022 dossier on DVCQG counts in no 2023 period."""
    return [
        organ("P", "province", None),
        organ("D1", "district", "P"),
        organ("D2", "district", "P"),
        organ("C1", "commune", "D1"),
        received("2023-03-02T08:00", code="A1", organ_code="D1"),
        received("2023-03-03T08:00", code="A2", organ_code="D1"),
        received("2023-03-31T23:30", code="A3", organ_code="C1", level="commune"),
        received("2023-07-01T08:00", code="B1", organ_code="D2"),
        received("2023-07-02T08:00", code="B2", organ_code="D2"),
        received("2022-12-30T08:00", code="Z1", organ_code="D1"),
        accepted(
            ("A1", "D1", "district", "2023-03-02T08:00"),
            ("A3", "C1", "commune", "2023-03-31T23:30"),
            ("R1", "D1", "district", None),  # refused at reception: no dossier of a period
        ),
        accepted(
            ("A1", "D1", "district", "2023-03-02T08:00"),  # told again: counted once
            ("B1", "D2", "district", "2023-07-01T08:00"),
            ("Z1", "D1", "district", "2022-12-30T08:00"),
        ),
        backlog(now - timedelta(seconds=5), 3, 1, now - timedelta(seconds=125)),
        # An older reading delivered late does not replace the newer one.
        backlog(now - timedelta(seconds=50), 9, 0, now - timedelta(seconds=900)),
    ]


async def test_period_counts_each_dossier_once_with_filters_and_backlog(
    settings: Settings, mint: TokenMint
) -> None:
    app = create_app(settings)
    now = datetime.now(UTC)
    async with serve(app) as client:
        app.state.runtime.consumer.apply(raw(events(now)))
        h = mint.headers(READ)

        async def get(**params: str) -> dict[str, Any]:
            resp = await client.get(URL, params=params, headers=h)
            assert resp.status_code == 200, resp.text
            body: dict[str, Any] = resp.json()
            return body

        year = await get(period="2023")
        assert (year["received"], year["synced"], year["value"]) == (5, 3, 60.0)
        assert (year["first_day"], year["last_day"]) == ("2023-01-01", "2023-12-31")
        march = await get(period="2023-03")
        assert (march["received"], march["synced"]) == (3, 2)
        assert (await get(period="2023-Q3"))["synced"] == 1
        assert (await get(period="2022"))["synced"] == 1
        # D1 covers its commune C1; the level filter keeps communes only.
        d1 = await get(period="2023", organ="D1")
        assert (d1["received"], d1["synced"], d1["organ"]) == (3, 2, "D1")
        communes = await get(period="2023", level="commune")
        assert (communes["received"], communes["synced"]) == (1, 1)
        # Decree 09's year 2023 starts on 15/12/2022: the 2022-12-30 dossier belongs to it.
        assert (await get(period="2023", basis="decree09"))["synced"] == 4
        empty = await get(period="2021")
        assert (empty["received"], empty["synced"], empty["value"]) == (0, 0, None)

        b = year["backlog"]
        assert (b["pending"], b["refused"]) == (3, 1)
        oldest = datetime.fromisoformat(b["oldest_unsynced_change_at"])
        assert abs((oldest - (now - timedelta(seconds=125))).total_seconds()) < 0.01
        assert oldest.utcoffset() == timedelta(hours=7)
        assert 125 <= b["lag_seconds"] < 185
        assert abs((datetime.fromisoformat(b["as_of"]) - now).total_seconds() - -5) < 0.01


async def test_bad_periods_and_organs_are_problems(settings: Settings, mint: TokenMint) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        h = mint.headers(READ)
        for params, status in (
            ({"period": "2023-13"}, 422),
            ({"period": "23"}, 422),
            ({"period": "2023", "basis": "lunar"}, 422),
            ({"period": "2023", "level": "village"}, 422),
            ({}, 422),
            ({"period": "2023", "organ": "NOPE"}, 404),
        ):
            resp = await client.get(URL, params=params, headers=h)
            assert resp.status_code == status, (params, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            assert resp.json()["status"] == status
        assert (await client.get(URL, params={"period": "2023"})).status_code == 401
        # Before any reading of the sync: no backlog, zero dossiers.
        body = (await client.get(URL, params={"period": "2023"}, headers=h)).json()
        assert (body["received"], body["synced"], body["backlog"]) == (0, 0, None)


async def test_live_page_and_metrics_show_the_sync(settings: Settings, mint: TokenMint) -> None:
    app = create_app(settings)
    now = datetime.now(UTC)
    async with serve(app) as client:
        app.state.runtime.consumer.apply(raw(events(now)))
        page = await client.get(
            "/v1/reports/phu-luc-ii",
            params={"period": "2023", "format": "html"},
            headers=mint.headers(READ),
        )
        assert page.status_code == 200
        html = page.text
        assert 'id="dvcqg-sync"' in html
        section = html[html.index('id="dvcqg-sync"') :]
        assert '<td class="num">5</td><td class="num">3</td>' in section
        assert "60.00 %" in section and "1 bị từ chối" in section
        text = (await client.get("/metrics")).text
    m = check_exposition(text)
    # All time: the four dossiers received that DVCQG holds (the refused one is not counted).
    assert m["lgsp_dvcqg_dossiers_synced_total"][()] == 4
    assert "lgsp_dvcqg_sync_ratio" not in m or 0 <= m["lgsp_dvcqg_sync_ratio"][()] <= 1
