"""`/readyz` is public: it says which dependency is down, never why (an address with its
credentials, a driver's message); the reason goes to the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lgsp_kit.app import create_service_app
from lgsp_kit.settings import AppSettings
from tests.conftest import serve

pytestmark = pytest.mark.anyio
SECRET = "nats://relay:s3cret-pass@10.0.0.7:4222 refused\r\nFAKE log line"


async def test_readyz_names_the_dependency_down_not_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = AppSettings(app_name="things", data_dir=tmp_path, migrate_on_start=False)
    app = create_service_app(
        settings,
        title="things",
        description="a service of the kit",
        routers=[],
        migrations_dir=tmp_path,
        uses_bus=False,
    )

    async def broken() -> None:
        raise ConnectionError(SECRET)

    async with serve(app) as client:
        assert (await client.get("/readyz")).json() == {
            "status": "ok",
            "checks": {"database": "ok"},
        }
        app.state.readiness_checks["nats"] = broken
        with caplog.at_level(logging.WARNING, logger="lgsp.health"):
            resp = await client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "nats": "unavailable"},
    }
    assert "s3cret" not in resp.text
    [record] = [r for r in caplog.records if r.name == "lgsp.health"]
    message = record.getMessage()
    assert "nats" in message and "ConnectionError" in message and "s3cret-pass" in message
    assert "\r" not in message and "\n" not in message
