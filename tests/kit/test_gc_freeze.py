"""A server process hides what its startup built from the cyclic collector, so a full
collection under load walks only what the requests made, not the whole program."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lgsp_kit.app import GC_FREEZE_ENV
from lgsp_kit.natsserver import free_port
from services.documents.main import create_app
from services.documents.settings import Settings
from tests.conftest import TokenMint, serve, service_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


async def test_startup_freezes_its_objects_when_the_server_asks(
    tmp_path: Path,
    database_url: str,
    mint: TokenMint,
    unfrozen: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(GC_FREEZE_ENV, "1")
    nowhere = f"nats://127.0.0.1:{free_port()}"
    app = create_app(service_settings(Settings, tmp_path, database_url, nowhere, mint))
    async with serve(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        frozen = gc.get_freeze_count()
        assert frozen > 50_000
        started = time.process_time()
        gc.collect()
        # Without the freeze this walks every frozen object too (over 100 ms here).
        assert time.process_time() - started < 0.05


async def test_tests_and_embedders_keep_the_collector_as_it_was(
    tmp_path: Path,
    database_url: str,
    mint: TokenMint,
    unfrozen: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(GC_FREEZE_ENV, raising=False)
    nowhere = f"nats://127.0.0.1:{free_port()}"
    app = create_app(service_settings(Settings, tmp_path, database_url, nowhere, mint))
    async with serve(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert gc.get_freeze_count() == 0
