"""Fixtures of the dossier tests: the app in-process on both backends, events held in the outbox.

The app is pointed at a NATS port nobody listens on, so the relay never drains the outbox and
every staged event can be read back exactly (one test checks the real trip through NATS).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from contracts.events import Envelope, parse_event
from lgsp_kit.natsserver import free_port
from services.dossier.main import create_app
from services.dossier.models import outbox
from services.dossier.settings import Settings
from tests.conftest import TokenMint, serve, service_settings

WRITE = ["dossier:read", "dossier:write"]
# The fixture's caller is the province's own application (the mint's default organ), which also
# keeps the procedure catalogue.
PROVINCE = [*WRITE, "dossier:catalogue"]
DOSSIER_EVENTS = (
    "lgsp.dossier.submitted",
    "lgsp.dossier.status_changed",
    "lgsp.dossier.payment_recorded",
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, mint: TokenMint) -> Settings:
    held = f"nats://127.0.0.1:{free_port()}"
    s: Settings = service_settings(Settings, tmp_path, database_url, held, mint)
    return s


@dataclass
class Api:
    client: httpx.AsyncClient
    app: FastAPI
    mint: TokenMint

    def headers(self, client_id: str = "test-client", **extra: str) -> dict[str, str]:
        return {**self.mint.headers(PROVINCE, client_id=client_id), **extra}

    async def post(self, url: str, body: Any, **headers: str) -> httpx.Response:
        return await self.client.post(url, json=body, headers=self.headers(**headers))

    async def get(self, url: str, **params: Any) -> httpx.Response:
        return await self.client.get(url, params=params, headers=self.headers())

    def events(self, *types: str) -> list[Envelope]:
        """Events staged in the outbox, in order, of the given types (all when none given)."""
        with self.app.state.runtime.db.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.payload).order_by(outbox.c.seq)).scalars()
            found = [parse_event(raw) for raw in rows]
        return [e for e in found if not types or e.type in types]

    def dossier_events(self) -> list[Envelope]:
        return self.events(*DOSSIER_EVENTS)


@pytest.fixture
async def api(settings: Settings, mint: TokenMint) -> AsyncIterator[Api]:
    app = create_app(settings)
    async with serve(app) as client:
        yield Api(client, app, mint)
