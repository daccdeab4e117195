"""The axis's side of the province link: take the province's outbox, deliver to the province.

Every `NATIONAL_AXIS_POLL_SECONDS`, through the province's gateway (`NATIONAL_PROVINCE_URL`)
as the consumer the gateway registered for the axis (scopes `documents:axis`,
`documents:write`; its credentials from the settings or, in dev, the file the gateway writes):

1. `GET /documents/v1/axis/outbox`, then for each item `GET …/outbox/{id}` (the signed
   package), kept here, then `DELETE …/outbox/{id}` (taken). A package kept but not yet
   acknowledged is acknowledged at the next round (it is kept once: by the outbox's id).
2. Each package waiting for the province (`delivery` "pending"): `POST
   /documents/v1/documents:import`. 200/201 → "delivered" with the answer; another 4xx (the
   province refuses it: 422, 403, 409…) → "failed" with the reason; 401 → a new token next
   round; 429, 5xx or no answer → tried again next round, until `NATIONAL_AXIS_MAX_ATTEMPTS`.

A fault set on the `axis` target (services/national/faults.py) pauses both: the axis is down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

import anyio
import httpx

from contracts import edxml as codec
from lgsp_kit.db import Database
from services.national import faults
from services.national.axis import service
from services.national.settings import Settings

log = logging.getLogger("lgsp.national.axis")
# A poll every few seconds: httpx's line per request would bury the log.
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass
class Credentials:
    client_id: str
    client_secret: str


def credentials(settings: Settings) -> Credentials | None:
    if settings.axis_client_id:
        return Credentials(settings.axis_client_id, settings.axis_client_secret.get_secret_value())
    path = settings.client_file()
    try:
        saved = json.loads(path.read_text())
        return Credentials(str(saved["client_id"]), str(saved["client_secret"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ProvinceLink:
    """Calls to the province's gateway with a client-credentials token it keeps."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.token: str | None = None
        self.expires = 0.0

    async def headers(self) -> dict[str, str] | None:
        if self.token is None or time.monotonic() > self.expires:
            creds = credentials(self.settings)
            if creds is None:
                return None
            resp = await self.client.post(
                "/token",
                data={"grant_type": "client_credentials"},
                auth=(creds.client_id, creds.client_secret),
            )
            if resp.status_code != 200:
                log.warning("the province's gateway refused the axis's token: %s", resp.text[:200])
                return None
            body = resp.json()
            self.token = str(body["access_token"])
            self.expires = time.monotonic() + max(30.0, float(body.get("expires_in", 300)) - 30)
        return {"Authorization": f"Bearer {self.token}"}

    def forget(self) -> None:
        self.token = None


class AxisWorker:
    def __init__(
        self, settings: Settings, db: Database, client: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self.db = db
        self.client = client or httpx.AsyncClient(
            base_url=settings.province_url, timeout=httpx.Timeout(30.0, connect=5.0)
        )
        self.link = ProvinceLink(settings, self.client)
        self.documents = settings.province_documents_path.rstrip("/")
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="national-axis")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.gather(self.task, return_exceptions=True)
        await self.client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("axis round failed: %s", exc)
            await asyncio.sleep(self.settings.axis_poll_seconds)

    def _down(self) -> bool:
        fault = faults.in_force(self.db, "axis")
        return fault is not None and fault.mode != "slow"

    async def round(self) -> tuple[int, int]:
        """One round: (packages taken from the province, packages delivered to it)."""
        if await anyio.to_thread.run_sync(self._down):
            return 0, 0
        headers = await self.link.headers()
        if headers is None:
            return 0, 0
        taken = await self.take(headers)
        given = await self.deliver(headers)
        return taken, given

    async def take(self, headers: dict[str, str]) -> int:
        outbox = f"{self.documents}/v1/axis/outbox"
        resp = await self.client.get(
            outbox, params={"limit": self.settings.axis_batch}, headers=headers
        )
        if resp.status_code == 401:
            self.link.forget()
        if resp.status_code != 200:
            log.warning("province axis outbox: %s %s", resp.status_code, resp.text[:200])
            return 0
        taken = 0
        for item in resp.json()["items"]:
            document_id = str(item["document_id"])
            package = await self.client.get(f"{outbox}/{document_id}", headers=headers)
            if package.status_code != 200:
                log.warning("province axis package %s: %s", document_id, package.status_code)
                continue
            await anyio.to_thread.run_sync(self._keep, package.content, document_id)
            ack = await self.client.delete(f"{outbox}/{document_id}", headers=headers)
            if ack.status_code == 200:
                taken += 1
        return taken

    def _keep(self, raw: bytes, document_id: str) -> None:
        with self.db.session() as session:
            service.receive(
                session,
                raw,
                source=service.PROVINCE,
                province_code=self.settings.province_code,
                province_document_id=document_id,
            )

    async def deliver(self, headers: dict[str, str]) -> int:
        def waiting() -> list[tuple[str, bytes]]:
            with self.db.reading() as session:
                rows = service.pending(session, limit=self.settings.axis_batch)
                return [(row.id, row.raw) for row in rows]

        given = 0
        for package_id, raw in await anyio.to_thread.run_sync(waiting):
            try:
                resp = await self.client.post(
                    f"{self.documents}/v1/documents:import",
                    content=raw,
                    headers={**headers, "Content-Type": codec.MEDIA_TYPE},
                )
            except httpx.HTTPError as exc:
                await self._failed(package_id, f"no answer: {exc}", final=False)
                continue
            if resp.status_code in (200, 201):
                await anyio.to_thread.run_sync(self._delivered, package_id, resp.text)
                given += 1
                continue
            if resp.status_code == 401:
                self.link.forget()
                return given
            final = 400 <= resp.status_code < 500 and resp.status_code not in (408, 429)
            await self._failed(package_id, f"{resp.status_code}: {resp.text[:2000]}", final=final)
        return given

    def _delivered(self, package_id: str, answer: str) -> None:
        with self.db.session() as session:
            service.delivered(session, package_id, answer)

    async def _failed(self, package_id: str, error: str, *, final: bool) -> None:
        def work() -> None:
            with self.db.session() as session:
                service.attempt_failed(
                    session,
                    package_id,
                    error,
                    final=final,
                    max_attempts=self.settings.axis_max_attempts,
                )

        await anyio.to_thread.run_sync(work)
