"""The province's token at the national gateway (NGSP.md §1: OAuth 2.0 client credentials).

The proxy calls the national contexts with this token in place of the caller's: the caller
proves itself to this gateway (its own token, subscription, scope, throttle, audit), the
gateway to the national side. One token is shared by every call and taken again a minute
before it expires, or at once after the national side refused it (`forget`).
"""

from __future__ import annotations

import asyncio
import base64
import time

import aiohttp

from gateway.settings import Settings

MARGIN_SECONDS = 60.0


class NationalTokenError(Exception):
    """The national gateway gave no token (unreachable, or it refused the province)."""


class NationalToken:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.national_url.rstrip("/") + settings.national_token_path
        pair = f"{settings.national_client_id}:{settings.national_client_secret.get_secret_value()}"
        self.basic = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        self._token: bytes | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()
        self.session: aiohttp.ClientSession | None = None

    async def header(self) -> bytes:
        """`Bearer <token>` as bytes for the request head."""
        if self._token is not None and time.monotonic() < self._until:
            return self._token
        async with self._lock:
            if self._token is None or time.monotonic() >= self._until:
                await self._take()
            assert self._token is not None
            return self._token

    def forget(self) -> None:
        self._token = None

    async def _take(self) -> None:
        assert self.session is not None
        try:
            async with self.session.post(
                self.url,
                data={"grant_type": "client_credentials"},
                # The proxy's session adds no Content-Type of its own: say it.
                headers={
                    "Authorization": self.basic,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                timeout=aiohttp.ClientTimeout(total=10),
            ) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise NationalTokenError(f"the national gateway's /token: {exc!r}") from exc
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise NationalTokenError(f"the national gateway's /token answered {status}: {body}")
        lifetime = float(body.get("expires_in", 300))
        self._token = b"Bearer " + str(body["access_token"]).encode("latin-1")
        self._until = time.monotonic() + max(lifetime - MARGIN_SECONDS, lifetime / 2)
